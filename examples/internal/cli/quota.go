package cli

import (
	"context"
	"log/slog"
	"time"

	"github.com/gwsadmin/workspace/quota"
)

// quotaWaitMsg is the record of a quota wait still going on.
const quotaWaitMsg = "examples: waiting for quota"

// AfterFunc is time.AfterFunc; tests replace it to run the timer's
// function at once.
var AfterFunc = func(d time.Duration, f func()) (stop func() bool) { return time.AfterFunc(d, f).Stop }

// watchedLimiter logs, while Acquire still blocks after WaitThreshold, that
// the call is waiting for its quota. The core logs a quota wait only once
// it is over (client.go, quotaTransport), which leaves a long pacing wait
// silent while it lasts.
type watchedLimiter struct {
	quota.Limiter
	log *slog.Logger
}

// WatchLimiter wraps l so that a call held back by the quota for longer
// than WaitThreshold is announced on log while it waits.
func WatchLimiter(l quota.Limiter, log *slog.Logger) quota.Limiter {
	return &watchedLimiter{Limiter: l, log: log}
}

// Acquire implements quota.Limiter.
func (w *watchedLimiter) Acquire(ctx context.Context, r *quota.Request) (quota.Release, error) {
	stop := AfterFunc(WaitThreshold, func() {
		w.log.LogAttrs(ctx, slog.LevelInfo, quotaWaitMsg,
			slog.String("api", r.API), slog.String("method", r.Method), slog.Duration("waited", WaitThreshold))
	})
	defer stop()
	return w.Limiter.Acquire(ctx, r)
}
