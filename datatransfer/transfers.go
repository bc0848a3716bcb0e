package datatransfer

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"time"

	admin "google.golang.org/api/admin/datatransfer/v1"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/internal/pager"
	"github.com/gwsadmin/workspace/retry"
)

// Well-known application ids of the Data Transfer API.
const (
	DriveApplicationID    int64 = 55656082996  // "Drive and Docs"
	CalendarApplicationID int64 = 435070579839 // "Calendar"
)

// PrivacyLevel selects which Drive files a transfer moves.
type PrivacyLevel string

// Drive privacy levels (PRIVACY_LEVEL parameter).
const (
	PrivacyPrivate PrivacyLevel = "PRIVATE" // files shared with nobody
	PrivacyShared  PrivacyLevel = "SHARED"  // files shared with at least one person
)

// Application is an application whose data can be transferred.
type Application struct {
	ID     int64
	Name   string
	Params map[string][]string // parameter key → allowed values
}

// ApplicationsPage is one page of applications.
type ApplicationsPage struct {
	Applications  []*Application
	NextPageToken string
}

// ListOptions page through a list. Nil means the first page at the
// server's default size.
type ListOptions struct {
	PageSize  int64  // 1–500; 0 means the server's default (100)
	PageToken string // from a previous page
}

// ApplicationsService lists transferable applications.
type ApplicationsService struct{ c *Client }

// List returns one page of applications.
//
// API docs: https://developers.google.com/workspace/admin/data-transfer/reference/rest/v1/applications/list
func (s *ApplicationsService) List(ctx context.Context, opts *ListOptions) (*ApplicationsPage, error) {
	svc, err := s.c.transferService(ctx, false)
	if err != nil {
		return nil, err
	}
	call := svc.Applications.List()
	if opts != nil {
		if opts.PageSize < 0 || opts.PageSize > 500 {
			return nil, &workspace.InputError{Op: "datatransfer: applications.list", Field: "PageSize", Reason: "must be within 1–500"}
		}
		if opts.PageSize > 0 {
			call.MaxResults(opts.PageSize)
		}
		if opts.PageToken != "" {
			call.PageToken(opts.PageToken)
		}
	}
	res, err := call.Context(withCall(ctx, workspace.APIDataTransfer, "applications.list")).Do()
	if err != nil {
		return nil, apiError(err)
	}
	page := &ApplicationsPage{NextPageToken: res.NextPageToken}
	for _, a := range res.Applications {
		page.Applications = append(page.Applications, fromApp(a))
	}
	return page, nil
}

// Get returns one application.
func (s *ApplicationsService) Get(ctx context.Context, id int64) (*Application, error) {
	svc, err := s.c.transferService(ctx, false)
	if err != nil {
		return nil, err
	}
	a, err := svc.Applications.Get(id).Context(withCall(ctx, workspace.APIDataTransfer, "applications.get")).Do()
	if err != nil {
		return nil, apiError(err)
	}
	return fromApp(a), nil
}

// All iterates over every application, page by page.
func (s *ApplicationsService) All(ctx context.Context, opts *ListOptions) iter.Seq2[*Application, error] {
	o := ListOptions{}
	if opts != nil {
		o = *opts
	}
	return pager.All(ctx, o.PageToken, func(ctx context.Context, token string) ([]*Application, string, error) {
		o.PageToken = token
		page, err := s.List(ctx, &o)
		if err != nil {
			return nil, "", err
		}
		return page.Applications, page.NextPageToken, nil
	})
}

func fromApp(a *admin.Application) *Application {
	out := &Application{ID: a.Id, Name: a.Name, Params: map[string][]string{}}
	for _, p := range a.TransferParams {
		out.Params[p.Key] = append([]string(nil), p.Value...)
	}
	return out
}

// TransferRequest asks for the data of one user to be given to another.
// Users are given by e-mail address or by id; addresses are looked up in
// the Directory API. At least one of Drive and Calendar must be set.
type TransferRequest struct {
	From string // the current owner
	To   string // the new owner
	// Drive moves Drive files; nil leaves them.
	Drive *DriveTransfer
	// Calendar moves calendar events; nil leaves them.
	Calendar *CalendarTransfer
}

// DriveTransfer selects Drive files by privacy level. Empty means both.
type DriveTransfer struct {
	PrivacyLevels []PrivacyLevel
}

// CalendarTransfer moves calendar events; ReleaseResources also releases
// the rooms and resources the events booked (RELEASE_RESOURCES).
type CalendarTransfer struct {
	ReleaseResources bool
}

// Transfer is a data transfer and its state.
type Transfer struct {
	ID          string
	OldOwnerID  string
	NewOwnerID  string
	Status      string // "new", "inProgress", "completed", "failed" as Google reports it
	RequestTime time.Time
	Apps        []AppTransfer
}

// AppTransfer is the part of a transfer for one application.
type AppTransfer struct {
	ApplicationID int64
	Params        map[string][]string
	Status        string
}

// Done reports whether the transfer reached a final state.
func (t *Transfer) Done() bool {
	s := strings.ToLower(t.Status)
	return s == "completed" || s == "failed" || s == "error"
}

