package workspace

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gwsadmin/workspace/internal/apierr"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
)

// Error categories, matched with errors.Is against any error this module
// returns:
//
//	if errors.Is(err, workspace.ErrRateLimited) { ... }
var (
	// ErrRateLimited: the server throttled the call (429, a legacy API's
	// 503, 403 rateLimitExceeded/userRateLimitExceeded) and retries did not
	// get through.
	ErrRateLimited = errors.New("workspace: rate limited")
	// ErrQuotaExhausted: a daily quota is spent, on the server
	// (dailyLimitExceeded, quotaExceeded, Gmail's 429 sending limit) or in
	// the local quota layer. It is not retried; the work can resume after
	// the reset (midnight Pacific; for the sending limit, the time Gmail
	// names).
	ErrQuotaExhausted = errors.New("workspace: quota exhausted")
	// ErrNotFound: 404, or the GData EntityDoesNotExist error.
	ErrNotFound = errors.New("workspace: not found")
	// ErrPermissionDenied: 403 that is not a throttle or a quota, on the
	// JSON APIs (insufficient scopes, domain policy), and on every API,
	// the legacy ones included, a 403 that names a set-up cause: the API
	// is not enabled in the Cloud project, the token lacks the method's
	// scope, or the acting user is not allowed (not an administrator).
	// Error.Remedy then says which and what to do. A Groups Migration
	// "INVALID MESSAGE FAILURE" is bad input, never this.
	ErrPermissionDenied = errors.New("workspace: permission denied")
	// ErrUnauthenticated: 401 after one token refresh, or credentials the
	// token endpoint refused.
	ErrUnauthenticated = errors.New("workspace: unauthenticated")
	// ErrInvalidInput: the server refused the input (400, a legacy API's
	// 403), or local validation refused it before any request was sent.
	ErrInvalidInput = errors.New("workspace: invalid input")
	// ErrOutcomeUnknown: a call that changes something (sends mail,
	// starts a transfer or an export, creates a monitor...) ended in a
	// failure that does not prove Google did nothing (500, 502, 504, a
	// connection lost after the request was sent). The call may have taken
	// effect; it was not repeated (see retry.Table). Check before
	// sending it again. Error.MayHaveHappenedTwice tells whether the
	// caller allowed repeats and the call may have happened twice.
	ErrOutcomeUnknown = errors.New("workspace: outcome unknown")
)

// Error is an error answer from a Google API, or a local refusal by the
// quota layer, after retries. Reach it with errors.As:
//
//	var e *workspace.Error
//	if errors.As(err, &e) { log.Print(e.StatusCode, e.Reasons) }
type Error struct {
	API        string        // API name, e.g. "groupsmigration"
	Method     string        // method name, e.g. "archive.insert"
	StatusCode int           // HTTP status; 0 for local refusals
	Status     string        // canonical status, e.g. RESOURCE_EXHAUSTED, when given
	Reasons    []string      // errors[].reason, details' reasons, responseCode, GData reason
	Message    string        // the server's message
	GDataCode  int           // AppsForYourDomainErrors errorCode, 0 when absent
	RetryAfter time.Duration // the server's Retry-After hint
	RequestID  string        // request id header, when the server sent one
	Attempts   int           // attempts made, retries included
	Header     http.Header   // response headers
	Body       []byte        // response body, capped at 64 KiB
	Err        error         // the local cause (quota budget, network, token), nil for server answers
	// OutcomeUnknown is set when the call changes something and its last
	// failure does not prove it did nothing: it may have taken effect
	// (errors.Is(err, ErrOutcomeUnknown)).
	OutcomeUnknown bool
	// MayHaveHappenedTwice is set when the caller allowed repeats after
	// such failures (retry.AllowAmbiguousRepeats or
	// Policy.RetryAmbiguous) and two attempts may have taken effect.
	MayHaveHappenedTwice bool
	// Remedy names the likely cause of a set-up refusal and its fix, for a
	// 403 that says the API is not enabled in the Cloud project (with the
	// enable link Google sent), the token lacks the method's scope, or the
	// acting user may not use the API (or, on Gmail, is not the mailbox
	// owner). Error() includes it. Empty for other errors.
	Remedy string

	class retry.Class
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.API != "" {
		b.WriteString(e.API)
	} else {
		b.WriteString("workspace") // a request that carried no Call
	}
	if e.Method != "" {
		b.WriteString(": ")
		b.WriteString(e.Method)
	}
	b.WriteString(": ")
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "%d ", e.StatusCode)
	}
	switch {
	case e.Err != nil && e.Message == "":
		b.WriteString(e.Err.Error())
	case e.Err != nil && e.StatusCode == 0:
		// A local failure: the message says what, the cause says why.
		b.WriteString(e.Message)
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	default:
		b.WriteString(e.Message)
	}
	if len(e.Reasons) > 0 {
		fmt.Fprintf(&b, " (reason %s)", strings.Join(e.Reasons, ", "))
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if e.Remedy != "" {
		b.WriteString("; ")
		b.WriteString(e.Remedy)
	}
	switch {
	case e.MayHaveHappenedTwice:
		b.WriteString("; it was repeated after an answer that left its outcome unknown, as the caller allowed: it may have happened twice")
	case e.OutcomeUnknown:
		b.WriteString("; outcome unknown: this call changes something and the failure does not prove it did nothing, so it was not repeated: it may have taken effect")
	}
	return b.String()
}

