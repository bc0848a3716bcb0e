package quota

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStore keeps rates, daily budgets and concurrency leases in Redis, so
// that several processes (on one machine or many) share one project's
// quota. Each acquisition is one round trip: a Lua script checks every rule
// of the call and commits to all of them or to none. Rates use GCRA (the
// algorithm of go-redis/redis_rate) on one key per rule and scope key; daily
// budgets are counters per Pacific date that expire after the reset;
// concurrency slots are leases (members of a sorted set scored by their
// expiry) that the holder refreshes while the call runs and that expire when
// a crashed worker stops refreshing them.
//
// Adaptive state (the effective rate of adaptive rules) and Retry-After
// pauses are kept per process.
//
// With Redis Cluster, every key of one acquisition must hash to one slot:
// use a hash-tag prefix such as "{gws}".
type RedisStore struct {
	rdb        redis.Scripter
	prefix     string
	clientTime bool
	poll       time.Duration

	clock    atomic.Pointer[Clock]
	idPrefix string
	seq      atomic.Uint64

	mu         sync.Mutex
	held       map[string]heldLease // lease member → where it lives
	refreshing bool
}

type heldLease struct {
	key string
	ttl time.Duration
}

func (*RedisStore) isStore() {}

// RedisOption configures NewRedisStore.
type RedisOption func(*RedisStore)

// WithClientTime makes the store use the Limiter's Clock instead of the Redis
// server's TIME for rates and lease expiry. Tests use it to drive a real
// Redis with a fake clock; in production the server's time is better, since
// clients' clocks may disagree.
func WithClientTime() RedisOption { return func(s *RedisStore) { s.clientTime = true } }

// WithPollInterval sets how often a call waiting for a concurrency slot held
// by another process asks Redis again (default 20ms). Slots released in the
// same process wake waiters at once.
func WithPollInterval(d time.Duration) RedisOption {
	return func(s *RedisStore) { s.poll = d }
}

// NewRedisStore returns a store keeping its state in rdb under keys starting
// with prefix (e.g. "gws"). Pass it to New with WithStore. rdb is usually a
// *redis.Client; any go-redis client that runs scripts works.
func NewRedisStore(rdb redis.Scripter, prefix string, opts ...RedisOption) *RedisStore {
	var b [6]byte
	_, _ = rand.Read(b[:])
	s := &RedisStore{
		rdb:      rdb,
		prefix:   prefix,
		poll:     20 * time.Millisecond,
		idPrefix: hex.EncodeToString(b[:]) + ":",
		held:     map[string]heldLease{},
	}
	for _, o := range opts {
		o(s)
	}
	c := SystemClock()
	s.clock.Store(&c)
	return s
}

func (s *RedisStore) attach(c Clock) { s.clock.Store(&c) }

func (s *RedisStore) now() time.Time { return (*s.clock.Load()).Now() }

func (s *RedisStore) key(sc *scope) string {
	kind := "r"
	switch sc.r.Kind {
	case KindDaily:
		kind = "d"
	case KindConcurrency:
		kind = "c"
	}
	return s.prefix + ":" + kind + ":" + sc.r.Name + ":" + sc.key
}

// nowArg is the script's notion of now: 0 asks it to use Redis TIME.
func (s *RedisStore) nowArg(t time.Time) int64 {
	if s.clientTime {
		return t.UnixMicro()
	}
	return 0
}

