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

// List returns one page of user's threads (10 units).
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.threads/list
func (s *ThreadsService) List(ctx context.Context, user string, opts *ListOptions) (*gmailapi.ListThreadsResponse, error) {
	uc, err := s.g.conn(ctx, "gmail: threads.list", user)
	if err != nil {
		return nil, err
	}
	call := applyList(uc.svc.Users.Threads.List(user), opts)
	r, err := call.Context(CallContext(ctx, user, "users.threads.list")).Do()
	return r, apiError(err)
}

// All iterates over user's threads, page after page. It yields at most one
// error, then stops.
func (s *ThreadsService) All(ctx context.Context, user string, opts *ListOptions) iter.Seq2[*gmailapi.Thread, error] {
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	return pager.All(ctx, o.PageToken, func(ctx context.Context, token string) ([]*gmailapi.Thread, string, error) {
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
