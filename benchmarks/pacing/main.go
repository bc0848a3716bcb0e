// Command pacing measures how the quota package paces itself to the limit a
// server actually enforces (issues 15 and 17). It runs, at the same time and
// each against its own server:
//
//   - Gmail scenarios against the workspacetest fake, through the library's
//     gmail client and the default limiter (every documented rate adapts,
//     with the documented rate as its ceiling), and through today's
//     behaviour for comparison (quota.AdaptiveUnknown: documented rates
//     taken as a promise). The user's real limit is either the documented
//     one (15,000 units a minute, the fake's default, a minute's burst) or a
//     fifth of it (3,000 units a minute, a second's burst:
//     workspacetest.SetGmailUserLimit). The workload is either single
//     messages.get calls (4 goroutines) or GetMany over 600 messages in
//     HTTP batches (Gmail's Batch, Size 50), in a loop.
//   - The quota bench's unknown-limits comparison (see benchmarks/quota): a
//     loopback server enforcing 50 requests/s per project and 5 per user
//     (one second's burst, 429 with a reason), 20 workers, one user each,
//     paced by a limiter that knows the limits ("known") or by the default
//     adaptive rules of an API whose limits are not published ("adaptive").
//
// The server counts what it accepted and refused; the figures are taken
// after each warm-up (5 s and 10 s) until the end.
//
// Usage:
//
//	go run ./benchmarks/pacing [-duration 40s] [-scenarios gmail,quota]
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/gmail"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/workspacetest"
)

var (
	duration  = flag.Duration("duration", 40*time.Second, "length of the run (every scenario runs at once)")
	scenarios = flag.String("scenarios", "gmail,quota", "comma-separated: gmail, quota")
	verbose   = flag.Bool("v", false, "print each scenario's refusals second by second")
	warmups   = []time.Duration{5 * time.Second, 10 * time.Second}
)

// figures is what a server saw after one warm-up.
type figures struct {
	warmup             time.Duration
	accepted, refused  int64
	use                float64 // accepted units per second / the real limit
	refusedOfAnswered  float64 // refused / (accepted + refused)
	wholeRefused, sent int64   // over the whole run
}

type row struct {
	name   string
	figs   []figures
	note   string
	series []string
}

func main() {
	flag.Parse()
	fmt.Printf("pacing: %v per run, all scenarios at once; warm-ups %v\n\n", *duration, warmups)
	var (
		mu   sync.Mutex
		rows []row
		wg   sync.WaitGroup
	)
	add := func(r row) {
		mu.Lock()
		rows = append(rows, r)
		mu.Unlock()
	}
	for _, sc := range strings.Split(*scenarios, ",") {
		switch strings.TrimSpace(sc) {
		case "gmail":
			for _, fifth := range []bool{false, true} {
				for _, batch := range []bool{false, true} {
					for _, mode := range []quota.AdaptiveMode{quota.AdaptiveAll, quota.AdaptiveUnknown} {
						wg.Go(func() {
							r, err := runGmail(fifth, batch, mode)
							if err != nil {
								fmt.Fprintln(os.Stderr, r.name+":", err)
							}
							add(r)
						})
					}
				}
			}
		case "quota":
			for _, m := range []string{"known", "adaptive"} {
				wg.Go(func() { add(runQuota(m)) })
			}
		default:
			fmt.Fprintf(os.Stderr, "unknown scenario %q\n", sc)
			os.Exit(2)
		}
	}
	wg.Wait()
	fmt.Printf("%-44s | %-30s | %-30s | %s\n", "scenario", "after 5 s warm-up", "after 10 s warm-up", "whole run")
	fmt.Printf("%-44s | %-30s | %-30s | %s\n", "", "use of real limit, refused", "use of real limit, refused", "refused / answered")
	sortRows(rows)
	for _, r := range rows {
		fmt.Printf("%-44s", r.name)
		for _, f := range r.figs {
			fmt.Printf(" | %12.1f%% %15.2f%%", 100*f.use, 100*f.refusedOfAnswered)
		}
		if len(r.figs) > 0 {
			f := r.figs[0]
			fmt.Printf(" | %d / %d", f.wholeRefused, f.sent)
		}
		if r.note != "" {
			fmt.Printf("  (%s)", r.note)
		}
		fmt.Println()
		if *verbose {
			fmt.Printf("    accepted/refused each second: %s\n", strings.Join(r.series, " "))
		}
	}
}

