package quota

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gwsadmin/workspace/quota/internal/sharedstore"
)

// AdaptiveMode says which rate rules follow server throttling.
type AdaptiveMode int

const (
	// AdaptiveAll (the default) adapts every rate rule: a documented limit
	// is a ceiling, not a promise. When the server throttles calls a rule
	// admitted (the project's or a user's real limit is lower than
	// documented, other clients share the project), the blamed scope slows
	// down, then probes its way back, never above the configured limit.
	// Rules whose limit is not published (Directory, Admin Settings, Cloud
	// Identity) also grow beyond their conservative start while nothing is
	// throttled.
	AdaptiveAll AdaptiveMode = iota
	// AdaptiveUnknown adapts only the rules marked adaptive (Rule.Adaptive):
	// by default, those whose limit is not published. Documented rates stay
	// as configured whatever the server answers.
	AdaptiveUnknown
	// AdaptiveOff turns adaptation off; every rate stays as configured.
	AdaptiveOff
)

// Option configures New.
type Option func(*config)

type config struct {
	clock        Clock
	store        *Store
	regime       GmailRegime
	noDefaults   bool
	rules        []Rule
	without      []string
	waitForReset bool
	adaptive     AdaptiveMode
	costs        map[string]int64
}

// WithClock sets the clock (tests use a fake one). The default is the system
// clock.
func WithClock(c Clock) Option { return func(cf *config) { cf.clock = c } }

// WithStore selects where counters, rates and leases live. The default is an
// in-memory store private to the Limiter; the store of package
// [github.com/gwsadmin/workspace/quota/redisstore] shares them between
// processes.
func WithStore(s *Store) Option { return func(cf *config) { cf.store = s } }

// WithGmailRegime selects the Gmail quota regime (costs per method and the
// per-user limit). The default is GmailLegacy.
func WithGmailRegime(g GmailRegime) Option { return func(cf *config) { cf.regime = g } }

// WithRules adds rules, replacing any rule (default or earlier) with the same
// Name.
func WithRules(rules ...Rule) Option {
	return func(cf *config) { cf.rules = append(cf.rules, rules...) }
}

// WithoutRules removes the named rules (default or added).
func WithoutRules(names ...string) Option {
	return func(cf *config) { cf.without = append(cf.without, names...) }
}

// WithoutDefaults starts from an empty rule set instead of DefaultRules:
// only rules given with WithRules apply.
func WithoutDefaults() Option { return func(cf *config) { cf.noDefaults = true } }

// WithWaitForReset makes Acquire wait for the Pacific-midnight reset when a
// daily budget is spent, instead of failing at once with a *BudgetError.
func WithWaitForReset(wait bool) Option { return func(cf *config) { cf.waitForReset = wait } }

// WithAdaptive selects which rate rules follow server throttling. The
// default is AdaptiveAll.
func WithAdaptive(m AdaptiveMode) Option { return func(cf *config) { cf.adaptive = m } }

// WithGmailCosts overrides the cost of Gmail methods (keys like
// "users.messages.get").
func WithGmailCosts(costs map[string]int64) Option {
	return func(cf *config) {
		if cf.costs == nil {
			cf.costs = map[string]int64{}
		}
		for k, v := range costs {
			cf.costs[k] = v
		}
	}
}

// Store is where a Limiter keeps its counters when they are shared between
// processes; without one (the default) they live in the Limiter's memory.
// [github.com/gwsadmin/workspace/quota/redisstore.New] returns one. Stores
// are made by this module's store packages only.
type Store struct{ b sharedstore.Backend }

func init() {
	sharedstore.NewStore = func(b sharedstore.Backend) any { return &Store{b: b} }
}

// RuleLimiter is the rule-based Limiter: Acquire waits until every rule
// matching the request admits it. Create one with New; it is safe for
// concurrent use.
type RuleLimiter struct {
	clock        Clock
	t0           time.Time
	store        sharedstore.Backend // nil: in memory
	regime       GmailRegime
	waitForReset bool
	rules        []*rule
	byAPI        map[string][]*rule
	costs        map[string]int64

	mu       sync.Mutex
	scopes   map[scopeKey]*scope
	bindings map[bindKey]*binding
}

var _ Limiter = (*RuleLimiter)(nil)