// TransfersPage is one page of transfers.
type TransfersPage struct {
	Transfers     []*Transfer
	NextPageToken string
}

// TransferListOptions filter and page transfers.
type TransferListOptions struct {
	ListOptions
	OldOwner string // e-mail or id
	NewOwner string // e-mail or id
	Status   string
}

// TransfersService creates and follows data transfers.
type TransfersService struct{ c *Client }

// Insert starts a transfer.
//
// API docs: https://developers.google.com/workspace/admin/data-transfer/reference/rest/v1/transfers/insert
func (s *TransfersService) Insert(ctx context.Context, req *TransferRequest) (*Transfer, error) {
	const op = "datatransfer: transfers.insert"
	switch {
	case req == nil:
		return nil, &workspace.InputError{Op: op, Field: "request", Reason: "is nil"}
	case req.From == "" || req.To == "":
		return nil, &workspace.InputError{Op: op, Field: "From/To", Reason: "both users are required"}
	case strings.EqualFold(req.From, req.To):
		return nil, &workspace.InputError{Op: op, Field: "To", Reason: "must differ from From"}
	case req.Drive == nil && req.Calendar == nil:
		return nil, &workspace.InputError{Op: op, Field: "Drive/Calendar", Reason: "choose at least one application"}
	}
	var apps []*admin.ApplicationDataTransfer
	if req.Drive != nil {
		levels := req.Drive.PrivacyLevels
		if len(levels) == 0 {
			levels = []PrivacyLevel{PrivacyPrivate, PrivacyShared}
		}
		var vals []string
		for _, l := range levels {
			if l != PrivacyPrivate && l != PrivacyShared {
				return nil, &workspace.InputError{Op: op, Field: "Drive.PrivacyLevels", Reason: fmt.Sprintf("%q is not PRIVATE or SHARED", l)}
			}
			vals = append(vals, string(l))
		}
		apps = append(apps, &admin.ApplicationDataTransfer{ApplicationId: DriveApplicationID,
			ApplicationTransferParams: []*admin.ApplicationTransferParam{{Key: "PRIVACY_LEVEL", Value: vals}}})
	}
	if req.Calendar != nil {
		a := &admin.ApplicationDataTransfer{ApplicationId: CalendarApplicationID}
		if req.Calendar.ReleaseResources {
			a.ApplicationTransferParams = []*admin.ApplicationTransferParam{{Key: "RELEASE_RESOURCES", Value: []string{"TRUE"}}}
		}
		apps = append(apps, a)
	}
	from, err := s.c.Users.ID(ctx, req.From)
	if err != nil {
		return nil, err
	}
	to, err := s.c.Users.ID(ctx, req.To)
	if err != nil {
		return nil, err
	}
	svc, err := s.c.transferService(ctx, true)
	if err != nil {
		return nil, err
	}
	res, err := svc.Transfers.Insert(&admin.DataTransfer{
		OldOwnerUserId: from, NewOwnerUserId: to, ApplicationDataTransfers: apps,
	}).Context(withCall(ctx, workspace.APIDataTransfer, "transfers.insert")).Do()
	if err != nil {
		return nil, apiError(err)
	}
	return fromTransfer(res), nil
}

// Get returns a transfer.
func (s *TransfersService) Get(ctx context.Context, id string) (*Transfer, error) {
	if id == "" {
		return nil, &workspace.InputError{Op: "datatransfer: transfers.get", Field: "id", Reason: "is empty"}
	}
	svc, err := s.c.transferService(ctx, false)
	if err != nil {
		return nil, err
	}
	res, err := svc.Transfers.Get(id).Context(withCall(ctx, workspace.APIDataTransfer, "transfers.get")).Do()
	if err != nil {
		return nil, apiError(err)
	}
	return fromTransfer(res), nil
}

// List returns one page of the customer's transfers.
func (s *TransfersService) List(ctx context.Context, opts *TransferListOptions) (*TransfersPage, error) {
	svc, err := s.c.transferService(ctx, false)
	if err != nil {
		return nil, err
	}
	call := svc.Transfers.List()
	if opts != nil {
		if opts.PageSize < 0 || opts.PageSize > 500 {
			return nil, &workspace.InputError{Op: "datatransfer: transfers.list", Field: "PageSize", Reason: "must be within 1–500"}
		}
		if opts.PageSize > 0 {
			call.MaxResults(opts.PageSize)
		}
		if opts.PageToken != "" {
			call.PageToken(opts.PageToken)
		}
		if opts.Status != "" {
			call.Status(opts.Status)
		}
		for _, f := range []struct {
			v   string
			set func(string) *admin.TransfersListCall
		}{{opts.OldOwner, call.OldOwnerUserId}, {opts.NewOwner, call.NewOwnerUserId}} {
			if f.v == "" {
				continue
			}
			id, err := s.c.Users.ID(ctx, f.v)
			if err != nil {
				return nil, err
			}
			f.set(id)
		}
	}
	res, err := call.Context(withCall(ctx, workspace.APIDataTransfer, "transfers.list")).Do()
	if err != nil {
		return nil, apiError(err)
	}
	page := &TransfersPage{NextPageToken: res.NextPageToken}
	for _, t := range res.DataTransfers {
		page.Transfers = append(page.Transfers, fromTransfer(t))
	}
	return page, nil
}