func sortRows(rows []row) {
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && rows[j].name < rows[j-1].name; j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
}

// sampler takes the server's counters at each warm-up and at the end.
type sampler struct {
	get    func() (accepted, refused int64)
	rate   func() float64 // the limiter's effective rate, for -v
	begin  time.Time
	at     []struct{ acc, ref int64 }
	series []string // accepted/refused in each second
}

func (s *sampler) run(ctx context.Context) {
	s.begin = time.Now()
	var pa, pr int64
	for sec := 1; ; sec++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(s.begin.Add(time.Duration(sec) * time.Second))):
		}
		a, r := s.get()
		if s.rate != nil {
			s.series = append(s.series, fmt.Sprintf("%d/%d@%.0f", a-pa, r-pr, s.rate()))
		} else {
			s.series = append(s.series, fmt.Sprintf("%d/%d", a-pa, r-pr))
		}
		pa, pr = a, r
		for _, w := range warmups {
			if time.Duration(sec)*time.Second == w {
				s.at = append(s.at, struct{ acc, ref int64 }{a, r})
			}
		}
	}
}

func (s *sampler) figures(limit, unitsPerCall float64) []figures {
	acc, ref := s.get()
	el := time.Since(s.begin)
	var out []figures
	for i, w := range warmups {
		if i >= len(s.at) {
			break
		}
		da, dr := acc-s.at[i].acc, ref-s.at[i].ref
		out = append(out, figures{
			warmup: w, accepted: da, refused: dr,
			use:               float64(da) * unitsPerCall / (el - w).Seconds() / limit,
			refusedOfAnswered: float64(dr) / float64(max(da+dr, 1)),
			wholeRefused:      ref, sent: acc + ref,
		})
	}
	return out
}

const (
	documentedUserUnits = 15000 // units a minute, Gmail legacy regime
	getCost             = 5     // messages.get, legacy regime
	messages            = 600
)

// runGmail runs one Gmail scenario until the end of the run.
func runGmail(fifth, batch bool, mode quota.AdaptiveMode) (row, error) {
	name := "gmail documented limit"
	limit := float64(documentedUserUnits) / 60
	if fifth {
		name = "gmail limit a fifth"
		limit /= 5
	}
	if batch {
		name += ", GetMany batches"
	} else {
		name += ", single gets"
	}
	if mode == quota.AdaptiveAll {
		name += ", adaptive"
	} else {
		name += ", today (fixed)"
	}
	r := row{name: name}
	srv := workspacetest.NewServer(workspacetest.WithProcessingDelay(0))
	defer srv.Close()
	user := "alice@" + strings.TrimPrefix(srv.AdminEmail(), "admin@")
	srv.AddUser(user)
	if fifth {
		srv.SetGmailUserLimit(user, workspacetest.GmailLimit{UnitsPerMinute: documentedUserUnits / 5})
	}
	ids := make([]string, messages)
	for i := range ids {
		ids[i] = srv.AddGmailMessage(user, fmt.Appendf(nil, "From: bob@example.org\r\nTo: %s\r\nSubject: m%d\r\n"+
			"Message-ID: <m%d@example.org>\r\n\r\nBody %d\r\n", user, i, i, i), "INBOX")
	}
	lim, err := quota.New(quota.WithAdaptive(mode))
	if err != nil {
		return r, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	core, err := workspace.NewClient(ctx, workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()),
		workspace.WithScopes(auth.ScopeGmailFull), workspace.WithQuota(lim))
	if err != nil {
		return r, err
	}
	g := gmail.New(core)
	smp := &sampler{get: func() (int64, int64) {
		st := srv.Stats()["gmail"]
		var ref int64
		for _, n := range st.Rejected {
			ref += int64(n)
		}
		return int64(st.Accepted), ref
	}, rate: func() float64 {
		for _, st := range lim.Stats() {
			if st.Rule == "gmail.user.rate" {
				return st.EffectiveRate
			}
		}
		return 0
	}}
	var wg sync.WaitGroup
	wg.Go(func() { smp.run(ctx) })
	var failed atomic.Int64
	if batch {
		wg.Go(func() {
			for ctx.Err() == nil {
				msgs, _ := g.Messages.GetMany(ctx, user, ids, &gmail.GetOptions{Format: "minimal"})
				for _, m := range msgs {
					if m == nil && ctx.Err() == nil {
						failed.Add(1)
					}
				}
			}
		})
	} else {
		for w := range 4 {
			wg.Go(func() {
				for i := w; ctx.Err() == nil; i += 4 {
					if _, err := g.Messages.Get(ctx, user, ids[i%len(ids)], &gmail.GetOptions{Format: "minimal"}); err != nil && ctx.Err() == nil {
						failed.Add(1)
					}
				}
			})
		}
	}
	<-ctx.Done()
	r.figs = smp.figures(limit, getCost)
	wg.Wait()
	r.series = smp.series
	r.note = fmt.Sprintf("%d calls failed after retries", failed.Load())
	if batch {
		st := g.BatchStats()
		r.note += fmt.Sprintf("; %d batch requests, %.1f calls each", st.Requests, float64(st.Parts)/float64(max(st.Requests, 1)))
	}
	return r, nil
}

