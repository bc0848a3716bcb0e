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
	from := fs.String("from", "", "current owner (e-mail or id)")
	to := fs.String("to", "", "new owner (e-mail or id)")
	drive := fs.Bool("drive", true, "transfer Drive files (private and shared)")
	calendar := fs.Bool("calendar", true, "transfer calendar events")
	release := fs.Bool("release-resources", true, "release rooms and resources booked by the events")
	speed := fs.Float64("speed", 1, "demo only: the fake's delays are divided by this factor")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var opts []workspace.Option
	wait := &datatransfer.WaitOptions{}
	if *credentials == "" && *endpoint == "" {
		if *speed <= 0 {
			fmt.Fprintln(stderr, "transfer: -speed must be positive")
			return 2
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
		wait.Initial, wait.Max = poll, poll
		fmt.Fprintf(stdout, "Demo: fake Google Workspace at %s\n", srv.URL)
	} else {
		opts = append(opts, cli.Connect(*credentials, *subject, *endpoint)...)
	}
	if *from == "" || *to == "" {
		fmt.Fprintln(stderr, "transfer: -from and -to are required")
		return 2
	}
	lim, closeRedis, err := cli.Limiter(ctx, *redisAddr)
	if err != nil {
		fmt.Fprintln(stderr, "transfer:", err)
		return 1
	}
	defer closeRedis()
	core, err := workspace.NewClient(ctx, append(opts, workspace.WithQuota(lim))...)
	if err != nil {
		fmt.Fprintln(stderr, "transfer:", err)
		return 2
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
		fmt.Fprintln(stderr, "transfer:", err)
		return 1
	}
	fmt.Fprintf(stdout, "Transfer %s from %s (id %s) to %s (id %s) requested.\n", tr.ID, *from, tr.OldOwnerID, *to, tr.NewOwnerID)
	last := ""
	wait.Progress = func(t *datatransfer.Transfer) {
		if t.Status != last {
			last = t.Status
			fmt.Fprintf(stdout, "  %s: %s\n", time.Now().Format(time.TimeOnly), t.Status)
		}
	}
	final, err := dt.Transfers.Wait(ctx, tr.ID, wait)
	if err != nil {
		fmt.Fprintln(stderr, "transfer:", err)
		return 1
	}
	for _, a := range final.Apps {
		fmt.Fprintf(stdout, "  application %d: %s %v\n", a.ApplicationID, a.Status, a.Params)
	}
	fmt.Fprintln(stdout, "Transfer", final.Status)
	return 0
}