// acquireScript checks every rule of one call and commits to all or none.
// KEYS[i] is rule i's key; ARGV[1] is now in µs (0: use TIME); then four
// arguments per rule: kind, a, b, c.
//
//	d (daily):       a = units, b = limit, c = expiry (ms from now: an hour after the reset)
//	c (concurrency): a = slots, b = lease member, c = lease TTL (µs)
//	r (rate):        a = increment (µs), b = tolerance (µs), c = unused
//
// Reply: {0, now, used_1, ...} admitted (daily counters after the call);
// {1, i, wait_µs} rate i needs a wait; {2, i, used} budget i is spent;
// {3, i, µs until the first lease expires} concurrency i is full.
var acquireScript = redis.NewScript(`
local now = tonumber(ARGV[1])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local n = #KEYS
local wait, worst = 0, 0
local nt = {}
for i = 1, n do
  local j = 2 + (i - 1) * 4
  local kind = ARGV[j]
  if kind == 'd' then
    local used = tonumber(redis.call('GET', KEYS[i]) or '0')
    if used + tonumber(ARGV[j + 1]) > tonumber(ARGV[j + 2]) then
      return {2, i, used}
    end
  elseif kind == 'c' then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
    if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[j + 1]) then
      local first = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
      return {3, i, tonumber(first[2]) - now}
    end
  else
    local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
    if tat < now then tat = now end
    nt[i] = tat + tonumber(ARGV[j + 1])
    local d = nt[i] - now - tonumber(ARGV[j + 2])
    if d > wait then wait, worst = d, i end
  end
end
if wait > 0 then return {1, worst, math.ceil(wait)} end
local res = {0, now}
for i = 1, n do
  local j = 2 + (i - 1) * 4
  local kind = ARGV[j]
  if kind == 'd' then
    res[#res + 1] = redis.call('INCRBY', KEYS[i], ARGV[j + 1])
    redis.call('PEXPIRE', KEYS[i], ARGV[j + 3])
  elseif kind == 'c' then
    local ttl = tonumber(ARGV[j + 3])
    redis.call('ZADD', KEYS[i], now + ttl, ARGV[j + 2])
    redis.call('PEXPIRE', KEYS[i], math.ceil(ttl / 1000) + 1000)
  else
    redis.call('SET', KEYS[i], string.format('%.0f', nt[i]), 'PX', math.ceil((nt[i] - now) / 1000) + 1000)
  end
end
return res
`)

// releaseScript removes lease members: KEYS[i] holds member ARGV[i].
// Removing a member that is gone (released or expired) is a no-op, so a
// release can safely be repeated.
var releaseScript = redis.NewScript(`
for i = 1, #KEYS do redis.call('ZREM', KEYS[i], ARGV[i]) end
return 0
`)

// refreshScript extends leases still held: KEYS[i] holds member ARGV[2i]
// with TTL ARGV[2i+1] µs; ARGV[1] is now in µs (0: TIME). A lease that has
// expired and been reclaimed is not revived.
var refreshScript = redis.NewScript(`
local now = tonumber(ARGV[1])
if now == 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local lost = 0
for i = 1, #KEYS do
  local ttl = tonumber(ARGV[2 * i + 1])
  if redis.call('ZADD', KEYS[i], 'XX', 'CH', now + ttl, ARGV[2 * i]) == 0 and not redis.call('ZSCORE', KEYS[i], ARGV[2 * i]) then
    lost = lost + 1
  else
    redis.call('PEXPIRE', KEYS[i], math.ceil(ttl / 1000) + 1000)
  end
end
return lost
`)

