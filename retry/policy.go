package retry

import (
	"context"
	"errors"
	"time"

	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/internal/poll"
)

// Policy says how one API's calls are retried.
type Policy struct {
	// MaxAttempts is the number of attempts including the first; 1 turns
	// retries off.
	MaxAttempts int
	// Initial is the first backoff interval; each further one is multiplied
	// by Multiplier up to Max.
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
	// Jitter is the randomization factor in [0, 1]: each wait is drawn
	// uniformly from interval × [1−Jitter, 1+Jitter].
	Jitter float64
	// MaxRetryAfter caps how long a server's Retry-After is waited for. A
	// longer one is not waited: the error is returned at once, so that a
	// "try again in 6 hours" never hangs a program.
	MaxRetryAfter time.Duration
	// RetryAmbiguous repeats this API's calls that change something
	// (OnProof in Table) also after failures that do not prove the
	// server did nothing (500, 502, 504, a connection lost after the
	// request was sent), as AllowAmbiguousRepeats does for one call. Such
	// a repeat can apply the change twice. Safe calls are always repeated;
	// Never calls never are.
	RetryAmbiguous bool
}

// Validate reports a policy that cannot work.
func (p Policy) Validate() error {
	switch {
	case p.MaxAttempts < 1:
		return errors.New("retry: MaxAttempts must be at least 1")
	case p.Initial < 0 || p.Max < 0 || p.MaxRetryAfter < 0:
		return errors.New("retry: durations must not be negative")
	case p.Multiplier < 1:
		return errors.New("retry: Multiplier must be at least 1")
	case p.Jitter < 0 || p.Jitter > 1:
		return errors.New("retry: Jitter must be within [0, 1]")
	case p.Max < p.Initial:
		return errors.New("retry: Max must not be below Initial")
	}
	return nil
}

// legacy is the default for the Admin SDK and GData APIs (Groups Migration,
// Data Transfer, Email Audit, Admin Settings): their limits pages ask for a
// first wait of about 5 s, then 10 s and so on, giving up after 5–7 retries.
var legacy = Policy{
	MaxAttempts:   7,
	Initial:       5 * time.Second,
	Max:           80 * time.Second,
	Multiplier:    2,
	Jitter:        0.2,
	MaxRetryAfter: 2 * time.Minute,
}

// modern is the default for Gmail, Directory and Cloud Identity: start at
// 1 s (Gmail's error guide), double, cap at 32 s, 6 attempts in all.
var modern = Policy{
	MaxAttempts:   6,
	Initial:       time.Second,
	Max:           32 * time.Second,
	Multiplier:    2,
	Jitter:        0.2,
	MaxRetryAfter: 2 * time.Minute,
}

// DefaultPolicy returns the default policy of an API.
func DefaultPolicy(api string) Policy {
	if core.LegacyAPI(api) {
		return legacy
	}
	return modern
}

// Options configure retrying for a whole client. The zero value means the
// defaults: DefaultPolicy per API, a DefaultBudget, real time.
type Options struct {
	// Policies overrides the policy of the named APIs.
	Policies map[string]Policy
	// Default, when its MaxAttempts is set, replaces DefaultPolicy for every
	// API not in Policies.
	Default Policy
	// Budget limits retries across the client; nil means a new
	// DefaultBudget, and Unbudgeted() turns the budget off.
	Budget *Budget
	// Sleep, for tests, replaces waiting in real time: every wait of the
	// client and of the API packages built on it (retry back-off, polls
	// of Wait methods, back-off between upload, download and batch
	// attempts) calls it, so a test can record the waits and return at
	// once. It must return ctx.Err() when ctx has ended. nil means a
	// timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand, for tests, replaces the jitter source: a number in [0, 1).
	// nil means math/rand/v2.
	Rand func() float64
}

// PolicyFor returns the policy o gives api.
func (o *Options) PolicyFor(api string) Policy {
	if p, ok := o.Policies[api]; ok {
		return p
	}
	if o.Default.MaxAttempts > 0 {
		return o.Default
	}
	return DefaultPolicy(api)
}

// Validate checks every policy in o.
func (o *Options) Validate() error {
	for api, p := range o.Policies {
		if err := p.Validate(); err != nil {
			return errors.New(err.Error() + " (policy for " + api + ")")
		}
	}
	if o.Default.MaxAttempts > 0 {
		return o.Default.Validate()
	}
	return nil
}

// SleepContext waits d or until ctx ends, whichever comes first, and returns
// ctx.Err() in the second case.
func SleepContext(ctx context.Context, d time.Duration) error { return poll.Sleep(ctx, d) }
