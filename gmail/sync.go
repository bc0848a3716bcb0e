package gmail

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"slices"
	"sort"
	"sync"
	"time"

	gmailapi "google.golang.org/api/gmail/v1"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/quota"
)

// DefaultSyncHeaders are the header fields a sync keeps by default.
var DefaultSyncHeaders = []string{"From", "To", "Subject", "Date", "Message-ID"}

// SyncOptions tune Sync and FullSync. Nil means every message outside
// spam and trash, with DefaultSyncHeaders.
type SyncOptions struct {
	// LabelID limits the synced set to messages with this label.
	LabelID string
	// IncludeSpamTrash also syncs messages in SPAM and TRASH.
	IncludeSpamTrash bool
	// Headers are the header fields kept in MessageMeta.Headers (default
	// DefaultSyncHeaders).
	Headers []string
	// Batch tunes the batched messages.get calls.
	Batch *BatchOptions
	// Progress, when set, is called after each batch of messages fetched
	// during a full sync with the number done and the total.
	Progress func(done, total int)
}

// SyncResult says what a sync found.
type SyncResult struct {
	User string
	// Full is true when a full sync was done; Reason says why ("first
	// sync", "history id expired", "asked").
	Full   bool
	Reason string
	// HistoryID is the history id the store is now current to.
	HistoryID uint64
	// Added, Changed (labels) and Deleted list message ids, sorted.
	// After a full sync they compare with what the store held before.
	Added, Changed, Deleted []string
	// Messages is the number of messages in the synced set now.
	Messages int
	// Calls counts the Gmail calls made, by method (batch parts
	// included, retries included).
	Calls map[string]int
}

// Units returns the quota units the sync's calls cost under regime.
func (r *SyncResult) Units(regime quota.GmailRegime) int64 {
	var n int64
	for m, c := range r.Calls {
		cost, ok := quota.GmailCost(regime, m)
		if !ok {
			cost = quota.UnknownGmailMethodCost
		}
		n += cost * int64(c)
	}
	return n
}

type syncRun struct {
	g     *Client
	user  string
	store Store
	o     SyncOptions
	mu    sync.Mutex
	res   *SyncResult
}

func (r *syncRun) count(method string, n int) {
	r.mu.Lock()
	r.res.Calls[method] += n
	r.mu.Unlock()
}

func newSyncRun(g *Client, user string, store Store, opts *SyncOptions) *syncRun {
	var o SyncOptions
	if opts != nil {
		o = *opts
	}
	if len(o.Headers) == 0 {
		o.Headers = DefaultSyncHeaders
	}
	return &syncRun{g: g, user: user, store: store, o: o,
		res: &SyncResult{User: user, Calls: map[string]int{}}}
}

// Sync brings store up to date with user's mailbox. When store has a
// history id, it asks history.list for the changes since (2 units a page)
// and fetches the metadata of new and relabelled messages in batches;
// when it has none, or Gmail answers 404 because the id is too old, it
// does a full sync (see FullSync). The store is written once, atomically,
// at the end, so an interrupted sync leaves the previous state and the
// next one resumes from it.
//
// API docs: https://developers.google.com/workspace/gmail/api/guides/sync
func (g *Client) Sync(ctx context.Context, user string, store Store, opts *SyncOptions) (*SyncResult, error) {
	const op = "gmail: Sync"
	if err := checkUser(op, user); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, workspace.InvalidInput(op, "store", "nil")
	}
	r := newSyncRun(g, user, store, opts)
	hid, err := store.HistoryID(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("gmail: sync %s: store: %w", user, err)
	}
	if hid == 0 {
		return r.full(ctx, "first sync")
	}
	res, err := r.incremental(ctx, hid)
	if errors.Is(err, workspace.ErrNotFound) {
		return r.full(ctx, "history id expired")
	}
	return res, err
}

// FullSync lists every message of the synced set (messages.list, 500 ids
// a page), fetches their metadata in HTTP batches (messages.get
// format=metadata), and replaces what store held for user. The history id
// stored is the mailbox's at the start (users.getProfile), so changes made
// during the sync are caught by the next incremental one.
func (g *Client) FullSync(ctx context.Context, user string, store Store, opts *SyncOptions) (*SyncResult, error) {
	const op = "gmail: FullSync"
	if err := checkUser(op, user); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, workspace.InvalidInput(op, "store", "nil")
	}
	return newSyncRun(g, user, store, opts).full(ctx, "asked")
}