// New returns a RuleLimiter. Without options it applies DefaultRules(GmailLegacy)
// in memory, every rate adapting to the throttles of the server
// (AdaptiveAll).
func New(opts ...Option) (*RuleLimiter, error) {
	cf := config{clock: SystemClock()}
	for _, o := range opts {
		o(&cf)
	}
	if cf.clock == nil {
		cf.clock = SystemClock()
	}
	var list []Rule
	if !cf.noDefaults {
		list = DefaultRules(cf.regime)
	}
	for _, r := range cf.rules {
		if err := r.validate(); err != nil {
			return nil, err
		}
		replaced := false
		for i := range list {
			if list[i].Name == r.Name {
				list[i], replaced = r, true
			}
		}
		if !replaced {
			list = append(list, r)
		}
	}
	l := &RuleLimiter{
		clock:        cf.clock,
		t0:           cf.clock.Now(),
		regime:       cf.regime,
		waitForReset: cf.waitForReset,
		byAPI:        map[string][]*rule{},
		costs:        cf.costs,
		scopes:       map[scopeKey]*scope{},
		bindings:     map[bindKey]*binding{},
	}
	if cf.store != nil {
		l.store = cf.store.b
		if l.store == nil {
			return nil, errors.New("quota: WithStore was given a Store not made by a store package (use redisstore.New)")
		}
		l.store.Attach(storeClock{l.clock})
	}
next:
	for _, r := range list {
		for _, n := range cf.without {
			if n == r.Name {
				continue next
			}
		}
		ru := compile(r, cf.adaptive)
		l.rules = append(l.rules, ru)
		l.byAPI[r.API] = append(l.byAPI[r.API], ru)
	}
	return l, nil
}

// Rules returns the rules in force, in the order they are checked.
func (l *RuleLimiter) Rules() []Rule {
	out := make([]Rule, len(l.rules))
	for i, r := range l.rules {
		out[i] = r.Rule
	}
	return out
}

// rule is a Rule prepared for fast checks.
type rule struct {
	Rule
	methods  map[string]struct{}
	adaptive bool
	rate     float64 // configured units per second (KindRate)
	burst    float64 // units
	floor    float64 // units per second
	ceil     float64 // units per second; 0 = none
	ttl      time.Duration

	// The last limit a scope of the rule measured, and when (ns since t0),
	// for the rules whose scopes share it (see shares); under
	// RuleLimiter.mu.
	learned   float64
	learnedAt int64
}

// shares reports whether the scopes of r take the limit one of them
// measured: per-user limits that are not published are the same for every
// user, so that a limit one user found spares the others from finding it.
func (r *rule) shares() bool { return r.adaptive && r.Unknown && r.Scope == PerUser }

func compile(r Rule, mode AdaptiveMode) *rule {
	ru := &rule{Rule: r}
	if len(r.Methods) > 0 {
		ru.methods = map[string]struct{}{}
		for _, m := range r.Methods {
			ru.methods[m] = struct{}{}
		}
	}
	if r.Kind == KindRate {
		ru.rate = r.perSecond(r.Limit)
		ru.burst = r.Burst
		if ru.burst <= 0 {
			ru.burst = math.Max(1, ru.rate/10)
		}
		switch mode {
		case AdaptiveAll:
			ru.adaptive = true
		case AdaptiveUnknown:
			ru.adaptive = r.AdaptiveRate
		}
		ru.floor = ru.rate / 20
		if r.MinLimit > 0 {
			ru.floor = r.perSecond(r.MinLimit)
		}
		switch {
		case r.Unknown && r.MaxLimit > 0:
			ru.ceil = r.perSecond(r.MaxLimit)
		case r.Unknown:
			ru.ceil = 0
		default:
			ru.ceil = ru.rate
		}
	}
	ru.ttl = r.LeaseTTL
	if ru.ttl <= 0 {
		ru.ttl = 30 * time.Second
	}
	return ru
}

func (r *rule) matches(method string) bool {
	if r.methods == nil {
		return true
	}
	_, ok := r.methods[method]
	return ok
}

func (r *rule) blames(reason string) bool {
	for _, x := range r.Reasons {
		if x == reason {
			return true
		}
	}
	return false
}

// units is what one call of the given cost counts against r.
func (r *rule) units(cost int64) float64 {
	if r.CountUnits {
		return float64(cost)
	}
	return 1
}

type scopeKey struct {
	r   *rule
	key string
}

// scope is the state of one rule for one key.
type scope struct {
	r   *rule
	key string

	// KindRate: GCRA theoretical arrival time, in ns since Limiter.t0.
	tat        float64
	rate       float64 // effective units per second
	pauseUntil int64   // Retry-After pause, ns since t0
	ad         adapt

	// KindDaily.
	resetAt time.Time
	used    int64

	// KindConcurrency.
	inUse int
	wake  chan struct{}

	// Statistics.
	waited    time.Duration
	admitted  int64
	throttles int64
}

type bindKey struct {
	api, method, project, domain, user, group string
	batched                                   bool
}

