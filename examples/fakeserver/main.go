// Command fakeserver serves the workspacetest fake Google Workspace server
// as a standalone process, for trying programs against it without a Google
// account:
//
//	go run ./examples/fakeserver -addr 127.0.0.1:8080 -speed 1 -faults 0.05 -seed 1
//
// It seeds a demo domain (an admin, a few users and groups), writes the
// service account key to a temporary file, prints the URL and the key path,
// and serves until interrupted. Point a client at it with the URL as
// endpoint and the key file as credentials.
//
// -gmail-user-limit N gives each seeded user a real Gmail limit of N quota
// units a minute, below the documented one, to see pacing adapt. -v logs
// every request. Exit status: 0 after a clean stop, 1 when the
// server could not start (the address is taken), 2 for bad usage.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/workspacetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves until ctx ends. It returns the exit status: 0 after a clean
// stop, 1 when the server could not start, 2 for bad usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fakeserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (host:port)")
	allowRemote := fs.Bool("allow-remote", false, "allow a non-loopback listen address")
	domain := fs.String("domain", "example.com", "the fake customer's domain")
	speed := fs.Float64("speed", 1, "speed factor: limits times speed, delays divided by it")
	faultRate := fs.Float64("faults", 0, "probability of a random fault per request, in [0, 1]")
	seed := fs.Int64("seed", 1, "seed of the fault generator")
	noAuth := fs.Bool("no-auth", false, "accept requests without a token (as the admin)")
	verbose := fs.Bool("v", false, "log every request")
	gmailUserLimit := fs.Int("gmail-user-limit", 0, "each seeded user's real Gmail limit in quota units a minute, below the documented one (0: the documented limit)")
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	usage := func(format string, a ...any) int { return cli.Usage(stderr, "fakeserver", format, a...) }
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if err := checkAddr(*addr, *allowRemote); err != nil {
		return usage("%v", err)
	}
	if *gmailUserLimit < 0 {
		return usage("-gmail-user-limit must be 0 (the documented limit) or a number of quota units a minute")
	}
	if *faultRate < 0 || *faultRate > 1 || *speed <= 0 {
		return usage("-faults must be within [0, 1] and -speed above 0")
	}
	if d := strings.ToLower(*domain); d == "" || strings.ContainsAny(d, "@/: ") || !strings.Contains(d, ".") {
		return usage("-domain %q: want a domain name like example.com", *domain)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	opts := []workspacetest.Option{
		workspacetest.WithAddr(*addr),
		workspacetest.WithDomain(*domain),
		workspacetest.WithSpeed(*speed),
		workspacetest.WithLogger(logger),
	}
	if *faultRate > 0 {
		opts = append(opts, workspacetest.WithFaults(workspacetest.FaultPlan{Seed: *seed, Rate: *faultRate}))
	}
	if *noAuth {
		opts = append(opts, workspacetest.WithoutAuth())
	}
	srv, err := newServer(opts)
	if err != nil {
		return cli.Failed(stderr, "fakeserver", err)
	}
	defer srv.Close()
	seedDemo(srv, *domain)
	if *gmailUserLimit > 0 {
		for _, u := range demoUsers {
			srv.SetGmailUserLimit(u+"@"+*domain, workspacetest.GmailLimit{UnitsPerMinute: *gmailUserLimit})
		}
	}

	keyPath, err := srv.WriteServiceAccountKey("")
	if err != nil {
		return cli.Failed(stderr, "fakeserver", err)
	}
	defer os.Remove(keyPath)

	fmt.Fprintf(stdout, "URL:         %s\n", srv.URL)
	fmt.Fprintf(stdout, "key file:    %s\n", keyPath)
	fmt.Fprintf(stdout, "admin:       %s\n", srv.AdminEmail())
	fmt.Fprintf(stdout, "groups:      archive@%s, announcements@%s\n", *domain, *domain)
	fmt.Fprintln(stdout, "Ctrl-C to stop.")

	<-ctx.Done()
	printStats(stdout, srv)
	return cli.ExitOK
}

// newServer turns the constructor's panic on a bad address into an error.
func newServer(opts []workspacetest.Option) (srv *workspacetest.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return workspacetest.NewServer(opts...), nil
}

// checkAddr refuses to listen beyond the loopback interface unless allowed:
// the fake accepts any caller holding its (published) key.
func checkAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-addr %q is not a loopback address; pass -allow-remote to serve it anyway", addr)
}

// seedDemo adds the demo domain's users and groups.
// demoUsers are the users seedDemo adds, besides the administrators.
var demoUsers = []string{"alice", "bob", "carol", "leaver"}

func seedDemo(srv *workspacetest.Server, domain string) {
	for _, u := range demoUsers {
		srv.AddUser(u + "@" + domain)
	}
	srv.AddAdmin("it-admin@" + domain)
	srv.AddGroup("archive@" + domain)
	srv.AddGroup("announcements@" + domain)
}

func printStats(w io.Writer, srv *workspacetest.Server) {
	for api, st := range srv.Stats() {
		fmt.Fprintf(w, "%-16s accepted %d, rejected %v, faults %v\n", api, st.Accepted, st.Rejected, st.Faults)
	}
}
