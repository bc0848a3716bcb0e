// Package sharedstore is the contract between quota.RuleLimiter and a store
// that shares the limiter's state between processes (package
// quota/redisstore). It is internal so that users never see it: they pass
// a store to quota.WithStore and call nothing else on it.
//
// For each attempt the limiter lists, in order, the scopes the call must
// pass (daily budgets, then concurrency caps, then rates), with the numbers
// in force in this process (the effective rate of an adaptive rule, the
// call's units, the Pacific day and its reset); the backend checks them all
// and commits to all of them or to none, and says what blocked the call.
package sharedstore

import (
	"context"
	"time"
)

// Kind is the kind of a rule a Check is about.
type Kind uint8

// Kinds of checks. Their order is the order of the checks of one call.
const (
	Daily Kind = iota
	Concurrency
	Rate
)

// Check is one scope of one rule that a call must pass.
type Check struct {
	Kind Kind
	// Key is the backend's key for the rule and scope key (Backend.Key),
	// without the date of a daily budget.
	Key string
	// Units is what the call counts against the rule: 1, or its cost for
	// rules that count units.
	Units float64
	// Limit is a daily budget's size or a concurrency cap.
	Limit int64

	// Day is the Pacific date (yyyymmdd) a daily budget is counted under,
	// and Reset the next Pacific midnight.
	Day   int
	Reset time.Time

	// TTL is the lifetime of a concurrency lease that is not refreshed.
	TTL time.Duration

	// Rate (units per second, the rate in force in this process) and Burst
	// (units) are a rate's GCRA parameters.
	Rate  float64
	Burst float64
}

// Result says whether a call was admitted and, if not, why.
type Result uint8

// Results of Backend.Acquire.
const (
	// Admitted: every check passed and the call was charged to all.
	Admitted Result = iota
	// Wait: the rate of check Index admits the call after Delay.
	Wait
	// Exhausted: the daily budget of check Index is spent (Spent units
	// used today).
	Exhausted
	// Full: the concurrency cap of check Index is reached; ask again after
	// Delay unless a slot of this process is released before.
	Full
)

// Verdict is the answer of Backend.Acquire. Nothing was taken unless
// Result is Admitted.
type Verdict struct {
	Result Result
	Index  int           // the check that blocked the call
	Delay  time.Duration // Wait, Full: how long to wait before trying again
	Spent  int64         // Exhausted: the budget's counter
	// Used holds, when Admitted, the counter of each Daily check after the
	// call, in the order of the checks.
	Used []int64
	// Leases are the concurrency slots the call holds when Admitted, one
	// per Concurrency check, to be given back with Backend.Release.
	Leases []Lease
}

// Lease is a concurrency slot held in the backend.
type Lease struct {
	Key string
	ID  string
	TTL time.Duration
}

// Clock is what a backend needs of the limiter's clock.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// Backend keeps rates, daily counters and concurrency leases where several
// processes share them. Implementations are safe for concurrent use.
type Backend interface {
	// Attach gives the backend the limiter's clock (used to refresh leases
	// and, with client time, as the time of the checks).
	Attach(c Clock)
	// Key returns the key under which the backend keeps the state of rule
	// (a rule's Name) of kind k for scope key scopeKey. The limiter calls
	// it once per scope and passes the result in Check.Key.
	Key(k Kind, rule, scopeKey string) string
	// Acquire checks every check at now, all or nothing. Leases it grants
	// are kept alive until released. On error it holds nothing.
	Acquire(ctx context.Context, now time.Time, checks []Check) (Verdict, error)
	// Release gives leases back. Releasing a lease twice, or one that
	// expired, is harmless.
	Release(leases []Lease)
}

// NewStore wraps a Backend in the *quota.Store a user passes to
// quota.WithStore. Package quota sets it when it is initialised; store
// packages import quota, so it is set before they call it.
var NewStore func(Backend) any
