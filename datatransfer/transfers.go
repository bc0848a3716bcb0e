package datatransfer

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"strconv"
	"strings"
	"time"

	admin "google.golang.org/api/admin/datatransfer/v1"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/internal/pager"
	"github.com/gwsadmin/workspace/internal/poll"
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

// ApplicationsService lists transferable applications.
type ApplicationsService struct{ c *Client }

// List returns one page of applications. opts.PageSize is 1–500 (0 means
// the server's default, 100); a value outside is refused before any
// request.
//
// API docs: https://developers.google.com/workspace/admin/data-transfer/reference/rest/v1/applications/list
func (s *ApplicationsService) List(ctx context.Context, opts *workspace.ListOptions) (*workspace.Page[*Application], error) {
	var o workspace.ListOptions
	if opts != nil {
		o = *opts
	}
	if err := checkPageSize("datatransfer: applications.list", o.PageSize); err != nil {
		return nil, err
	}
	svc, err := s.c.transferService(ctx, false)
	if err != nil {
		return nil, err
	}
	call := svc.Applications.List()
	if o.PageSize > 0 {
		call.MaxResults(o.PageSize)
	}
	if o.PageToken != "" {
		call.PageToken(o.PageToken)
	}
	res, err := call.Context(withCall(ctx, workspace.APIDataTransfer, "applications.list")).Do()
	if err != nil {
		return nil, apiError(err)
	}
	page := &workspace.Page[*Application]{NextPageToken: res.NextPageToken}
	for _, a := range res.Applications {
		page.Items = append(page.Items, fromApp(a))
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

// All iterates over every application, page by page, from the first page
// (opts.PageToken is ignored); opts.PageSize sets the size of each page
// as for List.
func (s *ApplicationsService) All(ctx context.Context, opts *workspace.ListOptions) iter.Seq2[*Application, error] {
	var o workspace.ListOptions
	if opts != nil {
		o = *opts
	}
	return pager.All(ctx, "", func(ctx context.Context, token string) ([]*Application, string, error) {
		o.PageToken = token
		page, err := s.List(ctx, &o)
		if err != nil {
			return nil, "", err
		}
		return page.Items, page.NextPageToken, nil
	})
}

// checkPageSize refuses a page size outside the 1–500 that discovery
// documents for maxResults (0 means the server's default).
func checkPageSize(op string, n int64) error {
	if n < 0 || n > maxPageSize {
		return &workspace.InputError{Op: op, Field: "PageSize", Reason: fmt.Sprintf("%d is outside 1–%d (0 means the server's default, 100)", n, maxPageSize)}
	}
	return nil
}

// maxPageSize is the largest maxResults applications.list and
// transfers.list accept (discovery admin/datatransfer_v1).
const maxPageSize = 500

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

// TransferListOptions filter and page transfers. Nil means every
// transfer of the customer, first page.
type TransferListOptions struct {
	workspace.ListOptions        // PageSize 1–500; 0 means the server's default (100)
	OldOwner              string // e-mail or id of the current owner
	NewOwner              string // e-mail or id of the new owner
	Status                string // e.g. "completed", as Google reports it in Transfer.Status
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

// List returns one page of the customer's transfers. opts.PageSize is
// 1–500 (0 means the server's default, 100); a value outside is refused
// before any request. Owners given by e-mail address are resolved with
// Users.ID.
//
// API docs: https://developers.google.com/workspace/admin/data-transfer/reference/rest/v1/transfers/list
func (s *TransfersService) List(ctx context.Context, opts *TransferListOptions) (*workspace.Page[*Transfer], error) {
	var o TransferListOptions
	if opts != nil {
		o = *opts
	}
	if err := checkPageSize("datatransfer: transfers.list", o.PageSize); err != nil {
		return nil, err
	}
	svc, err := s.c.transferService(ctx, false)
	if err != nil {
		return nil, err
	}
	call := svc.Transfers.List()
	if o.PageSize > 0 {
		call.MaxResults(o.PageSize)
	}
	if o.PageToken != "" {
		call.PageToken(o.PageToken)
	}
	if o.Status != "" {
		call.Status(o.Status)
	}
	for _, f := range []struct {
		v   string
		set func(string) *admin.TransfersListCall
	}{{o.OldOwner, call.OldOwnerUserId}, {o.NewOwner, call.NewOwnerUserId}} {
		if f.v == "" {
			continue
		}
		id, err := s.c.Users.ID(ctx, f.v)
		if err != nil {
			return nil, err
		}
		f.set(id)
	}
	res, err := call.Context(withCall(ctx, workspace.APIDataTransfer, "transfers.list")).Do()
	if err != nil {
		return nil, apiError(err)
	}
	page := &workspace.Page[*Transfer]{NextPageToken: res.NextPageToken}
	for _, t := range res.DataTransfers {
		page.Items = append(page.Items, fromTransfer(t))
	}
	return page, nil
}

// All iterates over every transfer that matches opts, from the first page
// (opts.PageToken is ignored).
func (s *TransfersService) All(ctx context.Context, opts *TransferListOptions) iter.Seq2[*Transfer, error] {
	var o TransferListOptions
	if opts != nil {
		o = *opts
	}
	return pager.All(ctx, "", func(ctx context.Context, token string) ([]*Transfer, string, error) {
		o.PageToken = token
		page, err := s.List(ctx, &o)
		if err != nil {
			return nil, "", err
		}
		return page.Items, page.NextPageToken, nil
	})
}

// WaitOptions tune Wait: the shared interval and timeout, and a callback
// that sees every poll. Nil means the defaults: a first pause of 5 s,
// growing by half up to 2 min, no timeout but ctx's.
type WaitOptions struct {
	workspace.WaitOptions
	// Progress, when set, is called after every poll, before any pause
	// that follows: the last poll and the one at the timeout included.
	// A poll that read the transfer gives (the transfer, nil); a poll
	// that failed gives (nil, its error), whether it will be tried again
	// (temporary) or ends the wait.
	Progress func(*Transfer, error)
}

// Default pauses of Wait.
const (
	defaultWaitInterval    = 5 * time.Second
	defaultWaitMaxInterval = 2 * time.Minute
)

// Wait polls a transfer until it is completed or failed, ctx ends or
// opts.Timeout passes.
//
// Pauses start at opts.Interval and grow by half up to opts.MaxInterval
// (an Interval above MaxInterval raises MaxInterval to it); a negative
// duration is a *workspace.InputError, before any request. Every pause
// goes through the client's sleep (workspace.WithRetry's
// retry.Options.Sleep, real time by default) and each one over a second
// is logged at Info; the timeout counts the larger of the pauses slept and
// the time passed. When the next pause would pass the timeout, it is cut
// to end there and one last poll is made.
//
// It returns the final transfer, with a nil error when it completed. A
// transfer that ended in any other final status ("failed") is returned
// with a *workspace.OperationError (API workspace.APIDataTransfer,
// Operation "transfer") whose Message names the applications that did not
// complete. A poll that fails with a temporary error (a *workspace.Error
// whose Temporary() is true, a network failure) is tried again at the
// next pause, unless it was the last poll at the timeout; any other error
// ends the wait. In every other case Wait returns the last state it read
// (nil if none): with an error matching context.DeadlineExceeded that
// says what was pending when the timeout passed (and how the last poll
// failed, when it did), with ctx.Err() itself when ctx ended, with the
// poll's error when it was not temporary. opts.Progress sees every poll,
// failed ones and the last included.
func (s *TransfersService) Wait(ctx context.Context, id string, opts *WaitOptions) (*Transfer, error) {
	const op = "datatransfer: Transfers.Wait"
	if id == "" {
		return nil, &workspace.InputError{Op: op, Field: "id", Reason: "is empty"}
	}
	var o WaitOptions
	if opts != nil {
		o = *opts
	}
	po := poll.Options{Interval: o.Interval, MaxInterval: o.MaxInterval, Timeout: o.Timeout}
	if f := po.Negative(); f != "" {
		return nil, &workspace.InputError{Op: op, Field: f, Reason: "must not be negative (0 for the default)"}
	}
	settings := core.Of(s.c.core)
	p := &poll.Poller[*Transfer]{
		Options: po.WithDefaults(defaultWaitInterval, defaultWaitMaxInterval),
		Sleep:   settings.Sleep,
		Poll:    func(ctx context.Context) (*Transfer, error) { return s.Get(ctx, id) },
		Done: func(t *Transfer) (bool, error) {
			if !t.Done() {
				return false, nil
			}
			if !strings.EqualFold(t.Status, "completed") {
				return true, transferFailure(t)
			}
			return true, nil
		},
		Temporary: core.Temporary,
		Progress:  o.Progress,
		Waiting: func(ctx context.Context, d time.Duration, t *Transfer, err error) {
			l := settings.Logger
			if d <= time.Second || !l.Enabled(ctx, slog.LevelInfo) {
				return
			}
			if err != nil {
				l.LogAttrs(ctx, slog.LevelInfo, "datatransfer: reading the transfer failed for now; polling again after a pause",
					slog.String("transfer", id), slog.String("error", err.Error()), slog.Duration("wait", d))
				return
			}
			l.LogAttrs(ctx, slog.LevelInfo, "datatransfer: transfer not done; polling again after a pause",
				slog.String("transfer", id), slog.String("status", t.Status), slog.Duration("wait", d))
		},
		TimedOut: func(t poll.Timeout[*Transfer]) string {
			msg := fmt.Sprintf("%s: transfer %s ", op, id)
			switch {
			case !t.Read:
				return msg + fmt.Sprintf("not read in %v (%d polls); the last poll failed: %v", t.After, t.Polls, t.Err)
			case t.Err != nil:
				return msg + fmt.Sprintf("still %q when last read; after %v (%d polls) the last poll failed: %v", t.Last.Status, t.After, t.Polls, t.Err)
			}
			return msg + fmt.Sprintf("still %q after %v (%d polls)", t.Last.Status, t.After, t.Polls)
		},
	}
	return poll.Wait(ctx, p)
}

// transferFailure is the error for a transfer t that ended in a status
// other than "completed": it names each application whose part did not
// complete, and its status.
func transferFailure(t *Transfer) *workspace.OperationError {
	var left []string
	for _, a := range t.Apps {
		if strings.EqualFold(a.Status, "completed") {
			continue
		}
		name := fmt.Sprintf("application %d", a.ApplicationID)
		switch a.ApplicationID {
		case DriveApplicationID:
			name = "Drive and Docs (" + name + ")"
		case CalendarApplicationID:
			name = "Calendar (" + name + ")"
		}
		status := a.Status
		if status == "" {
			status = "no status"
		}
		left = append(left, name+" "+status)
	}
	msg := "the transfer ended with status " + strconv.Quote(t.Status)
	if len(left) > 0 {
		msg = "not transferred: " + strings.Join(left, ", ")
	}
	return &workspace.OperationError{API: workspace.APIDataTransfer, Operation: "transfer", ID: t.ID, Status: t.Status, Message: msg}
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
