package datatransfer_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/internal/testredis"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/quota/redisstore"
	"github.com/gwsadmin/workspace/workspacetest"
)

// Two independent migrations (as two processes would run) into the same
// group. With a shared limiter the per-group concurrency rule keeps them
// from ever inserting at the same time; without one, the fake refuses
// overlapping inserts (and the retries then get them through).
func TestTwoMigrationsIntoOneGroup(t *testing.T) {
	for _, tc := range []struct {
		name        string
		shared      bool
		wantRefused bool
	}{
		{"shared limiter", true, false},
		{"no limiter (control)", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := workspacetest.NewServer(workspacetest.WithSpeed(1000), workspacetest.WithProcessingDelay(5*time.Second))
			t.Cleanup(srv.Close)
			srv.AddGroup("shared@example.com")
			var lim quota.Limiter = quota.Unlimited()
			if tc.shared {
				l, err := quota.New(quota.WithRules(quota.Rate("groupsmigration.project.rate", workspace.APIGroupsMigration, quota.PerProject, 1e6, time.Second)))
				if err != nil {
					t.Fatal(err)
				}
				lim = l
			}
			dir := t.TempDir()
			msgs := mailgen.Messages(31, 80)
			var wg sync.WaitGroup
			for i := range 2 {
				src := writeMbox(t, dir, fmt.Sprintf("p%d.mbox", i), msgs[i*40:(i+1)*40])
				core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
					workspace.WithHTTPClient(srv.Client()), workspace.WithoutAuthentication(),
					workspace.WithRetry(fastRetry), workspace.WithQuota(lim))
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() {
					rep, err := datatransfer.New(core).Migrate(t.Context(), []migrate.Job{{Source: src, Target: "shared@example.com"}}, nil)
					if !tc.shared {
						return // the control only shows the refusals the limiter prevents
					}
					if err != nil || !rep.OK() || rep.Inserted != 40 {
						t.Errorf("migration %d: err %v, inserted %d, failed %v", i, err, rep.Inserted, rep.Failed)
					}
				})
			}
			wg.Wait()
			if tc.shared {
				if diff := cmp.Diff(ids(msgs), slices.Compact(stored(srv, "shared@example.com"))); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
			refused := srv.Stats()["groupsmigration"].Rejected
			if got := len(refused) > 0; got != tc.wantRefused {
				t.Errorf("server refusals %v, want some: %v", refused, tc.wantRefused)
			}
		})
	}
}

// The same through Redis: two limiters that share nothing in memory, as
// two processes on two machines would run, each with its own client.
func TestTwoMigrationsIntoOneGroupThroughRedis(t *testing.T) {
	rdb := testredis.Start(t)
	srv := workspacetest.NewServer(workspacetest.WithSpeed(1000), workspacetest.WithProcessingDelay(5*time.Second))
	t.Cleanup(srv.Close)
	srv.AddGroup("shared@example.com")
	dir := t.TempDir()
	msgs := mailgen.Messages(41, 60)
	var wg sync.WaitGroup
	for i := range 2 {
		src := writeMbox(t, dir, fmt.Sprintf("r%d.mbox", i), msgs[i*30:(i+1)*30])
		lim, err := quota.New(quota.WithStore(redisstore.New(rdb, "dt-test")),
			quota.WithRules(quota.Rate("groupsmigration.project.rate", workspace.APIGroupsMigration, quota.PerProject, 1e5, time.Second)))
		if err != nil {
			t.Fatal(err)
		}
		core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
			workspace.WithHTTPClient(srv.Client()), workspace.WithoutAuthentication(),
			workspace.WithRetry(fastRetry), workspace.WithQuota(lim))
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			rep, err := datatransfer.New(core).Migrate(t.Context(), []migrate.Job{{Source: src, Target: "shared@example.com"}}, nil)
			if err != nil || !rep.OK() || rep.Inserted != 30 {
				t.Errorf("migration %d: err %v, report %+v", i, err, rep)
			}
		})
	}
	wg.Wait()
	if diff := cmp.Diff(ids(msgs), stored(srv, "shared@example.com")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if refused := srv.Stats()["groupsmigration"].Rejected; len(refused) != 0 {
		t.Errorf("server refused %v: the Redis lease let two inserts overlap", refused)
	}
}
