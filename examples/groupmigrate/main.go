// Command groupmigrate migrates mail archives (mbox files, folders of .eml
// files, Maildirs) into Google Groups archives, paced to the Groups
// Migration API's limits, with a journal that lets an interrupted run
// resume, and a report of every message that was not inserted and why.
//
// With no flags it runs a demo against the built-in fake server: it
// generates a sample archive of 3,000 realistic messages (with duplicates,
// a malformed message and one over the 25 MiB limit) plus a Maildir of 500,
// migrates them into two groups with the fake's limits scaled up, and
// prints the report. Against Google Workspace:
//
//	go run ./examples/groupmigrate -credentials sa.json -subject admin@example.com \
//		-group list@example.com -source list.mbox -report report.json
//
// Exit status: 0 when every valid message was inserted or skipped as a
// duplicate; 1 when a valid message failed or the run stopped early (daily
// quota, Ctrl-C); with -strict, also 1 when a message was invalid; 2 for
// bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
	"github.com/gwsadmin/workspace/workspacetest"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("groupmigrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		credentials = fs.String("credentials", "", "service-account key (JSON) with domain-wide delegation")
		subject     = fs.String("subject", "", "administrator to act as")
		endpoint    = fs.String("endpoint", "", "base URL of a compatible server instead of Google")
		redisAddr   = fs.String("redis", "", "share quotas with other processes through this Redis (host:port)")
		group       = fs.String("group", "", "group address for every -source")
		journal     = fs.String("journal", "", "journal file (default: <source>.journal next to each source)")
		workers     = fs.Int("workers", 10, "groups migrated at once")
		reportPath  = fs.String("report", "", "write the report as JSON to this file")
		strict      = fs.Bool("strict", false, "exit non-zero when any message was invalid")
		speed       = fs.Float64("speed", 6, "demo only: the fake's limits are scaled up by this factor")
		sources     listFlag
		maps        listFlag
	)
	fs.Var(&sources, "source", "mbox file, .eml folder or Maildir (repeatable; needs -group)")
	fs.Var(&maps, "map", "source=group pair (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var jobs []datatransfer.Job
	for _, s := range sources {
		if *group == "" {
			fmt.Fprintln(stderr, "groupmigrate: -source needs -group (or use -map source=group)")
			return 2
		}
		jobs = append(jobs, datatransfer.Job{Source: s, Group: *group})
	}
	for _, m := range maps {
		src, g, ok := strings.Cut(m, "=")
		if !ok || src == "" || g == "" {
			fmt.Fprintf(stderr, "groupmigrate: -map %q: want source=group\n", m)
			return 2
		}
		jobs = append(jobs, datatransfer.Job{Source: src, Group: g})
	}

	demo := *credentials == "" && *endpoint == ""
	var opts []workspace.Option
	var limit float64 = 10 // Google's documented inserts per second per project
	if demo {
		if len(jobs) > 0 {
			fmt.Fprintln(stderr, "groupmigrate: demo mode (no -credentials or -endpoint) migrates its own sample; give -credentials to migrate your sources")
			return 2
		}
		if *speed <= 0 {
			fmt.Fprintln(stderr, "groupmigrate: -speed must be positive")
			return 2
		}
		srv := workspacetest.NewServer(workspacetest.WithSpeed(*speed))
		defer srv.Close()
		dir, err := os.MkdirTemp("", "groupmigrate-demo-")
		if err != nil {
			fmt.Fprintln(stderr, "groupmigrate:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		jobs, err = demoSources(dir, srv)
		if err != nil {
			fmt.Fprintln(stderr, "groupmigrate:", err)
			return 1
		}
		limit = 10 * *speed
		fmt.Fprintf(stdout, "Demo: fake Google Workspace at %s, limits scaled ×%g: %g inserts/s per project instead of 10.\n", srv.URL, *speed, limit)
		opts = append(opts, workspace.WithEndpoint(srv.URL),
			workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()),
			workspace.WithRetry(func(o *retry.Options) {
				p := retry.Legacy
				p.Initial = time.Duration(float64(p.Initial) / *speed)
				p.Max = time.Duration(float64(p.Max) / *speed)
				o.Policies = map[string]retry.Policy{workspace.APIGroupsMigration: p}
			}))
	} else {
		if len(jobs) == 0 {
			fmt.Fprintln(stderr, "groupmigrate: nothing to do: give -group with -source, or -map source=group")
			return 2
		}
		if *credentials != "" {
			opts = append(opts, workspace.WithCredentialsFile(*credentials))
			if *subject == "" {
				fmt.Fprintln(stderr, "groupmigrate: -credentials needs -subject (an administrator)")
				return 2
			}
			opts = append(opts, workspace.WithSubject(*subject))
		} else {
			opts = append(opts, workspace.WithoutAuthentication())
		}
		if *endpoint != "" {
			opts = append(opts, workspace.WithEndpoint(*endpoint))
		}
	}
	qopts := []quota.Option{quota.WithRules(
		quota.Rate("groupsmigration.project.rate", workspace.APIGroupsMigration, quota.PerProject, limit, time.Second))}
	lim, closeRedis, err := cli.Limiter(ctx, *redisAddr, qopts...)
	if err != nil {
		fmt.Fprintln(stderr, "groupmigrate:", err)
		return 1
	}
	defer closeRedis()
	// A stalled connection must not hold a group forever: each attempt
	// gets its answer's headers within 5 minutes (a 25 MiB upload on a
	// slow link included), or it fails and is retried or reported.
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.ResponseHeaderTimeout = 5 * time.Minute
	opts = append(opts, workspace.WithQuota(lim), workspace.WithHTTPClient(&http.Client{Transport: base}))
	core, err := workspace.NewClient(ctx, opts...)
	if err != nil {
		fmt.Fprintln(stderr, "groupmigrate:", err)
		return 2
	}

	prog := newProgress(stderr, jobs)
	rep, err := datatransfer.New(core).Migrate(ctx, jobs, &datatransfer.MigrateOptions{
		Workers: *workers, Journal: *journal, Progress: prog.event,
	})
	prog.finish()
	if rep == nil { // refused before starting
		fmt.Fprintln(stderr, "groupmigrate:", err)
		return 2
	}
	summary(stdout, rep, limit, demo, core)
	if *reportPath != "" {
		if werr := writeReport(*reportPath, rep); werr != nil {
			fmt.Fprintln(stderr, "groupmigrate: report:", werr)
			return 1
		}
		fmt.Fprintln(stdout, "Report written to", *reportPath)
	}
	switch {
	case err != nil:
		if errors.Is(err, workspace.ErrQuotaExhausted) && !rep.ResumeAfter.IsZero() {
			fmt.Fprintf(stdout, "Stopped: the daily quota is spent; run again after %s with the same journal.\n", rep.ResumeAfter.Local().Format(time.RFC1123))
		} else {
			fmt.Fprintln(stdout, "Stopped early:", err, "(run again with the same journal to resume)")
		}
		return 1
	case !rep.OK():
		return 1
	case *strict && len(rep.Invalid) > 0:
		return 1
	}
	return 0
}

// demoSources writes the demo's sources and seeds their groups.
func demoSources(dir string, srv *workspacetest.Server) ([]datatransfer.Job, error) {
	msgs, _ := mailgen.Sample(1, 3000)
	// One message over the 25 MiB limit, made at run time.
	msgs = append(msgs[:1800:1800], append([][]byte{mailgen.LargeMessage(datatransfer.MaxMessageSize + 512<<10)}, msgs[1800:]...)...)
	mbox := filepath.Join(dir, "list-archive.mbox")
	f, err := os.Create(mbox)
	if err != nil {
		return nil, err
	}
	if err := mailgen.WriteMbox(f, msgs, mailsource.MboxRD); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	maildir := filepath.Join(dir, "announce-maildir")
	if err := mailgen.WriteMaildir(maildir, mailgen.Messages(2, 500)); err != nil {
		return nil, err
	}
	srv.AddGroup("archive@" + srv.Domain())
	srv.AddGroup("announce@" + srv.Domain())
	return []datatransfer.Job{
		{Source: mbox, Group: "archive@" + srv.Domain()},
		{Source: maildir, Group: "announce@" + srv.Domain()},
	}, nil
}

// progress shows a bar on a terminal and plain lines otherwise. It counts
// messages, not bytes: one oversized message would otherwise skew the
// estimate of the time left.
type progress struct {
	w      io.Writer
	bar    *progressbar.ProgressBar
	mu     sync.Mutex
	counts [5]atomic.Int64
	start  time.Time
	last   time.Time
	total  int64
}

func newProgress(w io.Writer, jobs []datatransfer.Job) *progress {
	p := &progress{w: w, start: time.Now(), last: time.Now()}
	for _, j := range jobs {
		p.total += countMessages(j.Source)
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(p.total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("migrating"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("msg"),
			progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionFullWidth(),
		)
	}
	return p
}

// countMessages scans a source without buffering its messages (about
// 1 GB/s) so that progress can be shown against a known total. A source
// that cannot be read counts as 0: Migrate reports it.
func countMessages(path string) int64 {
	var n int64
	r, err := mailsource.Open(path, &mailsource.Options{Skip: func(*mailsource.Message) bool { n++; return true }})
	if err != nil {
		return 0
	}
	defer r.Close()
	for {
		if _, err := r.Next(); err == io.EOF {
			return n
		} else if err != nil {
			var fe *mailsource.FileError
			if !errors.As(err, &fe) {
				return n
			}
		}
	}
}

func (p *progress) event(ev datatransfer.Event) {
	p.counts[ev.Status].Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	ins := p.counts[datatransfer.Inserted].Load()
	rate := float64(ins) / time.Since(p.start).Seconds()
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("%d inserted (%.1f/s)", ins, rate))
		p.bar.Add(1)
		return
	}
	if time.Since(p.last) >= 5*time.Second {
		p.last = time.Now()
		done := int64(0)
		for i := range p.counts {
			done += p.counts[i].Load()
		}
		fmt.Fprintf(p.w, "progress: %d/%d messages: %d inserted, %d duplicates, %d resumed, %d invalid, %d failed, %.1f inserts/s\n",
			done, p.total, ins, p.counts[datatransfer.Duplicate].Load(), p.counts[datatransfer.Resumed].Load(),
			p.counts[datatransfer.Invalid].Load(), p.counts[datatransfer.Failed].Load(), rate)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}

func summary(w io.Writer, r *datatransfer.Report, limit float64, demo bool, core *workspace.Client) {
	fmt.Fprintf(w, "\nMigration report (%s)\n", r.Finished.Sub(r.Started).Round(time.Millisecond))
	fmt.Fprintf(w, "  inserted:            %d (%.1f MB)\n", r.Inserted, float64(r.Bytes)/1e6)
	fmt.Fprintf(w, "  skipped, duplicates: %d\n", r.Duplicates)
	fmt.Fprintf(w, "  skipped, done before (journal): %d\n", r.Resumed)
	fmt.Fprintf(w, "  invalid, not sent:   %d\n", len(r.Invalid))
	for _, it := range r.Invalid {
		fmt.Fprintf(w, "    - %s (message %d, %d bytes): %s: %s\n", it.Source, it.Index, it.Size, it.Field, it.Reason)
	}
	fmt.Fprintf(w, "  failed after retries: %d\n", len(r.Failed))
	for _, it := range r.Failed {
		fmt.Fprintf(w, "    - %s (message %d, %s): %s\n", it.Source, it.Index, it.MessageID, it.Reason)
	}
	if len(r.PossibleDuplicates) > 0 {
		fmt.Fprintf(w, "  possibly stored twice (sent again after a dropped connection or a crash): %d\n", len(r.PossibleDuplicates))
		for _, it := range r.PossibleDuplicates {
			fmt.Fprintf(w, "    - %s in %s\n", it.MessageID, it.Group)
		}
	}
	for _, g := range slices.Sorted(maps.Keys(r.Groups)) {
		c := r.Groups[g]
		fmt.Fprintf(w, "  %s: %d inserted, %d duplicates, %d resumed, %d invalid, %d failed\n", g, c.Inserted, c.Duplicates, c.Resumed, c.Invalid, c.Failed)
	}
	rate := r.Rate()
	fmt.Fprintf(w, "  rate: %.1f inserts/s against a limit of %g/s (%.0f%%)", rate, limit, 100*rate/limit)
	if demo {
		fmt.Fprintf(w, " — the fake's limit, scaled up from Google's 10/s")
	}
	fmt.Fprintln(w)
	if st, ok := core.Stats()[workspace.APIGroupsMigration]; ok {
		fmt.Fprintf(w, "  requests: %d calls, %d attempts, retries %v, waited %s for quota\n",
			st.Requests, st.Attempts, st.Retries, st.QuotaWait.Round(time.Millisecond))
	}
	if r.Stopped != "" {
		fmt.Fprintln(w, "  stopped early:", r.Stopped)
	}
}

func writeReport(path string, r *datatransfer.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := r.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
