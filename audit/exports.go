package audit

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/internal/gdata"
	"github.com/gwsadmin/workspace/internal/pager"
	"github.com/gwsadmin/workspace/internal/poll"
)

// PackageContent says what an export holds.
type PackageContent string

// Package contents.
const (
	PackageFullMessage PackageContent = "FULL_MESSAGE"
	PackageHeaderOnly  PackageContent = "HEADER_ONLY"
)

// Status is the state of an export request.
type Status string

// Export statuses.
const (
	StatusPending      Status = "PENDING"       // being prepared (can take days)
	StatusCompleted    Status = "COMPLETED"     // files ready for download
	StatusError        Status = "ERROR"         // failed, e.g. no usable public key
	StatusMarkedDelete Status = "MARKED_DELETE" // deletion scheduled or partly failed
	StatusDeleted      Status = "DELETED"       // deleted
	StatusExpired      Status = "EXPIRED"       // files removed after the retention period
)

// retention is how long Google keeps the files of a completed export:
// three weeks.
const retention = 21 * 24 * time.Hour

// ExportRequest asks for a mailbox export of one user.
type ExportRequest struct {
	// Begin and End bound the mail by date; zero Begin means since the
	// account was created, zero End means now. Sent in UTC, to the minute.
	Begin, End time.Time
	// SearchQuery is a Gmail search (advanced syntax). It cannot be used
	// together with IncludeDeleted.
	SearchQuery string
	// IncludeDeleted includes deleted mail.
	IncludeDeleted bool
	// PackageContent is PackageFullMessage (the default when empty) or
	// PackageHeaderOnly.
	PackageContent PackageContent
}

// Export is a mailbox export request as the server reports it.
type Export struct {
	RequestID string
	User      string // the source user's username
	UserEmail string // userEmailAddress
	Admin     string // adminEmailAddress, who asked
	Status    Status

	Requested time.Time // requestDate
	Completed time.Time // completedDate, when done
	Begin     time.Time // beginDate; zero when not limited
	End       time.Time // endDate
	// Expires is when the files go: expiredDate when the server sends it,
	// else three weeks after Completed; zero while pending.
	Expires time.Time

	SearchQuery    string
	IncludeDeleted bool
	PackageContent PackageContent

	// FileURLs are fileUrl0 … fileUrl{numberOfFiles-1}, in order; set
	// when Status is COMPLETED.
	FileURLs []string
	// NumberOfFiles is numberOfFiles as sent, -1 when absent.
	NumberOfFiles int

	ID         string            // entry id, a URL
	Updated    time.Time         // entry update time
	Properties map[string]string // every property as sent, for anything not modelled
}

// ExpiresWithin reports whether a completed export's files will be gone
// within d after now (or are already gone).
func (x *Export) ExpiresWithin(now time.Time, d time.Duration) bool {
	if x.Status == StatusExpired {
		return true
	}
	return !x.Expires.IsZero() && !now.Add(d).Before(x.Expires)
}

// ExpiredError reports an export whose files are gone (status EXPIRED, or
// the file host answered 410 Gone). It matches ErrExpired.
type ExpiredError struct {
	RequestID, User string
	Expires         time.Time // zero when unknown
}

// ErrExpired matches *ExpiredError with errors.Is.
var ErrExpired = errors.New("audit: export expired")

// Error names the export, says when its files went, and that a new
// export is needed.
func (e *ExpiredError) Error() string {
	s := fmt.Sprintf("audit: export %s of %s has expired", e.RequestID, e.User)
	if !e.Expires.IsZero() {
		s += " (files removed " + formatDate(e.Expires) + " UTC)"
	}
	return s + "; request a new export"
}

// Is matches ErrExpired.
func (e *ExpiredError) Is(target error) bool { return target == ErrExpired }

// exportFailure is the error of an export that ended in a status other
// than COMPLETED or EXPIRED (ERROR, MARKED_DELETE, DELETED).
func exportFailure(x *Export) error {
	msg := fmt.Sprintf("the export of %s's mailbox ended with status %s", x.User, x.Status)
	switch x.Status {
	case StatusError:
		msg = fmt.Sprintf("Google could not prepare the export of %s's mailbox; a missing or unusable public key is the usual cause (upload one with PublicKey.Upload, then request a new export)", x.User)
	case StatusMarkedDelete, StatusDeleted:
		msg = fmt.Sprintf("the export of %s's mailbox was deleted", x.User)
	}
	return &workspace.OperationError{API: workspace.APIAudit, Operation: "export", ID: x.RequestID, Status: string(x.Status), Message: msg}
}

