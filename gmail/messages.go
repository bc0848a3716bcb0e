package gmail

import (
	"context"
	"fmt"
	"iter"
	"math"
	"net/url"
	"strings"

	gmailapi "google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/pager"
)

// MessagesService handles users.messages.
type MessagesService struct{ g *Client }

// MessageListOptions select, page and trim the messages List and All
// return. Nil means every message (spam and trash excluded), 100 a page.
type MessageListOptions struct {
	// ListOptions pages the list: PageSize is sent as maxResults (Gmail's
	// default 100; Gmail returns at most 500 a page, whatever is asked; a
	// negative size is refused before any request).
	workspace.ListOptions
	// Query is a Gmail search query ("from:a@example.com newer_than:7d").
	Query string
	// LabelIDs keeps messages that carry every one of these label ids.
	LabelIDs []string
	// IncludeSpamTrash also lists messages in SPAM and TRASH.
	IncludeSpamTrash bool
	// Fields is a partial-response selector, e.g. "messages(id)";
	// nextPageToken is always added so that paging works.
	Fields string
}

// maxPageSize is the most messages.list, threads.list and history.list
// return a page (the discovery document's description); the syncs ask for
// it.
const maxPageSize = 500

// checkPage refuses, before any request, a negative page size (0 means
// Gmail's default). A size above 500, the most messages.list,
// threads.list and history.list return a page (the discovery document's
// description), is sent as it is: the schema sets no maximum and Gmail
// answers with 500. One above 2³²−1 does not fit maxResults' uint32 and is
// refused too.
func checkPage(op string, lo workspace.ListOptions) error {
	if lo.PageSize < 0 || lo.PageSize > math.MaxUint32 {
		return &workspace.InputError{Op: op, Field: "PageSize",
			Reason: fmt.Sprintf("%d is outside 0–%d, the uint32 maxResults takes (0 means Gmail's default, 100; Gmail gives at most 500 a page)", lo.PageSize, uint64(math.MaxUint32))}
	}
	return nil
}

// pageFields adds nextPageToken to a list's fields selector.
func pageFields(f string) googleapi.Field {
	if f == "" || strings.Contains(f, "nextPageToken") {
		return googleapi.Field(f)
	}
	return googleapi.Field("nextPageToken," + f)
}

// List returns one page of user's messages: ids and thread ids (use Get
// or GetMany for the rest), with Gmail's size estimate and the next
// page's token. It costs 5 units.
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/list
func (s *MessagesService) List(ctx context.Context, user string, opts *MessageListOptions) (*gmailapi.ListMessagesResponse, error) {
	const op = "gmail: messages.list"
	var o MessageListOptions
	if opts != nil {
		o = *opts
	}
	if err := checkPage(op, o.ListOptions); err != nil {
		return nil, err
	}
	uc, err := s.g.conn(ctx, op, user)
	if err != nil {
		return nil, err
	}
	call := applyList(uc.svc.Users.Messages.List(user), listFilter(o))
	r, err := call.Context(CallContext(ctx, user, "users.messages.list")).Do()
	return r, apiError(err)
}

// All iterates over user's messages, from the first page to the last
// (opts.PageToken is ignored; see List). It yields at most one error,
// then stops.
func (s *MessagesService) All(ctx context.Context, user string, opts *MessageListOptions) iter.Seq2[*gmailapi.Message, error] {
	var o MessageListOptions
	if opts != nil {
		o = *opts
	}
	return pager.All(ctx, "", func(ctx context.Context, token string) ([]*gmailapi.Message, string, error) {
		o.PageToken = token
		page, err := s.List(ctx, user, &o)
		if err != nil {
			return nil, "", err
		}
		return page.Messages, page.NextPageToken, nil
	})
}

// GetOptions choose what Get and GetMany return. Nil means format "full".
type GetOptions struct {
	// Format is "full" (default), "metadata", "minimal" or "raw".
	Format string
	// MetadataHeaders limits the headers of format "metadata".
	MetadataHeaders []string
	// Fields is a partial-response selector, e.g. "id,labelIds,payload/headers".
	Fields string
	// Batch tunes GetMany's batching; Get ignores it.
	Batch *BatchOptions
}

func (o *GetOptions) check(op string) error {
	if o == nil {
		return nil
	}
	switch o.Format {
	case "", "full", "metadata", "minimal", "raw":
		return nil
	}
	return &workspace.InputError{Op: op, Field: "Format", Reason: fmt.Sprintf("%q is not full, metadata, minimal or raw", o.Format)}
}

