// Command groupmigrate migrates mail archives (mbox files, folders of .eml
// files, Maildirs) into Google Groups archives with the migrate engine:
// paced to the Groups Migration API's limits, one insert at a time per
// group, with a journal that lets an interrupted run resume, and a report
// that accounts for every message read.
//
// With no flags it runs a demo against the built-in fake server, which
// injects server errors and dropped connections: it generates a list
// archive of 3,000 realistic messages (-messages) (with duplicates, a message without
// a Date header and one over the 25 MiB limit), a Maildir of 500, a folder
// of bounces as real mail servers write them, a Netscape mail folder, and a
// few .eml files saved from mail clients and scripts (one without a Date,
// two different messages with one Message-ID), migrates them into four
// groups with the fake's limits scaled up, and prints the report. Against
// Google Workspace:
//
//	go run ./examples/groupmigrate -credentials sa.json -subject admin@example.com \
//		-group list@example.com -source list.mbox -report report.json
//
// Exit status: 0 when every message read was stored, skipped as a
// duplicate or done before, or refused; 1 when a message failed, the run
// or a group stopped early (daily quota, credentials, Ctrl-C), the journal
// could not be used, or, with -fail-on-refused, a message was refused
// (locally or by Google); 2 for bad flags and jobs refused before any
// request (a missing source, a bad group address).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/workspacetest"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// googleRate is Google's documented limit: archive inserts per second per
// project.
const googleRate = 10

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("groupmigrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		credentials   = fs.String("credentials", "", "service-account key (JSON) with domain-wide delegation")
		subject       = fs.String("subject", "", "administrator to act as")
		endpoint      = fs.String("endpoint", "", "base URL of a compatible server instead of Google")
		redisAddr     = fs.String("redis", "", "share quotas with other processes through this Redis (host:port)")
		group         = fs.String("group", "", "group address for every -source")
		journal       = fs.String("journal", "", "journal file (default: <source>.journal next to each source)")
		workers       = fs.Int("workers", 10, "groups migrated at once (each gets one insert at a time)")
		reportPath    = fs.String("report", "", "write the report as JSON to this file")
		policyName    = fs.String("policy", "standard", "checks before sending: standard (refuse only what Google certainly refuses), strict (also refuse doubtful addresses, dates and header lines), repair (standard, and add a missing Date from the envelope or Received header, a missing To from the group)")
		dedupeName    = fs.String("dedupe", "content", "skip as already stored: content (identical messages), message-id (any message whose Message-ID is in the group), none")
		formatName    = fs.String("format", "mboxrd", "mbox dialect of mbox sources: mboxrd, mboxo, mboxcl or mboxcl2")
		failOnRefused = fs.Bool("fail-on-refused", false, "exit 1 when any message was refused (locally or by Google)")
		verbose       = fs.Bool("v", false, "print each retry, refusal and failure as it happens, and the client's log (retries, waits, token refreshes)")
		strict        = fs.Bool("strict", false, "removed: use -fail-on-refused for the exit status, -policy strict for the checks")
		speed         = fs.Float64("speed", 7, "demo only: the fake's limits are scaled up by this factor")
		faults        = fs.Float64("faults", 0.03, "demo only: share of inserts the fake fails (500, 503, or the connection dropped after storing)")
		demoMessages  = fs.Int("messages", 3000, "demo only: messages in the generated list archive (3000 or more for all its kinds of duplicates)")
		demoDir       = fs.String("demo-dir", "", "demo only: write the sample sources and their journals here and keep them (run again to resume); default a temporary folder")
		sources       listFlag
		maps          listFlag
	)
	fs.Var(&sources, "source", "mbox file, .eml file, .eml folder or Maildir (repeatable; needs -group)")
	fs.Var(&maps, "map", "source=group pair (repeatable)")
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	bad := func(format string, a ...any) int { return cli.Usage(stderr, "groupmigrate", format, a...) }
	if fs.NArg() > 0 {
		return bad("unexpected argument %q (sources go in -source or -map)", fs.Arg(0))
	}
	if *strict {
		return bad("-strict is gone: -fail-on-refused sets the exit status, -policy strict the checks")
	}
	policy, err := migrate.ParsePolicy(*policyName)
	if err != nil {
		return bad("-policy: %v", err)
	}
	dedupe, err := migrate.ParseDedupe(*dedupeName)
	if err != nil {
		return bad("-dedupe: %v", err)
	}
	format, err := mailsource.ParseFormat(*formatName)
	if err != nil {
		return bad("-format: %v", err)
	}
	if *workers < 1 {
		return bad("-workers must be at least 1")
	}

	var jobs []migrate.Job
	for _, s := range sources {
		if *group == "" {
			return bad("-source needs -group (or use -map source=group)")
		}
		jobs = append(jobs, migrate.Job{Source: s, Target: *group})
	}
	for _, m := range maps {
		src, g, ok := strings.Cut(m, "=")
		if !ok || src == "" || g == "" {
			return bad("-map %q: want source=group", m)
		}
		jobs = append(jobs, migrate.Job{Source: src, Target: g})
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	demo := *credentials == "" && *endpoint == ""
	var (
		opts  []workspace.Option
		limit float64 = googleRate
		srv   *workspacetest.Server
		base  string // paths in the output are shown relative to it
	)
	if demo {
		switch {
		case len(jobs) > 0:
			return bad("demo mode (no -credentials or -endpoint) migrates its own sample; give -credentials to migrate your sources")
		case *speed <= 0:
			return bad("-speed must be positive")
		case *faults < 0 || *faults > 1:
			return bad("-faults must be within [0, 1]")
		case *demoMessages < 100:
			return bad("-messages must be at least 100")
		}
		dir := *demoDir
		if dir == "" {
			tmp, err := os.MkdirTemp("", "groupmigrate-demo-")
			if err != nil {
				fmt.Fprintln(stderr, "groupmigrate:", err)
				return cli.ExitFailed
			}
			defer os.RemoveAll(tmp)
			dir = tmp
		} else if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintln(stderr, "groupmigrate:", err)
			return cli.ExitFailed
		}
		// -speed scales the fake's limits and delays; its tokens keep
		// Google's hour, or at high speeds they would expire within
		// oauth2's 10 s refresh margin and be fetched for every request.
		srv = workspacetest.NewServer(workspacetest.WithSpeed(*speed),
			workspacetest.WithTokenLifetime(time.Duration(float64(time.Hour)**speed)),
			workspacetest.WithFaults(workspacetest.FaultPlan{
				Seed: 7, Rate: *faults, APIs: []string{workspace.APIGroupsMigration},
				Kinds: []workspacetest.FaultKind{workspacetest.FaultHTTP500, workspacetest.FaultHTTP503, workspacetest.FaultResetAfterProcessing},
			}))
		defer srv.Close()
		setup, err := demoSources(dir, srv, *demoMessages)
		if err != nil {
			fmt.Fprintln(stderr, "groupmigrate: writing the demo sources:", err)
			return cli.ExitFailed
		}
		jobs, base = setup.jobs, dir
		limit = googleRate * *speed
		fmt.Fprintf(stdout, "Demo: fake Google Workspace at %s, limits scaled ×%g (%g inserts/s per project instead of %d), %g%% of inserts failing.\n",
			srv.URL, *speed, limit, googleRate, 100**faults)
		fmt.Fprintf(stdout, "Sources in %s: %d messages for %d groups.\n", dir, setup.messages, setup.groups)
		opts = append(opts, workspace.WithEndpoint(srv.URL),
			workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()))
	} else {
		var used []string
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "speed" || f.Name == "faults" || f.Name == "demo-dir" || f.Name == "messages" {
				used = append(used, "-"+f.Name)
			}
		})
		switch {
		case len(used) > 0:
			return bad("%s: demo mode only (without -credentials and -endpoint)", strings.Join(used, ", "))
		case len(jobs) == 0:
			return bad("nothing to do: give -group with -source, or -map source=group")
		case *credentials != "" && *subject == "":
			return bad("-credentials needs -subject (an administrator)")
		}
		if err := cli.CheckConnection(*credentials, *subject, *endpoint); err != nil {
			return bad("%v", err)
		}
		opts = cli.Connect(*credentials, *subject, *endpoint)
		base, _ = os.Getwd()
	}

	lim, closeRedis, err := cli.Limiter(ctx, *redisAddr, quota.WithRules(
		quota.Rate("groupsmigration.project.rate", workspace.APIGroupsMigration, quota.PerProject, limit, time.Second)))
	if err != nil {
		fmt.Fprintln(stderr, "groupmigrate:", err)
		return cli.ExitFailed
	}
	defer closeRedis()
	// A stalled connection must not hold a group forever: each attempt
	// gets its answer's headers within 5 minutes (a 25 MiB upload on a
	// slow link included), or it fails and is retried or reported.
	transport := cli.Transport()
	transport.ResponseHeaderTimeout = 5 * time.Minute
	opts = append(opts, workspace.WithHTTPClient(&http.Client{Transport: transport}))
	core, err := workspace.NewClient(ctx, append(cli.ClientOptions(stderr, *verbose, lim), opts...)...)
	if err != nil {
		return bad("%v", err)
	}

	names := paths{base: base}
	prog := newProgress(stderr, jobs, *verbose, names)
	rep, err := datatransfer.New(core).Migrate(ctx, jobs, &migrate.Options{
		Workers: *workers, Journal: *journal, Format: format, Policy: policy, Dedupe: dedupe,
		Progress: prog.event,
	})
	prog.finish()
	if rep == nil { // refused before any request
		fmt.Fprintln(stderr, "groupmigrate:", err)
		var ie *workspace.InputError
		if errors.As(err, &ie) && ie.Field == "Journal" {
			return cli.ExitFailed // not a bad job: locked by another run, or unreadable
		}
		return cli.ExitUsage
	}

	s := summary{w: stdout, r: rep, names: names, policy: policy, dedupe: dedupe, limit: limit,
		retries: prog.retryCauses(), reportPath: *reportPath}
	if st, ok := core.Stats()[workspace.APIGroupsMigration]; ok {
		s.stats = &st
	}
	if srv != nil {
		s.demoSpeed = *speed
		s.faults = srv.FaultLog()
		s.storedTwice = storedTwice(srv, rep)
		s.tempSources = *demoDir == ""
	}
	balanced := s.print()

	code := cli.ExitOK
	if *reportPath != "" {
		if werr := writeReport(*reportPath, rep); werr != nil {
			fmt.Fprintln(stderr, "groupmigrate: report:", werr)
			code = cli.ExitFailed
		} else {
			fmt.Fprintln(stdout, "Report written to", *reportPath)
		}
	}
	if err != nil || !rep.OK() || !balanced {
		code = cli.ExitFailed
	}
	if *failOnRefused && len(rep.RefusedLocally)+len(rep.RefusedByGoogle) > 0 {
		fmt.Fprintln(stdout, "Exit status 1: messages were refused (-fail-on-refused).")
		code = cli.ExitFailed
	}
	return code
}

// storedTwice counts the extra copies in the fake's archives of the
// report's groups: messages stored more than once, byte for byte.
func storedTwice(srv *workspacetest.Server, rep *migrate.Report) int {
	n := 0
	for g := range rep.Targets {
		seen := map[[32]byte]bool{}
		for _, m := range srv.GroupMessages(g) {
			if seen[m.SHA256] {
				n++
			}
			seen[m.SHA256] = true
		}
	}
	return n
}

func writeReport(path string, r *migrate.Report) error {
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