// binding caches the scopes that apply to one combination of request fields.
type binding struct {
	l       *RuleLimiter
	cost    int64
	daily   []*scope
	conc    []*scope
	rates   []*scope
	lease   bool // Release needs per-call state (concurrency or adaptive rules)
	release Release
	skeys   []string // shared store's keys (no date for daily), in daily, conc, rates order
}

func (l *RuleLimiter) defaultCost(api, method string) int64 {
	if api != "gmail" {
		return 1
	}
	if c, ok := l.costs[method]; ok {
		return c
	}
	if c, ok := GmailCost(l.regime, method); ok {
		return c
	}
	return UnknownGmailMethodCost
}

const maxBindings = 1 << 16

func (l *RuleLimiter) bindLocked(r *Request) *binding {
	k := bindKey{r.API, r.Method, r.Project, r.Domain, r.User, r.Group, r.Batched}
	if b := l.bindings[k]; b != nil {
		return b
	}
	if len(l.bindings) >= maxBindings {
		l.sweepLocked()
	}
	b := &binding{l: l, cost: l.defaultCost(r.API, r.Method)}
	for _, ru := range l.byAPI[r.API] {
		if !ru.matches(r.Method) {
			continue
		}
		key, ok := ru.Scope.key(r)
		if !ok || (r.Batched && ru.Kind == KindConcurrency) {
			continue
		}
		s := l.scopeLocked(ru, key)
		switch ru.Kind {
		case KindDaily:
			b.daily = append(b.daily, s)
		case KindConcurrency:
			b.conc = append(b.conc, s)
			b.lease = true
		case KindRate:
			b.rates = append(b.rates, s)
			if ru.adaptive {
				b.lease = true
			}
		}
	}
	if l.store != nil {
		for _, group := range [][]*scope{b.daily, b.conc, b.rates} {
			for _, s := range group {
				b.skeys = append(b.skeys, l.store.Key(storeKind(s.r.Kind), s.r.Name, s.key))
			}
		}
	}
	b.release = b.report
	l.bindings[k] = b
	return b
}

func (l *RuleLimiter) scopeLocked(ru *rule, key string) *scope {
	k := scopeKey{ru, key}
	if s := l.scopes[k]; s != nil {
		return s
	}
	s := &scope{r: ru, key: key, rate: ru.rate}
	if ru.adaptive {
		s.ad.base = ru.rate
		s.ad.slow = ru.Unknown
		if !ru.Unknown {
			s.ad.lastMax = ru.rate
		}
		s.ad.winStart = l.mono(l.clock.Now())
	}
	l.scopes[k] = s
	return s
}

// sweepLocked forgets cached bindings and scopes that carry no state worth
// keeping, so that memory stays bounded with many users and groups.
func (l *RuleLimiter) sweepLocked() {
	now := l.clock.Now()
	mono := float64(l.mono(now))
	clear(l.bindings)
	for k, s := range l.scopes {
		switch s.r.Kind {
		case KindRate:
			if s.tat+float64(time.Minute) > mono || (s.r.adaptive && s.tat+float64(10*time.Minute) > mono) {
				continue
			}
		case KindDaily:
			if s.used > 0 && now.Before(s.resetAt) {
				continue
			}
		case KindConcurrency:
			if s.inUse > 0 || s.wake != nil {
				continue
			}
		}
		delete(l.scopes, k)
	}
}

func (l *RuleLimiter) mono(t time.Time) int64 { return int64(t.Sub(l.t0)) }

// verdict is the result of one all-or-nothing admission attempt.
type verdict struct {
	kind  int // vOK, vRate, vConc, vBudget
	delay time.Duration
	s     *scope
	reset time.Time
}

const (
	vOK = iota
	vRate
	vConc
	vBudget
)

// tryLocked admits a call of the given cost if every rule of b allows it
// now, committing to all of them at once; otherwise it commits to none and
// says what to wait for.
func (l *RuleLimiter) tryLocked(b *binding, cost int64, now time.Time) verdict {
	mono := l.mono(now)
	for _, s := range b.daily {
		s.rollDay(now)
		n := int64(s.r.units(cost))
		if s.used+n > int64(s.r.Limit) {
			return verdict{kind: vBudget, s: s, reset: s.resetAt}
		}
	}
	for _, s := range b.conc {
		if s.inUse >= int(s.r.Limit) {
			return verdict{kind: vConc, s: s}
		}
	}
	var worst float64
	var blk *scope
	fm := float64(mono)
	for _, s := range b.rates {
		if s.r.adaptive {
			s.tick(mono)
		}
		d := s.delay(s.r.units(cost), fm)
		if p := float64(s.pauseUntil - mono); p > d {
			d = p
		}
		if d > worst {
			worst, blk = d, s
		}
	}
	if blk != nil {
		blk.ad.blocked = true
		return verdict{kind: vRate, s: blk, delay: time.Duration(math.Ceil(worst))}
	}
	for _, s := range b.daily {
		s.used += int64(s.r.units(cost))
		s.admitted++
	}
	for _, s := range b.conc {
		s.inUse++
		s.admitted++
	}
	for _, s := range b.rates {
		n := s.r.units(cost)
		s.tat = math.Max(s.tat, fm) + n*float64(time.Second)/s.rate
		s.admitted++
		s.ad.winAdmit += n
	}
	return verdict{kind: vOK}
}

