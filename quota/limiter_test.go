package quota

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)

type result struct {
	rel Release
	err error
}

func acquireAsync(ctx context.Context, l Limiter, r *Request) chan result {
	ch := make(chan result, 1)
	go func() {
		rel, err := l.Acquire(ctx, r)
		ch <- result{rel, err}
	}()
	return ch
}

func mustNew(t *testing.T, opts ...Option) *RuleLimiter {
	t.Helper()
	l, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustAcquire(t *testing.T, l Limiter, r *Request) Release {
	t.Helper()
	rel, err := l.Acquire(context.Background(), r)
	if err != nil {
		t.Fatalf("Acquire(%+v): %v", *r, err)
	}
	return rel
}

// admittedNow reports whether Acquire returns without the clock moving: it
// starts Acquire and waits until it either returns or parks on a timer or a
// concurrency slot. Calls that park are cancelled.
func admittedNow(t *testing.T, c *fakeClock, l *RuleLimiter, r *Request) (Release, error, bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := acquireAsync(ctx, l, r)
	select {
	case res := <-ch:
		return res.rel, res.err, true
	case <-time.After(200 * time.Millisecond): // real time: only bounds how long we look
	}
	cancel()
	res := <-ch
	if res.err == nil {
		res.rel(Outcome{})
		return nil, nil, true
	}
	return nil, res.err, false
}

func expectBlocked(t *testing.T, ch chan result) {
	t.Helper()
	select {
	case res := <-ch:
		t.Fatalf("Acquire returned early: err=%v", res.err)
	default:
	}
}

func expectDone(t *testing.T, ch chan result) Release {
	t.Helper()
	res := <-ch
	if res.err != nil {
		t.Fatalf("Acquire: %v", res.err)
	}
	return res.rel
}

func TestRateRuleRequests(t *testing.T) {
	c := newFakeClock(t0)
	l := mustNew(t, WithClock(c), WithoutDefaults(),
		WithRules(Rate("x.rate", "x", PerProject, 10, time.Second)))
	r := &Request{API: "x", Method: "m"}
	mustAcquire(t, l, r)(Outcome{})
	ch := acquireAsync(context.Background(), l, r)
	c.WaitTimers(1)
	if d := c.NextTimer(); d != 100*time.Millisecond {
		t.Fatalf("wait = %v, want 100ms", d)
	}
	c.Advance(99 * time.Millisecond)
	expectBlocked(t, ch)
	c.Advance(time.Millisecond)
	expectDone(t, ch)(Outcome{})
	st := l.Stats()
	if len(st) != 1 || st[0].Admitted != 2 || st[0].Waited != 100*time.Millisecond {
		t.Fatalf("stats = %+v", st)
	}
}

func TestRateRuleUnitsAndCostTable(t *testing.T) {
	c := newFakeClock(t0)
	// Gmail per-user: 15,000 units/min = 250 units/s; burst 25 units.
	l := mustNew(t, WithClock(c))
	get := &Request{API: "gmail", Method: "users.messages.get", User: "a@example.com"}
	for i := 0; i < 5; i++ { // 5 × 5 units = the 25-unit burst
		mustAcquire(t, l, get)(Outcome{})
	}
	ch := acquireAsync(context.Background(), l, get)
	c.WaitTimers(1)
	if d := c.NextTimer(); d != 20*time.Millisecond { // 5 units at 250/s
		t.Fatalf("wait = %v, want 20ms", d)
	}
	c.Advance(20 * time.Millisecond)
	expectDone(t, ch)(Outcome{})

	// A batchModify (50 units) is bigger than the burst: admitted when the
	// bucket is full.
	c.Advance(time.Second)
	mustAcquire(t, l, &Request{API: "gmail", Method: "users.messages.batchModify", User: "a@example.com"})(Outcome{})

	// Explicit cost overrides the table; other users have their own bucket.
	mustAcquire(t, l, &Request{API: "gmail", Method: "users.messages.get", User: "b@example.com", Cost: 25})(Outcome{})
	ch = acquireAsync(context.Background(), l, &Request{API: "gmail", Method: "users.labels.get", User: "b@example.com"})
	c.WaitTimers(1)
	if d := c.NextTimer(); d != 4*time.Millisecond { // 1 unit at 250/s
		t.Fatalf("wait = %v, want 4ms", d)
	}
	c.Advance(4 * time.Millisecond)
	expectDone(t, ch)(Outcome{})
}

func TestGmailRegimes(t *testing.T) {
	for _, tc := range []struct {
		regime GmailRegime
		method string
		want   int64
	}{
		{GmailLegacy, "users.messages.get", 5},
		{Gmail2026, "users.messages.get", 20},
		{GmailLegacy, "users.threads.get", 10},
		{Gmail2026, "users.threads.get", 40},
		{Gmail2026, "users.messages.list", 5},
		{Gmail2026, "users.messages.untrash", 5},
		{GmailLegacy, "users.history.list", 2},
		{GmailLegacy, "users.messages.import", 25},
		{GmailLegacy, "users.getProfile", 1},
	} {
		if got, ok := GmailCost(tc.regime, tc.method); !ok || got != tc.want {
			t.Errorf("GmailCost(%v, %s) = %d, %v; want %d", tc.regime, tc.method, got, ok, tc.want)
		}
	}
	l := mustNew(t, WithGmailRegime(Gmail2026))
	var user, daily bool
	for _, r := range l.Rules() {
		if r.Name == "gmail.user.rate" && r.Limit == 6000 {
			user = true
		}
		if r.Name == "gmail.project.daily" {
			daily = true
		}
	}
	if !user || !daily {
		t.Fatalf("2026 regime rules missing: user=%v daily=%v", user, daily)
	}
	if c := mustNew(t).defaultCost("gmail", "users.nosuch"); c != UnknownGmailMethodCost {
		t.Fatalf("unknown method cost = %d", c)
	}
	if c := mustNew(t, WithGmailCosts(map[string]int64{"users.messages.get": 7})).defaultCost("gmail", "users.messages.get"); c != 7 {
		t.Fatalf("override cost = %d", c)
	}
}

func TestDefaultsCoverEveryAPI(t *testing.T) {
	l := mustNew(t)
	apis := map[string]bool{}
	for _, r := range l.Rules() {
		apis[r.API] = true
		if r.Source == "" {
			t.Errorf("rule %s has no source", r.Name)
		}
	}
	for _, api := range []string{"groupsmigration", "datatransfer", "directory", "audit", "settings", "cloudidentity", "gmail"} {
		if !apis[api] {
			t.Errorf("no default rule for %s", api)
		}
		rel, err := l.Acquire(context.Background(), &Request{API: api, Method: "x", User: "u@example.com", Domain: "example.com", Group: "g@example.com"})
		if err != nil {
			t.Fatalf("%s: %v", api, err)
		}
		rel(Outcome{})
	}
}

func TestDailyBudget(t *testing.T) {
	c := newFakeClock(t0) // 05:00 PDT on 2026-06-10
	l := mustNew(t, WithClock(c))
	exp := &Request{API: "audit", Method: "export.create", Domain: "example.com", User: "admin@example.com"}
	for i := 0; i < 100; i++ {
		c.Advance(time.Second) // stay clear of the 1/s per-user rate
		mustAcquire(t, l, exp)(Outcome{})
	}
	c.Advance(time.Second)
	_, err := l.Acquire(context.Background(), exp)
	var be *BudgetError
	if !errors.Is(err, ErrBudgetExhausted) || !errors.As(err, &be) {
		t.Fatalf("err = %v, want a BudgetError", err)
	}
	wantReset := time.Date(2026, 6, 11, 7, 0, 0, 0, time.UTC) // midnight PDT
	if be.Budget != "audit.domain.exports.daily" || be.Key != "example.com" || be.Limit != 100 || !be.ResetAt.Equal(wantReset) {
		t.Fatalf("BudgetError = %+v", be)
	}
	// Other methods and domains are not affected.
	mustAcquire(t, l, &Request{API: "audit", Method: "monitor.create", Domain: "example.com", User: "b@example.com"})(Outcome{})
	mustAcquire(t, l, &Request{API: "audit", Method: "export.create", Domain: "other.example", User: "b2@example.com"})(Outcome{})
	var st ScopeStats
	for _, s := range l.Stats() {
		if s.Rule == "audit.domain.exports.daily" && s.Key == "example.com" {
			st = s
		}
	}
	if st.BudgetLeft != 0 || st.BudgetLimit != 100 || !st.ResetAt.Equal(wantReset) {
		t.Fatalf("stats = %+v", st)
	}
	c.Set(wantReset.Add(-time.Nanosecond))
	if _, err := l.Acquire(context.Background(), exp); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("just before reset: %v", err)
	}
	c.Set(wantReset)
	mustAcquire(t, l, exp)(Outcome{})
}

