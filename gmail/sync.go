package gmail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"slices"
	"sort"
	"sync"
	"time"

	gmailapi "google.golang.org/api/gmail/v1"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/quota"
)

// defaultSyncHeaders are the header fields a sync keeps by default.
var defaultSyncHeaders = []string{"From", "To", "Subject", "Date", "Message-ID"}

// SyncOptions tune Sync and FullSync. Nil means every message outside
// spam and trash, with the default Headers.
type SyncOptions struct {
	// LabelID limits the synced set to messages with this label.
	LabelID string
	// IncludeSpamTrash also syncs messages in SPAM and TRASH.
	IncludeSpamTrash bool
	// Headers are the header fields kept in MessageMeta.Headers (default
	// From, To, Subject, Date and Message-ID).
	Headers []string
	// Batch tunes the batched messages.get calls.
	Batch *BatchOptions
	// Progress, when set, is called after each batch of messages fetched
	// during a full sync with the number done and the total (a resumed
	// sync counts the messages taken from its checkpoint as done).
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
	// Resumed is true when a full sync went on from the checkpoint of an
	// earlier one that stopped (see FullSync); ResumedMessages counts the
	// messages it took from the checkpoint instead of fetching them
	// again.
	Resumed         bool
	ResumedMessages int
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
		o.Headers = defaultSyncHeaders
	}
	return &syncRun{g: g, user: user, store: store, o: o,
		res: &SyncResult{User: user, Calls: map[string]int{}}}
}

