package datatransfer_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/workspacetest"
)

// crashChild is the configuration the parent hands the child process.
type crashChild struct {
	URL   string
	Token string
	Jobs  []migrate.Job
}

// TestMain lets the test binary act as the migrating process that the
// crash test kills.
func TestMain(m *testing.M) {
	if cfg := os.Getenv("DATATRANSFER_CRASH_CHILD"); cfg != "" {
		os.Exit(runCrashChild(cfg))
	}
	os.Exit(m.Run())
}

func runCrashChild(cfgJSON string) int {
	var cfg crashChild
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	core, err := workspace.NewClient(ctx, workspace.WithEndpoint(cfg.URL),
		workspace.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: cfg.Token})),
		workspace.WithRetry(fastRetry), workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex // Progress runs on several goroutines
	_, err = datatransfer.New(core).Migrate(ctx, cfg.Jobs, &migrate.Options{
		Progress: func(ev migrate.Event) {
			if ev.Status == migrate.Inserted {
				mu.Lock()
				defer mu.Unlock()
				fmt.Fprintln(out, "inserted", ev.Key)
				out.Flush()
			}
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestMigrateSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	// Inserts hold their group for 2 ms, so the kill often lands while
	// some are in flight.
	srv := workspacetest.NewServer(workspacetest.WithSpeed(1000), workspacetest.WithProcessingDelay(2*time.Second))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	msgs := mailgen.Messages(21, 300)
	want := map[string][]string{}
	var jobs []migrate.Job
	for i, g := range []string{"one@example.com", "two@example.com", "three@example.com"} {
		srv.AddGroup(g)
		part := msgs[i*100 : (i+1)*100]
		jobs = append(jobs, migrate.Job{Source: writeMbox(t, dir, fmt.Sprintf("s%d.mbox", i), part), Target: g})
		want[g] = ids(part)
	}
	cfg, _ := json.Marshal(crashChild{URL: srv.URL, Token: srv.IssueToken(srv.AdminEmail(),
		"https://www.googleapis.com/auth/apps.groups.migration"), Jobs: jobs})

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DATATRANSFER_CRASH_CHILD="+string(cfg))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	n := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "inserted ") {
			n++
		}
		if n == 120 {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL: no cleanup runs
				t.Fatal(err)
			}
			break
		}
	}
	cmd.Wait()
	if n != 120 {
		t.Fatalf("child reported %d inserts before ending", n)
	}
	before := 0
	for g := range want {
		before += srv.GroupMessageCount(g)
	}
	if before < 120 || before >= 300 {
		t.Fatalf("%d messages stored at the kill; want a run cut midway", before)
	}

	// Restart with the same journals, in this process.
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithHTTPClient(srv.Client()), workspace.WithoutAuthentication(),
		workspace.WithRetry(fastRetry), workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := datatransfer.New(core).Migrate(t.Context(), jobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Resumed < 120 || rep.Resumed+rep.Inserted != 300 {
		t.Errorf("resumed %d + inserted %d, want 300 with at least 120 resumed", rep.Resumed, rep.Inserted)
	}
	possible := map[string]bool{}
	for _, it := range rep.PossibleDuplicates {
		possible[it.MessageID] = true
	}
	if len(rep.PossibleDuplicates) > 3 {
		t.Errorf("%d possible duplicates; at most one insert per group can be in flight", len(rep.PossibleDuplicates))
	}
	for g, w := range want {
		got := stored(srv, g)
		if diff := cmp.Diff(w, slices.Compact(slices.Clone(got))); diff != "" {
			t.Errorf("group %s missing messages (-want +got):\n%s", g, diff)
		}
		for _, id := range srv.Duplicates(g) {
			if !possible[strings.Trim(id, "<>")] {
				t.Errorf("group %s: %s stored twice, not reported", g, id)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "s0.mbox.journal")); err != nil {
		t.Error(err)
	}
	t.Logf("stored at kill: %d; possible duplicates after resume: %d", before, len(rep.PossibleDuplicates))
}