// TestDailyResetDST checks that budgets reset at Pacific midnight on the days
// the clocks change: 23-hour and 25-hour days.
func TestDailyResetDST(t *testing.T) {
	for _, tc := range []struct {
		name       string
		start      time.Time // just after a Pacific midnight
		nextMidnUT time.Time // the next Pacific midnight, in UTC
		dayLength  time.Duration
	}{
		{"spring forward", time.Date(2026, 3, 8, 8, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 7, 0, 0, 0, time.UTC), 23 * time.Hour},
		{"fall back", time.Date(2026, 11, 1, 7, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC), 25 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.nextMidnUT.Sub(tc.start); got != tc.dayLength {
				t.Fatalf("test data: day is %v", got)
			}
			if got := NextPacificMidnight(tc.start); !got.Equal(tc.nextMidnUT) {
				t.Fatalf("NextPacificMidnight = %v, want %v", got.UTC(), tc.nextMidnUT)
			}
			c := newFakeClock(tc.start.Add(-time.Minute)) // 23:59 the day before
			l := mustNew(t, WithClock(c), WithoutDefaults(),
				WithRules(Daily("d", "x", PerProject, 1)))
			r := &Request{API: "x"}
			mustAcquire(t, l, r)(Outcome{})
			_, err := l.Acquire(context.Background(), r)
			var be *BudgetError
			if !errors.As(err, &be) || !be.ResetAt.Equal(tc.start) {
				t.Fatalf("err = %v", err)
			}
			c.Set(tc.start) // midnight: a new budget
			mustAcquire(t, l, r)(Outcome{})
			c.Set(tc.nextMidnUT.Add(-time.Second))
			if _, err := l.Acquire(context.Background(), r); !errors.As(err, &be) || !be.ResetAt.Equal(tc.nextMidnUT) {
				t.Fatalf("late in the %v day: err = %v", tc.dayLength, err)
			}
			c.Set(tc.nextMidnUT)
			mustAcquire(t, l, r)(Outcome{})
		})
	}
}