// Sync brings store up to date with user's mailbox. When store has a
// history id, it asks history.list for the changes since (2 units a page)
// and fetches the metadata of new and relabelled messages in batches;
// when it has none, or Gmail answers 404 because the id is too old, it
// does a full sync (see FullSync), which resumes the checkpoint of an
// earlier full sync that stopped. An incremental sync is written once,
// atomically, at the end, so an interrupted one leaves the previous state
// and the next one starts again from the stored history id. While the
// stored history id is valid, Sync does incremental syncs and leaves any
// checkpoint of a stopped FullSync alone.
//
// API docs: https://developers.google.com/workspace/gmail/api/guides/sync
func (g *Client) Sync(ctx context.Context, user string, store Store, opts *SyncOptions) (*SyncResult, error) {
	const op = "gmail: Sync"
	if err := checkUser(op, user); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, &workspace.InputError{Op: op, Field: "store", Reason: "nil"}
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
//
// With a CheckpointStore (MemoryStore, boltstore.Store) a full sync that stops
// (an error, a cancelled context, a killed process) resumes: it saves a
// checkpoint beside what the store holds for user, which stays as it was
// until the sync completes. The checkpoint holds the sync's options, the
// history id read at the start, the ids listed and the page token of the
// next page (saved after each page), and the metadata of the messages
// fetched (saved after every 500; when some messages.get fail, the ones
// of their batches that succeeded are saved before the error is
// returned; a cancelled context loses at most the last 500). The
// next full sync of user (FullSync, or Sync when it must do one) goes on
// from there: it lists only the pages not listed yet and fetches only
// the messages not fetched yet. When the store is replaced the checkpoint
// is dropped; SyncResult.Resumed and ResumedMessages say what was taken
// from it. A MemoryStore's checkpoint serves a rerun in the same process
// only.
//
// The history id stored at the end is the one read at the start of the
// first attempt, however many attempts it took: every message stored was
// fetched after it, so any change to a message after its fetch (during
// the sync or between attempts) has a later history record, and the next
// incremental sync replays it; a message deleted after its fetch is
// removed by that sync, not by this one. A message listed but gone by the
// time it is fetched is left out. Before resuming, one history.list (2
// units) checks that Gmail still has that history id.
//
// A checkpoint is not resumed, and the sync starts over, when it was
// written with other options (LabelID, IncludeSpamTrash, or another set
// of Headers) or Gmail no longer has its history id; the reason is
// logged (Info) to the client's logger. If Gmail refuses the stored page
// token (400, as when it expired), the listing starts over from the first
// page, and the messages already fetched are kept and not fetched again.
func (g *Client) FullSync(ctx context.Context, user string, store Store, opts *SyncOptions) (*SyncResult, error) {
	const op = "gmail: FullSync"
	if err := checkUser(op, user); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, &workspace.InputError{Op: op, Field: "store", Reason: "nil"}
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
func (r *syncRun) fetch(ctx context.Context, ids []string) (metas []*MessageMeta, gone []string, err error) {
	const step = 2000
	for lo := 0; lo < len(ids); lo += step {
		m, g, err := r.fetchChunk(ctx, ids[lo:min(lo+step, len(ids))])
		if err != nil {
			return nil, nil, err
		}
		metas, gone = append(metas, m...), append(gone, g...)
	}
	return metas, gone, nil
}

// fetchChunk gets the metadata of ids in batches. Messages that are gone
// (404) are reported in gone. When another failure ends it, the messages
// fetched before are returned with the first error.
func (r *syncRun) fetchChunk(ctx context.Context, ids []string) (metas []*MessageMeta, gone []string, err error) {
	msgs, sent, err := r.g.Messages.getMany(ctx, r.user, ids, r.getOptions())
	r.count("users.messages.get", sent)
	var be *BatchError
	if errors.As(err, &be) {
		err = nil
		for _, c := range be.Failed {
			if !errors.Is(c.Err, workspace.ErrNotFound) {
				err = c.Err
				break
			}
		}
	} else if err != nil {
		// A batch cut short (a cancelled context) leaves its results
		// unsure: keep none.
		return nil, nil, err
	}
	for i, m := range msgs {
		if m == nil {
			if err == nil {
				gone = append(gone, ids[i])
			}
			continue
		}
		metas = append(metas, toMeta(m))
	}
	return metas, gone, err
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

var _ CheckpointStore = (*MemoryStore)(nil)

// fullCheckpointStep is how many messages a full sync fetches between
// two checkpoints: a stop loses at most this many messages.get (2,500
// units, 10,000 in the 2026 regime).
const fullCheckpointStep = 500

// cpVersion is the version of cpState; a checkpoint of another version
// is not resumed.
const cpVersion = 1

// cpState is the State of a full sync's Checkpoint, JSON-encoded.
type cpState struct {
	Version int `json:"v"`
	// Options are the sync options that decide the synced set and what
	// is kept of each message (optionsKey).
	Options string `json:"options"`
	// HistoryID is the mailbox's history id read before the first
	// listing of the first attempt (users.getProfile); it is the one
	// stored when the full sync completes, however many attempts it took.
	HistoryID uint64 `json:"historyId"`
	// PageToken is the messages.list token of the next page to list;
	// Listed is true once the last page was listed.
	PageToken string `json:"pageToken,omitempty"`
	Listed    bool   `json:"listed,omitempty"`
	// IDsFrom is where this listing's ids start in Checkpoint.IDs: a
	// listing started over (its page token had expired) leaves the ids of
	// the one before in front, unused.
	IDsFrom int `json:"idsFrom,omitempty"`
}

// optionsKey describes the options that decide what a full sync stores:
// a checkpoint written under other options is not resumed.
func (r *syncRun) optionsKey() string {
	h := make([]string, 0, len(r.o.Headers))
	for _, x := range r.o.Headers {
		h = append(h, textproto.CanonicalMIMEHeaderKey(x))
	}
	slices.Sort(h)
	h = slices.Compact(h)
	b, _ := json.Marshal(struct {
		LabelID          string   `json:"labelId,omitempty"`
		IncludeSpamTrash bool     `json:"includeSpamTrash,omitempty"`
		Headers          []string `json:"headers"`
	}{r.o.LabelID, r.o.IncludeSpamTrash, h})
	return string(b)
}

func (r *syncRun) log(ctx context.Context, msg string, attrs ...slog.Attr) {
	if l := core.Of(r.g.core).Logger; l != nil {
		l.LogAttrs(ctx, slog.LevelInfo, msg, append([]slog.Attr{slog.String("user", r.user)}, attrs...)...)
	}
}

// save adds ids and msgs to the checkpoint, with st as its state. It
// writes even when ctx is cancelled, so that the work done before a
// cancellation is kept.
func (r *syncRun) save(ctx context.Context, cs CheckpointStore, st *cpState, ids []string, msgs []*MessageMeta) error {
	if cs == nil {
		return nil
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	err = cs.SaveCheckpoint(context.WithoutCancel(ctx), r.user, &Checkpoint{State: b, IDs: ids, Messages: msgs})
	if err != nil {
		return fmt.Errorf("gmail: sync %s: store checkpoint: %w", r.user, err)
	}
	return nil
}

// resumable returns the checkpoint of an earlier full sync that this one
// may go on from, with its state, or nil. A checkpoint that may not be
// resumed (unreadable, other options, history id forgotten by Gmail) is
// dropped and the reason logged.
func (r *syncRun) resumable(ctx context.Context, cs CheckpointStore) (*Checkpoint, cpState, error) {
	var st cpState
	cp, err := cs.Checkpoint(ctx, r.user)
	if err != nil {
		return nil, st, fmt.Errorf("gmail: sync %s: store checkpoint: %w", r.user, err)
	}
	if cp == nil {
		return nil, st, nil
	}
	drop := func(why string, attrs ...slog.Attr) (*Checkpoint, cpState, error) {
		r.log(ctx, "gmail: full sync starts over: "+why, attrs...)
		if err := cs.ClearCheckpoint(ctx, r.user); err != nil {
			return nil, st, fmt.Errorf("gmail: sync %s: store checkpoint: %w", r.user, err)
		}
		return nil, st, nil
	}
	if err := json.Unmarshal(cp.State, &st); err != nil || st.Version != cpVersion || st.HistoryID == 0 {
		return drop("the checkpoint is unreadable or of another version")
	}
	if now := r.optionsKey(); st.Options != now {
		return drop("the checkpoint was written with other sync options",
			slog.String("checkpoint", st.Options), slog.String("now", now))
	}
	// The history id the full sync started at will be stored at the end;
	// if Gmail has forgotten it, the next Sync would do a full sync again.
	_, err = r.g.History.List(ctx, r.user, st.HistoryID, &HistoryListOptions{ListOptions: workspace.ListOptions{PageSize: 1}, Fields: "history(id)"})
	r.count("users.history.list", 1)
	if errors.Is(err, workspace.ErrNotFound) {
		return drop("Gmail no longer has the history id the checkpoint started at",
			slog.Uint64("historyId", st.HistoryID))
	}
	if err != nil {
		return nil, st, err
	}
	return cp, st, nil
}

// badPageToken reports whether err is Gmail's answer to a page token it
// no longer accepts (400).
func badPageToken(err error) bool {
	var we *workspace.Error
	return errors.As(err, &we) && we.StatusCode == http.StatusBadRequest
}

func (r *syncRun) full(ctx context.Context, reason string) (*SyncResult, error) {
	res := r.res
	res.Full, res.Reason = true, reason
	cs, _ := r.store.(CheckpointStore)
	var cp *Checkpoint
	var st cpState
	if cs != nil {
		var err error
		if cp, st, err = r.resumable(ctx, cs); err != nil {
			return nil, err
		}
	}
	if cp != nil {
		res.Resumed = true
		r.log(ctx, "gmail: full sync resumes from its checkpoint",
			slog.Int("listed", len(cp.IDs)-min(st.IDsFrom, len(cp.IDs))), slog.Bool("listingDone", st.Listed),
			slog.Int("fetched", len(cp.Messages)), slog.Uint64("historyId", st.HistoryID))
	} else {
		// The history id is read before anything is listed: every message
		// stored is then a snapshot taken after it, so a change made
		// during the sync (or between its attempts) has a history record
		// after it, which the next incremental sync replays.
		prof, err := r.g.Profile(ctx, r.user)
		r.count("users.getProfile", 1)
		if err != nil {
			return nil, err
		}
		cp = &Checkpoint{}
		st = cpState{Version: cpVersion, Options: r.optionsKey(), HistoryID: prof.HistoryId}
		if err := r.save(ctx, cs, &st, nil, nil); err != nil {
			return nil, err
		}
	}
	listed := slices.Clone(cp.IDs[min(st.IDsFrom, len(cp.IDs)):])
	stored := len(cp.IDs)
	if !st.Listed {
		lo := &MessageListOptions{ListOptions: workspace.ListOptions{PageSize: maxPageSize, PageToken: st.PageToken},
			IncludeSpamTrash: r.o.IncludeSpamTrash, Fields: "messages(id)"}
		if r.o.LabelID != "" {
			lo.LabelIDs = []string{r.o.LabelID}
		}
		stale := st.PageToken != "" // a token from an earlier run
		var pages pageGuard
		for {
			page, err := r.g.Messages.List(ctx, r.user, lo)
			r.count("users.messages.list", 1)
			if err != nil && stale && badPageToken(err) {
				// Page tokens expire. The listing starts over; the
				// messages fetched are kept and not fetched again.
				r.log(ctx, "gmail: full sync lists again from the first page: Gmail refused the stored page token",
					slog.String("error", err.Error()))
				stale = false
				listed = nil
				st.PageToken, st.IDsFrom = "", stored
				lo.PageToken = ""
				pages = pageGuard{}
				if err := r.save(ctx, cs, &st, nil, nil); err != nil {
					return nil, err
				}
				continue
			}
			if err != nil {
				return nil, err
			}
			stale = false
			ids := make([]string, 0, len(page.Messages))
			for _, m := range page.Messages {
				ids = append(ids, m.Id)
			}
			if page.NextPageToken != "" {
				if err := pages.next(page.NextPageToken); err != nil {
					return nil, fmt.Errorf("gmail: sync %s: messages.list: %w", r.user, err)
				}
			}
			listed = append(listed, ids...)
			stored += len(ids)
			st.PageToken, st.Listed = page.NextPageToken, page.NextPageToken == ""
			if err := r.save(ctx, cs, &st, ids, nil); err != nil {
				return nil, err
			}
			if st.Listed {
				break
			}
			lo.PageToken = page.NextPageToken
		}
	}

	fetched := make(map[string]*MessageMeta, len(cp.Messages))
	for _, m := range cp.Messages {
		fetched[m.ID] = m
	}
	cp = nil
	seen := make(map[string]bool, len(listed))
	var order, todo []string
	for _, id := range listed {
		if seen[id] {
			continue
		}
		seen[id] = true
		order = append(order, id)
		if fetched[id] == nil {
			todo = append(todo, id)
		}
	}
	res.ResumedMessages = len(order) - len(todo)
	for lo := 0; lo < len(todo); lo += fullCheckpointStep {
		chunk := todo[lo:min(lo+fullCheckpointStep, len(todo))]
		metas, _, err := r.fetchChunk(ctx, chunk)
		for _, m := range metas {
			fetched[m.ID] = m
		}
		if len(metas) > 0 {
			if serr := r.save(ctx, cs, &st, nil, metas); serr != nil && err == nil {
				err = serr
			}
		}
		if err != nil {
			return nil, err
		}
		if r.o.Progress != nil {
			r.o.Progress(res.ResumedMessages+lo+len(chunk), len(order))
		}
	}
	// Messages listed but gone at fetch time (404) are not in fetched, and
	// messages fetched in an earlier listing but no longer listed are not
	// in order: neither is kept.
	var kept []*MessageMeta
	for _, id := range order {
		if m := fetched[id]; m != nil && r.inSet(m) {
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
	if err := r.store.Replace(ctx, r.user, st.HistoryID, kept); err != nil {
		return nil, fmt.Errorf("gmail: sync %s: store: %w", r.user, err)
	}
	if cs != nil {
		if err := cs.ClearCheckpoint(ctx, r.user); err != nil {
			return nil, fmt.Errorf("gmail: sync %s: store checkpoint: %w", r.user, err)
		}
	}
	res.HistoryID = st.HistoryID
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
	ho := &HistoryListOptions{ListOptions: workspace.ListOptions{PageSize: maxPageSize}}
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
	metas, gone, err := r.fetch(ctx, fetch)
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
