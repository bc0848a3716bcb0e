package quota

import (
	"cmp"
	"slices"
	"time"
)

// ScopeStats is the state of one rule for one scope key.
type ScopeStats struct {
	Rule  string // the rule's Name
	API   string
	Kind  Kind
	Scope Scope
	Key   string // the scope key ("" for the unnamed project)

	// Rate rules: the configured rate and the rate in force now (they differ
	// for adaptive rules), in requests or units per second.
	ConfiguredRate float64
	EffectiveRate  float64
	Adaptive       bool

	// Waited is the total time calls spent waiting because of this scope.
	Waited time.Duration
	// Admitted counts calls admitted under this scope.
	Admitted int64
	// Throttled counts server throttles blamed on this scope.
	Throttled int64

	// Daily budgets: the budget, what is left today and when it resets. With
	// a Redis store, Left is as of this process's last acquisition.
	BudgetLimit int64
	BudgetLeft  int64
	ResetAt     time.Time

	// Concurrency rules: the cap and the calls in flight (in this process).
	MaxInFlight int
	InFlight    int
}

// Stats returns the state of every scope the limiter has seen, sorted by
// rule name and key.
func (l *RuleLimiter) Stats() []ScopeStats {
	now := l.clock.Now()
	l.mu.Lock()
	out := make([]ScopeStats, 0, len(l.scopes))
	for _, s := range l.scopes {
		st := ScopeStats{
			Rule: s.r.Name, API: s.r.API, Kind: s.r.Kind, Scope: s.r.Scope, Key: s.key,
			Waited: s.waited, Admitted: s.admitted, Throttled: s.throttles,
		}
		switch s.r.Kind {
		case KindRate:
			st.ConfiguredRate = s.r.rate
			st.EffectiveRate = s.rate
			st.Adaptive = s.r.adaptive
		case KindDaily:
			st.BudgetLimit = int64(s.r.Limit)
			st.BudgetLeft = st.BudgetLimit
			st.ResetAt = NextPacificMidnight(now)
			if now.Before(s.resetAt) {
				st.BudgetLeft = max(0, st.BudgetLimit-s.used)
			}
		case KindConcurrency:
			st.MaxInFlight = int(s.r.Limit)
			st.InFlight = s.inUse
		}
		out = append(out, st)
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b ScopeStats) int {
		return cmp.Or(cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Key, b.Key))
	})
	return out
}
