package redisstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gwsadmin/workspace/quota"
)

var t0 = time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)

// fakeClock is a quota.Clock that only moves when a test advances it (the
// same as quota's own tests use).
type fakeClock struct {
	mu     sync.Mutex
	cond   *sync.Cond
	now    time.Time
	timers []*fakeTimer
}

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{now: t}
	c.cond = sync.NewCond(&c.mu)
	return c
}

type fakeTimer struct {
	c    *fakeClock
	at   time.Time
	ch   chan time.Time
	done bool
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) quota.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.done = true
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	c.cond.Broadcast()
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.done
	t.done = true
	for i, x := range t.c.timers {
		if x == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			t.c.cond.Broadcast()
			break
		}
	}
	return was
}

// Advance moves the clock and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.timers[:0]
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			t.done = true
			t.ch <- c.now
			continue
		}
		keep = append(keep, t)
	}
	c.timers = keep
	c.cond.Broadcast()
}

// Set moves the clock to t (forward only).
func (c *fakeClock) Set(t time.Time) { c.Advance(t.Sub(c.Now())) }

// WaitTimers blocks until at least n timers are pending.
func (c *fakeClock) WaitTimers(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.timers) < n {
		c.cond.Wait()
	}
}

// NextTimer returns how long until the earliest pending timer fires.
func (c *fakeClock) NextTimer() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var d time.Duration = -1
	for _, t := range c.timers {
		if x := t.at.Sub(c.now); d < 0 || x < d {
			d = x
		}
	}
	return d
}

type result struct {
	rel quota.Release
	err error
}

func acquireAsync(ctx context.Context, l quota.Limiter, r *quota.Request) chan result {
	ch := make(chan result, 1)
	go func() {
		rel, err := l.Acquire(ctx, r)
		ch <- result{rel, err}
	}()
	return ch
}

func mustNew(t *testing.T, opts ...quota.Option) *quota.RuleLimiter {
	t.Helper()
	l, err := quota.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustAcquire(t *testing.T, l quota.Limiter, r *quota.Request) quota.Release {
	t.Helper()
	rel, err := l.Acquire(context.Background(), r)
	if err != nil {
		t.Fatalf("Acquire(%+v): %v", *r, err)
	}
	return rel
}

func expectBlocked(t *testing.T, ch chan result) {
	t.Helper()
	select {
	case res := <-ch:
		t.Fatalf("Acquire returned early: err=%v", res.err)
	default:
	}
}

func expectDone(t *testing.T, ch chan result) quota.Release {
	t.Helper()
	res := <-ch
	if res.err != nil {
		t.Fatalf("Acquire: %v", res.err)
	}
	return res.rel
}
