package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/workspacetest"
)

// childEnv carries the child's configuration (JSON) when the program
// re-executes itself for -mode crash.
const childEnv = "BENCH_MIGRATION_CHILD"

// crashSpeed scales the fake for the crash mode: 50 inserts/s, with a
// processing time of 200 ms / 5 = 40 ms per insert, so that some insert
// is nearly always in flight when the child is killed.
const crashSpeed = 5

type childConfig struct {
	URL     string        // the fake, in the parent
	KeyFile string        // the fake's service-account key
	Subject string        // the admin to act as
	Jobs    []migrate.Job // sources and groups
	Journal string
	Rate    float64 // inserts/s for the client's quota rule
}

// crashClient builds the client the child and the resumed run use: the
// fake's service-account key (its token_uri is the fake) acting as the
// admin, every API under the fake's URL.
func crashClient(ctx context.Context, cfg childConfig) (*workspace.Client, error) {
	lim, err := scaledLimiter(cfg.Rate)
	if err != nil {
		return nil, err
	}
	return workspace.NewClient(ctx, workspace.WithEndpoint(cfg.URL), workspace.WithCredentialsFile(cfg.KeyFile),
		workspace.WithSubject(cfg.Subject), workspace.WithQuota(lim))
}

// crashChild is the re-executed program: it migrates until killed.
func crashChild() error {
	var cfg childConfig
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &cfg); err != nil {
		return err
	}
	ctx := context.Background()
	core, err := crashClient(ctx, cfg)
	if err != nil {
		return err
	}
	rep, err := datatransfer.New(core).Migrate(ctx, cfg.Jobs, &migrate.Options{Journal: cfg.Journal})
	if rep != nil {
		fmt.Fprintf(os.Stderr, "child: finished before the kill: inserted %d\n", rep.Inserted)
	}
	return err
}

type crashTrial struct {
	killAt, atKill, afterKill, total int
	childDone                        bool
	rep                              *migrate.Report
	runErr                           error
	stored, unique                   int
	serverDups                       int
	missing, unexplained             []string
	elapsedChild, elapsedResume      time.Duration
}

func crashMode(c *checks, trials, perGroup int) error {
	const groups = 3
	fmt.Printf("crash: %d trials; each migrates %d groups × %d generated messages with a journal in a child process,\n"+
		"  kills it with SIGKILL after a share of the messages is stored, then resumes in this process with the same journal.\n"+
		"  The fake runs in this process on 127.0.0.1 (speed %d: %d inserts/s, processing delay 200 ms/%d), the child reaches it\n"+
		"  with the fake's service-account key.\n", trials, groups, perGroup, crashSpeed, 10*crashSpeed, crashSpeed)
	var results []*crashTrial
	for trial := 1; trial <= trials; trial++ {
		res, err := crashOnce(trial, trials, groups, perGroup)
		if err != nil {
			return err
		}
		results = append(results, res)
	}

	section("Results")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "trial\tkill after\tstored at kill\tstored after kill\tresumed\tinserted\tduplicates\tpossible dups\tserver dups\tfailed+pending\tstored in all\tmissing\tjournal problems\t")
	for i, r := range results {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", i+1, r.killAt, r.atKill, r.afterKill,
			r.rep.Resumed, r.rep.Inserted, r.rep.Duplicates, len(r.rep.PossibleDuplicates), r.serverDups,
			len(r.rep.Failed)+len(r.rep.Pending), r.stored, len(r.missing), len(r.rep.JournalProblems))
	}
	tw.Flush()
	fmt.Println("  stored at kill: messages the fake held when SIGKILL was sent; after kill: once the fake finished the inserts in flight;")
	fmt.Println("  resumed/inserted/duplicates/possible dups: the resumed run's report; server dups: Message-IDs the fake holds twice.")
	for i, r := range results {
		for _, p := range r.rep.JournalProblems {
			fmt.Printf("  trial %d journal: %s\n", i+1, p)
		}
	}

	section("Checks")
	for i, r := range results {
		name := fmt.Sprintf("trial %d", i+1)
		c.check(!r.childDone, name+": the child was killed mid-run", "kill after %d of %d stored; %d stored at kill", r.killAt, r.total, r.atKill)
		c.check(r.runErr == nil && r.rep.OK(), name+": the resumed run finished", "error %v", r.runErr)
		c.check(len(r.missing) == 0, name+": every message stored at least once", "%d of %d%s", r.unique, r.total, listSuffix(r.missing))
		c.check(len(r.unexplained) == 0, name+": messages stored twice are all in the resumed run's PossibleDuplicates",
			"%d stored twice, %d listed%s", r.serverDups, len(r.rep.PossibleDuplicates), listSuffix(r.unexplained))
		c.check(len(r.rep.PossibleDuplicates) <= groups, name+": at most one possible duplicate per group (one insert in flight per group)",
			"%d listed for %d groups", len(r.rep.PossibleDuplicates), groups)
		checkSums(c, name+", resumed run", r.rep, r.total)
	}
	return nil
}