func (o *GetOptions) query() url.Values {
	q := url.Values{}
	if o == nil {
		return q
	}
	if o.Format != "" {
		q.Set("format", o.Format)
	}
	for _, h := range o.MetadataHeaders {
		q.Add("metadataHeaders", h)
	}
	if o.Fields != "" {
		q.Set("fields", o.Fields)
	}
	return q
}

// Get returns one message. It costs 5 units (20 in the 2026 regime).
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/get
func (s *MessagesService) Get(ctx context.Context, user, id string, opts *GetOptions) (*gmailapi.Message, error) {
	const op = "gmail: messages.get"
	if err := opts.check(op); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, &workspace.InputError{Op: op, Field: "id", Reason: "empty"}
	}
	uc, err := s.g.conn(ctx, op, user)
	if err != nil {
		return nil, err
	}
	call := uc.svc.Users.Messages.Get(user, id)
	if opts != nil {
		if opts.Format != "" {
			call.Format(opts.Format)
		}
		if len(opts.MetadataHeaders) > 0 {
			call.MetadataHeaders(opts.MetadataHeaders...)
		}
		if opts.Fields != "" {
			call.Fields(googleapi.Field(opts.Fields))
		}
	}
	m, err := call.Context(CallContext(ctx, user, "users.messages.get")).Do()
	return m, apiError(err)
}

// GetMany returns the messages with the given ids, in the same order,
// fetched through HTTP batches (see Client.Batch): 50 messages per round
// trip by default, each charged as one messages.get, failed calls retried
// on their own. A message that could not be fetched is nil in the result
// and listed in the returned *BatchError (errors.Is(err,
// workspace.ErrNotFound) tells whether any was missing).
func (s *MessagesService) GetMany(ctx context.Context, user string, ids []string, opts *GetOptions) ([]*gmailapi.Message, error) {
	out, _, err := s.getMany(ctx, user, ids, opts)
	return out, err
}

// getMany is GetMany that also returns the number of calls sent (retries
// included).
func (s *MessagesService) getMany(ctx context.Context, user string, ids []string, opts *GetOptions) ([]*gmailapi.Message, int, error) {
	const op = "gmail: messages.get"
	if err := opts.check(op); err != nil {
		return nil, 0, err
	}
	q := opts.query()
	calls := make([]*BatchCall, len(ids))
	out := make([]*gmailapi.Message, len(ids))
	for i, id := range ids {
		if id == "" {
			return nil, 0, &workspace.InputError{Op: op, Field: fmt.Sprintf("ids[%d]", i), Reason: "empty"}
		}
		m := &gmailapi.Message{}
		calls[i] = &BatchCall{Method: "users.messages.get", Path: "users/" + pathUser(user) + "/messages/" + url.PathEscape(id),
			Query: q, Result: m}
	}
	var bo *BatchOptions
	if opts != nil {
		bo = opts.Batch
	}
	err := s.g.Batch(ctx, user, calls, bo)
	sent := 0
	for i, c := range calls {
		sent += c.Attempts
		if c.Err == nil && c.Attempts > 0 {
			out[i] = c.Result.(*gmailapi.Message)
		}
	}
	return out, sent, err
}

// Modification is a change of labels on one message, for ModifyMany.
type Modification struct {
	ID             string
	AddLabelIDs    []string
	RemoveLabelIDs []string
}

// ModifyMany applies a different label change to each message, through
// HTTP batches of messages.modify (5 units each). It returns the modified
// messages (ids and labels) in order, nil for a failure, and a
// *BatchError listing the failures. When every message gets the same
// change, LabelMany is cheaper.
func (s *MessagesService) ModifyMany(ctx context.Context, user string, mods []Modification, opts *BatchOptions) ([]*gmailapi.Message, error) {
	const op = "gmail: messages.modify"
	calls := make([]*BatchCall, len(mods))
	for i, m := range mods {
		if m.ID == "" {
			return nil, &workspace.InputError{Op: op, Field: fmt.Sprintf("mods[%d].ID", i), Reason: "empty"}
		}
		calls[i] = &BatchCall{Method: "users.messages.modify", HTTPMethod: "POST",
			Path:   "users/" + pathUser(user) + "/messages/" + url.PathEscape(m.ID) + "/modify",
			Body:   &gmailapi.ModifyMessageRequest{AddLabelIds: m.AddLabelIDs, RemoveLabelIds: m.RemoveLabelIDs},
			Result: &gmailapi.Message{}}
	}
	err := s.g.Batch(ctx, user, calls, opts)
	out := make([]*gmailapi.Message, len(mods))
	for i, c := range calls {
		if c.Err == nil && c.Attempts > 0 {
			out[i] = c.Result.(*gmailapi.Message)
		}
	}
	return out, err
}

