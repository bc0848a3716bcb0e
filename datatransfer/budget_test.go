package datatransfer_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/workspacetest"
)

// A spent daily budget stops the run cleanly: the report says why and when
// to resume, the journal keeps what was done, and the next run (after the
// reset, here a fresh budget) finishes the job without sending anything
// twice.
func TestMigrateStopsAtDailyBudgetAndResumes(t *testing.T) {
	budget := func(n int64) quota.Limiter {
		l, err := quota.New(quota.WithRules(
			quota.Rate("groupsmigration.project.rate", workspace.APIGroupsMigration, quota.PerProject, 1e6, time.Second),
			quota.Daily("groupsmigration.project.daily", workspace.APIGroupsMigration, quota.PerProject, n)))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	e := newEnv(t, budget(25))
	dir := t.TempDir()
	msgs := mailgen.Messages(51, 60)
	src := writeMbox(t, dir, "big.mbox", msgs)
	e.srv.AddGroup("list@example.com")
	jobs := []migrate.Job{{Source: src, Target: "list@example.com"}}

	rep, err := e.dt.Migrate(t.Context(), jobs, nil)
	if !errors.Is(err, workspace.ErrQuotaExhausted) {
		t.Fatalf("err = %v, want ErrQuotaExhausted", err)
	}
	var be *quota.BudgetError
	if !errors.As(err, &be) || be.Budget != "groupsmigration.project.daily" {
		t.Errorf("budget error not reachable: %v", err)
	}
	if rep.Inserted != 25 || rep.Stopped == "" || rep.OK() || rep.ResumeAfter.IsZero() || len(rep.Failed) != 0 {
		t.Errorf("first run: inserted %d stopped %q resumeAfter %v failed %v", rep.Inserted, rep.Stopped, rep.ResumeAfter, rep.Failed)
	}
	if !rep.ResumeAfter.After(time.Now()) {
		t.Errorf("ResumeAfter %v is not in the future", rep.ResumeAfter)
	}
	if got := e.srv.GroupMessageCount("list@example.com"); got != 25 {
		t.Errorf("server holds %d messages after the stop, want 25", got)
	}

	// After the reset: a new day's budget.
	e2 := &env{srv: e.srv}
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(e.srv.URL),
		workspace.WithHTTPClient(e.srv.Client()), workspace.WithoutAuthentication(),
		workspace.WithRetry(fastRetry), workspace.WithQuota(budget(100)))
	if err != nil {
		t.Fatal(err)
	}
	e2.dt = datatransfer.New(core)
	rep2, err := e2.dt.Migrate(t.Context(), jobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Resumed != 25 || rep2.Inserted != 35 || len(rep2.PossibleDuplicates) != 0 || !rep2.OK() {
		t.Errorf("second run: resumed %d inserted %d possible duplicates %d", rep2.Resumed, rep2.Inserted, len(rep2.PossibleDuplicates))
	}
	if diff := cmp.Diff(ids(msgs), stored(e.srv, "list@example.com")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// The same when Google (here the fake) says the daily quota is spent: the
// run stops at once instead of failing every remaining message.
func TestMigrateStopsAtServerDailyLimit(t *testing.T) {
	e := newEnv(t, nil, workspacetest.WithSpeed(1)) // limits unscaled
	e.srv.SetQuota("groupsmigration", 0, 20)        // no rate limit, 20 inserts a day
	dir := t.TempDir()
	msgs := mailgen.Messages(52, 40)
	src := writeMbox(t, dir, "a.mbox", msgs)
	e.srv.AddGroup("list@example.com")
	rep, err := e.dt.Migrate(t.Context(), []migrate.Job{{Source: src, Target: "list@example.com"}}, nil)
	if !errors.Is(err, workspace.ErrQuotaExhausted) {
		t.Fatalf("err = %v, want ErrQuotaExhausted (inserted %d)", err, rep.Inserted)
	}
	if rep.ResumeAfter.IsZero() || len(rep.Failed) != 0 || rep.Inserted == 0 || rep.Inserted >= 40 {
		t.Errorf("inserted %d failed %d resumeAfter %v", rep.Inserted, len(rep.Failed), rep.ResumeAfter)
	}
	var we *workspace.Error
	if !errors.As(err, &we) || we.Attempts != 1 {
		t.Errorf("the spent quota was retried: %v", err)
	}
}