// The quota bench's server: 50 requests/s per project and 5 per user, token
// buckets holding one second's worth; 20 workers, one user each.
const (
	benchLimit     = 50.0
	benchUserLimit = 5.0
	benchWorkers   = 20
)

func runQuota(mode string) row {
	r := row{name: "quota bench unknown limits, " + mode}
	srv, url, err := startBenchServer()
	if err != nil {
		r.note = err.Error()
		return r
	}
	defer srv.hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	var lim *quota.RuleLimiter
	api := "directory" // default adaptive rules of an API with unpublished limits
	if mode == "known" {
		api = "bench"
		lim, err = quota.New(quota.WithoutDefaults(), quota.WithRules(
			quota.Rate("bench.project", "bench", quota.PerProject, benchLimit, time.Second).Blames("rateLimitExceeded"),
			quota.Rate("bench.user", "bench", quota.PerUser, benchUserLimit, time.Second).Blames("userRateLimitExceeded")))
	} else {
		lim, err = quota.New()
	}
	if err != nil {
		r.note = err.Error()
		return r
	}
	smp := &sampler{get: func() (int64, int64) { return srv.accepted.Load(), srv.rejected.Load() }}
	var wg sync.WaitGroup
	wg.Go(func() { smp.run(ctx) })
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchWorkers + 4}}
	for i := range benchWorkers {
		user := "user" + strconv.Itoa(i) + "@example.com"
		wg.Go(func() {
			for ctx.Err() == nil {
				rel, err := lim.Acquire(ctx, &quota.Request{API: api, Method: "users.get", Project: "bench", User: user})
				if err != nil {
					return
				}
				status, reason, err := benchCall(ctx, client, url, user)
				rel(quota.Outcome{Throttled: status == http.StatusTooManyRequests, Reason: reason, Err: err})
			}
		})
	}
	<-ctx.Done()
	r.figs = smp.figures(benchLimit, 1)
	wg.Wait()
	r.series = smp.series
	return r
}

func benchCall(ctx context.Context, c *http.Client, url, user string) (int, string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/call?user="+user, nil)
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Reason"), nil
}

type benchServer struct {
	hs                 *http.Server
	mu                 sync.Mutex
	project            bucket
	users              map[string]*bucket
	accepted, rejected atomic.Int64
}

type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time, rate float64) bool {
	if b.last.IsZero() {
		b.tokens, b.last = rate, now
	}
	b.tokens = min(rate, b.tokens+now.Sub(b.last).Seconds()*rate) // burst = one second
	b.last = now
	return b.tokens >= 1
}

func startBenchServer() (*benchServer, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	s := &benchServer{users: map[string]*bucket{}}
	s.hs = &http.Server{Handler: s}
	go func() { _ = s.hs.Serve(ln) }()
	return s, "http://" + ln.Addr().String(), nil
}

func (s *benchServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	now := time.Now()
	s.mu.Lock()
	u := s.users[user]
	if u == nil {
		u = &bucket{}
		s.users[user] = u
	}
	reason := ""
	switch uok, pok := u.take(now, benchUserLimit), s.project.take(now, benchLimit); {
	case !uok:
		reason = "userRateLimitExceeded"
	case !pok:
		reason = "rateLimitExceeded"
	default:
		u.tokens--
		s.project.tokens--
	}
	s.mu.Unlock()
	if reason != "" {
		s.rejected.Add(1)
		w.Header().Set("X-Reason", reason)
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	s.accepted.Add(1)
}
