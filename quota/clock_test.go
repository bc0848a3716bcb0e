package quota

import (
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the reference for TestPacificRuleMatchesTZDatabase, in the test binary only
)

// fakeClock is a Clock that only moves when a test advances it.
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

func (c *fakeClock) NewTimer(d time.Duration) Timer {
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
	t.c.removeLocked(t)
	return was
}

func (c *fakeClock) removeLocked(t *fakeTimer) {
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			c.cond.Broadcast()
			return
		}
	}
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

// TestPacificRuleMatchesTZDatabase checks the hand-written Pacific rule
// against the tz database (embedded in this test binary only, through
// time/tzdata) at every hour from 2007 to 2040, the changeover hours
// included.
func TestPacificRuleMatchesTZDatabase(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2041, 1, 1, 0, 0, 0, 0, time.UTC)
	for u := time.Date(2007, 1, 1, 0, 30, 0, 0, time.UTC); u.Before(end); u = u.Add(time.Hour) {
		_, off := u.In(la).Zone()
		if got := pacificOffset(u); got != time.Duration(off)*time.Second {
			t.Fatalf("offset at %v: %v, tz database says %ds", u, got, off)
		}
		y, m, d := u.In(la).Date()
		if gy, gm, gd := pacificDate(u); gy != y || gm != m || gd != d {
			t.Fatalf("date at %v: %d-%d-%d, tz database says %d-%d-%d", u, gy, gm, gd, y, m, d)
		}
		want := time.Date(y, m, d+1, 0, 0, 0, 0, la)
		if got := NextPacificMidnight(u); !got.Equal(want) {
			t.Fatalf("NextPacificMidnight(%v) = %v, want %v", u, got.UTC(), want.UTC())
		}
	}
}
