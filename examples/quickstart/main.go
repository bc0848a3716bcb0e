// Command quickstart shows the core client on its own: it starts a local
// server that answers the first call with a throttle (503, as Google's
// legacy admin APIs do when a quota is exceeded), then shows the client
// retrying it and the statistics it kept.
//
//	go run ./examples/quickstart [-v]
//
// -v shows the client's log: the retry record of the throttled call.
// Exit status: 0 on success, 1 when the call failed, 2 for bad flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/retry"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, 200*time.Millisecond)) }

// run shows one retried call; firstWait is the first backoff (the legacy
// APIs' default is 5 s, shortened for the demo).
func run(args []string, stdout, stderr io.Writer, firstWait time.Duration) int {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "log the client's retries and waits")
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	if fs.NArg() > 0 {
		return cli.Usage(stderr, "quickstart", "unexpected argument %q", fs.Arg(0))
	}
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":{"code":503,"message":"BACKEND FAILURE"}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"kind":"admin#datatransfer#applicationsList","applications":[]}`)
	}))
	defer srv.Close()

	ctx := context.Background()
	c, err := workspace.NewClient(ctx,
		workspace.WithEndpoint(srv.URL),
		workspace.WithoutAuthentication(),
		// -v: every record of the client's log; always: a line for each
		// wait of more than a few seconds.
		workspace.WithLogger(cli.NewLogger(stderr, *verbose)),
		// The legacy APIs' default first wait is 5 s; shorten it for the demo.
		workspace.WithRetry(func(o *retry.Options) {
			p := retry.DefaultPolicy(workspace.APIDataTransfer)
			p.Initial, p.Jitter = firstWait, 0
			o.Policies = map[string]retry.Policy{workspace.APIDataTransfer: p}
		}),
	)
	if err != nil {
		return cli.Failed(stderr, "quickstart", err)
	}
	page, err := datatransfer.New(c).Applications.List(ctx, nil)
	if err != nil {
		return cli.Failed(stderr, "quickstart", err)
	}
	fmt.Fprintf(stdout, "listed %d applications after a throttle\n", len(page.Items))
	st := c.Stats()[workspace.APIDataTransfer]
	fmt.Fprintf(stdout, "requests=%d attempts=%d retries=%v backoff=%v\n", st.Requests, st.Attempts, st.Retries, st.RetryWait)
	return cli.ExitOK
}
