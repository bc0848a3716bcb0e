package gmail

import (
	"context"
	"iter"

	gmailapi "google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/pager"
)

// ThreadsService handles users.threads.
type ThreadsService struct{ g *Client }

// ThreadListOptions select, page and trim the threads List and All
// return. Nil means every thread (spam and trash excluded), 100 a page.
type ThreadListOptions struct {
	// ListOptions pages the list: PageSize is sent as maxResults (Gmail's
	// default 100; Gmail returns at most 500 a page, whatever is asked; a
	// negative size is refused before any request).
	workspace.ListOptions
	// Query is a Gmail search query ("from:a@example.com newer_than:7d"):
	// threads with a message that matches it are listed.
	Query string
	// LabelIDs keeps threads that carry every one of these label ids.
	LabelIDs []string
	// IncludeSpamTrash also lists threads in SPAM and TRASH.
	IncludeSpamTrash bool
	// Fields is a partial-response selector, e.g. "threads(id)";
	// nextPageToken is always added so that paging works.
	Fields string
}

// List returns one page of user's threads (ids and snippets; use Get for
// their messages), with Gmail's size estimate and the next page's token
// (10 units).
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.threads/list
func (s *ThreadsService) List(ctx context.Context, user string, opts *ThreadListOptions) (*gmailapi.ListThreadsResponse, error) {
	const op = "gmail: threads.list"
	var o ThreadListOptions
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
	call := applyList(uc.svc.Users.Threads.List(user), listFilter(o))
	r, err := call.Context(CallContext(ctx, user, "users.threads.list")).Do()
	return r, apiError(err)
}

// All iterates over user's threads, from the first page to the last
// (opts.PageToken is ignored; see List). It yields at most one error,
// then stops.
func (s *ThreadsService) All(ctx context.Context, user string, opts *ThreadListOptions) iter.Seq2[*gmailapi.Thread, error] {
	var o ThreadListOptions
	if opts != nil {
		o = *opts
	}
	return pager.All(ctx, "", func(ctx context.Context, token string) ([]*gmailapi.Thread, string, error) {
		o.PageToken = token
		page, err := s.List(ctx, user, &o)
		if err != nil {
			return nil, "", err
		}
		return page.Threads, page.NextPageToken, nil
	})
}

// Get returns a thread with its messages (10 units; 40 in the 2026
// regime). opts.Format may be full, metadata or minimal: threads.get has
// no raw format, and "raw" is refused before any request.
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.threads/get
func (s *ThreadsService) Get(ctx context.Context, user, id string, opts *GetOptions) (*gmailapi.Thread, error) {
	const op = "gmail: threads.get"
	if err := opts.check(op); err != nil {
		return nil, err
	}
	if opts != nil && opts.Format == "raw" {
		// threads.get documents full, metadata and minimal only.
		return nil, &workspace.InputError{Op: op, Field: "Format", Reason: `"raw" is not a thread format (full, metadata or minimal); get the messages with Messages.Get for raw`}
	}
	if id == "" {
		return nil, &workspace.InputError{Op: op, Field: "id", Reason: "empty"}
	}
	uc, err := s.g.conn(ctx, op, user)
	if err != nil {
		return nil, err
	}
	call := uc.svc.Users.Threads.Get(user, id)
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
	t, err := call.Context(CallContext(ctx, user, "users.threads.get")).Do()
	return t, apiError(err)
}
