package quota

import (
	"container/heap"
	"context"
	"fmt"
	"testing"
	"time"
)

// simServer enforces token buckets per project and per user.
type simServer struct {
	projRate, projBurst float64
	userRate, userBurst float64
	proj                simBucket
	users               map[string]*simBucket
}

func (s *simServer) take(now time.Time, user string, n float64) string {
	s.proj.rate, s.proj.burst = s.projRate, s.projBurst
	u := s.users[user]
	if u == nil {
		u = &simBucket{rate: s.userRate, burst: s.userBurst, tokens: s.userBurst, last: now}
		s.users[user] = u
	}
	fill := func(b *simBucket) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
	fill(u)
	fill(&s.proj)
	switch {
	case s.userRate > 0 && u.tokens < n:
		return "userRateLimitExceeded"
	case s.projRate > 0 && s.proj.tokens < n:
		return "rateLimitExceeded"
	}
	u.tokens -= n
	s.proj.tokens -= n
	return ""
}

type simEvent struct {
	at  time.Time
	w   int
	rel func()
}
type simQueue []simEvent

func (q simQueue) Len() int           { return len(q) }
func (q simQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q simQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)        { *q = append(*q, x.(simEvent)) }
func (q *simQueue) Pop() any          { o := *q; x := o[len(o)-1]; *q = o[:len(o)-1]; return x }

type simResult struct {
	sent, refused, lateSent, lateRefused int
	lateUnits                            float64
}

// simulate runs workers (one user each unless sameUser) against srv.
func simulate(l *RuleLimiter, c *fakeClock, srv *simServer, api, method string, workers int, sameUser bool, cost float64, rtt, dur, warm time.Duration) simResult {
	return simulateTrace(l, c, srv, api, method, workers, sameUser, cost, rtt, dur, warm, nil)
}

func simulateTrace(l *RuleLimiter, c *fakeClock, srv *simServer, api, method string, workers int, sameUser bool, cost float64, rtt, dur, warm time.Duration, trace func(sec int, r simResult)) simResult {
	sec := 0
	var res simResult
	q := &simQueue{}
	start := c.Now()
	for w := range workers {
		heap.Push(q, simEvent{at: start, w: w})
	}
	end := start.Add(dur)
	for q.Len() > 0 {
		e := heap.Pop(q).(simEvent)
		if e.at.After(end) {
			break
		}
		if trace != nil && e.at.Sub(start) >= time.Duration(sec+1)*time.Second {
			trace(sec, res)
			sec++
		}
		if d := e.at.Sub(c.Now()); d > 0 {
			c.Advance(d)
		}
		if e.rel != nil {
			e.rel()
			continue
		}
		user := fmt.Sprintf("u%d", e.w)
		if sameUser {
			user = "u"
		}
		r := &Request{API: api, Method: method, User: user, Project: "p"}
		l.mu.Lock()
		b := l.bindLocked(r)
		now := c.Now()
		v := l.tryLocked(b, b.cost, now)
		l.mu.Unlock()
		if v.kind != vOK {
			d := v.delay
			if d <= 0 {
				d = time.Millisecond
			}
			heap.Push(q, simEvent{at: now.Add(d), w: e.w})
			continue
		}
		x := &lease{b: b, cost: b.cost, at: l.mono(now)}
		reason := srv.take(now, user, cost)
		res.sent++
		late := now.Sub(start) >= warm
		if late {
			res.lateSent++
		}
		o := Outcome{}
		if reason != "" {
			res.refused++
			if late {
				res.lateRefused++
			}
			o = Outcome{Throttled: true, Reason: reason, RetryAfter: time.Second}
		} else if late {
			res.lateUnits += cost
		}
		heap.Push(q, simEvent{at: now.Add(rtt), w: e.w, rel: func() { x.release(o) }})
		heap.Push(q, simEvent{at: now.Add(rtt + time.Microsecond), w: e.w})
	}
	return res
}

// TestAdaptiveFindsLowerLimit: a user whose real Gmail limit is a fifth of
// the documented one (a server bucket of one second), four callers
// fetching messages one after the other. After the warm-up, the user's
// scope uses at least 90% of the real limit with at most 3% of the calls
// refused; at the documented limit nothing is refused.
func TestAdaptiveFindsLowerLimit(t *testing.T) {
	for _, real := range []float64{50, 250} {
		c := newFakeClock(t0)
		l := mustNew(t, WithClock(c))
		srv := &simServer{userRate: real, userBurst: real, users: map[string]*simBucket{}}
		dur, warm := 60*time.Second, 10*time.Second
		r := simulate(l, c, srv, "gmail", "users.messages.get", 4, true, 5, 2*time.Millisecond, dur, warm)
		use := r.lateUnits / (dur - warm).Seconds() / real
		refused := float64(r.lateRefused) / float64(r.lateSent)
		t.Logf("real limit %v units/s: after warm-up %.1f%% used, %.2f%% refused (%d of %d over the run)", real, 100*use, 100*refused, r.refused, r.sent)
		if use < 0.9 || use > 1.05 || refused > 0.03 || (real == 250 && r.refused > 0) {
			t.Errorf("real limit %v: use %.3f, refused %.3f (%d in all)", real, use, refused, r.refused)
		}
	}
}