func crashOnce(trial, trials, groups, perGroup int) (*crashTrial, error) {
	tmp, err := os.MkdirTemp("", "migration-crash-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	srv := workspacetest.NewServer(workspacetest.WithAddr("127.0.0.1:0"), workspacetest.WithSpeed(crashSpeed),
		workspacetest.WithProcessingDelay(200*time.Millisecond))
	defer srv.Close()
	keyFile, err := srv.WriteServiceAccountKey(tmp)
	if err != nil {
		return nil, err
	}
	total := groups * perGroup
	msgs := mailgen.Messages(int64(100+trial), total)
	cfg := childConfig{URL: srv.URL, KeyFile: keyFile, Subject: srv.AdminEmail(), Journal: filepath.Join(tmp, "crash.journal"), Rate: 10 * crashSpeed}
	var names []string
	for g := range groups {
		group := fmt.Sprintf("crash%d@%s", g+1, srv.Domain())
		srv.AddGroup(group)
		names = append(names, group)
		p := filepath.Join(tmp, fmt.Sprintf("crash%d.mbox", g+1))
		f, err := os.Create(p)
		if err != nil {
			return nil, err
		}
		err = mailgen.WriteMbox(f, msgs[g*perGroup:(g+1)*perGroup], mailsource.MboxRD)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		cfg.Jobs = append(cfg.Jobs, migrate.Job{Source: p, Target: group})
	}
	count := func() int {
		n := 0
		for _, g := range names {
			n += srv.GroupMessageCount(g)
		}
		return n
	}
	res := &crashTrial{total: total, killAt: total * trial / (trials + 1)}

	env, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+string(env))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case err := <-done:
			res.childDone = true
			fmt.Fprintf(os.Stderr, "trial %d: the child ended before the kill: %v\n", trial, err)
			break wait
		case <-tick.C:
			if n := count(); n >= res.killAt {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					return nil, err
				}
				res.atKill = n
				<-done
				break wait
			}
		}
	}
	res.elapsedChild = time.Since(start)
	// Inserts in flight at the kill finish on the server side.
	time.Sleep(300 * time.Millisecond)
	res.afterKill = count()

	ctx := context.Background()
	core, err := crashClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	start = time.Now()
	res.rep, res.runErr = datatransfer.New(core).Migrate(ctx, cfg.Jobs, &migrate.Options{Journal: cfg.Journal})
	res.elapsedResume = time.Since(start)
	if res.rep == nil {
		return nil, fmt.Errorf("trial %d: resumed run: %w", trial, res.runErr)
	}
	fmt.Printf("trial %d: killed after %s with %d stored; resumed run took %s\n", trial,
		res.elapsedChild.Round(time.Millisecond), res.atKill, res.elapsedResume.Round(time.Millisecond))

	possible := map[string]bool{}
	for _, it := range res.rep.PossibleDuplicates {
		possible[it.Target+" "+bareID(it.MessageID)] = true
	}
	seen := map[string]bool{}
	for _, g := range names {
		for _, m := range srv.GroupMessages(g) {
			res.stored++
			seen[bareID(m.MessageID)] = true
		}
		for _, id := range srv.Duplicates(g) {
			res.serverDups++
			if !possible[g+" "+bareID(id)] {
				res.unexplained = append(res.unexplained, g+" "+bareID(id))
			}
		}
	}
	res.unique = len(seen)
	for _, m := range msgs {
		if id := bareID(mailsource.MessageID(m)); !seen[id] {
			res.missing = append(res.missing, id)
		}
	}
	slices.Sort(res.unexplained)
	return res, nil
}