func TestWaitForReset(t *testing.T) {
	c := newFakeClock(t0)
	l := mustNew(t, WithClock(c), WithWaitForReset(true), WithoutDefaults(),
		WithRules(Daily("d", "x", PerDomain, 2)))
	r := &Request{API: "x", Domain: "example.com"}
	mustAcquire(t, l, r)(Outcome{})
	mustAcquire(t, l, r)(Outcome{})
	ch := acquireAsync(context.Background(), l, r)
	c.WaitTimers(1)
	reset := time.Date(2026, 6, 11, 7, 0, 0, 0, time.UTC)
	if d := c.NextTimer(); d != reset.Sub(t0) {
		t.Fatalf("waits %v, want %v", d, reset.Sub(t0))
	}
	expectBlocked(t, ch)
	c.Set(reset)
	expectDone(t, ch)(Outcome{})

	// A request bigger than the whole budget fails even when waiting.
	l2 := mustNew(t, WithClock(c), WithWaitForReset(true), WithoutDefaults(),
		WithRules(Daily("d", "x", PerDomain, 2).Units()))
	if _, err := l2.Acquire(context.Background(), &Request{API: "x", Domain: "e", Cost: 3}); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("err = %v", err)
	}
}

func TestConcurrencyPerGroup(t *testing.T) {
	c := newFakeClock(t0)
	// Without the 10/s project rate, only the per-group rule acts.
	l := mustNew(t, WithClock(c), WithoutRules("groupsmigration.project.rate"))
	a := &Request{API: "groupsmigration", Method: "archive.insert", Group: "a@example.com"}
	b := &Request{API: "groupsmigration", Method: "archive.insert", Group: "b@example.com"}
	relA := mustAcquire(t, l, a)
	ch := acquireAsync(context.Background(), l, a)
	relB := mustAcquire(t, l, b) // another group: in parallel
	relB(Outcome{})
	expectBlocked(t, ch)
	relA(Outcome{})
	relA(Outcome{}) // idempotent: must not free a second slot
	rel2 := expectDone(t, ch)
	ch3 := acquireAsync(context.Background(), l, a)
	c.Advance(time.Second)
	expectBlocked(t, ch3)
	for _, s := range l.Stats() {
		if s.Rule == "groupsmigration.group.concurrent" && s.Key == "a@example.com" && s.InFlight != 1 {
			t.Fatalf("in flight = %d, want 1", s.InFlight)
		}
	}
	rel2(Outcome{})
	expectDone(t, ch3)(Outcome{})
}

