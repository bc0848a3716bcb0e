package quota

import (
	"container/heap"
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

func TestSimPacing(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	report := func(name string, r simResult, limit float64, dur, warm time.Duration) {
		t.Logf("%-28s sent %6d refused %5d (%.2f%%) | after warm-up: refused %.2f%% use %.1f%%", name, r.sent, r.refused,
			100*float64(r.refused)/float64(r.sent), 100*float64(r.lateRefused)/float64(max(1, r.lateSent)),
			100*r.lateUnits/(dur-warm).Seconds()/limit)
	}
	for _, rtt := range []time.Duration{2 * time.Millisecond, 50 * time.Millisecond} {
		for _, real := range []float64{50, 250} {
			for _, warm := range []time.Duration{5 * time.Second, 10 * time.Second} {
				c := newFakeClock(t0)
				l := mustNew(t, WithClock(c))
				srv := &simServer{userRate: real, userBurst: real, users: map[string]*simBucket{}}
				dur := 60 * time.Second
				r := simulate(l, c, srv, "gmail", "users.messages.get", 4, true, 5, rtt, dur, warm)
				report(fmt.Sprintf("gmail real %v rtt %v warm %v", real, rtt, warm), r, real, dur, warm)
			}
		}
		c := newFakeClock(t0)
		l := mustNew(t, WithClock(c))
		srv := &simServer{projRate: 50, projBurst: 50, userRate: 5, userBurst: 5, users: map[string]*simBucket{}}
		dur := 30 * time.Second
		r := simulate(l, c, srv, "directory", "users.get", 20, false, 1, rtt, dur, 5*time.Second)
		report(fmt.Sprintf("directory unknown rtt %v", rtt), r, 50, dur, 5*time.Second)
	}
}

func TestSimTrace(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	c := newFakeClock(t0)
	l := mustNew(t, WithClock(c))
	srv := &simServer{userRate: 50, userBurst: 50, users: map[string]*simBucket{}}
	var last simResult
	simulateTrace(l, c, srv, "gmail", "users.messages.get", 4, true, 5, 2*time.Millisecond, 60*time.Second, 0, func(sec int, r simResult) {
		var rate, est float64
		for _, s := range l.scopes {
			if s.r.Name == "gmail.user.rate" {
				rate, est = s.rate, s.ad.lastMax
			}
		}
		t.Logf("t=%2d sent %3d refused %2d rate %.1f est %.1f", sec, r.sent-last.sent, r.refused-last.refused, rate, est)
		last = r
	})
}
