package cli

import (
	"context"
	"testing"

	"github.com/gwsadmin/workspace/internal/testredis"
	"github.com/gwsadmin/workspace/quota"
)

func TestLimiterMemoryAndRedis(t *testing.T) {
	ctx := context.Background()
	lim, done, err := Limiter(ctx, "")
	if err != nil || lim == nil {
		t.Fatalf("memory: %v", err)
	}
	done()
	if _, _, err := Limiter(ctx, "127.0.0.1:1"); err == nil {
		t.Error("an unreachable Redis was accepted")
	}
	rdb := testredis.Start(t)
	lim, done, err = Limiter(ctx, rdb.Options().Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	rel, err := lim.Acquire(ctx, &quota.Request{API: "groupsmigration", Method: "archive.insert", Project: "p", Group: "g@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	rel(quota.Outcome{})
	if n, err := rdb.DBSize(ctx).Result(); err != nil || n == 0 {
		t.Errorf("no quota keys in Redis (%d, %v)", n, err)
	}
}
