package quota

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Request describes one attempt of an outgoing API call to a Limiter: which
// API and method it is, what it costs, and the keys its rules are scoped by.
// An empty key means the call has no such scope (a Gmail call has no group).
type Request struct {
	API     string // "groupsmigration", "datatransfer", "directory", "audit", "settings", "cloudidentity", "gmail"
	Method  string // the API's method name, e.g. "archive.insert", "users.messages.get"
	Cost    int64  // cost in the API's units (Gmail quota units); 0 means 1
	Project string // the developer project or account the quota belongs to
	Domain  string // the Workspace domain, for per-domain budgets
	User    string // the user the call acts on, for per-user rates
	Group   string // the group archive, for per-group concurrency

	// Batched marks a call sent inside an HTTP batch after the batch's
	// first call: it is charged to rates and daily budgets like any call
	// and reports its own Outcome, but holds no concurrency slot, since
	// the batch request holds one (acquired with its first call).
	Batched bool
}

// Outcome is what became of an attempt that a Limiter admitted. It feeds
// adaptive pacing and statistics.
type Outcome struct {
	// Throttled is true when the server refused the call for rate or
	// concurrency reasons (429, a legacy API's 503, 403 rateLimitExceeded or
	// userRateLimitExceeded, UNSUPPORTED_PARALLEL_OPERATION).
	Throttled bool
	// Reason is the server's reason string when one was given.
	Reason string
	// RetryAfter is the server's Retry-After hint, zero when absent.
	RetryAfter time.Duration
	// Err is set when the attempt got no HTTP answer at all.
	Err error
}

// Release gives back what Acquire took (concurrency slots) and reports how
// the attempt went. It must be called exactly once per successful Acquire.
type Release func(Outcome)

// Limiter paces outgoing calls. Acquire blocks until every rule matching r
// admits it, or ctx ends, or a rule can never admit it (an exhausted daily
// budget), in which case it returns an error that matches ErrBudgetExhausted.
type Limiter interface {
	Acquire(ctx context.Context, r *Request) (Release, error)
}

// ErrBudgetExhausted is matched (errors.Is) by errors reporting that a daily
// budget is spent. The core client maps it to workspace.ErrQuotaExhausted.
var ErrBudgetExhausted = errors.New("quota: daily budget exhausted")

// BudgetError says which daily budget is spent and when it resets.
type BudgetError struct {
	Budget  string    // the rule's name, e.g. "groupsmigration.daily"
	Key     string    // the scope key the budget is counted under
	Limit   int64     // the budget's size
	ResetAt time.Time // next reset (midnight Pacific time)
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("quota: daily budget %s (%d) exhausted for %q; resets at %s",
		e.Budget, e.Limit, e.Key, e.ResetAt.UTC().Format(time.RFC3339))
}

// Is reports whether target is ErrBudgetExhausted.
func (e *BudgetError) Is(target error) bool { return target == ErrBudgetExhausted }

// QuotaExhausted reports true: the retry layer, which does not import
// this package, knows a spent quota by this method and does not retry it.
func (e *BudgetError) QuotaExhausted() bool { return true }

// Unlimited returns a Limiter that admits everything at once. It is the
// pass-through used when pacing is turned off.
func Unlimited() Limiter { return unlimited{} }

type unlimited struct{}

func nopRelease(Outcome) {}

func (unlimited) Acquire(ctx context.Context, _ *Request) (Release, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nopRelease, nil
}
