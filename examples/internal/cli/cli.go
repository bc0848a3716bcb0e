// Package cli holds what the example programs share.
package cli

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/gwsadmin/workspace"
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

// Connect returns the client options of the -credentials, -subject and
// -endpoint flags for real use: the service-account key acting as subject,
// or no authentication when only an endpoint is given (a proxy that adds
// credentials, a fake started without them), and the endpoint when set.
func Connect(credentials, subject, endpoint string) []workspace.Option {
	var opts []workspace.Option
	if credentials != "" {
		opts = append(opts, workspace.WithCredentialsFile(credentials), workspace.WithSubject(subject))
	} else {
		opts = append(opts, workspace.WithoutAuthentication())
	}
	if endpoint != "" {
		opts = append(opts, workspace.WithEndpoint(endpoint))
	}
	return opts
}
