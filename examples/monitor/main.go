// Command monitor manages Email Audit monitors: it copies a user's mail
// (incoming, outgoing, drafts, chats) to an auditor for a period, lists a
// user's monitors, and removes them.
//
// With no flags it runs a demo against the built-in fake server: it creates
// a monitor, updates it, lists it, and deletes it. Against Google Workspace:
//
//	go run ./examples/monitor -credentials sa.json -subject admin@example.com \
//		-domain example.com -source alice -dest auditor -end '2026-12-31 23:59' \
//		-incoming FULL_MESSAGE -outgoing HEADER_ONLY -draft NONE
//	go run ./examples/monitor ... -domain example.com -source alice -list
//	go run ./examples/monitor ... -domain example.com -source alice -dest auditor -delete
//
// -v logs the client's retries, waits and token refreshes; a wait of more
// than a few seconds is always announced on stderr. Contradictory flags
// (-list with -delete, -list or -delete with the levels or dates of a
// create) are refused before anything is sent.
//
// The exit status is 0 on success, 1 when a call failed, 2 for bad usage
// (flags, credentials) with nothing sent.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/audit"
	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/workspacetest"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("monitor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		credentials = fs.String("credentials", "", "service-account key (JSON) with domain-wide delegation")
		subject     = fs.String("subject", "", "administrator to act as")
		endpoint    = fs.String("endpoint", "", "base URL of a compatible server instead of Google")
		redisAddr   = fs.String("redis", "", "share quotas (the domain's daily monitor budget) with other processes through this Redis (host:port)")
		verbose     = fs.Bool("v", false, "log the client's retries, waits and token refreshes")
		domain      = fs.String("domain", "", "the Workspace domain")
		source      = fs.String("source", "", "the user whose mail is monitored")
		dest        = fs.String("dest", "", "the auditor who receives the copies")
		begin       = fs.String("begin", "", "start, UTC 'YYYY-MM-DD HH:MM' (default now)")
		end         = fs.String("end", "", "end, UTC 'YYYY-MM-DD HH:MM' (required to create)")
		incoming    = fs.String("incoming", "", "FULL_MESSAGE (default) or HEADER_ONLY")
		outgoing    = fs.String("outgoing", "", "FULL_MESSAGE (default) or HEADER_ONLY")
		draft       = fs.String("draft", "", "FULL_MESSAGE, HEADER_ONLY or NONE (default)")
		chat        = fs.String("chat", "", "FULL_MESSAGE or HEADER_ONLY (default: chats not audited)")
		list        = fs.Bool("list", false, "list the source user's monitors")
		del         = fs.Bool("delete", false, "delete the monitor of -source for -dest")
	)
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	usage := func(format string, a ...any) int { return cli.Usage(stderr, "monitor", format, a...) }
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if *credentials == "" && *endpoint == "" {
		for _, name := range []string{"subject", "domain", "source", "dest", "begin", "end", "incoming", "outgoing", "draft", "chat", "list", "delete"} {
			if set[name] {
				return usage("-%s: demo mode (no -credentials or -endpoint) runs its own steps; give -credentials or -endpoint to manage your monitors", name)
			}
		}
		srv := workspacetest.NewServer()
		defer srv.Close()
		srv.AddUser("alice@" + srv.Domain())
		srv.AddUser("auditor@" + srv.Domain())
		fmt.Fprintf(stdout, "Demo: fake Google Workspace at %s\n", srv.URL)
		core, err := workspace.NewClient(ctx, append(cli.ClientOptions(stderr, *verbose, nil), workspace.WithEndpoint(srv.URL),
			workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()))...)
		if err != nil {
			return cli.Failed(stderr, "monitor", err)
		}
		return demo(ctx, audit.New(core, srv.Domain()), stdout, stderr)
	}

	// Every flag is checked before the first call.
	if err := cli.CheckConnection(*credentials, *subject, *endpoint); err != nil {
		return usage("%v", err)
	}
	if *domain == "" || *source == "" {
		return usage("-domain and -source are required")
	}
	createOnly := []string{"begin", "end", "incoming", "outgoing", "draft", "chat"}
	switch {
	case *list && *del:
		return usage("-list and -delete contradict each other: give one")
	case *list || *del:
		action := "-list"
		if *del {
			action = "-delete"
		}
		for _, name := range createOnly {
			if set[name] {
				return usage("-%s sets a monitor; it means nothing with %s", name, action)
			}
		}
		if *list && set["dest"] {
			return usage("-list lists every monitor of -source; -dest means nothing with it")
		}
		if *del && *dest == "" {
			return usage("-delete needs -dest")
		}
	default:
		if *dest == "" || *end == "" {
			return usage("to create or update a monitor give -dest and -end (or -list, or -delete with -dest)")
		}
	}
	m := &audit.Monitor{Destination: *dest, Incoming: audit.Level(*incoming), Outgoing: audit.Level(*outgoing),
		Draft: audit.Level(*draft), Chat: audit.Level(*chat)}
	for _, l := range []struct {
		name    string
		v       audit.Level
		allowed []audit.Level
	}{
		{"incoming", m.Incoming, []audit.Level{audit.FullMessage, audit.HeaderOnly}},
		{"outgoing", m.Outgoing, []audit.Level{audit.FullMessage, audit.HeaderOnly}},
		{"draft", m.Draft, []audit.Level{audit.FullMessage, audit.HeaderOnly, audit.None}},
		{"chat", m.Chat, []audit.Level{audit.FullMessage, audit.HeaderOnly, audit.None}},
	} {
		if l.v != "" && !slices.Contains(l.allowed, l.v) {
			return usage("-%s %q: want one of %v", l.name, l.v, l.allowed)
		}
	}
	for _, d := range []struct {
		v   string
		dst *time.Time
	}{{*begin, &m.Begin}, {*end, &m.End}} {
		if d.v == "" {
			continue
		}
		t, err := time.Parse(audit.DateLayout, d.v)
		if err != nil {
			return usage("date %q: want 'YYYY-MM-DD HH:MM' (UTC)", d.v)
		}
		*d.dst = t
	}
	if !m.End.IsZero() && !m.Begin.IsZero() && !m.End.After(m.Begin) {
		return usage("-end %s is not after -begin %s", *end, *begin)
	}
	// The API refuses dates in the past: say so before any call.
	now := time.Now().UTC().Truncate(time.Minute)
	if !m.Begin.IsZero() && m.Begin.Before(now) {
		return usage("-begin %s is in the past (now is %s UTC)", *begin, now.Format(audit.DateLayout))
	}
	if !m.End.IsZero() && !m.End.After(now) {
		return usage("-end %s is not in the future (now is %s UTC)", *end, now.Format(audit.DateLayout))
	}

	lim, closeRedis, err := cli.Limiter(ctx, *redisAddr)
	if err != nil {
		return cli.Failed(stderr, "monitor", err)
	}
	defer closeRedis()
	core, err := workspace.NewClient(ctx, append(cli.ClientOptions(stderr, *verbose, lim), cli.Connect(*credentials, *subject, *endpoint)...)...)
	if err != nil {
		return usage("%v", err)
	}
	a := audit.New(core, *domain)
	switch {
	case *list:
		return listMonitors(ctx, a, *source, stdout, stderr)
	case *del:
		if err := a.Monitors.Delete(ctx, *source, *dest); err != nil {
			return cli.Failed(stderr, "monitor", err)
		}
		fmt.Fprintf(stdout, "Deleted the monitor of %s for %s.\n", *source, *dest)
		return cli.ExitOK
	}
	// The server replaces the monitor of the same pair: whether this is a
	// create or an update shows only in the list (a read, outside the
	// daily monitor budget).
	before, err := a.Monitors.List(ctx, *source)
	if err != nil {
		return cli.Failed(stderr, "monitor", err)
	}
	var prev *audit.Monitor
	for _, b := range before {
		if strings.EqualFold(b.Destination, username(*dest)) {
			prev = b
		}
	}
	got, err := a.Monitors.Create(ctx, *source, m)
	if err != nil {
		return cli.Failed(stderr, "monitor", err)
	}
	// Show the monitor as the server now lists it, not as the answer to
	// the write echoed it (a server may echo only what it was given).
	after, err := a.Monitors.List(ctx, *source)
	if err != nil {
		fmt.Fprintf(stderr, "monitor: saved, but it could not be read back: %v\n", err)
	}
	for _, b := range after {
		if strings.EqualFold(b.Destination, username(*dest)) {
			got = b
		}
	}
	if prev != nil {
		printMonitor(stdout, "Was", prev)
		printMonitor(stdout, "Updated (levels left empty revert to their defaults)", got)
	} else {
		printMonitor(stdout, "Created", got)
	}
	return cli.ExitOK
}