// TestAdaptiveRecovers: a documented rate cut to a fifth by the server
// climbs back to its ceiling, and no further, once the server stops
// throttling.
func TestAdaptiveRecovers(t *testing.T) {
	c := newFakeClock(t0)
	l := mustNew(t, WithClock(c))
	srv := &simServer{userRate: 50, userBurst: 50, users: map[string]*simBucket{}}
	rate := func() float64 {
		for _, st := range l.Stats() {
			if st.Rule == "gmail.user.rate" {
				return st.EffectiveRate
			}
		}
		return 0
	}
	simulate(l, c, srv, "gmail", "users.messages.get", 4, true, 5, 2*time.Millisecond, 20*time.Second, 0)
	if r := rate(); r > 60 || r < 35 {
		t.Fatalf("rate after 20 s at a real limit of 50 units/s: %.1f", r)
	}
	srv.userRate, srv.userBurst = 250, 250
	for _, b := range srv.users {
		b.rate, b.burst = 250, 250
	}
	var at1, at60 float64
	simulateTrace(l, c, srv, "gmail", "users.messages.get", 4, true, 5, 2*time.Millisecond, 60*time.Second, 0, func(sec int, _ simResult) {
		switch sec {
		case 0:
			at1 = rate()
		case 58:
			at60 = rate()
		}
	})
	t.Logf("rate after the limit went back to 250 units/s: %.1f after 1 s, %.1f after 60 s", at1, at60)
	if at1 > 125 || at60 != 250 {
		t.Errorf("recovery: %.1f after 1 s, %.1f after 60 s; want gradual, then the ceiling (250)", at1, at60)
	}
}

// TestAdaptiveIdleDoesNotGrow: a scope that is not the bottleneck does not
// climb back while idle.
func TestAdaptiveIdleDoesNotGrow(t *testing.T) {
	c := newFakeClock(t0)
	l := mustNew(t, WithClock(c))
	srv := &simServer{userRate: 50, userBurst: 50, users: map[string]*simBucket{}}
	simulate(l, c, srv, "gmail", "users.messages.get", 4, true, 5, 2*time.Millisecond, 20*time.Second, 0)
	before := l.Stats()
	c.Advance(2 * time.Minute)
	r := &Request{API: "gmail", Method: "users.messages.get", User: "u", Project: "p"}
	mustAcquire(t, l, r)(Outcome{})
	after := l.Stats()
	for i := range before {
		if before[i].Rule == "gmail.user.rate" && after[i].EffectiveRate > 1.1*before[i].EffectiveRate {
			t.Errorf("idle scope grew from %.1f to %.1f", before[i].EffectiveRate, after[i].EffectiveRate)
		}
	}
}

// TestShortRetryAfterDoesNotPause: a Retry-After of a second or less does
// not pause an adaptive scope (it only delays the throttled call's retry);
// a longer one does.
func TestShortRetryAfterDoesNotPause(t *testing.T) {
	c := newFakeClock(t0)
	l := mustNew(t, WithClock(c))
	r := &Request{API: "gmail", Method: "users.labels.list", User: "u@example.com", Project: "p"}
	ctx := context.Background()
	mustAcquire(t, l, r)(Outcome{Throttled: true, Reason: "userRateLimitExceeded", RetryAfter: time.Second})
	rel, _, err := l.AcquireWithin(ctx, r, 0)
	if rel == nil || err != nil {
		t.Fatalf("paused by a Retry-After of 1 s: %v", err)
	}
	rel(Outcome{Throttled: true, Reason: "userRateLimitExceeded", RetryAfter: 5 * time.Second})
	if rel, _, err := l.AcquireWithin(ctx, r, 0); rel != nil || err != nil {
		t.Fatalf("a Retry-After of 5 s did not pause the scope: %v", err)
	}
}