func TestGmailUserConcurrencyCap(t *testing.T) {
	c := newFakeClock(t0)
	l := mustNew(t, WithClock(c), WithRules(Concurrent("gmail.user.concurrent", "gmail", PerUser, 2)))
	r := &Request{API: "gmail", Method: "users.getProfile", User: "u@example.com"}
	r1, r2 := mustAcquire(t, l, r), mustAcquire(t, l, r)
	ch := acquireAsync(context.Background(), l, r)
	c.Advance(time.Second)
	expectBlocked(t, ch)
	r1(Outcome{})
	expectDone(t, ch)(Outcome{})
	r2(Outcome{})
}

// TestAllRulesNoHolding checks that a call waiting on one rule takes nothing
// from the others.
func TestAllRulesNoHolding(t *testing.T) {
	c := newFakeClock(t0)
	l := mustNew(t, WithClock(c), WithoutDefaults(), WithRules(
		Rate("p", "x", PerProject, 2, time.Second).WithBurst(2),
		Rate("u", "x", PerUser, 1, time.Second),
		Concurrent("g", "x", PerGroup, 1),
	))
	u1 := &Request{API: "x", User: "u1", Group: "g1"}
	mustAcquire(t, l, u1)(Outcome{})
	// u1 again: the user rule makes it wait 1 s.
	ch := acquireAsync(context.Background(), l, &Request{API: "x", User: "u1", Group: "g2"})
	c.WaitTimers(1)
	// While it waits it holds neither project tokens nor group g2's slot:
	// u2 uses the project's second token and g2 at once.
	rel, err, ok := admittedNow(t, c, l, &Request{API: "x", User: "u2", Group: "g2"})
	if !ok || err != nil {
		t.Fatalf("u2 was not admitted at once: ok=%v err=%v", ok, err)
	}
	// Now the project is empty too and g2 busy; after 1 s the user and
	// project allow u1 but g2 is held: u1 waits for the slot, not a token.
	c.Advance(time.Second)
	expectBlocked(t, ch)
	rel(Outcome{})
	expectDone(t, ch)(Outcome{})
	var waitedU time.Duration
	for _, s := range l.Stats() {
		if s.Rule == "u" && s.Key == "u1" {
			waitedU = s.Waited
		}
	}
	if waitedU != time.Second {
		t.Fatalf("user waited %v, want 1s", waitedU)
	}
}

func TestCancelWhileWaiting(t *testing.T) {
	c := newFakeClock(t0)
	l := mustNew(t, WithClock(c))
	g := &Request{API: "groupsmigration", Method: "archive.insert", Group: "g@example.com"}
	rel := mustAcquire(t, l, g)
	ctx, cancel := context.WithCancel(context.Background())
	ch := acquireAsync(ctx, l, g)
	cancel()
	if res := <-ch; !errors.Is(res.err, context.Canceled) || res.rel != nil {
		t.Fatalf("cancelled Acquire = %v", res.err)
	}
	// Cancelled while waiting on a rate: nothing consumed.
	ctx2, cancel2 := context.WithCancel(context.Background())
	ch2 := acquireAsync(ctx2, l, &Request{API: "groupsmigration", Method: "archive.insert", Group: "h@example.com"})
	c.WaitTimers(1)
	cancel2()
	if res := <-ch2; !errors.Is(res.err, context.Canceled) {
		t.Fatalf("cancelled rate wait = %v", res.err)
	}
	rel(Outcome{})
	c.Advance(time.Second)
	mustAcquire(t, l, g)(Outcome{})
	if _, err := l.Acquire(ctx, g); !errors.Is(err, context.Canceled) {
		t.Fatalf("done ctx: %v", err)
	}
}

func TestDoReleasesOnPanic(t *testing.T) {
	c := newFakeClock(t0)
	l := mustNew(t, WithClock(c))
	g := &Request{API: "groupsmigration", Method: "archive.insert", Group: "g@example.com"}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic was swallowed")
			}
		}()
		_ = Do(context.Background(), l, g, func() Outcome { panic("boom") })
	}()
	c.Advance(time.Second)
	rel, _, ok := admittedNow(t, c, l, g)
	if !ok {
		t.Fatal("slot not released after panic")
	}
	rel(Outcome{})
	c.Advance(time.Second)
	if err := Do(context.Background(), l, g, func() Outcome { return Outcome{} }); err != nil {
		t.Fatal(err)
	}
}