// delay returns how long (ns) a call counting n units must wait for s, by
// GCRA: the bucket holds max(burst, n) units and drains at the rate.
func (s *scope) delay(n, mono float64) float64 {
	interval := float64(time.Second) / s.rate
	tol := math.Max(s.burst(), n) * interval
	d := math.Max(s.tat-mono, 0) + (n*interval - tol)
	if d < 1 { // below a nanosecond: rounding noise
		return 0
	}
	return d
}

// burst is the scope's burst, in units. The default burst of a rule whose
// limit is unknown follows the rate in force, a tenth of a second's worth:
// the configured rate is only where slow start began, and a burst of one
// call at ten times that rate would lose every late wake-up of the callers.
func (s *scope) burst() float64 {
	if s.r.Unknown && s.r.Burst <= 0 {
		return max(s.r.burst, s.rate/10)
	}
	return s.r.burst
}

func (s *scope) rollDay(now time.Time) {
	if now.Before(s.resetAt) {
		return
	}
	s.used = 0
	s.resetAt = NextPacificMidnight(now)
}

// Acquire waits until every rule matching r admits the call, then returns
// the Release to call when the attempt is over. Admission is all-or-nothing:
// while one rule makes the call wait, nothing is taken from the others. It
// returns ctx's error if ctx ends first (holding nothing), and a *BudgetError
// (matching ErrBudgetExhausted) when a daily budget is spent, unless the
// Limiter waits for the reset (WithWaitForReset).
//
// The returned Release is safe to call more than once: only the first call
// gives back concurrency slots and reports the outcome; later calls are
// ignored. (For calls that hold no slot and match no adaptive rule, the
// Release is shared per scope and a second call would count its outcome
// twice in Stats, but never releases anything.)
func (l *RuleLimiter) Acquire(ctx context.Context, r *Request) (Release, error) {
	rel, _, err := l.acquire(ctx, r, -1)
	return rel, err
}

// AcquireWithin is Acquire for a call that can be put off: it waits at most
// maxWait for every rule to admit r. When a rule would make r wait longer,
// or a concurrency cap is full, it takes nothing and returns a nil Release
// and a nil error. It also says how long it waited, on the Limiter's clock.
//
// Gmail's Batch uses it to gather into one HTTP batch only the calls the
// pace admits within a short span, so that a batch never reaches the
// server as a burst.
func (l *RuleLimiter) AcquireWithin(ctx context.Context, r *Request, maxWait time.Duration) (Release, time.Duration, error) {
	return l.acquire(ctx, r, max(maxWait, 0))
}

// acquire admits r, waiting for at most maxWait when it is not negative.
func (l *RuleLimiter) acquire(ctx context.Context, r *Request, maxWait time.Duration) (Release, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if r == nil {
		return nil, 0, errors.New("quota: nil Request")
	}
	l.mu.Lock()
	b := l.bindLocked(r)
	l.mu.Unlock()
	cost := r.Cost
	if cost <= 0 {
		cost = b.cost
	}
	start := l.clock.Now()
	var rel Release
	var err error
	if l.store != nil {
		rel, err = l.acquireShared(ctx, b, cost, start, maxWait)
	} else {
		rel, err = l.acquireMemory(ctx, b, cost, start, maxWait)
	}
	if rel == nil || err != nil {
		return nil, 0, err
	}
	return rel, l.clock.Now().Sub(start), nil
}

// tooLate reports whether waiting d more at now would go past maxWait
// (when not negative) since start.
func tooLate(start, now time.Time, d, maxWait time.Duration) bool {
	return maxWait >= 0 && now.Add(d).Sub(start) > maxWait
}

