package quota

import (
	"context"
	"time"

	"github.com/gwsadmin/workspace/quota/internal/sharedstore"
)

// storeClock is the Limiter's Clock as a shared store sees it.
type storeClock struct{ c Clock }

func (c storeClock) Now() time.Time { return c.c.Now() }

func (c storeClock) After(d time.Duration) <-chan time.Time { return c.c.NewTimer(d).C() }

func storeKind(k Kind) sharedstore.Kind {
	switch k {
	case KindDaily:
		return sharedstore.Daily
	case KindConcurrency:
		return sharedstore.Concurrency
	}
	return sharedstore.Rate
}

// acquireShared is acquire with a shared store: local Retry-After pauses
// first, then one all-or-nothing check of every scope by the store, with
// this process's effective rates.
func (l *RuleLimiter) acquireShared(ctx context.Context, b *binding, cost int64, start time.Time, maxWait time.Duration) (Release, error) {
	checks := make([]sharedstore.Check, len(b.skeys))
	for {
		now := l.clock.Now()
		mono := l.mono(now)
		l.mu.Lock()
		// Local pauses (Retry-After) come first; they cost no round trip.
		var pause int64
		var pauser *scope
		for _, s := range b.rates {
			if s.r.adaptive {
				s.tick(mono)
			}
			if p := s.pauseUntil - mono; p > pause {
				pause, pauser = p, s
			}
		}
		if pauser != nil {
			l.mu.Unlock()
			if tooLate(start, now, time.Duration(pause), maxWait) {
				return nil, nil
			}
			err := l.wait(ctx, time.Duration(pause), nil)
			l.mu.Lock()
			pauser.waited += l.clock.Now().Sub(now)
			l.mu.Unlock()
			if err != nil {
				return nil, err
			}
			continue
		}
		i := 0
		if len(b.daily) > 0 {
			day, reset := pacificDay(now), NextPacificMidnight(now)
			for _, s := range b.daily {
				checks[i] = sharedstore.Check{Kind: sharedstore.Daily, Key: b.skeys[i], Units: s.r.units(cost), Limit: int64(s.r.Limit), Day: day, Reset: reset}
				i++
			}
		}
		for _, s := range b.conc {
			checks[i] = sharedstore.Check{Kind: sharedstore.Concurrency, Key: b.skeys[i], Units: 1, Limit: int64(s.r.Limit), TTL: s.r.ttl}
			i++
		}
		for _, s := range b.rates {
			checks[i] = sharedstore.Check{Kind: sharedstore.Rate, Key: b.skeys[i], Units: s.r.units(cost), Rate: s.rate, Burst: s.burst()}
			i++
		}
		l.mu.Unlock()

		res, err := l.store.Acquire(ctx, now, checks)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			return nil, err
		}
		var v verdict
		switch res.Result {
		case sharedstore.Admitted:
			l.mu.Lock()
			for k, s := range b.daily {
				s.rollDay(now)
				if k < len(res.Used) {
					s.used = res.Used[k]
				}
				s.admitted++
			}
			for _, s := range b.conc {
				s.inUse++
				s.admitted++
			}
			for _, s := range b.rates {
				s.admitted++
				s.ad.winAdmit += s.r.units(cost)
			}
			l.mu.Unlock()
			if !b.lease {
				return b.release, nil
			}
			x := &lease{b: b, cost: cost, at: mono, held: res.Leases}
			return x.release, nil
		case sharedstore.Wait:
			v = verdict{kind: vRate, s: b.scopeAt(res.Index), delay: res.Delay}
			l.mu.Lock()
			v.s.ad.blocked = true
			l.mu.Unlock()
			if tooLate(start, now, v.delay, maxWait) {
				return nil, nil
			}
		case sharedstore.Exhausted:
			s := b.scopeAt(res.Index)
			l.mu.Lock()
			s.rollDay(now)
			s.used = res.Spent
			l.mu.Unlock()
			if !l.waitForReset || int64(s.r.units(cost)) > int64(s.r.Limit) {
				return nil, s.budgetError()
			}
			v = verdict{kind: vBudget, s: s, delay: s.resetAt.Sub(now)}
		case sharedstore.Full:
			if maxWait >= 0 {
				return nil, nil
			}
			s := b.scopeAt(res.Index)
			l.mu.Lock()
			if s.wake == nil {
				s.wake = make(chan struct{})
			}
			ch := s.wake
			l.mu.Unlock()
			v = verdict{kind: vConc, s: s, delay: res.Delay}
			if err := l.waitTracked(ctx, v, now, ch); err != nil {
				return nil, err
			}
			continue
		}
		if err := l.waitTracked(ctx, v, now, nil); err != nil {
			return nil, err
		}
	}
}

func (l *RuleLimiter) waitTracked(ctx context.Context, v verdict, since time.Time, ch <-chan struct{}) error {
	err := l.wait(ctx, v.delay, ch)
	l.mu.Lock()
	v.s.waited += l.clock.Now().Sub(since)
	l.mu.Unlock()
	return err
}

// scopeAt returns the i-th scope in check order (daily, conc, rates).
func (b *binding) scopeAt(i int) *scope {
	if i < len(b.daily) {
		return b.daily[i]
	}
	i -= len(b.daily)
	if i < len(b.conc) {
		return b.conc[i]
	}
	return b.rates[i-len(b.conc)]
}