func TestRetryAfterPausesScope(t *testing.T) {
	c := newFakeClock(t0)
	l := mustNew(t, WithClock(c))
	r := &Request{API: "datatransfer", Method: "transfers.insert"}
	mustAcquire(t, l, r)(Outcome{Throttled: true, Reason: "rateLimitExceeded", RetryAfter: 5 * time.Second})
	ch := acquireAsync(context.Background(), l, r)
	c.WaitTimers(1)
	if d := c.NextTimer(); d != 5*time.Second {
		t.Fatalf("pause = %v", d)
	}
	c.Advance(5 * time.Second)
	expectDone(t, ch)(Outcome{})
	for _, s := range l.Stats() {
		if s.Rule == "datatransfer.project.rate" && s.Throttled != 1 {
			t.Fatalf("throttles = %d", s.Throttled)
		}
	}
}

func TestThrottleBlame(t *testing.T) {
	c := newFakeClock(t0)
	l := mustNew(t, WithClock(c))
	r := &Request{API: "directory", Method: "users.get", User: "u@example.com"}
	rel := mustAcquire(t, l, r)
	rel(Outcome{Throttled: true, Reason: "userRateLimitExceeded"})
	rel(Outcome{Throttled: true, Reason: "userRateLimitExceeded"}) // ignored
	// The throttle starts a measurement of the limit; with nothing getting
	// through, it ends at measureMax with a cut.
	c.Advance(time.Duration(measureMax))
	mustAcquire(t, l, r)(Outcome{})
	for _, s := range l.Stats() {
		switch s.Rule {
		case "directory.user.rate":
			if s.Throttled != 1 || s.EffectiveRate >= s.ConfiguredRate {
				t.Errorf("user scope: %+v", s)
			}
		case "directory.project.rate":
			if s.Throttled != 0 || s.EffectiveRate != s.ConfiguredRate {
				t.Errorf("project scope: %+v", s)
			}
		}
	}
}

// TestAdaptiveConverges drives an adaptive rule against a simulated server
// enforcing an unknown limit, on simulated time.
func TestAdaptiveConverges(t *testing.T) {
	for _, limit := range []float64{3, 50, 400} {
		c := newFakeClock(t0)
		l := mustNew(t, WithClock(c), WithoutDefaults(), WithRules(
			Rate("p", "x", PerProject, 5, time.Second).Adaptive(true).Blames("rateLimitExceeded")))
		srv := &simBucket{rate: limit, burst: limit, tokens: limit, last: t0}
		b := l.bindLocked(&Request{API: "x"})
		var sent, rejected, sentLate, okLate int
		end := t0.Add(30 * time.Second)
		late := t0.Add(10 * time.Second)
		for now := c.Now(); now.Before(end); now = c.Now() {
			l.mu.Lock()
			v := l.tryLocked(b, 1, now)
			l.mu.Unlock()
			if v.kind != vOK {
				c.Advance(v.delay)
				continue
			}
			sent++
			ok := srv.take(now)
			if now.After(late) {
				sentLate++
				if ok {
					okLate++
				}
			}
			o := Outcome{}
			if !ok {
				rejected++
				o = Outcome{Throttled: true, Reason: "rateLimitExceeded"}
			}
			x := &lease{b: b, cost: 1, at: l.mono(now)}
			c.Advance(2 * time.Millisecond) // latency
			x.release(o)
		}
		rate := float64(okLate) / 20
		t.Logf("limit %v: achieved %.1f/s after warm-up (%.0f%%), rejected %d of %d", limit, rate, 100*rate/limit, rejected, sent)
		if rate < 0.9*limit || rate > 1.06*limit {
			t.Errorf("limit %v: achieved %.2f", limit, rate)
		}
		// A limit below the starting rate costs a few rejections at first.
		if float64(rejected) > max(0.03*float64(sent), 8) {
			t.Errorf("limit %v: rejected %d of %d", limit, rejected, sent)
		}
	}
}