func (r *syncRun) getOptions() *GetOptions {
	return &GetOptions{Format: "metadata", MetadataHeaders: r.o.Headers,
		Fields: "id,threadId,labelIds,historyId,internalDate,sizeEstimate,snippet,payload/headers",
		Batch:  r.o.Batch}
}

// fetch gets the metadata of ids in batches. Messages that are gone
// (404) are reported in gone; any other failure is returned.
func (r *syncRun) fetch(ctx context.Context, ids []string, progress func(done int)) (metas []*MessageMeta, gone []string, err error) {
	const step = 2000
	for lo := 0; lo < len(ids); lo += step {
		chunk := ids[lo:min(lo+step, len(ids))]
		msgs, sent, err := r.g.Messages.getMany(ctx, r.user, chunk, r.getOptions())
		r.count("users.messages.get", sent)
		var be *BatchError
		if errors.As(err, &be) {
			for _, c := range be.Failed {
				if !errors.Is(c.Err, workspace.ErrNotFound) {
					return nil, nil, c.Err
				}
			}
		} else if err != nil {
			return nil, nil, err
		}
		for i, m := range msgs {
			if m == nil {
				gone = append(gone, chunk[i])
				continue
			}
			metas = append(metas, toMeta(m))
		}
		if progress != nil {
			progress(min(lo+step, len(ids)))
		}
	}
	return metas, gone, nil
}

// toMeta keeps what a sync stores of a message.
func toMeta(m *gmailapi.Message) *MessageMeta {
	mm := &MessageMeta{ID: m.Id, ThreadID: m.ThreadId, LabelIDs: slices.Clone(m.LabelIds),
		HistoryID: m.HistoryId, SizeEstimate: m.SizeEstimate, Snippet: m.Snippet}
	if m.InternalDate != 0 {
		mm.InternalDate = time.UnixMilli(m.InternalDate).UTC()
	}
	if m.Payload != nil && len(m.Payload.Headers) > 0 {
		mm.Headers = map[string]string{}
		for _, h := range m.Payload.Headers {
			k := textproto.CanonicalMIMEHeaderKey(h.Name)
			if _, dup := mm.Headers[k]; !dup {
				mm.Headers[k] = h.Value
			}
		}
	}
	return mm
}

// inSet reports whether a message belongs to the synced set.
func (r *syncRun) inSet(m *MessageMeta) bool {
	if r.o.LabelID != "" && !slices.Contains(m.LabelIDs, r.o.LabelID) {
		return false
	}
	if !r.o.IncludeSpamTrash && r.o.LabelID != "SPAM" && r.o.LabelID != "TRASH" &&
		(slices.Contains(m.LabelIDs, "SPAM") || slices.Contains(m.LabelIDs, "TRASH")) {
		return false
	}
	return true
}

func (r *syncRun) full(ctx context.Context, reason string) (*SyncResult, error) {
	res := r.res
	res.Full, res.Reason = true, reason
	prof, err := r.g.Profile(ctx, r.user)
	r.count("users.getProfile", 1)
	if err != nil {
		return nil, err
	}
	lo := &ListOptions{MaxResults: 500, IncludeSpamTrash: r.o.IncludeSpamTrash, Fields: "messages(id)"}
	if r.o.LabelID != "" {
		lo.LabelIDs = []string{r.o.LabelID}
	}
	var ids []string
	var pages pageGuard
	for {
		page, err := r.g.Messages.List(ctx, r.user, lo)
		r.count("users.messages.list", 1)
		if err != nil {
			return nil, err
		}
		for _, m := range page.Messages {
			ids = append(ids, m.Id)
		}
		if page.NextPageToken == "" {
			break
		}
		if err := pages.next(page.NextPageToken); err != nil {
			return nil, fmt.Errorf("gmail: sync %s: messages.list: %w", r.user, err)
		}
		lo.PageToken = page.NextPageToken
	}
	var progress func(int)
	if r.o.Progress != nil {
		progress = func(done int) { r.o.Progress(done, len(ids)) }
	}
	metas, _, err := r.fetch(ctx, ids, progress)
	if err != nil {
		return nil, err
	}
	kept := metas[:0]
	for _, m := range metas {
		if r.inSet(m) {
			kept = append(kept, m)
		}
	}
	old, err := r.store.Messages(ctx, r.user)
	if err != nil {
		return nil, fmt.Errorf("gmail: sync %s: store: %w", r.user, err)
	}
	before := map[string]*MessageMeta{}
	for _, m := range old {
		before[m.ID] = m
	}
	now := map[string]bool{}
	for _, m := range kept {
		now[m.ID] = true
		switch b := before[m.ID]; {
		case b == nil:
			res.Added = append(res.Added, m.ID)
		case !sameLabels(b.LabelIDs, m.LabelIDs):
			res.Changed = append(res.Changed, m.ID)
		}
	}
	for id := range before {
		if !now[id] {
			res.Deleted = append(res.Deleted, id)
		}
	}
	if err := r.store.Replace(ctx, r.user, prof.HistoryId, kept); err != nil {
		return nil, fmt.Errorf("gmail: sync %s: store: %w", r.user, err)
	}
	res.HistoryID = prof.HistoryId
	res.Messages = len(kept)
	res.sort()
	return res, nil
}

