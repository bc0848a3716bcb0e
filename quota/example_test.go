package quota_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gwsadmin/workspace/quota"
)

func ExampleNew() {
	lim, err := quota.New() // every documented default, in memory
	if err != nil {
		panic(err)
	}
	req := &quota.Request{API: "groupsmigration", Method: "archive.insert", Group: "sales@example.com"}
	release, err := lim.Acquire(context.Background(), req)
	if err != nil {
		panic(err)
	}
	// ... send the HTTP request ...
	release(quota.Outcome{}) // or Outcome{Throttled: true, Reason: "rateLimitExceeded"}
	for _, s := range lim.Stats() {
		if s.Rule == "groupsmigration.project.daily" {
			fmt.Println(s.Rule, s.BudgetLimit-s.BudgetLeft, "used")
		}
	}
	// Output: groupsmigration.project.daily 1 used
}

func ExampleWithRules() {
	// A project whose Gmail quota was lowered, a 2026 project, and a
	// tighter cap on parallel calls per user.
	lim, err := quota.New(
		quota.WithGmailRegime(quota.Gmail2026),
		quota.WithRules(
			quota.Rate("gmail.project.rate", "gmail", quota.PerProject, 600000, time.Minute).Units(),
			quota.Concurrent("gmail.user.concurrent", "gmail", quota.PerUser, 4),
		),
	)
	if err != nil {
		panic(err)
	}
	cost, _ := quota.GmailCost(quota.Gmail2026, "users.messages.get")
	fmt.Println(len(lim.Rules()) > 0, cost)
	// Output: true 20
}

func ExampleBudgetError() {
	lim, _ := quota.New(quota.WithoutDefaults(),
		quota.WithRules(quota.Daily("exports", "audit", quota.PerDomain, 1)))
	req := &quota.Request{API: "audit", Method: "export.create", Domain: "example.com"}
	rel, _ := lim.Acquire(context.Background(), req)
	rel(quota.Outcome{})
	_, err := lim.Acquire(context.Background(), req)
	var be *quota.BudgetError
	fmt.Println(errors.Is(err, quota.ErrBudgetExhausted), errors.As(err, &be) && be.Budget == "exports")
	// Output: true true
}