// maxBatchModify is the most ids messages.batchModify takes in one call.
const maxBatchModify = 1000

// LabelMany adds and removes the same labels on many messages with
// messages.batchModify: up to 1,000 ids per call, 50 units per call
// (instead of 5 units per message with modify).
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/batchModify
func (s *MessagesService) LabelMany(ctx context.Context, user string, ids []string, add, remove []string) error {
	const op = "gmail: messages.batchModify"
	if len(add) == 0 && len(remove) == 0 {
		return &workspace.InputError{Op: op, Field: "labels", Reason: "nothing to add or remove"}
	}
	uc, err := s.g.conn(ctx, op, user)
	if err != nil {
		return err
	}
	for lo := 0; lo < len(ids); lo += maxBatchModify {
		hi := min(lo+maxBatchModify, len(ids))
		err := uc.svc.Users.Messages.BatchModify(user, &gmailapi.BatchModifyMessagesRequest{
			Ids: ids[lo:hi], AddLabelIds: add, RemoveLabelIds: remove,
		}).Context(CallContext(ctx, user, "users.messages.batchModify")).Do()
		if err != nil {
			return apiError(err)
		}
	}
	return nil
}

// Modify adds and removes labels on one message (5 units).
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/modify
func (s *MessagesService) Modify(ctx context.Context, user, id string, add, remove []string) (*gmailapi.Message, error) {
	if id == "" {
		return nil, &workspace.InputError{Op: "gmail: messages.modify", Field: "id", Reason: "empty"}
	}
	uc, err := s.g.conn(ctx, "gmail: messages.modify", user)
	if err != nil {
		return nil, err
	}
	m, err := uc.svc.Users.Messages.Modify(user, id, &gmailapi.ModifyMessageRequest{AddLabelIds: add, RemoveLabelIds: remove}).
		Context(CallContext(ctx, user, "users.messages.modify")).Do()
	return m, apiError(err)
}

// Trash moves a message to the trash (5 units; 20 in the 2026 regime).
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/trash
func (s *MessagesService) Trash(ctx context.Context, user, id string) error {
	if id == "" {
		return &workspace.InputError{Op: "gmail: messages.trash", Field: "id", Reason: "empty"}
	}
	uc, err := s.g.conn(ctx, "gmail: messages.trash", user)
	if err != nil {
		return err
	}
	_, err = uc.svc.Users.Messages.Trash(user, id).Context(CallContext(ctx, user, "users.messages.trash")).Do()
	return apiError(err)
}

// Delete deletes a message for good (10 units). It needs the full
// https://mail.google.com/ scope, which Client does not ask for by
// default: add it with workspace.WithScopes.
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/delete
func (s *MessagesService) Delete(ctx context.Context, user, id string) error {
	if id == "" {
		return &workspace.InputError{Op: "gmail: messages.delete", Field: "id", Reason: "empty"}
	}
	uc, err := s.g.conn(ctx, "gmail: messages.delete", user)
	if err != nil {
		return err
	}
	err = uc.svc.Users.Messages.Delete(user, id).Context(CallContext(ctx, user, "users.messages.delete")).Do()
	return apiError(err)
}

// listCall is what the generated messages and threads list calls have in
// common: each setter returns the call itself.
type listCall[C any] interface {
	Q(string) C
	LabelIds(...string) C
	IncludeSpamTrash(bool) C
	MaxResults(int64) C
	PageToken(string) C
	Fields(...googleapi.Field) C
}

// listFilter is what MessageListOptions and ThreadListOptions have in
// common: all of their fields.
type listFilter struct {
	workspace.ListOptions
	Query            string
	LabelIDs         []string
	IncludeSpamTrash bool
	Fields           string
}

// applyList sets o on a messages or threads list call.
func applyList[C listCall[C]](call C, o listFilter) C {
	if o.Query != "" {
		call.Q(o.Query)
	}
	if len(o.LabelIDs) > 0 {
		call.LabelIds(o.LabelIDs...)
	}
	if o.IncludeSpamTrash {
		call.IncludeSpamTrash(true)
	}
	if o.PageSize > 0 {
		call.MaxResults(o.PageSize)
	}
	if o.PageToken != "" {
		call.PageToken(o.PageToken)
	}
	if o.Fields != "" {
		call.Fields(pageFields(o.Fields))
	}
	return call
}
