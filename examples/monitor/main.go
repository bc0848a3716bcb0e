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
// The exit status is 0 on success, 1 when a call failed, 2 for bad flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
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
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var opts []workspace.Option
	if *credentials == "" && *endpoint == "" {
		srv := workspacetest.NewServer()
		defer srv.Close()
		srv.AddUser("alice@" + srv.Domain())
		srv.AddUser("auditor@" + srv.Domain())
		opts = append(opts, workspace.WithEndpoint(srv.URL),
			workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()))
		fmt.Fprintf(stdout, "Demo: fake Google Workspace at %s\n", srv.URL)
		core, err := workspace.NewClient(ctx, opts...)
		if err != nil {
			fmt.Fprintln(stderr, "monitor:", err)
			return 2
		}
		return demo(ctx, audit.New(core, srv.Domain()), stdout, stderr)
	}
	opts = append(opts, cli.Connect(*credentials, *subject, *endpoint)...)
	if *domain == "" || *source == "" {
		fmt.Fprintln(stderr, "monitor: -domain and -source are required")
		return 2
	}
	lim, closeRedis, err := cli.Limiter(ctx, *redisAddr)
	if err != nil {
		fmt.Fprintln(stderr, "monitor:", err)
		return 1
	}
	defer closeRedis()
	core, err := workspace.NewClient(ctx, append(opts, workspace.WithQuota(lim))...)
	if err != nil {
		fmt.Fprintln(stderr, "monitor:", err)
		return 2
	}
	a := audit.New(core, *domain)
	switch {
	case *list:
		return listMonitors(ctx, a, *source, stdout, stderr)
	case *del:
		if *dest == "" {
			fmt.Fprintln(stderr, "monitor: -delete needs -dest")
			return 2
		}
		if err := a.Monitors.Delete(ctx, *source, *dest); err != nil {
			fmt.Fprintln(stderr, "monitor:", err)
			return 1
		}
		fmt.Fprintf(stdout, "Deleted the monitor of %s for %s.\n", *source, *dest)
		return 0
	}
	m := &audit.Monitor{Destination: *dest, Incoming: audit.Level(*incoming), Outgoing: audit.Level(*outgoing),
		Draft: audit.Level(*draft), Chat: audit.Level(*chat)}
	for _, d := range []struct {
		v   string
		dst *time.Time
	}{{*begin, &m.Begin}, {*end, &m.End}} {
		if d.v == "" {
			continue
		}
		t, err := time.Parse(audit.DateLayout, d.v)
		if err != nil {
			fmt.Fprintf(stderr, "monitor: date %q: want 'YYYY-MM-DD HH:MM' (UTC)\n", d.v)
			return 2
		}
		*d.dst = t
	}
	got, err := a.Monitors.Create(ctx, *source, m)
	if err != nil {
		fmt.Fprintln(stderr, "monitor:", err)
		return 1
	}
	printMonitor(stdout, "Created", got)
	return 0
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
		fmt.Fprintln(stderr, "monitor:", err)
		return 1
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