// ExportsService requests, lists, follows, downloads and deletes mailbox
// exports.
type ExportsService struct{ a *Client }

// Create asks for an export of user's mailbox (a username or an address in
// the domain). Input is checked before anything is sent. The answer is
// PENDING; use Wait to follow it. Each request counts against the domain's
// 100 export requests a day.
//
// API: https://developers.google.com/workspace/admin/email-audit/reference/export
func (s *ExportsService) Create(ctx context.Context, user string, req *ExportRequest) (*Export, error) {
	const op = "audit.Exports.Create"
	u, err := s.a.username(op, "user", user)
	if err != nil {
		return nil, err
	}
	r := ExportRequest{}
	if req != nil {
		r = *req
	}
	if strings.TrimSpace(r.SearchQuery) != "" && r.IncludeDeleted {
		return nil, &workspace.InputError{Op: op, Field: "SearchQuery", Reason: "a search query cannot be combined with IncludeDeleted (the API refuses both together)"}
	}
	switch r.PackageContent {
	case "":
		r.PackageContent = PackageFullMessage
	case PackageFullMessage, PackageHeaderOnly:
	default:
		return nil, &workspace.InputError{Op: op, Field: "PackageContent", Reason: fmt.Sprintf("%q is not FULL_MESSAGE or HEADER_ONLY", r.PackageContent)}
	}
	if !r.Begin.IsZero() && !r.End.IsZero() && !r.End.UTC().Truncate(time.Minute).After(r.Begin.UTC().Truncate(time.Minute)) {
		return nil, &workspace.InputError{Op: op, Field: "End", Reason: fmt.Sprintf("%s is not after the begin date %s (UTC, to the minute)", formatDate(r.End), formatDate(r.Begin))}
	}
	e := gdata.NewEntry()
	if !r.Begin.IsZero() {
		e.Set("beginDate", formatDate(r.Begin))
	}
	if !r.End.IsZero() {
		e.Set("endDate", formatDate(r.End))
	}
	if q := strings.TrimSpace(r.SearchQuery); q != "" {
		e.Set("searchQuery", q)
	}
	if r.IncludeDeleted {
		e.Set("includeDeleted", "true")
	}
	e.Set("packageContent", string(r.PackageContent))
	got, err := s.a.entry(ctx, http.MethodPost, "export.create", u, s.a.feedURL("mail", "export", s.a.domain, u), e.Encode())
	if err != nil {
		return nil, err
	}
	return exportFrom(got, u), nil
}

// Get returns the current state of export requestID of user.
//
// API: https://developers.google.com/workspace/admin/email-audit/reference/export
func (s *ExportsService) Get(ctx context.Context, user, requestID string) (*Export, error) {
	const op = "audit.Exports.Get"
	u, err := s.a.username(op, "user", user)
	if err != nil {
		return nil, err
	}
	if err := checkID(op, requestID); err != nil {
		return nil, err
	}
	e, err := s.a.entry(ctx, http.MethodGet, "export.get", u, s.a.feedURL("mail", "export", s.a.domain, u, requestID), nil)
	if err != nil {
		return nil, err
	}
	return exportFrom(e, u), nil
}

func checkID(op, id string) error {
	if strings.TrimSpace(id) == "" || strings.ContainsAny(id, "/?#") {
		return &workspace.InputError{Op: op, Field: "requestID", Reason: fmt.Sprintf("%q is not a request id", id)}
	}
	return nil
}

// ExportListOptions select the export requests of the domain. Nil means
// defaults.
type ExportListOptions struct {
	// ListOptions pages the list. The Email Audit API takes no page size
	// (it sends at most 100 requests a page): PageSize must be 0.
	// PageToken is a page's NextPageToken, the feed's link to the next
	// page; it must lead to a host the client sends credentials to.
	workspace.ListOptions
	// From lists requests made since this time (UTC, to the minute); zero
	// means the server's default, the last three weeks. A PageToken
	// carries it on.
	From time.Time
}

