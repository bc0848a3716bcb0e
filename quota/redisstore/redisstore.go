package redisstore

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

	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/quota/internal/sharedstore"
)

// store keeps rates, daily budgets and concurrency leases in Redis, so that
// several processes (on one machine or many) share one project's quota.
type store struct {
	rdb        redis.Scripter
	prefix     string
	clientTime bool
	poll       time.Duration

	clock    atomic.Pointer[sharedstore.Clock]
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

// Option configures New.
type Option func(*store)

// WithClientTime makes the store use the Limiter's Clock instead of the Redis
// server's TIME for rates and lease expiry. Tests use it to drive a real
// Redis with a fake clock; in production the server's time is better, since
// clients' clocks may disagree.
func WithClientTime() Option { return func(s *store) { s.clientTime = true } }

// WithPollInterval sets how often a call waiting for a concurrency slot held
// by another process asks Redis again (default 20ms). Slots released in the
// same process wake waiters at once.
func WithPollInterval(d time.Duration) Option {
	return func(s *store) { s.poll = d }
}

// New returns a store keeping rates, daily budgets and concurrency leases
// in rdb under keys starting with prefix (e.g. "gws"), so that several
// processes (on one machine or many) share one project's quota. Pass it to
// quota.New with quota.WithStore. rdb is usually a *redis.Client; any
// go-redis client that runs scripts works.
func New(rdb redis.Scripter, prefix string, opts ...Option) *quota.Store {
	var b [6]byte
	_, _ = rand.Read(b[:])
	s := &store{
		rdb:      rdb,
		prefix:   prefix,
		poll:     20 * time.Millisecond,
		idPrefix: hex.EncodeToString(b[:]) + ":",
		held:     map[string]heldLease{},
	}
	for _, o := range opts {
		o(s)
	}
	var c sharedstore.Clock = systemClock{}
	s.clock.Store(&c)
	return sharedstore.NewStore((*backend)(s)).(*quota.Store)
}

// backend is the store seen by the limiter.
type backend store

var _ sharedstore.Backend = (*backend)(nil)

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

func (s *backend) Attach(c sharedstore.Clock) { s.clock.Store(&c) }

func (s *backend) clk() sharedstore.Clock { return *s.clock.Load() }

// Key returns prefix:kind:rule:scopeKey, kind being r, d or c. Daily keys
// get ":yyyymmdd" (the Pacific date) appended at each acquisition.
func (s *backend) Key(k sharedstore.Kind, rule, scopeKey string) string {
	kind := "r"
	switch k {
	case sharedstore.Daily:
		kind = "d"
	case sharedstore.Concurrency:
		kind = "c"
	}
	return s.prefix + ":" + kind + ":" + rule + ":" + scopeKey
}

// nowArg is the script's notion of now: 0 asks it to use Redis TIME.
func (s *backend) nowArg(t time.Time) int64 {
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
//
// The script, its keys and its arguments are those of the store that was
// quota.RedisStore, so that processes of either version share a Redis.
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

// Acquire runs acquireScript once for every check of the call.
func (s *backend) Acquire(ctx context.Context, now time.Time, checks []sharedstore.Check) (sharedstore.Verdict, error) {
	n := len(checks)
	keys := make([]string, n)
	args := make([]any, 1+4*n)
	args[0] = s.nowArg(now)
	var leases []sharedstore.Lease
	day := ""
	for i := range checks {
		c := &checks[i]
		j := 1 + 4*i
		switch c.Kind {
		case sharedstore.Daily:
			if day == "" {
				day = strconv.Itoa(c.Day)
			}
			keys[i] = c.Key + ":" + day
			args[j], args[j+1], args[j+2], args[j+3] = "d", int64(c.Units), c.Limit, c.Reset.Add(time.Hour).Sub(now).Milliseconds()
		case sharedstore.Concurrency:
			id := s.newID()
			leases = append(leases, sharedstore.Lease{Key: c.Key, ID: id, TTL: c.TTL})
			keys[i] = c.Key
			args[j], args[j+1], args[j+2], args[j+3] = "c", c.Limit, id, c.TTL.Microseconds()
		default:
			us := 1e6 / c.Rate
			keys[i] = c.Key
			args[j], args[j+1], args[j+2], args[j+3] = "r", int64(math.Ceil(c.Units*us)), int64(math.Max(c.Burst, c.Units)*us), 0
		}
	}
	res, err := acquireScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil {
		if len(leases) > 0 {
			// The script may have run before ctx ended: give the leases
			// back rather than wait for them to expire.
			go s.Release(leases)
		}
		return sharedstore.Verdict{}, err
	}
	switch res[0] {
	case 0:
		if len(leases) > 0 {
			s.hold(leases)
		}
		return sharedstore.Verdict{Result: sharedstore.Admitted, Used: res[2:], Leases: leases}, nil
	case 1:
		return sharedstore.Verdict{Result: sharedstore.Wait, Index: int(res[1]) - 1, Delay: time.Duration(res[2]) * time.Microsecond}, nil
	case 2:
		return sharedstore.Verdict{Result: sharedstore.Exhausted, Index: int(res[1]) - 1, Spent: res[2]}, nil
	default:
		d := min(time.Duration(res[2])*time.Microsecond, s.poll)
		return sharedstore.Verdict{Result: sharedstore.Full, Index: int(res[1]) - 1, Delay: max(d, time.Millisecond)}, nil
	}
}

func (s *backend) newID() string {
	return s.idPrefix + strconv.FormatUint(s.seq.Add(1), 36)
}

// hold registers leases for refreshing until they are released.
func (s *backend) hold(leases []sharedstore.Lease) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range leases {
		s.held[x.ID] = heldLease{key: x.Key, ttl: x.TTL}
	}
	if !s.refreshing {
		s.refreshing = true
		go s.refresher()
	}
}

// Release gives leases back. It is idempotent: removing a lease twice
// removes it once.
func (s *backend) Release(leases []sharedstore.Lease) {
	keys := make([]string, len(leases))
	args := make([]any, len(leases))
	s.mu.Lock()
	for i, x := range leases {
		keys[i] = x.Key
		args[i] = x.ID
		delete(s.held, x.ID)
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// On failure the lease expires after its TTL.
	_ = releaseScript.Run(ctx, s.rdb, keys, args...).Err()
}

// refresher extends held leases every third of the shortest TTL while any
// are held.
func (s *backend) refresher() {
	clock := s.clk()
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
		<-clock.After(every)
		s.refresh()
	}
}

func (s *backend) refresh() {
	s.mu.Lock()
	keys := make([]string, 0, len(s.held))
	args := make([]any, 1, 1+2*len(s.held))
	args[0] = s.nowArg(s.clk().Now())
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
