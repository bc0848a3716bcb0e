// Command transfer moves a departing user's Drive files and calendar
// events to another user with the Admin SDK Data Transfer API, and waits
// until the transfer is done.
//
// With no flags it runs a demo against the built-in fake server (two
// seeded users, a transfer whose status advances on the fake's clock).
// Against Google Workspace:
//
//	go run ./examples/transfer -credentials sa.json -subject admin@example.com \
//		-from leaver@example.com -to manager@example.com
//
// Every flag, the endpoint and the credentials are checked before the
// first call. -v logs the client's retries, waits and token refreshes; a
// wait of more than a few seconds is always announced on stderr.
//
// Exit status: 0 when the transfer completed, 1 when it failed (or could
// not be requested or followed), 2 for bad usage, with nothing sent.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/workspacetest"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("transfer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	credentials := fs.String("credentials", "", "service-account key (JSON) with domain-wide delegation")
	subject := fs.String("subject", "", "administrator to act as")
	endpoint := fs.String("endpoint", "", "base URL of a compatible server instead of Google")
	redisAddr := fs.String("redis", "", "share quotas with other processes through this Redis (host:port)")
	verbose := fs.Bool("v", false, "log the client's retries, waits and token refreshes")
	from := fs.String("from", "", "current owner (e-mail or id)")
	to := fs.String("to", "", "new owner (e-mail or id)")
	drive := fs.Bool("drive", true, "transfer Drive files (private and shared)")
	calendar := fs.Bool("calendar", true, "transfer calendar events")
	release := fs.Bool("release-resources", true, "release rooms and resources booked by the events")
	speed := fs.Float64("speed", 1, "demo only: the fake's delays are divided by this factor")
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	usage := func(format string, a ...any) int { return cli.Usage(stderr, "transfer", format, a...) }
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case !*drive && !*calendar:
		return usage("-drive=false and -calendar=false leave nothing to transfer")
	case !*calendar && set["release-resources"]:
		return usage("-release-resources concerns calendar events; it means nothing with -calendar=false")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var opts []workspace.Option
	wait := &datatransfer.WaitOptions{} // its pauses go through the client's sleep (cli.Sleep in tests)
	if *credentials == "" && *endpoint == "" {
		switch {
		case set["from"] || set["to"] || set["subject"]:
			return usage("demo mode (no -credentials or -endpoint) transfers between its own users; give -credentials or -endpoint to transfer yours")
		case *speed <= 0:
			return usage("-speed must be positive")
		}
		// Demo: the fake's transfers take 2 s to start and 3 s to finish
		// (divided by -speed).
		srv := workspacetest.NewServer(workspacetest.WithSpeed(*speed),
			workspacetest.WithTransferTiming(2*time.Second, 3*time.Second))
		defer srv.Close()
		srv.AddUser("leaver@" + srv.Domain())
		srv.AddUser("manager@" + srv.Domain())
		*from, *to = "leaver@"+srv.Domain(), "manager@"+srv.Domain()
		opts = append(opts, workspace.WithEndpoint(srv.URL),
			workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()))
		poll := time.Duration(float64(time.Second) / *speed)
		wait.Interval, wait.MaxInterval = poll, poll
		fmt.Fprintf(stdout, "Demo: fake Google Workspace at %s\n", srv.URL)
	} else {
		if set["speed"] {
			return usage("-speed: demo mode only (without -credentials and -endpoint)")
		}
		if err := cli.CheckConnection(*credentials, *subject, *endpoint); err != nil {
			return usage("%v", err)
		}
		opts = append(opts, cli.Connect(*credentials, *subject, *endpoint)...)
	}
	if *from == "" || *to == "" {
		return usage("-from and -to are required")
	}
	if strings.EqualFold(strings.TrimSpace(*from), strings.TrimSpace(*to)) {
		return usage("-from and -to are the same user")
	}
	lim, closeRedis, err := cli.Limiter(ctx, *redisAddr)
	if err != nil {
		return cli.Failed(stderr, "transfer", err)
	}
	defer closeRedis()
	core, err := workspace.NewClient(ctx, append(cli.ClientOptions(stderr, *verbose, lim), opts...)...)
	if err != nil {
		return usage("%v", err)
	}
	dt := datatransfer.New(core)
	req := &datatransfer.TransferRequest{From: *from, To: *to}
	if *drive {
		req.Drive = &datatransfer.DriveTransfer{}
	}
	if *calendar {
		req.Calendar = &datatransfer.CalendarTransfer{ReleaseResources: *release}
	}
	tr, err := dt.Transfers.Insert(ctx, req)
	if err != nil {
		return cli.Failed(stderr, "transfer", err)
	}
	fmt.Fprintf(stdout, "Transfer %s from %s (id %s) to %s (id %s) requested.\n", tr.ID, *from, tr.OldOwnerID, *to, tr.NewOwnerID)
	last := ""
	wait.Progress = func(t *datatransfer.Transfer, err error) {
		if err != nil {
			fmt.Fprintf(stdout, "  %s: status check failed: %v\n", time.Now().Format(time.TimeOnly), err)
			return
		}
		if t.Status != last {
			last = t.Status
			fmt.Fprintf(stdout, "  %s: %s\n", time.Now().Format(time.TimeOnly), t.Status)
		}
	}
	final, err := dt.Transfers.Wait(ctx, tr.ID, wait)
	if err != nil {
		return cli.Failed(stderr, "transfer", err)
	}
	for _, a := range final.Apps {
		fmt.Fprintf(stdout, "  application %d: %s %v\n", a.ApplicationID, a.Status, a.Params)
	}
	fmt.Fprintln(stdout, "Transfer", final.Status)
	return cli.ExitOK
}
