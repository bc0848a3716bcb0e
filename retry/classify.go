package retry

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"golang.org/x/oauth2"

	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/internal/apierr"
	"github.com/gwsadmin/workspace/internal/core"
)

// Class is the kind of outcome an attempt had.
type Class int

// The outcome classes. Only Transient and Throttle are retried; Auth is
// handled by the auth layer (one refresh) before it reaches this one.
const (
	Success        Class = iota // 1xx–3xx
	Transient                   // 5xx (but a legacy API's 503), connection reset/refused, unexpected EOF, timeouts
	Throttle                    // 429, legacy 503, 403 rateLimitExceeded/userRateLimitExceeded, parallel-insert refusal
	QuotaExhausted              // a daily quota: dailyLimitExceeded, quotaExceeded, a local daily budget
	Auth                        // 401
	Permanent                   // anything else: 400, 403 bad input, 404, 409...
	Canceled                    // the caller's context ended
)

var classNames = [...]string{"success", "transient", "throttle", "quota_exhausted", "auth", "permanent", "canceled"}

func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// Retryable reports whether the class is worth another attempt.
func (c Class) Retryable() bool { return c == Transient || c == Throttle }

// Decision is the classification of one attempt.
type Decision struct {
	Class      Class
	StatusCode int // 0 when there was no HTTP answer
	// Reason is the first reason the error body gave (an errors[].reason,
	// an ErrorInfo reason, a responseCode or a GData reason), e.g.
	// "userRateLimitExceeded"; "" when none.
	Reason     string
	RetryAfter time.Duration // server's hint, zero when absent
	// Ambiguous is true for a transport error after which the request may
	// have reached the server (a reset after the body was written).
	Ambiguous bool
	// NothingDone is true when the outcome proves the server did not act
	// on the request: a throttle answer (429, a rate-limit reason,
	// UNSUPPORTED_PARALLEL_OPERATION, a legacy API's 503 quota answer,
	// GData ServerBusy), a connection that was never made, a token that
	// could not be had. Transport also sets it for a request that failed
	// before it was fully written. Calls that change something (OnProof)
	// are repeated only after such outcomes.
	NothingDone bool
	// Connect is true when no connection could be made (refused, DNS
	// failure, no route): the request never left.
	Connect bool
	// Token is true when the failure was getting a token for the request
	// (the token endpoint's answer or the way to it), so the request
	// itself was not sent.
	Token bool
}

// Throttle reasons in Google's JSON errors.
var throttleReasons = []string{
	"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED",
	"concurrentLimitExceeded", "UNSUPPORTED_PARALLEL_OPERATION",
	"BACKEND FAILURE", "backendError", "ServerBusy",
}

// Daily-quota reasons: retrying within the day cannot help.
var dailyReasons = []string{"dailyLimitExceeded", "quotaExceeded", "dailyLimitExceededUnreg", "limitExceeded"}

// Classify tells what kind of outcome an attempt had. api is the API name of
// the call (the legacy APIs: Groups Migration, Data Transfer, Email Audit, Admin Settings). For responses of 400 and above it reads the
// body (capped) and replaces it so that callers can still read it.
func Classify(api string, resp *http.Response, err error) Decision {
	if err != nil {
		return classifyErr(err)
	}
	if resp.StatusCode < 400 {
		return Decision{Class: Success, StatusCode: resp.StatusCode}
	}
	info := apierr.Inspect(resp)
	d := Decision{StatusCode: resp.StatusCode, RetryAfter: info.RetryAfter}
	if len(info.Reasons) > 0 {
		d.Reason = info.Reasons[0]
	}
	d.Class = classifyStatus(api, info)
	d.NothingDone = d.Class == Throttle && throttleProves(api, info)
	return d
}

// proofReasons are the throttle reasons that say the request was refused
// before any work was done.
var proofReasons = []string{
	"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED",
	"concurrentLimitExceeded", "UNSUPPORTED_PARALLEL_OPERATION",
}

// throttleProves reports whether a throttle answer proves that nothing
// was done: 429, a rate-limit reason, GData's ServerBusy, or a legacy
// API's 503 (documented as a quota answer) that does not name a backend
// failure. A 503 "backendError" is a server error whatever the API.
func throttleProves(api string, info *apierr.Info) bool {
	if info.StatusCode == http.StatusTooManyRequests || info.GDataCode == 1001 {
		return true
	}
	for _, r := range proofReasons {
		if info.HasReason(r) {
			return true
		}
	}
	if info.StatusCode == http.StatusServiceUnavailable && core.LegacyAPI(api) {
		return !info.HasReason("backendError") && !info.HasReason("BACKEND FAILURE")
	}
	return false
}