// List returns one page of the domain's export requests (at most 100).
//
// API: https://developers.google.com/workspace/admin/email-audit/reference/export
func (s *ExportsService) List(ctx context.Context, opts *ExportListOptions) (*workspace.Page[*Export], error) {
	const op = "audit.Exports.List"
	var o ExportListOptions
	if opts != nil {
		o = *opts
	}
	if o.PageSize != 0 {
		return nil, &workspace.InputError{Op: op, Field: "PageSize", Reason: fmt.Sprintf("%d: the Email Audit API takes no page size (it sends at most 100 requests a page); leave it 0", o.PageSize)}
	}
	u := s.a.feedURL("mail", "export", s.a.domain)
	if o.PageToken != "" {
		// GData pages are linked by URL (rel='next'); the URL is the token.
		pu, err := url.Parse(o.PageToken)
		if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || !core.Of(s.a.core).AllowsCredentials(pu.Host) {
			return nil, &workspace.InputError{Op: op, Field: "PageToken", Reason: fmt.Sprintf("%q is not a page of the API", o.PageToken)}
		}
		u = o.PageToken
	} else if !o.From.IsZero() {
		u += "?" + url.Values{"fromDate": {formatDate(o.From)}}.Encode()
	}
	f, err := s.a.feed(ctx, "export.list", "", u)
	if err != nil {
		return nil, err
	}
	p := &workspace.Page[*Export]{NextPageToken: f.Next()}
	for _, e := range f.Entries {
		p.Items = append(p.Items, exportFrom(e, ""))
	}
	return p, nil
}

// All iterates over every export request of the domain selected by opts,
// starting at the first page (opts.PageToken is ignored) and following
// the pages. It yields at most one error, and then stops.
func (s *ExportsService) All(ctx context.Context, opts *ExportListOptions) iter.Seq2[*Export, error] {
	var o ExportListOptions
	if opts != nil {
		o = *opts
	}
	return pager.All(ctx, "", func(ctx context.Context, token string) ([]*Export, string, error) {
		o.PageToken = token
		p, err := s.List(ctx, &o)
		if err != nil {
			return nil, "", err
		}
		return p.Items, p.NextPageToken, nil
	})
}

// DeleteOptions tune Delete. Nil means defaults.
type DeleteOptions struct {
	// WaitOptions set the pauses while the request is MARKED_DELETE, as
	// for Wait: the first (Interval) defaults to 30 s, and pauses grow by
	// half up to MaxInterval (default 1 h). Google's cleanup job finishes
	// within a day; the default Timeout, 0, waits for as long as ctx
	// allows.
	workspace.WaitOptions
	// NoWait returns after the first accepted delete, whatever the status.
	NoWait bool
}

// Default pauses of Delete and Wait.
const (
	deleteInterval    = 30 * time.Second
	deleteMaxInterval = time.Hour
	waitInterval      = 30 * time.Second
	waitMaxInterval   = 30 * time.Minute
)

// Delete deletes export requestID of user and its files. Only COMPLETED
// and MARKED_DELETE requests can be deleted. After the first delete is
// accepted, Delete reads the request (it does not send the delete again
// blindly) until it is DELETED or gone: a read that answers not-found
// after an accepted delete means DELETED. While a read shows the request
// MARKED_DELETE (a delete that Google's cleanup job has not finished, or
// that partly failed) or still COMPLETED, Delete sends the delete again
// after that read, with growing pauses, as Google asks; a resent delete
// answered not-found means the cleanup finished in between: DELETED. It
// waits as Wait does (the same pauses, timeout, ctx and error rules,
// opts.WaitOptions being Delete's): a negative duration is a
// *workspace.InputError before any request; a delete or read that fails
// with a temporary error is tried again at the next pause, unless it was
// the last poll at the timeout (the delete until one is accepted); when
// opts.Timeout passes, Delete returns the
// last state it read and an error matching context.DeadlineExceeded;
// when ctx ends, the last state and ctx.Err(). It returns the last state
// seen.
//
// API: https://developers.google.com/workspace/admin/email-audit/reference/export
func (s *ExportsService) Delete(ctx context.Context, user, requestID string, opts *DeleteOptions) (*Export, error) {
	const op = "audit: Exports.Delete"
	u, err := s.a.username(op, "user", user)
	if err != nil {
		return nil, err
	}
	if err := checkID(op, requestID); err != nil {
		return nil, err
	}
	var o DeleteOptions
	if opts != nil {
		o = *opts
	}
	po, err := waitOptions(op, o.WaitOptions, deleteInterval, deleteMaxInterval)
	if err != nil {
		return nil, err
	}
	target := s.a.feedURL("mail", "export", s.a.domain, u, requestID)
	deleted := &Export{RequestID: requestID, User: u, Status: StatusDeleted}
	// read is a poll after an accepted delete: not-found is DELETED.
	read := func(ctx context.Context) (*Export, error) {
		x, err := s.Get(ctx, u, requestID)
		if errors.Is(err, workspace.ErrNotFound) {
			return deleted, nil
		}
		return x, err
	}
	accepted := false
	return poll.Wait(ctx, &poll.Poller[*Export]{
		Options: po,
		Sleep:   core.Of(s.a.core).Sleep,
		Now:     s.a.now,
		Poll: func(ctx context.Context) (*Export, error) {
			if !accepted {
				// Not-found here is an answer about the request, not the
				// end of a delete: it is returned as it is.
				if err := s.a.del(ctx, "export.delete", u, target); err != nil {
					return nil, err
				}
				accepted = true
				return read(ctx)
			}
			x, err := read(ctx)
			if err != nil || o.NoWait || (x.Status != StatusMarkedDelete && x.Status != StatusCompleted) {
				return x, err
			}
			// Still deletable after an accepted delete: Google asks for
			// the delete again, with backoff, until the request is DELETED.
			if err := s.a.del(ctx, "export.delete", u, target); err != nil {
				if errors.Is(err, workspace.ErrNotFound) {
					return deleted, nil // the cleanup finished since the read
				}
				return nil, err
			}
			return x, nil
		},
		Done:      func(x *Export) (bool, error) { return x.Status == StatusDeleted || o.NoWait, nil },
		Temporary: core.Temporary,
		Waiting: func(ctx context.Context, d time.Duration, x *Export, err error) {
			status := "none read"
			if x != nil {
				status = string(x.Status)
			}
			msg := "audit: export being deleted; reading it again after a pause"
			if err != nil {
				msg = "audit: deleting or reading the export failed for now; trying again after a pause"
			}
			s.a.logWait(ctx, msg, d, slog.String("request", requestID), slog.String("user", u), slog.String("status", status))
		},
		TimedOut: func(t poll.Timeout[*Export]) string {
			return timeoutMessage(op, requestID, u, t)
		},
	})
}