func (l *RuleLimiter) acquireRedis(ctx context.Context, b *binding, cost int64, start time.Time, maxWait time.Duration) (Release, error) {
	st := l.redis
	n := len(b.rkeys)
	keys := make([]string, n)
	args := make([]any, 1+4*n)
	for {
		now := l.clock.Now()
		mono := l.mono(now)
		var ids []string
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
		args[0] = st.nowArg(now)
		i := 0
		day := ""
		for _, s := range b.daily {
			if day == "" {
				day = strconv.Itoa(pacificDay(now))
			}
			keys[i] = b.rkeys[i] + ":" + day
			reset := NextPacificMidnight(now)
			args[1+4*i], args[2+4*i], args[3+4*i], args[4+4*i] = "d", int64(s.r.units(cost)), int64(s.r.Limit), reset.Add(time.Hour).Sub(now).Milliseconds()
			i++
		}
		for _, s := range b.conc {
			id := st.newID()
			ids = append(ids, id)
			keys[i] = b.rkeys[i]
			args[1+4*i], args[2+4*i], args[3+4*i], args[4+4*i] = "c", int64(s.r.Limit), id, s.r.ttl.Microseconds()
			i++
		}
		for _, s := range b.rates {
			u := s.r.units(cost)
			us := 1e6 / s.rate
			keys[i] = b.rkeys[i]
			args[1+4*i], args[2+4*i], args[3+4*i], args[4+4*i] = "r", int64(math.Ceil(u*us)), int64(math.Max(s.r.burst, u)*us), 0
			i++
		}
		l.mu.Unlock()

		res, err := acquireScript.Run(ctx, st.rdb, keys, args...).Int64Slice()
		if err != nil {
			if len(ids) > 0 {
				// The script may have run before ctx ended: give the
				// leases back rather than wait for them to expire.
				go st.releaseLeases(b, ids)
			}
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			return nil, err
		}
		var v verdict
		switch res[0] {
		case 0:
			l.mu.Lock()
			for k, s := range b.daily {
				s.rollDay(now)
				if 2+k < len(res) {
					s.used = res[2+k]
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
			if len(ids) > 0 {
				st.hold(b, ids)
			}
			if !b.lease {
				return b.release, nil
			}
			x := &lease{b: b, cost: cost, at: mono, ids: ids}
			return x.release, nil
		case 1:
			v = verdict{kind: vRate, s: b.scopeAt(int(res[1]) - 1), delay: time.Duration(res[2]) * time.Microsecond}
			l.mu.Lock()
			v.s.ad.blocked = true
			l.mu.Unlock()
			if tooLate(start, now, v.delay, maxWait) {
				return nil, nil
			}
		case 2:
			s := b.scopeAt(int(res[1]) - 1)
			l.mu.Lock()
			s.rollDay(now)
			s.used = res[2]
			l.mu.Unlock()
			if !l.waitForReset || int64(s.r.units(cost)) > int64(s.r.Limit) {
				return nil, s.budgetError()
			}
			v = verdict{kind: vBudget, s: s, delay: s.resetAt.Sub(now)}
		case 3:
			if maxWait >= 0 {
				return nil, nil
			}
			s := b.scopeAt(int(res[1]) - 1)
			d := min(time.Duration(res[2])*time.Microsecond, st.poll)
			l.mu.Lock()
			if s.wake == nil {
				s.wake = make(chan struct{})
			}
			ch := s.wake
			l.mu.Unlock()
			v = verdict{kind: vConc, s: s, delay: max(d, time.Millisecond)}
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

// scopeAt returns the i-th scope in script order (daily, conc, rates).
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

func (s *RedisStore) newID() string {
	return s.idPrefix + strconv.FormatUint(s.seq.Add(1), 36)
}

// hold registers leases for refreshing until they are released.
func (s *RedisStore) hold(b *binding, ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, id := range ids {
		c := b.conc[i]
		s.held[id] = heldLease{key: b.rkeys[len(b.daily)+i], ttl: c.r.ttl}
	}
	if !s.refreshing {
		s.refreshing = true
		go s.refresher()
	}
}

// releaseLeases gives leases back. It is idempotent: removing a lease twice
// removes it once.
func (s *RedisStore) releaseLeases(b *binding, ids []string) {
	keys := make([]string, len(ids))
	args := make([]any, len(ids))
	s.mu.Lock()
	for i, id := range ids {
		keys[i] = b.rkeys[len(b.daily)+i]
		args[i] = id
		delete(s.held, id)
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// On failure the lease expires after its TTL.
	_ = releaseScript.Run(ctx, s.rdb, keys, args...).Err()
}

// refresher extends held leases every third of the shortest TTL while any
// are held.
func (s *RedisStore) refresher() {
	clock := *s.clock.Load()
	for {
		s.mu.Lock()
		if len(s.held) == 0 {
			s.refreshing = false
			s.mu.Unlock()
			return
		}
		every := time.Duration(math.MaxInt64)
		for _, h := range s.held {
			every = min(every, h.ttl/3)
		}
		s.mu.Unlock()
		t := clock.NewTimer(every)
		<-t.C()
		s.refresh()
	}
}

func (s *RedisStore) refresh() {
	s.mu.Lock()
	keys := make([]string, 0, len(s.held))
	args := make([]any, 1, 1+2*len(s.held))
	args[0] = s.nowArg(s.now())
	for id, h := range s.held {
		keys = append(keys, h.key)
		args = append(args, id, h.ttl.Microseconds())
	}
	s.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = refreshScript.Run(ctx, s.rdb, keys, args...).Err()
}