// username is the part of an address before the @.
func username(u string) string {
	name, _, _ := strings.Cut(strings.TrimSpace(u), "@")
	return name
}

func demo(ctx context.Context, a *audit.Client, stdout, stderr io.Writer) int {
	now := time.Now().UTC()
	failed := 0
	step := func(what string, err error) {
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "  %s: FAILED: %v\n", what, err)
		}
	}
	m, err := a.Monitors.Create(ctx, "alice", &audit.Monitor{Destination: "auditor", End: now.Add(30 * 24 * time.Hour),
		Outgoing: audit.HeaderOnly, Draft: audit.FullMessage})
	step("create", err)
	if err == nil {
		printMonitor(stdout, "Created", m)
	}
	m, err = a.Monitors.Create(ctx, "alice@"+a.Domain(), &audit.Monitor{Destination: "auditor@" + a.Domain(),
		Begin: now.Add(24 * time.Hour), End: now.Add(7 * 24 * time.Hour)})
	step("update", err)
	if err == nil {
		printMonitor(stdout, "Updated (levels left empty revert to their defaults)", m)
	}
	// Refused before sending: the end is before the beginning.
	_, err = a.Monitors.Create(ctx, "alice", &audit.Monitor{Destination: "auditor", Begin: now.Add(time.Hour), End: now})
	fmt.Fprintf(stdout, "An end before the beginning is refused locally: %v\n", err)
	if err == nil {
		failed++
	}
	if code := listMonitors(ctx, a, "alice", stdout, stderr); code != 0 {
		failed++
	}
	step("delete", a.Monitors.Delete(ctx, "alice", "auditor"))
	ms, err := a.Monitors.List(ctx, "alice")
	step("list after delete", err)
	fmt.Fprintf(stdout, "After delete: %d monitors.\n", len(ms))
	if failed > 0 {
		fmt.Fprintf(stdout, "%d steps failed.\n", failed)
		return 1
	}
	fmt.Fprintln(stdout, "All steps succeeded.")
	return 0
}

func listMonitors(ctx context.Context, a *audit.Client, source string, stdout, stderr io.Writer) int {
	ms, err := a.Monitors.List(ctx, source)
	if err != nil {
		return cli.Failed(stderr, "monitor", err)
	}
	fmt.Fprintf(stdout, "%d monitor(s) of %s:\n", len(ms), source)
	for _, m := range ms {
		printMonitor(stdout, "  -", m)
	}
	return 0
}

func printMonitor(w io.Writer, label string, m *audit.Monitor) {
	chat := string(m.Chat)
	if chat == "" {
		chat = "not audited"
	}
	fmt.Fprintf(w, "%s %s → %s, %s to %s UTC; incoming %s, outgoing %s, drafts %s, chats %s\n", label,
		m.Source, m.Destination, m.Begin.Format(audit.DateLayout), m.End.Format(audit.DateLayout),
		m.Incoming, m.Outgoing, m.Draft, chat)
}
