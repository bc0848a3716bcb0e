package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
	"github.com/gwsadmin/workspace/workspacetest"
)

// googleLimit is groupsmigration's documented rate: 10 inserts a second
// per project.
const googleLimit = 10.0

type faultsConfig struct {
	perGroup int
	delay    time.Duration
	rate     float64
	seed     int64
}

// faultsResult is one migration of the three groups under faults.
type faultsResult struct {
	name       string
	elapsed    time.Duration
	first      time.Time // first and last successful insert seen by the client
	last       time.Time
	unique     int // distinct messages the fake holds
	storedAll  int // messages the fake holds, duplicates included
	missing    []string
	serverDups map[string][]string // by group: Message-IDs stored more than once
	possible   map[string]bool     // group + " " + Message-ID the client says may be twice
	nPossible  int
	retries    int64
	failed     int
	stats      workspacetest.APIStats
	core       workspace.APIStats
	runErr     error
	calls      timings // every Insert call (engine: one attempt; loop: with the transport's retries)
}

// timings collects call durations from several goroutines.
type timings struct {
	mu sync.Mutex
	d  []time.Duration
}

func (t *timings) add(d time.Duration) {
	t.mu.Lock()
	t.d = append(t.d, d)
	t.mu.Unlock()
}

// summary returns the median, the 90th percentile, the longest and the
// sum of the durations.
func (t *timings) summary() (p50, p90, maxD, sum time.Duration) {
	t.mu.Lock()
	d := slices.Clone(t.d)
	t.mu.Unlock()
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	for _, x := range d {
		sum += x
	}
	return d[len(d)/2], d[len(d)*9/10], d[len(d)-1], sum
}

// timedSink times every attempt of the engine.
type timedSink struct {
	migrate.Sink
	t *timings
}

func (s *timedSink) Insert(ctx context.Context, target string, msg []byte) error {
	t0 := time.Now()
	err := s.Sink.Insert(ctx, target, msg)
	s.t.add(time.Since(t0))
	return err
}

// InsertBody passes a streamed message on, timed like Insert.
func (s *timedSink) InsertBody(ctx context.Context, target string, msg *migrate.Body) error {
	ss, ok := s.Sink.(migrate.StreamSink)
	if !ok {
		return errors.New("timedSink: the sink takes no Body")
	}
	t0 := time.Now()
	err := ss.InsertBody(ctx, target, msg)
	s.t.add(time.Since(t0))
	return err
}