func (l *RuleLimiter) acquireMemory(ctx context.Context, b *binding, cost int64, start time.Time, maxWait time.Duration) (rel Release, err error) {
	locked := false
	defer func() {
		if locked {
			l.mu.Unlock()
		}
	}()
	for {
		l.mu.Lock()
		locked = true
		now := l.clock.Now()
		v := l.tryLocked(b, cost, now)
		var ch chan struct{}
		switch v.kind {
		case vOK:
			if !b.lease {
				return b.release, nil
			}
			x := &lease{b: b, cost: cost, at: l.mono(now)}
			return x.release, nil
		case vRate:
			if tooLate(start, now, v.delay, maxWait) {
				return nil, nil
			}
		case vBudget:
			if !l.waitForReset || int64(v.s.r.units(cost)) > int64(v.s.r.Limit) {
				return nil, v.s.budgetError()
			}
			v.delay = v.reset.Sub(now)
		case vConc:
			if maxWait >= 0 {
				return nil, nil
			}
			if v.s.wake == nil {
				v.s.wake = make(chan struct{})
			}
			ch = v.s.wake
		}
		l.mu.Unlock()
		locked = false
		werr := l.wait(ctx, v.delay, ch)
		l.mu.Lock()
		v.s.waited += l.clock.Now().Sub(now)
		l.mu.Unlock()
		if werr != nil {
			return nil, werr
		}
	}
}

// wait blocks for d (when positive), until ch is closed (when non-nil), or
// until ctx ends, whichever comes first.
func (l *RuleLimiter) wait(ctx context.Context, d time.Duration, ch <-chan struct{}) error {
	if d <= 0 && ch == nil {
		return ctx.Err()
	}
	var tc <-chan time.Time
	if d > 0 {
		t := l.clock.NewTimer(d)
		defer t.Stop()
		tc = t.C()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tc:
	case <-ch:
	}
	return nil
}

func (s *scope) budgetError() *BudgetError {
	return &BudgetError{Budget: s.r.Name, Key: s.key, Limit: int64(s.r.Limit), ResetAt: s.resetAt}
}

// lease is the per-call state behind a Release that holds something.
type lease struct {
	b    *binding
	cost int64
	at   int64               // admission time, ns since t0
	held []sharedstore.Lease // the shared store's leases, one per concurrency scope
	done atomic.Bool
}

func (x *lease) release(o Outcome) {
	if x.done.Swap(true) {
		return
	}
	x.b.l.finish(x.b, x.cost, x.at, x.held, o)
}

// report is the shared Release of bindings that hold nothing.
func (b *binding) report(o Outcome) {
	if !o.Throttled {
		return
	}
	b.l.finish(b, b.cost, -1, nil, o)
}

func (l *RuleLimiter) finish(b *binding, cost, at int64, held []sharedstore.Lease, o Outcome) {
	if l.store != nil && len(held) > 0 {
		l.store.Release(held)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range b.conc {
		s.inUse--
		if s.wake != nil {
			close(s.wake)
			s.wake = nil
		}
	}
	now := l.mono(l.clock.Now())
	if !o.Throttled {
		if o.Err == nil {
			for _, s := range b.rates {
				if s.ad.measuring {
					s.onOutcome(at, now, s.r.units(cost), false)
				}
			}
		}
		return
	}
	claimed := false
	for _, s := range b.rates {
		if s.r.blames(o.Reason) {
			claimed = true
			break
		}
	}
	if len(b.rates) == 0 {
		for _, s := range b.conc {
			s.throttles++
		}
		for _, s := range b.daily {
			s.throttles++
		}
		return
	}
	for _, s := range b.rates {
		if claimed && !s.r.blames(o.Reason) {
			continue
		}
		s.throttles++
		// The header counts whole seconds: "1" says no more than "soon",
		// and an adaptive scope has already slowed down; pausing it for a
		// second at each sporadic throttle would waste a second of quota
		// each time.
		if o.RetryAfter > 0 && (!s.r.adaptive || o.RetryAfter > time.Second) {
			p := min(o.RetryAfter, maxPause)
			s.pauseUntil = max(s.pauseUntil, now+int64(p))
		}
		if s.r.adaptive {
			s.onOutcome(at, now, s.r.units(cost), true)
		}
	}
}

// maxPause caps how long a server's Retry-After pauses a whole scope.
const maxPause = 30 * time.Second

// Do acquires lim for r, runs call and releases with the Outcome call
// returns. If call panics, the slot is released (with an Outcome whose Err
// says so) and the panic continues. Do returns Acquire's error, if any.
func Do(ctx context.Context, lim Limiter, r *Request, call func() Outcome) error {
	rel, err := lim.Acquire(ctx, r)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			rel(Outcome{Err: errPanicked})
		}
	}()
	o := call()
	done = true
	rel(o)
	return nil
}

var errPanicked = errors.New("quota: call panicked")