// simBucket is a server-side token bucket.
type simBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func (b *simBucket) take(now time.Time) bool {
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

func TestRuleValidation(t *testing.T) {
	for _, r := range []Rule{
		{Name: "a", API: "x", Scope: PerProject, Kind: KindRate, Limit: 1},
		{Name: "", API: "x", Scope: PerProject, Kind: KindDaily, Limit: 1},
		{Name: "a", API: "x", Scope: 9, Kind: KindDaily, Limit: 1},
		{Name: "a", API: "x", Scope: PerUser, Kind: KindDaily, Limit: 0},
	} {
		if _, err := New(WithRules(r)); err == nil {
			t.Errorf("rule %+v accepted", r)
		}
	}
}

func TestUnlimited(t *testing.T) {
	rel, err := Unlimited().Acquire(context.Background(), &Request{})
	if err != nil {
		t.Fatal(err)
	}
	rel(Outcome{})
}

// TestAuditRules: Email Audit's 1 request/s per user applies to uploads
// (the public key), the only calls the limits page names; monitors have
// the lower of Google's two daily figures, 1,000 per domain.
func TestAuditRules(t *testing.T) {
	c := newFakeClock(t0)
	l := mustNew(t, WithClock(c))
	ctx := context.Background()
	// Reads and monitor writes by one user are not held to 1/s.
	for _, m := range []string{"monitor.list", "export.get", "export.list", "export.download", "monitor.create"} {
		for range 3 {
			rel, _, err := l.AcquireWithin(ctx, &Request{API: "audit", Method: m, Domain: "example.com", User: "admin@example.com"}, 0)
			if err != nil || rel == nil {
				t.Fatalf("%s at the same instant: release %v, err %v; want admitted at once", m, rel != nil, err)
			}
			rel(Outcome{})
		}
	}
	// The key upload is.
	up := &Request{API: "audit", Method: "publickey.create", Domain: "example.com", User: "admin@example.com"}
	rel, _, err := l.AcquireWithin(ctx, up, 0)
	if err != nil || rel == nil {
		t.Fatalf("first upload: %v", err)
	}
	rel(Outcome{})
	if rel, _, err := l.AcquireWithin(ctx, up, 100*time.Millisecond); err != nil || rel != nil {
		t.Fatalf("second upload within the same second: admitted=%v err=%v, want held back", rel != nil, err)
	}
	c.Advance(time.Second)
	mustAcquire(t, l, up)(Outcome{})

	// 1,000 monitor writes a day per domain (3 made above).
	mon := &Request{API: "audit", Method: "monitor.delete", Domain: "example.com", User: "admin@example.com"}
	for range 997 {
		mustAcquire(t, l, mon)(Outcome{})
	}
	if _, err := l.Acquire(ctx, mon); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("monitor write 1,001: %v, want ErrBudgetExhausted", err)
	}
}

// TestUnknownRuleBurstFollowsRate: the default burst of a rule whose limit
// is unknown is a tenth of a second's worth of the rate in force, not of
// the starting rate; a rule with a burst keeps it.
func TestUnknownRuleBurstFollowsRate(t *testing.T) {
	for _, tc := range []struct {
		rule Rule
		want int
	}{
		{Rate("p", "x", PerProject, 5, time.Second).Adaptive(true), 8},
		{Rate("p", "x", PerProject, 5, time.Second).Adaptive(true).WithBurst(2), 2},
		{Rate("p", "x", PerProject, 5, time.Second).Adaptive(false), 1},
	} {
		c := newFakeClock(t0)
		l := mustNew(t, WithClock(c), WithoutDefaults(), WithRules(tc.rule))
		r := &Request{API: "x"}
		l.mu.Lock()
		s := l.bindLocked(r).rates[0]
		if tc.rule.Unknown {
			s.rate = 80 // as if slow start had grown it
		}
		l.mu.Unlock()
		got := 0
		for ; got < 100; got++ {
			rel, _, err := l.AcquireWithin(context.Background(), r, 0)
			if err != nil {
				t.Fatal(err)
			}
			if rel == nil {
				break
			}
			rel(Outcome{})
		}
		if got != tc.want {
			t.Errorf("%+v: %d calls admitted at once, want %d", tc.rule, got, tc.want)
		}
	}
}

// A Store not made by a store package (the zero value) is refused by New
// with an error that says which one to use, instead of a limiter that
// panics on its first call.
func TestWithStoreRefusesZeroStore(t *testing.T) {
	_, err := New(WithStore(&Store{}))
	if err == nil || !strings.Contains(err.Error(), "redisstore.New") {
		t.Fatalf("New(WithStore(&Store{})) = %v, want an error naming redisstore.New", err)
	}
}