func (r *syncRun) incremental(ctx context.Context, start uint64) (*SyncResult, error) {
	res := r.res
	var order []string
	touched := map[string]bool{}
	deleted := map[string]bool{}
	touch := func(m *gmailapi.Message) {
		if m == nil || m.Id == "" {
			return
		}
		if !touched[m.Id] {
			touched[m.Id] = true
			order = append(order, m.Id)
		}
	}
	ho := &HistoryOptions{MaxResults: 500}
	latest := start
	var pages pageGuard
	ids := historyOrder{last: start}
	for {
		page, err := r.g.History.List(ctx, r.user, start, ho)
		r.count("users.history.list", 1)
		if err != nil {
			return nil, err
		}
		if err := ids.check(page.History); err != nil {
			return nil, fmt.Errorf("gmail: sync %s: history.list: %w", r.user, err)
		}
		for _, h := range page.History {
			for _, a := range h.MessagesAdded {
				touch(a.Message)
				if a.Message != nil {
					delete(deleted, a.Message.Id)
				}
			}
			for _, l := range h.LabelsAdded {
				touch(l.Message)
			}
			for _, l := range h.LabelsRemoved {
				touch(l.Message)
			}
			for _, d := range h.MessagesDeleted {
				if d.Message != nil {
					deleted[d.Message.Id] = true
				}
			}
		}
		latest = max(latest, page.HistoryId)
		if page.NextPageToken == "" {
			break
		}
		if err := pages.next(page.NextPageToken); err != nil {
			return nil, fmt.Errorf("gmail: sync %s: history.list: %w", r.user, err)
		}
		ho.PageToken = page.NextPageToken
	}
	var fetch []string
	for _, id := range order {
		if !deleted[id] {
			fetch = append(fetch, id)
		}
	}
	metas, gone, err := r.fetch(ctx, fetch, nil)
	if err != nil {
		return nil, err
	}
	for _, id := range gone {
		deleted[id] = true
	}
	var put []*MessageMeta
	var del []string
	for _, m := range metas {
		held, err := r.store.Message(ctx, r.user, m.ID)
		if err != nil {
			return nil, fmt.Errorf("gmail: sync %s: store: %w", r.user, err)
		}
		switch {
		case !r.inSet(m):
			if held != nil {
				del = append(del, m.ID)
				res.Deleted = append(res.Deleted, m.ID)
			}
		case held == nil:
			put = append(put, m)
			res.Added = append(res.Added, m.ID)
		default:
			put = append(put, m)
			if !sameLabels(held.LabelIDs, m.LabelIDs) {
				res.Changed = append(res.Changed, m.ID)
			}
		}
	}
	for id := range deleted {
		held, err := r.store.Message(ctx, r.user, id)
		if err != nil {
			return nil, fmt.Errorf("gmail: sync %s: store: %w", r.user, err)
		}
		if held != nil {
			del = append(del, id)
			res.Deleted = append(res.Deleted, id)
		}
	}
	if err := r.store.Apply(ctx, r.user, latest, put, del); err != nil {
		return nil, fmt.Errorf("gmail: sync %s: store: %w", r.user, err)
	}
	all, err := r.store.Messages(ctx, r.user)
	if err != nil {
		return nil, fmt.Errorf("gmail: sync %s: store: %w", r.user, err)
	}
	res.HistoryID = latest
	res.Messages = len(all)
	res.sort()
	return res, nil
}

func (r *SyncResult) sort() {
	sort.Strings(r.Added)
	sort.Strings(r.Changed)
	sort.Strings(r.Deleted)
}

func sameLabels(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
