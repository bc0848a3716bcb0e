package redisstore_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/gwsadmin/workspace/internal/testredis"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/quota/redisstore"
)

// startRedis starts a throw-away redis-server (see internal/testredis).
func startRedis(tb testing.TB) *redis.Client { return testredis.Start(tb) }

func newRedisLimiter(t *testing.T, rdb *redis.Client, prefix string, c *fakeClock, rules ...quota.Rule) *quota.RuleLimiter {
	t.Helper()
	st := redisstore.New(rdb, prefix, redisstore.WithClientTime())
	return mustNew(t, quota.WithClock(c), quota.WithStore(st), quota.WithoutDefaults(), quota.WithRules(rules...))
}

func TestRedisRateAndBudget(t *testing.T) {
	rdb := startRedis(t)
	c := newFakeClock(t0)
	l := newRedisLimiter(t, rdb, "t1", c,
		quota.Rate("r", "x", quota.PerProject, 10, time.Second),
		quota.Daily("d", "x", quota.PerProject, 3))
	r := &quota.Request{API: "x", Project: "p"}
	mustAcquire(t, l, r)(quota.Outcome{})
	// The rate's GCRA timestamp has the key quota.RedisStore used, so that
	// processes of the old and the new version share it.
	if n := rdb.Exists(context.Background(), "t1:r:r:p").Val(); n != 1 {
		t.Fatalf("no rate key t1:r:r:p")
	}
	ch := acquireAsync(context.Background(), l, r)
	c.WaitTimers(1)
	if d := c.NextTimer(); d != 100*time.Millisecond {
		t.Fatalf("wait = %v, want 100ms", d)
	}
	expectBlocked(t, ch)
	c.Advance(100 * time.Millisecond)
	expectDone(t, ch)(quota.Outcome{})
	c.Advance(100 * time.Millisecond)
	mustAcquire(t, l, r)(quota.Outcome{})
	c.Advance(100 * time.Millisecond)
	_, err := l.Acquire(context.Background(), r)
	var be *quota.BudgetError
	if !errors.As(err, &be) || !errors.Is(err, quota.ErrBudgetExhausted) || be.Budget != "d" {
		t.Fatalf("err = %v", err)
	}
	reset := time.Date(2026, 6, 11, 7, 0, 0, 0, time.UTC)
	if !be.ResetAt.Equal(reset) {
		t.Fatalf("reset = %v", be.ResetAt)
	}
	// The counter lives under the Pacific date and expires after the reset.
	key := "t1:d:d:p:20260610"
	if v, _ := rdb.Get(context.Background(), key).Int(); v != 3 {
		t.Fatalf("%s = %d", key, v)
	}
	if ttl := rdb.TTL(context.Background(), key).Val(); ttl <= 0 {
		t.Fatalf("no expiry on %s", key)
	}
	for _, s := range l.Stats() {
		if s.Rule == "d" && s.BudgetLeft != 0 {
			t.Fatalf("stats: %+v", s)
		}
	}
	c.Set(reset)
	mustAcquire(t, l, r)(quota.Outcome{})
}

func TestRedisSharedConcurrencyAndRelease(t *testing.T) {
	rdb := startRedis(t)
	c := newFakeClock(t0)
	g := quota.Concurrent("g", "x", quota.PerGroup, 1)
	a := newRedisLimiter(t, rdb, "t2", c, g)
	b := newRedisLimiter(t, rdb, "t2", c, g)
	r := &quota.Request{API: "x", Group: "g1"}
	relA := mustAcquire(t, a, r)
	ch := acquireAsync(context.Background(), b, r)
	c.WaitTimers(1) // b polls
	expectBlocked(t, ch)
	relA(quota.Outcome{})
	relA(quota.Outcome{}) // idempotent
	c.Advance(20 * time.Millisecond)
	relB := expectDone(t, ch)
	if n := rdb.ZCard(context.Background(), "t2:c:g:g1").Val(); n != 1 {
		t.Fatalf("leases = %d, want 1", n)
	}
	relB(quota.Outcome{})
	if n := rdb.ZCard(context.Background(), "t2:c:g:g1").Val(); n != 0 {
		t.Fatalf("leases after release = %d", n)
	}
}

// TestRedisLeaseExpiry: a worker that dies holding a slot blocks its group
// only until the lease expires.
func TestRedisLeaseExpiry(t *testing.T) {
	rdb := startRedis(t)
	cA, cB := newFakeClock(t0), newFakeClock(t0)
	g := quota.Concurrent("g", "x", quota.PerGroup, 1)
	g.LeaseTTL = 3 * time.Second
	a := newRedisLimiter(t, rdb, "t3", cA, g)
	b := newRedisLimiter(t, rdb, "t3", cB, g)
	r := &quota.Request{API: "x", Group: "g1"}
	_ = mustAcquire(t, a, r) // never released: worker A "crashes" (its clock stops, so it never refreshes)
	ch := acquireAsync(context.Background(), b, r)
	cB.WaitTimers(1)
	cB.Advance(2 * time.Second)
	cB.WaitTimers(1)
	expectBlocked(t, ch)
	cB.Advance(time.Second) // the lease's expiry
	cB.WaitTimers(0)
	expectDone(t, ch)(quota.Outcome{})
}