// waitOptions refuses a negative duration of w and applies the defaults.
func waitOptions(op string, w workspace.WaitOptions, interval, maxInterval time.Duration) (poll.Options, error) {
	o := poll.Options{Interval: w.Interval, MaxInterval: w.MaxInterval, Timeout: w.Timeout}
	if f := o.Negative(); f != "" {
		return o, &workspace.InputError{Op: op, Field: f, Reason: "must not be negative (0 for the default)"}
	}
	return o.WithDefaults(interval, maxInterval), nil
}

// timeoutMessage says what a wait (op, "audit: Exports.Wait" or
// "audit: Exports.Delete") left pending when its timeout passed.
func timeoutMessage(op, requestID, user string, t poll.Timeout[*Export]) string {
	msg := fmt.Sprintf("%s: export %s of %s: ", op, requestID, user)
	switch {
	case !t.Read:
		return msg + fmt.Sprintf("no state read in %v (%d polls); the last poll failed: %v", t.After, t.Polls, t.Err)
	case t.Err != nil:
		msg += fmt.Sprintf("still %s when last read; after %v (%d polls) the last poll failed: %v", t.Last.Status, t.After, t.Polls, t.Err)
	default:
		msg += fmt.Sprintf("still %s after %v (%d polls)", t.Last.Status, t.After, t.Polls)
	}
	return msg
}

// WaitOptions tune Wait. Nil means defaults.
type WaitOptions struct {
	// WaitOptions set the pauses between polls and the timeout. The first
	// pause (Interval) defaults to 30 s; pauses grow by half up to
	// MaxInterval (default 30 min). Preparing an export can take days:
	// the default Timeout, 0, waits for as long as ctx allows.
	workspace.WaitOptions
	// Progress, when set, is called after every poll, before any pause
	// that follows: the last poll and the one at the timeout included.
	// A poll that read the export gives (the export, nil); a poll that
	// failed gives (nil, its error), whether it will be tried again
	// (temporary) or ends the wait.
	Progress func(*Export, error)
}

