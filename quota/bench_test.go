package quota

import (
	"context"
	"testing"
	"time"
)

// BenchmarkAcquire measures an uncontended in-memory acquisition (rate rule
// plus daily budget, the Data Transfer defaults) and its release.
func BenchmarkAcquire(b *testing.B) {
	l := mustNewB(b, WithRules(
		Rate("datatransfer.project.rate", "datatransfer", PerProject, 1e12, time.Second),
		Daily("datatransfer.project.daily", "datatransfer", PerProject, 1<<62)))
	r := &Request{API: "datatransfer", Method: "transfers.insert", Project: "p"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		rel, err := l.Acquire(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		rel(Outcome{})
	}
}

// BenchmarkAcquireGmail measures a Gmail acquisition: project and user
// unit rates plus the per-user concurrency cap (which needs a lease).
func BenchmarkAcquireGmail(b *testing.B) {
	l := mustNewB(b, WithRules(
		Rate("gmail.project.rate", "gmail", PerProject, 1e12, time.Second).Units(),
		Rate("gmail.user.rate", "gmail", PerUser, 1e12, time.Second).Units()))
	r := &Request{API: "gmail", Method: "users.messages.get", Project: "p", User: "u@example.com"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		rel, err := l.Acquire(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		rel(Outcome{})
	}
}

func mustNewB(b *testing.B, opts ...Option) *RuleLimiter {
	l, err := New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	return l
}
