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
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/gwsadmin/workspace/workspacetest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fakeserver:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (host:port)")
	allowRemote := flag.Bool("allow-remote", false, "allow a non-loopback listen address")
	domain := flag.String("domain", "example.com", "the fake customer's domain")
	speed := flag.Float64("speed", 1, "speed factor: limits times speed, delays divided by it")
	faultRate := flag.Float64("faults", 0, "probability of a random fault per request, in [0, 1]")
	seed := flag.Int64("seed", 1, "seed of the fault generator")
	noAuth := flag.Bool("no-auth", false, "accept requests without a token (as the admin)")
	verbose := flag.Bool("v", false, "log every request")
	flag.Parse()

	if err := checkAddr(*addr, *allowRemote); err != nil {
		return err
	}
	if *faultRate < 0 || *faultRate > 1 || *speed <= 0 {
		return fmt.Errorf("-faults must be within [0, 1] and -speed above 0")
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

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
		return err
	}
	defer srv.Close()
	seedDemo(srv, *domain)

	keyPath, err := srv.WriteServiceAccountKey("")
	if err != nil {
		return err
	}
	defer os.Remove(keyPath)

	fmt.Printf("URL:         %s\n", srv.URL)
	fmt.Printf("key file:    %s\n", keyPath)
	fmt.Printf("admin:       %s\n", srv.AdminEmail())
	fmt.Printf("groups:      archive@%s, announcements@%s\n", *domain, *domain)
	fmt.Println("Ctrl-C to stop.")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	printStats(srv)
	return nil
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
func seedDemo(srv *workspacetest.Server, domain string) {
	for _, u := range []string{"alice", "bob", "carol", "leaver"} {
		srv.AddUser(u + "@" + domain)
	}
	srv.AddAdmin("it-admin@" + domain)
	srv.AddGroup("archive@" + domain)
	srv.AddGroup("announcements@" + domain)
}

func printStats(srv *workspacetest.Server) {
	for api, st := range srv.Stats() {
		fmt.Printf("%-16s accepted %d, rejected %v, faults %v\n", api, st.Accepted, st.Rejected, st.Faults)
	}
}