// Wait polls export requestID of user until it leaves PENDING, or until
// ctx ends or opts.Timeout passes. It starts from the request id alone,
// so a program that restarts can resume waiting.
//
// Pauses start at opts.Interval and grow by half up to opts.MaxInterval
// (an Interval above MaxInterval raises MaxInterval to it); a negative
// duration is a *workspace.InputError, before any request. Every pause
// goes through the client's sleep (workspace.WithRetry's
// retry.Options.Sleep, real time by default), and the timeout counts the
// larger of the pauses slept and the time passed. When the next pause
// would pass the timeout, it is cut to end there and one last poll is
// made.
//
// A COMPLETED export is returned with a nil error. EXPIRED gives an
// *ExpiredError (errors.Is(err, ErrExpired)); ERROR, MARKED_DELETE and
// DELETED give a *workspace.OperationError (API "audit", Operation
// "export", ID the request id, Status the export's status); both come
// with the export. A poll that fails with a temporary error (a
// *workspace.Error whose Temporary() is true, a network failure) is tried
// again at the next pause, unless it was the last poll at the timeout;
// any other error ends the wait. In every other case Wait returns the
// last state it read (nil if none): with an error matching
// context.DeadlineExceeded that says what was pending when the timeout
// passed (and how the last poll failed, when it did), with ctx.Err()
// itself when ctx ended, with the poll's error when it was not temporary.
// opts.Progress sees every poll, failed ones and the last included.
func (s *ExportsService) Wait(ctx context.Context, user, requestID string, opts *WaitOptions) (*Export, error) {
	const op = "audit: Exports.Wait"
	u, err := s.a.username(op, "user", user)
	if err != nil {
		return nil, err
	}
	if err := checkID(op, requestID); err != nil {
		return nil, err
	}
	var o WaitOptions
	if opts != nil {
		o = *opts
	}
	po, err := waitOptions(op, o.WaitOptions, waitInterval, waitMaxInterval)
	if err != nil {
		return nil, err
	}
	return poll.Wait(ctx, &poll.Poller[*Export]{
		Options: po,
		Sleep:   core.Of(s.a.core).Sleep,
		Now:     s.a.now,
		Poll: func(ctx context.Context) (*Export, error) {
			return s.Get(ctx, u, requestID)
		},
		Done: func(x *Export) (bool, error) {
			switch x.Status {
			case StatusCompleted:
				return true, nil
			case StatusExpired:
				return true, &ExpiredError{RequestID: x.RequestID, User: x.User, Expires: x.Expires}
			case StatusPending:
				return false, nil
			}
			return true, exportFailure(x)
		},
		Temporary: core.Temporary,
		Progress:  o.Progress,
		Waiting: func(ctx context.Context, d time.Duration, _ *Export, err error) {
			msg := "audit: export not ready; polling again after a pause"
			if err != nil {
				msg = "audit: reading the export failed for now; polling again after a pause"
			}
			s.a.logWait(ctx, msg, d, slog.String("request", requestID), slog.String("user", u))
		},
		TimedOut: func(t poll.Timeout[*Export]) string {
			return timeoutMessage(op, requestID, u, t)
		},
	})
}

func exportFrom(e *gdata.Entry, user string) *Export {
	m := e.Map()
	x := &Export{
		RequestID:      m["requestId"],
		UserEmail:      m["userEmailAddress"],
		Admin:          m["adminEmailAddress"],
		Status:         Status(strings.ToUpper(strings.TrimSpace(m["status"]))),
		Requested:      parseDate(m["requestDate"]),
		Completed:      parseDate(m["completedDate"]),
		Begin:          parseDate(m["beginDate"]),
		End:            parseDate(m["endDate"]),
		Expires:        parseDate(m["expiredDate"]),
		SearchQuery:    m["searchQuery"],
		IncludeDeleted: strings.EqualFold(m["includeDeleted"], "true"),
		PackageContent: PackageContent(m["packageContent"]),
		ID:             e.ID,
		Updated:        e.Updated,
		Properties:     m,
		NumberOfFiles:  -1,
	}
	if n, err := strconv.Atoi(strings.TrimSpace(m["numberOfFiles"])); err == nil {
		x.NumberOfFiles = n
	}
	x.User = user
	if local, _, ok := strings.Cut(x.UserEmail, "@"); ok && local != "" {
		x.User = strings.ToLower(local)
	}
	if x.User == "" {
		x.User = userFromID(e.ID, x.RequestID)
	}
	if x.RequestID == "" && e.ID != "" {
		x.RequestID = e.ID[strings.LastIndexByte(e.ID, '/')+1:]
	}
	if x.Expires.IsZero() && !x.Completed.IsZero() && x.Status != StatusError {
		x.Expires = x.Completed.Add(retention)
	}
	// fileUrl0..N: by index, whatever order the properties came in.
	type file struct {
		n   int
		url string
	}
	var files []file
	for _, p := range e.Properties {
		if rest, ok := strings.CutPrefix(p.Name, "fileUrl"); ok {
			if n, err := strconv.Atoi(rest); err == nil && n >= 0 {
				files = append(files, file{n, p.Value})
			}
		}
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].n < files[j].n })
	for _, f := range files {
		x.FileURLs = append(x.FileURLs, f.url)
	}
	return x
}

// userFromID takes the user from an entry id …/mail/export/{domain}/{user}/{id}.
func userFromID(id, requestID string) string {
	parts := strings.Split(strings.TrimSuffix(id, "/"), "/")
	for i := len(parts) - 1; i >= 2; i-- {
		if parts[i] == requestID && parts[i-2] != "export" {
			u, err := url.PathUnescape(parts[i-1])
			if err == nil {
				return u
			}
		}
	}
	return ""
}
