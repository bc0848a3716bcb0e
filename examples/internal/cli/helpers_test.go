package cli

import (
	"context"

	"github.com/gwsadmin/workspace/quota"
)

var (
	quotaRequest = quota.Request{API: "gmail", Method: "users.messages.list"}
	quotaOutcome quota.Outcome
)

// limiterFunc is a Limiter that runs during before admitting the call.
type limiterFunc func()

func (f limiterFunc) Acquire(ctx context.Context, r *quota.Request) (quota.Release, error) {
	f()
	return func(quota.Outcome) {}, nil
}
