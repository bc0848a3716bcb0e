package gmail

import (
	"context"
	"fmt"
	"iter"

	gmailapi "google.golang.org/api/gmail/v1"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/pager"
)

// HistoryService handles users.history.
type HistoryService struct{ g *Client }

// History record types, for HistoryListOptions.Types.
const (
	MessageAdded   = "messageAdded"
	MessageDeleted = "messageDeleted"
	LabelAdded     = "labelAdded"
	LabelRemoved   = "labelRemoved"
)

// HistoryListOptions select, page and trim the history records List and
// All return. Nil means every type, 100 a page.
type HistoryListOptions struct {
	// ListOptions pages the list: PageSize is sent as maxResults (Gmail's
	// default 100; Gmail returns at most 500 a page, whatever is asked; a
	// negative size is refused before any request).
	workspace.ListOptions
	// Types keeps only these record types (MessageAdded, ...).
	Types []string
	// LabelID keeps only records about messages with this label.
	LabelID string
	// Fields is a partial-response selector; nextPageToken and historyId
	// are always added.
	Fields string
}

// List returns one page of the changes to user's mailbox after start, a
// history id, with the mailbox's current history id and the next page's
// token (2 units). A start id that is too old (or unknown) is
// answered with 404: errors.Is(err, workspace.ErrNotFound), and the caller
// must do a full sync.
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.history/list
func (s *HistoryService) List(ctx context.Context, user string, start uint64, opts *HistoryListOptions) (*gmailapi.ListHistoryResponse, error) {
	const op = "gmail: history.list"
	if start == 0 {
		return nil, &workspace.InputError{Op: op, Field: "startHistoryId", Reason: "must not be 0"}
	}
	var o HistoryListOptions
	if opts != nil {
		o = *opts
	}
	if err := checkPage(op, o.ListOptions); err != nil {
		return nil, err
	}
	for _, t := range o.Types {
		switch t {
		case MessageAdded, MessageDeleted, LabelAdded, LabelRemoved:
		default:
			return nil, &workspace.InputError{Op: op, Field: "Types", Reason: fmt.Sprintf("unknown history type %q", t)}
		}
	}
	uc, err := s.g.conn(ctx, op, user)
	if err != nil {
		return nil, err
	}
	call := uc.svc.Users.History.List(user).StartHistoryId(start)
	if len(o.Types) > 0 {
		call.HistoryTypes(o.Types...)
	}
	if o.LabelID != "" {
		call.LabelId(o.LabelID)
	}
	if o.PageSize > 0 {
		call.MaxResults(o.PageSize)
	}
	if o.PageToken != "" {
		call.PageToken(o.PageToken)
	}
	if o.Fields != "" {
		call.Fields(pageFields("historyId," + o.Fields))
	}
	r, err := call.Context(CallContext(ctx, user, "users.history.list")).Do()
	return r, apiError(err)
}

// All iterates over the history records after start, oldest first, from
// the first page to the last (opts.PageToken is ignored; see List). It
// yields at most one error (a 404 for a stale start id; a page token or a
// history id the server sent again, which would make the listing loop),
// then stops.
func (s *HistoryService) All(ctx context.Context, user string, start uint64, opts *HistoryListOptions) iter.Seq2[*gmailapi.History, error] {
	var o HistoryListOptions
	if opts != nil {
		o = *opts
	}
	ids := historyOrder{last: start}
	return pager.All(ctx, "", func(ctx context.Context, token string) ([]*gmailapi.History, string, error) {
		o.PageToken = token
		page, err := s.List(ctx, user, start, &o)
		if err != nil {
			return nil, "", err
		}
		if err := ids.check(page.History); err != nil {
			return nil, "", fmt.Errorf("gmail: history.list: %w", err)
		}
		return page.History, page.NextPageToken, nil
	})
}

// historyOrder checks that the history records of one listing come with
// growing ids, as Gmail sends them (oldest first, each id above start): a
// record id seen again means the server is sending the same records
// again. Records without an id (a Fields selector that leaves it out)
// are not checked.
type historyOrder struct{ last uint64 }

func (o *historyOrder) check(records []*gmailapi.History) error {
	for _, h := range records {
		if h == nil || h.Id == 0 {
			continue
		}
		if h.Id <= o.last {
			return fmt.Errorf("history id %d came after %d: the server sent records again (the listing would loop; the changes so far may be incomplete)", h.Id, o.last)
		}
		o.last = h.Id
	}
	return nil
}

// pageGuard ends a hand-written paging loop that the server makes repeat
// a page token, or that goes on past pager.MaxPages.
type pageGuard struct {
	seen  map[string]bool
	pages int
}

// next records the token of the next page and fails when it was seen.
func (g *pageGuard) next(token string) error {
	g.pages++
	if g.seen == nil {
		g.seen = map[string]bool{}
	}
	if g.seen[token] {
		return &pager.LoopError{Token: token, Page: g.pages}
	}
	if g.pages >= pager.MaxPages {
		return fmt.Errorf("listing stopped after %d pages, the most one listing may take", pager.MaxPages)
	}
	g.seen[token] = true
	return nil
}

// Profile returns the mailbox's address, counts and current history id
// (1 unit).
//
// API docs: https://developers.google.com/workspace/gmail/api/reference/rest/v1/users/getProfile
func (g *Client) Profile(ctx context.Context, user string) (*gmailapi.Profile, error) {
	uc, err := g.conn(ctx, "gmail: getProfile", user)
	if err != nil {
		return nil, err
	}
	p, err := uc.svc.Users.GetProfile(user).Context(CallContext(ctx, user, "users.getProfile")).Do()
	return p, apiError(err)
}
