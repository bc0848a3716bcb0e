// Package cli holds what the example programs share.
package cli

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/gwsadmin/workspace/quota"
)

// Limiter builds the quota limiter of an example: quota.New with opts, on a
// Redis store when redisAddr is set (the -redis flag), so that several
// processes share one project's quota. The returned close function releases
// the Redis connection; call it when the program ends.
func Limiter(ctx context.Context, redisAddr string, opts ...quota.Option) (*quota.RuleLimiter, func(), error) {
	closeFn := func() {}
	if redisAddr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
		if err := rdb.Ping(ctx).Err(); err != nil {
			rdb.Close()
			return nil, closeFn, fmt.Errorf("redis %s: %w", redisAddr, err)
		}
		closeFn = func() { rdb.Close() }
		opts = append(opts, quota.WithStore(quota.NewRedisStore(rdb, "workspace")))
	}
	lim, err := quota.New(opts...)
	if err != nil {
		closeFn()
		return nil, func() {}, err
	}
	return lim, closeFn, nil
}