// All iterates over every transfer that matches opts.
func (s *TransfersService) All(ctx context.Context, opts *TransferListOptions) iter.Seq2[*Transfer, error] {
	o := TransferListOptions{}
	if opts != nil {
		o = *opts
	}
	return pager.All(ctx, o.PageToken, func(ctx context.Context, token string) ([]*Transfer, string, error) {
		o.PageToken = token
		page, err := s.List(ctx, &o)
		if err != nil {
			return nil, "", err
		}
		return page.Transfers, page.NextPageToken, nil
	})
}

// WaitOptions tune Wait. Nil means defaults.
type WaitOptions struct {
	// Initial is the first pause between polls (default 5 s); each pause
	// grows by half up to Max (default 2 min).
	Initial, Max time.Duration
	// Sleep waits between polls; nil means a timer. Tests inject one.
	Sleep func(ctx context.Context, d time.Duration) error
	// Progress, when set, sees every polled state.
	Progress func(*Transfer)
}

// Wait polls a transfer until it is completed or failed, or ctx ends. It
// returns the final transfer; a failed transfer is returned with an error.
func (s *TransfersService) Wait(ctx context.Context, id string, opts *WaitOptions) (*Transfer, error) {
	o := WaitOptions{Initial: 5 * time.Second, Max: 2 * time.Minute, Sleep: retry.SleepContext}
	if opts != nil {
		if opts.Initial > 0 {
			o.Initial = opts.Initial
		}
		if opts.Max > 0 {
			o.Max = opts.Max
		}
		if opts.Sleep != nil {
			o.Sleep = opts.Sleep
		}
		o.Progress = opts.Progress
	}
	pause := o.Initial
	for {
		t, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if o.Progress != nil {
			o.Progress(t)
		}
		if t.Done() {
			if !strings.EqualFold(t.Status, "completed") {
				return t, fmt.Errorf("datatransfer: transfer %s ended with status %q", id, t.Status)
			}
			return t, nil
		}
		if l := core.Of(s.c.core).Logger; pause > time.Second && l.Enabled(ctx, slog.LevelInfo) {
			l.LogAttrs(ctx, slog.LevelInfo, "datatransfer: transfer not done; polling again after a pause",
				slog.String("transfer", id), slog.String("status", t.Status), slog.Duration("wait", pause))
		}
		if err := o.Sleep(ctx, pause); err != nil {
			return nil, err
		}
		pause = min(pause+pause/2, o.Max)
	}
}

func fromTransfer(t *admin.DataTransfer) *Transfer {
	out := &Transfer{ID: t.Id, OldOwnerID: t.OldOwnerUserId, NewOwnerID: t.NewOwnerUserId, Status: t.OverallTransferStatusCode}
	if t.RequestTime != "" {
		out.RequestTime, _ = time.Parse(time.RFC3339, t.RequestTime)
	}
	for _, a := range t.ApplicationDataTransfers {
		at := AppTransfer{ApplicationID: a.ApplicationId, Status: a.ApplicationTransferStatus, Params: map[string][]string{}}
		for _, p := range a.ApplicationTransferParams {
			at.Params[p.Key] = append([]string(nil), p.Value...)
		}
		out.Apps = append(out.Apps, at)
	}
	return out
}

// UsersService resolves users through the Directory API.
type UsersService struct{ c *Client }

// ID returns the immutable id of the user with the given e-mail address.
// An argument without "@" is taken to be an id already and returned as is.
// Results are cached for the life of the Client.
func (s *UsersService) ID(ctx context.Context, user string) (string, error) {
	if user == "" {
		return "", &workspace.InputError{Op: "datatransfer: users.get", Field: "user", Reason: "is empty"}
	}
	if !strings.Contains(user, "@") {
		// Directory ids are decimal and often 21 digits long, beyond
		// uint64: check the digits, not the value.
		if strings.Trim(user, "0123456789") != "" {
			return "", &workspace.InputError{Op: "datatransfer: users.get", Field: "user", Reason: fmt.Sprintf("%q is neither an e-mail address nor a numeric id", user)}
		}
		return user, nil
	}
	key := strings.ToLower(user)
	s.c.dirUsersMu.Lock()
	id, ok := s.c.userIDs[key]
	s.c.dirUsersMu.Unlock()
	if ok {
		return id, nil
	}
	dir, err := s.c.dirService(ctx)
	if err != nil {
		return "", err
	}
	u, err := dir.Users.Get(user).Fields("id", "primaryEmail").
		Context(withCall(ctx, workspace.APIDirectory, "users.get")).Do()
	if err != nil {
		return "", apiError(err)
	}
	s.c.dirUsersMu.Lock()
	s.c.userIDs[key] = u.Id
	s.c.dirUsersMu.Unlock()
	return u.Id, nil
}

func withCall(ctx context.Context, api, method string) context.Context {
	return core.WithCall(ctx, &core.Call{API: api, Method: method})
}