func faultsMode(c *checks, cfg faultsConfig) error {
	tmp, err := os.MkdirTemp("", "migration-faults-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	const groups = 3
	msgs := mailgen.Messages(cfg.seed, groups*cfg.perGroup)
	var sources []string
	for g := range groups {
		p := filepath.Join(tmp, fmt.Sprintf("group%d.mbox", g+1))
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		err = mailgen.WriteMbox(f, msgs[g*cfg.perGroup:(g+1)*cfg.perGroup], mailsource.MboxRD)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		sources = append(sources, p)
	}
	want := map[string]bool{}
	for _, m := range msgs {
		want[bareID(mailsource.MessageID(m))] = true
	}

	kinds := []workspacetest.FaultKind{workspacetest.FaultHTTP500, workspacetest.FaultHTTP503, workspacetest.FaultResetAfterProcessing}
	fmt.Printf("faults: %d groups × %d generated messages (seed %d); the fake at speed 1 (Google's limit: %g inserts/s per project),\n"+
		"  processing delay %s per insert, during which the group is busy (one group alone: under %.1f inserts/s),\n"+
		"  %.0f%% faults on groupsmigration: %v;\n"+
		"  the client's quota limiter with the default rules (10 inserts/s per project, one insert at a time per group)\n",
		groups, cfg.perGroup, cfg.seed, googleLimit, cfg.delay, 1/cfg.delay.Seconds(), 100*cfg.rate, kinds)

	ctx := context.Background()
	newServer := func() *workspacetest.Server {
		srv := workspacetest.NewServer(workspacetest.WithSpeed(1), workspacetest.WithProcessingDelay(cfg.delay),
			workspacetest.WithFaults(workspacetest.FaultPlan{Seed: cfg.seed, Rate: cfg.rate, Kinds: kinds, APIs: []string{"groupsmigration"}}))
		for g := range groups {
			srv.AddGroup(fmt.Sprintf("group%d@%s", g+1, srv.Domain()))
		}
		return srv
	}
	// Both runs at once, each against its own fake and its own limiter
	// (two projects): the machine is idle enough (both together use a few
	// percent of a core) that neither slows the other, and the mode takes
	// as long as the slower run instead of the sum.
	runs := []struct {
		name string
		fn   func(context.Context, *workspacetest.Server, *workspace.Client, []string, string, *faultsResult) error
	}{{"engine (migrate.Run)", runEngine}, {"GAM-style loop", runLoop}}
	results := make([]*faultsResult, len(runs))
	errs := make([]error, len(runs))
	fmt.Printf("\nrunning %s and %s side by side, each with its own fake and limiter ...\n", runs[0].name, runs[1].name)
	var wg sync.WaitGroup
	for i, run := range runs {
		wg.Go(func() {
			results[i], errs[i] = faultsRun(ctx, run.name, newServer, run.fn, sources, filepath.Join(tmp, fmt.Sprintf("run%d.journal", i)), want, groups)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, res := range results {
		fmt.Printf("  %s: done in %s: %d distinct messages stored, %d stored in all\n", res.name, res.elapsed.Round(time.Millisecond), res.unique, res.storedAll)
	}

	section("Side by side (same fault plan, same messages, fresh fake and limiter each)")
	total := groups * cfg.perGroup
	row := func(label string, f func(r *faultsResult) string) {
		fmt.Printf("| %s |", label)
		for _, r := range results {
			fmt.Printf(" %s |", f(r))
		}
		fmt.Println()
	}
	perSec := func(n int, r *faultsResult) string {
		v := float64(n) / r.elapsed.Seconds()
		return fmt.Sprintf("%.2f/s (%s)", v, pct(v, googleLimit))
	}
	fmt.Printf("| %d messages, 3 groups |", total)
	for _, r := range results {
		fmt.Printf(" %s |", r.name)
	}
	fmt.Println()
	fmt.Println("|---|---|---|")
	row("wall time", func(r *faultsResult) string { return r.elapsed.Round(10 * time.Millisecond).String() })
	row("distinct messages stored", func(r *faultsResult) string { return fmt.Sprint(r.unique) })
	row("**stored messages/s over the run (% of 10/s)**", func(r *faultsResult) string { return "**" + perSec(r.unique, r) + "**" })
	row("same, first to last insert", func(r *faultsResult) string {
		d := r.last.Sub(r.first).Seconds()
		if d <= 0 {
			return "-"
		}
		v := float64(r.unique-1) / d
		return fmt.Sprintf("%.2f/s (%s)", v, pct(v, googleLimit))
	})
	row("requests accepted by the server", func(r *faultsResult) string {
		return fmt.Sprintf("%d = %s", r.stats.Accepted, perSec(r.stats.Accepted, r))
	})
	row("HTTP attempts sent (limiter use)", func(r *faultsResult) string {
		return fmt.Sprintf("%d = %s", r.core.Attempts, perSec(int(r.core.Attempts), r))
	})
	row("attempts that stored a new message", func(r *faultsResult) string {
		return fmt.Sprintf("%d (%s)", r.unique, pct(float64(r.unique), float64(r.core.Attempts)))
	})
	row("injected faults", func(r *faultsResult) string { return faultText(r.stats.Faults) })
	row("server refusals", func(r *faultsResult) string { return countsText(r.stats.Rejected) })
	row("retries", func(r *faultsResult) string { return fmt.Sprint(r.retries) })
	row("time spent waiting for the limiter (sum over groups)", func(r *faultsResult) string { return r.core.QuotaWait.Round(time.Second).String() })
	row("Insert calls: median / p90 / longest", func(r *faultsResult) string {
		p50, p90, mx, _ := r.calls.summary()
		return fmt.Sprintf("%s / %s / %s", p50.Round(time.Millisecond), p90.Round(time.Millisecond), mx.Round(time.Millisecond))
	})
	row("groups busy in Insert (share of 3 × wall time)", func(r *faultsResult) string {
		_, _, _, sum := r.calls.summary()
		return pct(sum.Seconds(), 3*r.elapsed.Seconds())
	})
	row("PossibleDuplicates (client)", func(r *faultsResult) string { return fmt.Sprint(r.nPossible) })
	row("stored twice on the server (Message-IDs; extra copies)", func(r *faultsResult) string {
		n := 0
		for _, ids := range r.serverDups {
			n += len(ids)
		}
		return fmt.Sprintf("%d; %d", n, r.storedAll-r.unique)
	})
	row("failed", func(r *faultsResult) string { return fmt.Sprint(r.failed) })
	fmt.Println()
	fmt.Println("Every attempt takes one of the client's 10 slots a second, faulted or not: stored messages/s can be at most")
	fmt.Println("attempts/s × the share of attempts that stored a new message.")

	section("Checks")
	for _, r := range results {
		c.check(len(r.missing) == 0, r.name+": every message stored at least once", "%d of %d%s",
			total-len(r.missing), total, labelled(" missing:", r.missing))
		var unexplained []string
		nd := 0
		for group, ids := range r.serverDups {
			for _, id := range ids {
				nd++
				if !r.possible[group+" "+id] {
					unexplained = append(unexplained, group+" "+id)
				}
			}
		}
		slices.Sort(unexplained)
		c.check(len(unexplained) == 0, r.name+": server duplicates ⊆ the client's possible duplicates",
			"%d Message-IDs stored twice, %d listed as possible duplicates%s", nd, r.nPossible, labelled("; not listed:", unexplained))
		if r.runErr != nil {
			fmt.Printf("  note: %s returned: %v\n", r.name, r.runErr)
		}
	}
	eng := results[0]
	rate := float64(eng.unique) / eng.elapsed.Seconds()
	c.check(rate >= 0.95*googleLimit, "engine: stored messages/s ≥ 95% of the limit (the target)", "%.2f/s = %s", rate, pct(rate, googleLimit))
	ceiling := googleLimit * float64(eng.unique) / float64(eng.core.Attempts)
	c.check(rate >= 0.95*ceiling, "engine: stored messages/s ≥ 95% of what the faults leave",
		"%.2f/s = %s of %.2f/s (the limit × the share of attempts that stored a new message)", rate, pct(rate, ceiling), ceiling)
	att := float64(eng.core.Attempts) / eng.elapsed.Seconds()
	c.check(att >= 0.95*googleLimit, "engine: keeps the limiter busy, attempts/s ≥ 95% of the limit", "%.2f/s = %s", att, pct(att, googleLimit))
	return nil
}

// faultsRun runs one migration of the three groups against a fresh fake
// and a fresh default limiter, and collects what the fake holds.
func faultsRun(ctx context.Context, name string, newServer func() *workspacetest.Server,
	fn func(context.Context, *workspacetest.Server, *workspace.Client, []string, string, *faultsResult) error,
	sources []string, journal string, want map[string]bool, groups int) (*faultsResult, error) {
	srv := newServer()
	defer srv.Close()
	lim, err := quota.New()
	if err != nil {
		return nil, err
	}
	core, err := fakeClient(ctx, srv, lim)
	if err != nil {
		return nil, err
	}
	res := &faultsResult{name: name, serverDups: map[string][]string{}, possible: map[string]bool{}}
	start := time.Now()
	if err := fn(ctx, srv, core, sources, journal, res); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	res.elapsed = time.Since(start)
	res.stats = srv.Stats()["groupsmigration"]
	res.core = core.Stats()[workspace.APIGroupsMigration]
	seen := map[string]bool{}
	for g := range groups {
		group := fmt.Sprintf("group%d@%s", g+1, srv.Domain())
		for _, m := range srv.GroupMessages(group) {
			res.storedAll++
			seen[bareID(m.MessageID)] = true
		}
		for _, id := range srv.Duplicates(group) {
			res.serverDups[group] = append(res.serverDups[group], bareID(id))
		}
	}
	res.unique = len(seen)
	for id := range want {
		if !seen[id] {
			res.missing = append(res.missing, id)
		}
	}
	slices.Sort(res.missing)
	return res, nil
}

func faultText(m map[workspacetest.FaultKind]int) string {
	s := map[string]int{}
	for k, v := range m {
		s[string(k)] = v
	}
	return countsText(s)
}

// runEngine migrates the three mbox files with the engine.
func runEngine(ctx context.Context, srv *workspacetest.Server, core *workspace.Client, sources []string, journal string, res *faultsResult) error {
	var jobs []migrate.Job
	for i, s := range sources {
		jobs = append(jobs, migrate.Job{Source: s, Target: fmt.Sprintf("group%d@%s", i+1, srv.Domain())})
	}
	var retries atomic.Int64
	var mu sync.Mutex
	// datatransfer's Migrate is migrate.Run with the archive sink; the
	// sink is wrapped here only to time each attempt.
	sink := &timedSink{Sink: datatransfer.New(core).ArchiveSink(), t: &res.calls}
	rep, err := migrate.Run(ctx, jobs, sink, &migrate.Options{
		Journal: journal,
		Progress: func(ev migrate.Event) {
			switch ev.Status {
			case migrate.Retrying:
				retries.Add(1)
			case migrate.Inserted:
				now := time.Now()
				mu.Lock()
				if res.first.IsZero() {
					res.first = now
				}
				res.last = now
				mu.Unlock()
			}
		},
	})
	if rep == nil {
		return err
	}
	res.runErr = err
	res.retries = retries.Load() + sumRetries(core.Stats()[workspace.APIGroupsMigration])
	res.failed = len(rep.Failed) + len(rep.Pending)
	res.nPossible = len(rep.PossibleDuplicates)
	for _, it := range rep.PossibleDuplicates {
		res.possible[it.Target+" "+bareID(it.MessageID)] = true
	}
	return nil
}

func sumRetries(st workspace.APIStats) int64 {
	var n int64
	for _, v := range st.Retries {
		n += v
	}
	return n
}

// runLoop is the simple loop many tools use (GAM among them): one
// goroutine per group inserting its messages in order with
// Archive.Insert. Each call carries retry.AllowAmbiguousRepeats, so the
// transport also repeats the insert after a 5xx or a connection lost with
// the message sent (as GAM does), with the Legacy backoff (5 s, 10 s, ...)
// while the message holds its group; retry.MayHaveHappenedTwice marks
// the message as a possible duplicate.
func runLoop(ctx context.Context, srv *workspacetest.Server, core *workspace.Client, sources []string, _ string, res *faultsResult) error {
	dt := datatransfer.New(core)
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(sources))
	for i, src := range sources {
		group := fmt.Sprintf("group%d@%s", i+1, srv.Domain())
		wg.Go(func() {
			rd, err := mailsource.OpenMbox(src, nil)
			if err != nil {
				errs[i] = err
				return
			}
			defer rd.Close()
			for {
				m, err := rd.Next()
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					errs[i] = err
					return
				}
				mctx := retry.AllowAmbiguousRepeats(ctx)
				t0 := time.Now()
				err = dt.Archive.Insert(mctx, group, m.Data)
				res.calls.add(time.Since(t0))
				mu.Lock()
				if retry.MayHaveHappenedTwice(mctx) {
					res.possible[group+" "+bareID(mailsource.MessageID(m.Data))] = true
					res.nPossible++
				}
				if err != nil {
					res.failed++
					if res.failed <= 3 {
						fmt.Fprintf(os.Stderr, "  %s: %s: %v\n", res.name, group, err)
					}
				} else {
					now := time.Now()
					if res.first.IsZero() {
						res.first = now
					}
					res.last = now
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.retries = sumRetries(core.Stats()[workspace.APIGroupsMigration])
	return errors.Join(errs...)
}

// bareID is a Message-ID without white space and angle brackets, as the
// library's report and the fake's store spell it differently.
func bareID(id string) string { return strings.Trim(strings.TrimSpace(id), "<>") }