func classifyStatus(api string, info *apierr.Info) Class {
	status := info.StatusCode
	legacy := core.LegacyAPI(api)
	daily := false
	for _, r := range dailyReasons {
		if info.HasReason(r) {
			daily = true
		}
	}
	// A "quotaExceeded" that names a per-minute or per-second window is a
	// rate, not a daily budget (Cloud APIs word it that way).
	if daily && mentionsShortWindow(info.Message) {
		return Throttle
	}
	switch {
	case status == http.StatusUnauthorized:
		return Auth
	case daily:
		// A daily quota is spent, whatever the status says (403 and 429
		// on the JSON APIs, 503 on the legacy ones): retrying today cannot
		// help.
		return QuotaExhausted
	case status == http.StatusTooManyRequests && strings.Contains(strings.ToLower(info.Message), "mail sending"):
		// Gmail's sending limit: it lifts after up to 24 hours, so
		// retrying within seconds only spends quota.
		return QuotaExhausted
	case status == http.StatusTooManyRequests:
		return Throttle
	case status == http.StatusServiceUnavailable && legacy:
		// The legacy APIs document 503 for a spent quota; one that names
		// a backend error is a server error, as on every other API, and
		// must not slow the client down.
		if info.HasReason("backendError") {
			return Transient
		}
		return Throttle
	case info.HasReason("UNSUPPORTED_PARALLEL_OPERATION"):
		return Throttle
	case status == http.StatusForbidden:
		for _, r := range throttleReasons[:4] {
			if info.HasReason(r) {
				return Throttle
			}
		}
		return Permanent
	case status == http.StatusRequestTimeout:
		return Transient
	case status >= 500:
		if info.HasReason("rateLimitExceeded") || info.HasReason("userRateLimitExceeded") {
			return Throttle
		}
		return Transient
	case info.GDataCode == 1001: // ServerBusy
		return Throttle
	}
	return Permanent
}

func mentionsShortWindow(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "per minute") || strings.Contains(m, "per second") ||
		strings.Contains(m, "per 100 seconds") || strings.Contains(m, "per-minute")
}

func classifyErr(err error) Decision {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Decision{Class: Canceled}
	}
	var qe interface{ QuotaExhausted() bool }
	if errors.As(err, &qe) && qe.QuotaExhausted() {
		// A local daily budget (the quota layer's *quota.BudgetError)
		// or any error that says a quota is spent.
		return Decision{Class: QuotaExhausted}
	}
	var te *auth.TokenError
	if errors.As(err, &te) {
		return classifyToken(te)
	}
	// A connection that was never made: the request was not sent.
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return Decision{Class: Transient, NothingDone: true, Connect: true}
	}
	var dnsErr *net.DNSError
	if errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &dnsErr) {
		return Decision{Class: Transient, NothingDone: true, Connect: true}
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return Decision{Class: Transient, Ambiguous: true}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Decision{Class: Transient, Ambiguous: true}
	}
	s := err.Error()
	if strings.Contains(s, "connection reset") || strings.Contains(s, "broken pipe") ||
		strings.Contains(s, "server closed idle connection") || strings.Contains(s, "EOF") {
		return Decision{Class: Transient, Ambiguous: true}
	}
	return Decision{Class: Permanent}
}

// classifyToken sorts a failure to get a token. The request it was for
// was never sent, so nothing was done whatever the class. The token
// endpoint's 5xx and 408, and network failures on the way to it, are
// transient; its 429 is a throttle; any other answer (invalid_grant,
// unauthorized_client, ...) means the credentials were refused.
func classifyToken(te *auth.TokenError) Decision {
	d := Decision{Class: Auth, NothingDone: true, Token: true}
	var re *oauth2.RetrieveError
	switch {
	case errors.As(te.Err, &re) && re.Response != nil:
		d.StatusCode = re.Response.StatusCode
		switch s := re.Response.StatusCode; {
		case s == http.StatusTooManyRequests:
			d.Class = Throttle
			d.RetryAfter = apierr.Parse(s, re.Response.Header, re.Body).RetryAfter
		case s >= 500 || s == http.StatusRequestTimeout:
			d.Class = Transient
		}
	default:
		if inner := classifyErr(te.Err); inner.Class == Transient || inner.Class == Canceled {
			d.Class = inner.Class
			d.Connect = inner.Connect
		}
	}
	return d
}
