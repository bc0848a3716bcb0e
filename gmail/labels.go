package gmail

import (
	"context"
	"iter"

	gmailapi "google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"

	"github.com/gwsadmin/workspace"
)

// LabelsService handles users.labels.
type LabelsService struct{ g *Client }

// LabelListOptions trim a label list. Nil means every field.
type LabelListOptions struct {
	// Fields is a partial-response selector, e.g. "labels(id,name)".
	Fields string
}

// List returns user's labels, system and user labels (1 unit). Gmail
// returns them all at once: there is no paging.
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.labels/list
func (s *LabelsService) List(ctx context.Context, user string, opts *LabelListOptions) (*gmailapi.ListLabelsResponse, error) {
	uc, err := s.g.conn(ctx, "gmail: labels.list", user)
	if err != nil {
		return nil, err
	}
	call := uc.svc.Users.Labels.List(user)
	if opts != nil && opts.Fields != "" {
		call.Fields(googleapi.Field(opts.Fields))
	}
	r, err := call.Context(CallContext(ctx, user, "users.labels.list")).Do()
	return r, apiError(err)
}

// All iterates over user's labels. It yields at most one error, then
// stops.
func (s *LabelsService) All(ctx context.Context, user string, opts *LabelListOptions) iter.Seq2[*gmailapi.Label, error] {
	return func(yield func(*gmailapi.Label, error) bool) {
		page, err := s.List(ctx, user, opts)
		if err != nil {
			yield(nil, err)
			return
		}
		for _, l := range page.Labels {
			if !yield(l, nil) {
				return
			}
		}
	}
}

// Create creates a user label (5 units).
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.labels/create
func (s *LabelsService) Create(ctx context.Context, user string, l *gmailapi.Label) (*gmailapi.Label, error) {
	const op = "gmail: labels.create"
	if l == nil || l.Name == "" {
		return nil, &workspace.InputError{Op: op, Field: "Name", Reason: "empty"}
	}
	uc, err := s.g.conn(ctx, op, user)
	if err != nil {
		return nil, err
	}
	r, err := uc.svc.Users.Labels.Create(user, l).Context(CallContext(ctx, user, "users.labels.create")).Do()
	return r, apiError(err)
}

// Delete deletes a user label (5 units); messages keep existing.
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.labels/delete
func (s *LabelsService) Delete(ctx context.Context, user, id string) error {
	if id == "" {
		return &workspace.InputError{Op: "gmail: labels.delete", Field: "id", Reason: "empty"}
	}
	uc, err := s.g.conn(ctx, "gmail: labels.delete", user)
	if err != nil {
		return err
	}
	return apiError(uc.svc.Users.Labels.Delete(user, id).Context(CallContext(ctx, user, "users.labels.delete")).Do())
}