// TestAcquireWithin: a call the rules would make wait longer than maxWait
// takes nothing; one within it waits and says how long.
func TestAcquireWithin(t *testing.T) {
	c := newFakeClock(t0)
	l := mustNew(t, WithClock(c), WithoutDefaults(), WithRules(
		Rate("r", "x", PerProject, 10, time.Second).WithBurst(1),
		Concurrent("c", "x", PerUser, 1)))
	ctx := context.Background()
	r := &Request{API: "x", User: "u"}
	first, waited, err := l.AcquireWithin(ctx, r, 0)
	if first == nil || err != nil || waited != 0 {
		t.Fatalf("first call: %v %v %v", first != nil, waited, err)
	}
	// The concurrency slot is held: no wait is short enough.
	if rel, _, err := l.AcquireWithin(ctx, r, time.Hour); rel != nil || err != nil {
		t.Fatalf("admitted with the slot held: %v", err)
	}
	// A batched call holds no slot; the rate makes it wait 100 ms.
	b := &Request{API: "x", User: "u", Batched: true}
	if rel, _, err := l.AcquireWithin(ctx, b, 50*time.Millisecond); rel != nil || err != nil {
		t.Fatalf("admitted before its turn: %v", err)
	}
	type res struct {
		rel    Release
		waited time.Duration
	}
	ch := make(chan res, 1)
	go func() {
		rel, waited, _ := l.AcquireWithin(ctx, b, 150*time.Millisecond)
		ch <- res{rel, waited}
	}()
	c.WaitTimers(1)
	c.Advance(100 * time.Millisecond)
	got := <-ch
	if got.rel == nil || got.waited != 100*time.Millisecond {
		t.Fatalf("batched call: admitted %v after %v, want after 100ms", got.rel != nil, got.waited)
	}
	got.rel(Outcome{})
	first(Outcome{})
	if st := l.Stats(); st[0].Rule != "c" || st[0].InFlight != 0 {
		t.Errorf("slots in flight after release: %+v", st[0])
	}
}

// TestAdaptiveUnknownLimits is the unknown-limits comparison of
// benchmarks/quota on simulated time: 20 workers, one user each, against a
// server allowing 50 requests/s per project and 5 per user (buckets of one
// second), through the default rules of an API with unpublished limits
// (starting at 5 requests/s per project and 2 per user). After a 5 s
// warm-up the limiter uses at least 95% of the project's limit with at most
// 1% of the calls refused (issue 17).
func TestAdaptiveUnknownLimits(t *testing.T) {
	for _, tc := range []struct {
		proj, user float64
		rtt        time.Duration
	}{
		{50, 5, 300 * time.Microsecond},
		{50, 5, 2 * time.Millisecond},
		{50, 5, 20 * time.Millisecond},
		{100, 10, time.Millisecond},
	} {
		c := newFakeClock(t0)
		l := mustNew(t, WithClock(c))
		srv := &simServer{projRate: tc.proj, projBurst: tc.proj, userRate: tc.user, userBurst: tc.user, users: map[string]*simBucket{}}
		srv.proj = simBucket{rate: tc.proj, burst: tc.proj, tokens: tc.proj, last: t0}
		dur, warm := 20*time.Second, 5*time.Second
		r := simulate(l, c, srv, "directory", "users.get", 20, false, 1, tc.rtt, dur, warm)
		use := r.lateUnits / (dur - warm).Seconds() / tc.proj
		refused := float64(r.lateRefused) / float64(r.lateSent)
		t.Logf("%v/s per project, %v per user, rtt %v: after warm-up %.1f%% used, %.2f%% refused (%d of %d over the run)",
			tc.proj, tc.user, tc.rtt, 100*use, 100*refused, r.refused, r.sent)
		if use < 0.95 || use > 1.05 || refused > 0.01 {
			t.Errorf("%v/s per project, rtt %v: use %.3f, refused %.4f", tc.proj, tc.rtt, use, refused)
		}
	}
}

// TestUnknownUserLimitShared: the limit one user's scope of an unpublished
// per-user limit measured is taken by the other users' scopes.
func TestUnknownUserLimitShared(t *testing.T) {
	c := newFakeClock(t0)
	l := mustNew(t, WithClock(c))
	srv := &simServer{userRate: 3, userBurst: 3, users: map[string]*simBucket{}}
	// One user alone finds the limit.
	simulate(l, c, srv, "directory", "users.get", 1, true, 1, time.Millisecond, 10*time.Second, 0)
	var est float64
	for _, st := range l.Stats() {
		if st.Rule == "directory.user.rate" && st.Key == "u" {
			est = st.EffectiveRate
		}
	}
	if est < 2.5 || est > 3.1 {
		t.Fatalf("user's rate after 10 s at a limit of 3/s: %.2f", est)
	}
	// Another user's scope starts at 2/s and, without the shared estimate,
	// would double its rate every half second while it is the bottleneck
	// (to 8/s after 1.5 s).
	simulate(l, c, srv, "directory", "users.get", 1, false, 1, time.Millisecond, 1500*time.Millisecond, 0)
	for _, st := range l.Stats() {
		if st.Rule == "directory.user.rate" && st.Key == "u0" && st.EffectiveRate > est*1.01 {
			t.Errorf("second user's rate %.2f, above the first's estimate %.2f", st.EffectiveRate, est)
		}
	}
}