// Unwrap returns the local cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the category sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrRateLimited:
		return e.class == retry.Throttle
	case ErrQuotaExhausted:
		return e.class == retry.QuotaExhausted
	case ErrUnauthenticated:
		return e.class == retry.Auth
	case ErrOutcomeUnknown:
		return e.OutcomeUnknown
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound || e.GDataCode == 1301
	case ErrPermissionDenied:
		if e.authorizationFailure() || e.setupCause() != causeNone {
			return true
		}
		return e.StatusCode == http.StatusForbidden && e.class == retry.Permanent && !core.LegacyAPI(e.API)
	case ErrInvalidInput:
		if e.class != retry.Permanent || e.authorizationFailure() || e.setupCause() != causeNone {
			return false
		}
		return e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusRequestEntityTooLarge ||
			(e.StatusCode == http.StatusForbidden && core.LegacyAPI(e.API)) ||
			(e.GDataCode >= 1300 && e.GDataCode != 1301)
	}
	return false
}

// authorizationFailure reports Groups Migration's "AUTHORIZATION FAILURE"
// answer, which a legacy 403 would otherwise class as bad input.
func (e *Error) authorizationFailure() bool {
	return e.StatusCode == http.StatusForbidden && slices.Contains(e.Reasons, "AUTHORIZATION FAILURE")
}

// Temporary reports whether the failure may go away by itself (a throttle
// or a transient server error that outlasted the retries, a network
// failure, a token endpoint that failed). When OutcomeUnknown is also set,
// the call may have taken effect: check before sending it again.
func (e *Error) Temporary() bool { return e.class == retry.Throttle || e.class == retry.Transient }

// HTTPStatusCode returns the HTTP status.
func (e *Error) HTTPStatusCode() int { return e.StatusCode }

func newError(api, method string, d retry.Decision, resp *http.Response, attempts int) *Error {
	e := &Error{API: api, Method: method, StatusCode: d.StatusCode, Attempts: attempts, class: d.Class}
	if resp != nil {
		e.Header = resp.Header
	}
	if info := apierr.Inspect(resp); info != nil {
		e.Status = info.Status
		e.Reasons = info.Reasons
		e.Message = info.Message
		e.GDataCode = info.GDataCode
		e.RetryAfter = info.RetryAfter
		e.RequestID = info.RequestID
		e.Body = info.Body
	}
	e.Remedy = e.remedy()
	return e
}

// checkResponse returns nil for a response below 400 and an *Error for one
// above, reading (and replacing) its body. API packages call it (through
// core.CheckResponse) on responses that did not come through a Client's
// error layer.
func checkResponse(api, method string, resp *http.Response) error {
	if resp.StatusCode < 400 {
		return nil
	}
	d := retry.Classify(api, resp, nil)
	return newError(api, method, d, resp, 1)
}

// quotaError wraps a local daily-budget refusal.
func quotaError(api, method string, err error) *Error {
	e := &Error{API: api, Method: method, Err: err, class: retry.QuotaExhausted}
	var be *quota.BudgetError
	if errors.As(err, &be) {
		e.RetryAfter = time.Until(be.ResetAt)
	}
	return e
}

// InputError is a local validation failure: the input was refused before
// any request was sent. It matches ErrInvalidInput.
type InputError struct {
	Op     string // the operation, e.g. "datatransfer.Insert"
	Field  string // the offending field or parameter
	Reason string // what is wrong with it
	Err    error  // an underlying error, if any
}

func (e *InputError) Error() string {
	s := e.Op + ": invalid " + e.Field + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches ErrInvalidInput.
func (e *InputError) Is(target error) bool { return target == ErrInvalidInput }

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }
