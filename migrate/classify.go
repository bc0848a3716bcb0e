package migrate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/retry"
)

// outcome is what one attempt at sending a message means for the engine.
type outcome int

const (
	stored       outcome = iota
	refused              // the server refused the message's content: final
	localRefusal         // the sink refused it before sending
	throttled            // a rate limit or a parallel insert: send again later
	transient            // a request timeout: send again soon
	serverError          // a 5xx: send again soon, listed, as it may have been stored
	unsent               // no connection was made: send again soon
	ambiguous            // the connection failed with the message sent: it may be stored
	setupTarget          // the target cannot take messages (missing): stop it
	setupRun             // credentials, scopes, API access: stop the run
	quotaSpent           // a daily quota: stop the run
	canceled             // the caller's context ended
	otherFailure         // anything else: report, send again next run
)

// classify reads a sink's error.
func classify(err error) outcome {
	if err == nil {
		return stored
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return canceled
	}
	if errors.Is(err, workspace.ErrQuotaExhausted) {
		return quotaSpent
	}
	var ie *workspace.InputError
	if errors.As(err, &ie) {
		return localRefusal
	}
	if errors.Is(err, workspace.ErrOutcomeUnknown) {
		// The sink (or the core) says the call may have taken effect.
		return ambiguous
	}
	if strings.Contains(strings.ToUpper(err.Error()), "UNSUPPORTED_PARALLEL_OPERATION") {
		// Another insert into the group was in progress, whatever layout
		// or status carried the refusal (even a 2xx answer's
		// responseCode): nothing was stored, so it is sent again later,
		// never recorded as a refused message.
		return throttled
	}
	var we *workspace.Error
	if errors.As(err, &we) && we.StatusCode == 0 && we.Temporary() {
		// No answer from the API: the token endpoint failed or no
		// connection was made, so the message was not sent.
		return unsent
	}
	if we == nil {
		d := retry.Classify("", nil, err)
		switch {
		case d.Class == retry.Transient && d.Ambiguous:
			return ambiguous
		case d.Class == retry.Transient:
			return unsent
		}
		return otherFailure
	}
	if errors.Is(err, workspace.ErrUnauthenticated) || we.StatusCode == http.StatusUnauthorized || has(we, "AUTHORIZATION FAILURE") {
		return setupRun
	}
	if has(we, "UNSUPPORTED_PARALLEL_OPERATION") {
		return throttled
	}
	switch {
	case we.StatusCode == http.StatusTooManyRequests:
		return throttled
	case we.StatusCode == http.StatusForbidden:
		if rateReason(we) {
			return throttled
		}
		if has(we, "INVALID MESSAGE FAILURE") {
			return refused
		}
		return setupRun
	case we.StatusCode == http.StatusNotFound:
		return setupTarget
	case we.StatusCode == http.StatusBadRequest, we.StatusCode == http.StatusRequestEntityTooLarge,
		we.StatusCode == http.StatusUnprocessableEntity:
		return refused
	case we.StatusCode >= 500:
		if rateReason(we) {
			return throttled
		}
		// Google does not promise that a server error means nothing
		// was stored: send again, but list it as a possible duplicate.
		return serverError
	case we.StatusCode == http.StatusRequestTimeout:
		return transient
	case errors.Is(err, workspace.ErrRateLimited):
		return throttled
	}
	return otherFailure
}

// has reports a reason, responseCode or status anywhere in the answer.
func has(we *workspace.Error, s string) bool {
	return slices.Contains(we.Reasons, s) || we.Status == s || strings.Contains(we.Message, s) ||
		strings.Contains(string(we.Body), s)
}

func rateReason(we *workspace.Error) bool {
	for _, r := range []string{"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED", "concurrentLimitExceeded", "RESOURCE_EXHAUSTED"} {
		if slices.Contains(we.Reasons, r) || we.Status == r {
			return true
		}
	}
	return false
}

// delay is how long a message waits before its next attempt: short for a
// server error, longer for a throttle (the quota layer also slows the whole
// client down), and the server's Retry-After when it gave one.
func delay(o outcome, attempt int, err error, rnd func() float64) time.Duration {
	var base, ceiling time.Duration
	switch o {
	case throttled:
		base, ceiling = 2*time.Second, time.Minute
	case ambiguous:
		base, ceiling = 500*time.Millisecond, 10*time.Second
	default:
		base, ceiling = 500*time.Millisecond, 30*time.Second
	}
	d := base << min(attempt-1, 10)
	d = min(d, ceiling)
	// ±20% so that targets that failed together do not retry together.
	d = time.Duration(float64(d) * (0.8 + 0.4*rnd()))
	var we *workspace.Error
	if errors.As(err, &we) && we.RetryAfter > d {
		d = min(we.RetryAfter, 10*time.Minute)
	}
	return d
}

// SetupError stops a target or the whole run: the server refused
// something that is not about one message (credentials, a scope that was
// not granted, the API not enabled, a group that does not exist). Nothing
// is recorded as final in the journal; run again after the fix.
type SetupError struct {
	Target string // the target that stopped; "" when the whole run stopped
	Err    error  // the server's answer
	Advice string // what to check
}

// Error implements error.
func (e *SetupError) Error() string {
	s := "migrate: "
	if e.Target != "" {
		s += e.Target + ": "
	}
	return s + e.Err.Error() + ". " + e.Advice
}

// Unwrap returns the server's answer.
func (e *SetupError) Unwrap() error { return e.Err }

func setupAdvice(err error) string {
	var we *workspace.Error
	errors.As(err, &we)
	scope := ""
	api := "the API"
	if we != nil {
		switch we.API {
		case workspace.APIGroupsMigration:
			scope, api = "https://www.googleapis.com/auth/apps.groups.migration", "the Groups Migration API"
		case workspace.APIGmail:
			scope, api = "https://www.googleapis.com/auth/gmail.insert", "the Gmail API"
		}
	}
	grant := "the scope it needs"
	if scope != "" {
		grant = scope
	}
	switch {
	case we == nil || errors.Is(err, workspace.ErrUnauthenticated) || we.StatusCode == http.StatusUnauthorized:
		return fmt.Sprintf("The credentials were refused: check that the service account's client ID is allowed %s under "+
			"Security > API controls > Domain-wide delegation in the Admin console, that the subject is an active "+
			"administrator, and that the machine's clock is right. Nothing was recorded as final; run again after the fix.", grant)
	case has(we, "accessNotConfigured") || has(we, "SERVICE_DISABLED") || strings.Contains(we.Message, "disabled"):
		return fmt.Sprintf("Enable %s in the Google Cloud project of the credentials (APIs & Services > Library), wait a few minutes, "+
			"and run again. Nothing was recorded as final.", api)
	case has(we, "insufficientPermissions") || has(we, "ACCESS_TOKEN_SCOPE_INSUFFICIENT"):
		return fmt.Sprintf("The token lacks %s: add it to the client's domain-wide delegation in the Admin console. "+
			"Nothing was recorded as final; run again after the fix.", grant)
	case we.StatusCode == http.StatusNotFound:
		return "Check the target address (a group must exist and take messages; use its new address if it was renamed). " +
			"Nothing was recorded as final; run again after the fix."
	}
	return fmt.Sprintf("The caller is not allowed to use %s: the subject must be a super administrator (or hold the "+
		"privilege for it) of the target's domain. Nothing was recorded as final; run again after the fix.", api)
}

// tentativeAdvice explains a target whose first messages were all refused.
const tentativeAdvice = "Google answers this way when the group does not exist or is read-only (the Groups Migration " +
	"documentation lists both under INVALID MESSAGE FAILURE). Check the group address; these refusals were not " +
	"recorded as final, so the next run sends the messages again."
