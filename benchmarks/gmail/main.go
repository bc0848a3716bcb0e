// Command gmail measures fetching many messages' metadata from the fake
// Gmail server at scaled quotas, two ways in the same run: through
// gmail.Messages.GetMany (HTTP batches, per-part quota) and through plain
// per-message calls of Google's generated client (over the same paced
// transport, 10 in flight, the per-user concurrency cap). It prints, for
// each, the HTTP round trips, the elapsed time, the quota units the server
// charged, the achieved units per second as a fraction of the per-user
// limit, and the calls the server rejected.
//
//	go run ./benchmarks/gmail -n 5000 -speed 20
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/gmail"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/workspacetest"
)

// counter counts HTTP requests to Gmail (not to the token endpoint).
type counter struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "gmail/v1") {
		c.n.Add(1)
	}
	return c.next.RoundTrip(r)
}

type result struct {
	name       string
	roundTrips int64
	elapsed    time.Duration
	units      int64
	rejected   int
	fetched    int
}

func main() {
	n := flag.Int("n", 5000, "messages to fetch")
	speed := flag.Float64("speed", 20, "quota scale: per-user limit = 15,000 units/min × speed")
	size := flag.Int("batch", 50, "calls per HTTP batch")
	flag.Parse()
	if err := run(*n, *speed, *size); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func rejected(srv *workspacetest.Server) int {
	t := 0
	for _, v := range srv.Stats()["gmail"].Rejected {
		t += v
	}
	return t
}

func run(n int, speed float64, size int) error {
	ctx := context.Background()
	srv := workspacetest.NewServer(workspacetest.WithSpeed(speed), workspacetest.WithProcessingDelay(0))
	defer srv.Close()
	perMin := 15000 * speed
	lim, err := quota.New(quota.WithRules(
		quota.Rate("gmail.user.rate", "gmail", quota.PerUser, perMin, time.Minute).Units().
			Blames("userRateLimitExceeded").From("scaled for the benchmark"),
		quota.Rate("gmail.project.rate", "gmail", quota.PerProject, 1200000*speed, time.Minute).Units().
			Blames("rateLimitExceeded").From("scaled for the benchmark")))
	if err != nil {
		return err
	}
	cnt := &counter{next: http.DefaultTransport}
	core, err := workspace.NewClient(ctx, workspace.WithEndpoint(srv.URL),
		workspace.WithHTTPClient(&http.Client{Transport: cnt}),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()),
		workspace.WithQuota(lim))
	if err != nil {
		return err
	}
	g := gmail.New(core)
	users := []string{"batch@" + srv.Domain(), "plain@" + srv.Domain(), "unpaced@" + srv.Domain()}
	for _, u := range users {
		srv.AddUser(u)
		for i := range n {
			srv.AddGmailMessage(u, fmt.Appendf(nil, "From: x@example.org\r\nTo: %s\r\nSubject: message %d\r\nMessage-ID: <%d.%s>\r\n\r\nbody %d\r\n", u, i, i, u, i), "INBOX")
		}
	}
	list := func(u string) ([]string, error) {
		var ids []string
		for m, err := range g.Messages.All(ctx, u, &gmail.MessageListOptions{ListOptions: workspace.ListOptions{PageSize: 500}, Fields: "messages(id)"}) {
			if err != nil {
				return nil, err
			}
			ids = append(ids, m.Id)
		}
		return ids, nil
	}
	getOpts := &gmail.GetOptions{Format: "metadata", MetadataHeaders: []string{"From", "Subject"}}
	var results []result

	// 1. Batched.
	{
		u := users[0]
		rej0, rt0 := rejected(srv), cnt.n.Load()
		start := time.Now()
		ids, err := list(u)
		if err != nil {
			return err
		}
		msgs, err := g.Messages.GetMany(ctx, u, ids, &gmail.GetOptions{Format: getOpts.Format,
			MetadataHeaders: getOpts.MetadataHeaders, Batch: &gmail.BatchOptions{Size: size}})
		if err != nil {
			return err
		}
		got := 0
		for _, m := range msgs {
			if m != nil {
				got++
			}
		}
		results = append(results, result{name: fmt.Sprintf("gmail.GetMany (HTTP batch of %d)", size),
			roundTrips: cnt.n.Load() - rt0, elapsed: time.Since(start), units: srv.GmailUnits(u),
			rejected: rejected(srv) - rej0, fetched: got})
	}
	// 2. Plain per-message calls of the generated client, 10 in flight.
	{
		u := users[1]
		rej0, rt0 := rejected(srv), cnt.n.Load()
		start := time.Now()
		ids, err := list(u)
		if err != nil {
			return err
		}
		svc, err := g.Service(ctx, u)
		if err != nil {
			return err
		}
		var got atomic.Int64
		var firstErr error
		var mu sync.Mutex
		work := make(chan string)
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				for id := range work {
					_, err := svc.Users.Messages.Get(u, id).Format("metadata").MetadataHeaders("From", "Subject").
						Context(gmail.CallContext(ctx, u, "users.messages.get")).Do()
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						continue
					}
					got.Add(1)
				}
			})
		}
		for _, id := range ids {
			work <- id
		}
		close(work)
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
		results = append(results, result{name: "generated client, one call per message (10 in flight)",
			roundTrips: cnt.n.Load() - rt0, elapsed: time.Since(start), units: srv.GmailUnits(u),
			rejected: rejected(srv) - rej0, fetched: int(got.Load())})
	}

	// 3. The same batched fetch with no client-side pacing (quota.Unlimited()):
	// what the server refuses when the client does not pace itself. With a
	// workload bigger than one minute of the user's quota (e.g. -speed 1:
	// 25,000 units against 15,000 a minute) the server must refuse parts;
	// the paced runs above should not see any.
	{
		u := users[2]
		unpaced, err := workspace.NewClient(ctx, workspace.WithEndpoint(srv.URL),
			workspace.WithHTTPClient(&http.Client{Transport: cnt}),
			workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()),
			workspace.WithQuota(quota.Unlimited()))
		if err != nil {
			return err
		}
		gu := gmail.New(unpaced)
		rej0, rt0 := rejected(srv), cnt.n.Load()
		start := time.Now()
		ids, err := list(u)
		if err != nil {
			return err
		}
		msgs, err := gu.Messages.GetMany(ctx, u, ids, &gmail.GetOptions{Format: getOpts.Format,
			MetadataHeaders: getOpts.MetadataHeaders, Batch: &gmail.BatchOptions{Size: size, MaxAttempts: 20}})
		got := 0
		for _, m := range msgs {
			if m != nil {
				got++
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "unpaced run:", err)
		}
		results = append(results, result{name: fmt.Sprintf("gmail.GetMany, batch of %d, no client pacing (quota.Unlimited())", size),
			roundTrips: cnt.n.Load() - rt0, elapsed: time.Since(start), units: srv.GmailUnits(u),
			rejected: rejected(srv) - rej0, fetched: got})
	}

	perSec := perMin / 60
	fmt.Printf("messages per user: %d; per-user limit: %.0f units/min (%.0f units/s, 15,000 × speed %g); batch size %d\n",
		n, perMin, perSec, speed, size)
	fmt.Printf("machine: %s/%s, %d CPUs, %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Println("| method | fetched | HTTP round trips | elapsed | units charged | units/s | of per-user limit | rejected calls |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		ups := float64(r.units) / r.elapsed.Seconds()
		fmt.Printf("| %s | %d | %d | %.2f s | %d | %.0f | %.1f %% | %d |\n", r.name, r.fetched, r.roundTrips,
			r.elapsed.Seconds(), r.units, ups, 100*ups/perSec, r.rejected)
	}
	st := g.BatchStats()
	fmt.Printf("\nbatch stats: %d batch requests, %d parts, %d retried, %d throttled, %d failed\n",
		st.Requests, st.Parts, st.Retried, st.Throttled, st.Failed)
	return nil
}