// TestRedisLeaseRefresh: a live holder keeps its lease past the TTL.
func TestRedisLeaseRefresh(t *testing.T) {
	rdb := startRedis(t)
	c := newFakeClock(t0)
	g := quota.Concurrent("g", "x", quota.PerGroup, 1)
	g.LeaseTTL = 3 * time.Second
	a := newRedisLimiter(t, rdb, "t4", c, g)
	rel := mustAcquire(t, a, &quota.Request{API: "x", Group: "g1"})
	ctx := context.Background()
	for i := 1; i <= 4; i++ {
		c.WaitTimers(1) // the refresher's timer
		c.Advance(time.Second)
		want := float64(t0.Add(time.Duration(i+3) * time.Second).UnixMicro())
		deadline := time.Now().Add(5 * time.Second)
		for {
			zs := rdb.ZRangeWithScores(ctx, "t4:c:g:g1", 0, -1).Val()
			if len(zs) == 1 && zs[0].Score == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("refresh %d: leases %v, want expiry %v", i, zs, want)
			}
			time.Sleep(time.Millisecond) // waits for the refresher goroutine's round trip
		}
	}
	rel(quota.Outcome{})
	if n := rdb.ZCard(ctx, "t4:c:g:g1").Val(); n != 0 {
		t.Fatalf("leases = %d", n)
	}
}

func TestRedisCancelHoldsNothing(t *testing.T) {
	rdb := startRedis(t)
	c := newFakeClock(t0)
	l := newRedisLimiter(t, rdb, "t5", c,
		quota.Concurrent("g", "x", quota.PerGroup, 1), quota.Rate("r", "x", quota.PerProject, 1, time.Second))
	r := &quota.Request{API: "x", Group: "g1"}
	rel := mustAcquire(t, l, r)
	ctx, cancel := context.WithCancel(context.Background())
	ch := acquireAsync(ctx, l, r)
	c.WaitTimers(1)
	cancel()
	if res := <-ch; !errors.Is(res.err, context.Canceled) {
		t.Fatalf("err = %v", res.err)
	}
	// A call waiting on the rate holds no slot of group g2.
	ctx2, cancel2 := context.WithCancel(context.Background())
	ch2 := acquireAsync(ctx2, l, &quota.Request{API: "x", Group: "g2"})
	c.WaitTimers(1)
	if n := rdb.ZCard(context.Background(), "t5:c:g:g2").Val(); n != 0 {
		t.Fatalf("waiting call holds %d leases", n)
	}
	cancel2()
	<-ch2
	rel(quota.Outcome{})
	if n := rdb.ZCard(context.Background(), "t5:c:g:g1").Val(); n != 0 {
		t.Fatalf("leases = %d", n)
	}
}

func TestRequireRedisEnv(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil && os.Getenv("WORKSPACE_REQUIRE_REDIS") == "1" {
		t.Fatal("WORKSPACE_REQUIRE_REDIS=1 but redis-server is missing")
	}
}

// BenchmarkRedisAcquire: one acquisition with two rate rules (project and
// user) and a daily budget, in one Lua round trip.
func BenchmarkRedisAcquire(b *testing.B) {
	rdb := startRedis(b)
	l, err := quota.New(quota.WithStore(redisstore.New(rdb, "b")), quota.WithoutDefaults(), quota.WithRules(
		quota.Rate("p", "x", quota.PerProject, 1e9, time.Second), quota.Rate("u", "x", quota.PerUser, 1e9, time.Second),
		quota.Daily("d", "x", quota.PerProject, 1<<60)))
	if err != nil {
		b.Fatal(err)
	}
	r := &quota.Request{API: "x", User: "u"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		rel, err := l.Acquire(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		rel(quota.Outcome{})
	}
}

// BenchmarkRedisRateAllowN: the same two rates with go-redis/redis_rate, one
// round trip per rule (and no all-or-nothing across rules).
func BenchmarkRedisRateAllowN(b *testing.B) {
	rdb := startRedis(b)
	lim := redis_rate.NewLimiter(rdb)
	ctx := context.Background()
	limit := redis_rate.Limit{Rate: 1e9, Burst: 1e8, Period: time.Second}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lim.AllowN(ctx, "p", limit, 1); err != nil {
			b.Fatal(err)
		}
		if _, err := lim.AllowN(ctx, "u", limit, 1); err != nil {
			b.Fatal(err)
		}
	}
}
