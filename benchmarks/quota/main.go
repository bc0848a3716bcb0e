// Command quota measures how well the quota package uses a rate limit it
// must not exceed. It starts a loopback HTTP server that enforces L requests
// per second per project and a per-user limit (token buckets holding one
// second's worth), answers 429 with a reason when a call is over, and counts
// acceptances and rejections. Against it, the same workload (N workers, one
// user each, calling as fast as they are let) runs through:
//
//	known     quota.New with the limits given as rules (in memory)
//	adaptive  quota.New() with no rules for the server's limits: the default
//	          adaptive rules of an API with unpublished limits ("directory")
//	shared    P separate OS processes (this program re-executed) sharing
//	          the known rules through one Redis
//	naive     no limiter; retry on 429 with GAM's exponential backoff
//	          (min(2^n, 60) s plus up to 1 s of jitter)
//
// Usage:
//
//	go run ./benchmarks/quota [-duration 20s] [-warmup 5s] [-modes known,adaptive,shared,naive] [-redis ADDR]
//
// Without -redis, the shared mode starts a redis-server (from PATH) on a free
// loopback port.
//
// For each mode it prints the server's answers over the whole run, the rate
// it accepted over L after the warm-up and over the whole run, and the share
// of its answers after the warm-up that were refusals. With -v it also prints
// each second's answers (accepted / refused for the project / refused for
// the user) and, for the adaptive mode, the project scope's effective rate at
// the end of each second and the limiter's Stats.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/quota/redisstore"
)

var (
	duration  = flag.Duration("duration", 20*time.Second, "length of each run")
	warmup    = flag.Duration("warmup", 5*time.Second, "part of the run not counted in the steady-state rate")
	workers   = flag.Int("workers", 20, "concurrent workers (one user each)")
	limit     = flag.Float64("limit", 50, "server limit L: requests per second per project")
	userLimit = flag.Float64("user-limit", 5, "server limit: requests per second per user")
	procs     = flag.Int("procs", 4, "processes in the shared mode")
	modes     = flag.String("modes", "known,adaptive,shared,naive", "comma-separated runs")
	verbose   = flag.Bool("v", false, "print each run's answers second by second, and the limiter's Stats after the adaptive run")
	redisAddr = flag.String("redis", "", "Redis address for the shared mode (default: start redis-server)")

	// Worker-process flags (the shared mode re-executes this program).
	worker     = flag.Bool("worker", false, "internal: run as a shared-mode worker process")
	serverURL  = flag.String("server", "", "internal: server URL")
	userOffset = flag.Int("user-offset", 0, "internal: first user index")
	prefix     = flag.String("prefix", "bench", "internal: Redis key prefix")
)

func main() {
	flag.Parse()
	if *worker {
		if err := runWorkerProcess(); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
		return
	}
	fmt.Printf("server: L = %g req/s per project, %g req/s per user; %d workers; %v per run (%v warm-up)\n\n",
		*limit, *userLimit, *workers, *duration, *warmup)
	fmt.Printf("%-9s %9s %9s %9s %10s %14s %14s %18s\n", "mode", "requests", "accepted", "rejected", "rejected%", "rate/L(steady)", "rate/L(whole)", "rejected%(steady)")
	failed := false
	for _, m := range strings.Split(*modes, ",") {
		res, err := run(strings.TrimSpace(m))
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", m, err)
			failed = true
			continue
		}
		if *verbose {
			fmt.Printf("  %s, second by second (accepted/rejected per project/rejected per user):", m)
			for i, sec := range res.perSec {
				if i%10 == 0 {
					fmt.Printf("\n   ")
				}
				fmt.Printf(" %d/%d/%d", sec[0], sec[1], sec[2])
			}
			fmt.Println()
		}
		fmt.Printf("%-9s %9d %9d %9d %9.2f%% %13.1f%% %13.1f%% %17.2f%%\n", m, res.total, res.accepted, res.rejected,
			100*float64(res.rejected)/float64(max(res.total, 1)), 100*res.steady / *limit, 100*res.whole / *limit,
			100*float64(res.steadyRejected)/float64(max(res.steadyTotal, 1)))
	}
	if failed {
		os.Exit(1)
	}
}

type result struct {
	total, accepted, rejected   int64
	steady, whole               float64 // accepted per second
	steadyTotal, steadyRejected int64   // answers after the warm-up
	perSec                      [][3]int64
}

func run(mode string) (result, error) {
	srv, url, err := startServer()
	if err != nil {
		return result{}, err
	}
	defer srv.close()
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	srv.start()
	switch mode {
	case "known":
		lim, err := quota.New(quota.WithoutDefaults(), quota.WithRules(knownRules()...))
		if err != nil {
			return result{}, err
		}
		runWorkers(ctx, url, "bench", lim, 0, *workers)
	case "adaptive":
		lim, err := quota.New() // told nothing about the server's limits
		if err != nil {
			return result{}, err
		}
		var rates []float64
		if *verbose {
			go func() {
				t := time.NewTicker(time.Second)
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-t.C:
					}
					for _, st := range lim.Stats() {
						if st.Rule == "directory.project.rate" {
							rates = append(rates, st.EffectiveRate)
						}
					}
				}
			}()
		}
		runWorkers(ctx, url, "directory", lim, 0, *workers)
		if *verbose {
			fmt.Printf("  the project's effective rate at the end of each second:")
			for i, r := range rates {
				if i%10 == 0 {
					fmt.Printf("\n   ")
				}
				fmt.Printf(" %.1f", r)
			}
			fmt.Println()
			for _, st := range lim.Stats() {
				fmt.Printf("  %s %q: configured %.1f/s effective %.1f/s waited %v admitted %d throttled %d\n",
					st.Rule, st.Key, st.ConfiguredRate, st.EffectiveRate, st.Waited.Round(time.Millisecond), st.Admitted, st.Throttled)
			}
		}
	case "naive":
		runWorkers(ctx, url, "bench", nil, 0, *workers)
	case "shared":
		if err := runShared(ctx, url); err != nil {
			return result{}, err
		}
	default:
		return result{}, fmt.Errorf("unknown mode %q", mode)
	}
	<-ctx.Done()
	return srv.result(), nil
}

func knownRules() []quota.Rule {
	return []quota.Rule{
		quota.Rate("bench.project", "bench", quota.PerProject, *limit, time.Second).Blames("rateLimitExceeded"),
		quota.Rate("bench.user", "bench", quota.PerUser, *userLimit, time.Second).Blames("userRateLimitExceeded"),
	}
}

// runWorkers runs n workers for users first..first+n-1 until ctx ends.
func runWorkers(ctx context.Context, url, api string, lim quota.Limiter, first, n int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n + 4}}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(user string) {
			defer wg.Done()
			fails := 0
			for ctx.Err() == nil {
				req := &quota.Request{API: api, Method: "users.get", Project: "bench", User: user}
				var rel quota.Release
				if lim != nil {
					var err error
					if rel, err = lim.Acquire(ctx, req); err != nil {
						return
					}
				}
				status, reason, err := call(ctx, client, url, user)
				if rel != nil {
					rel(quota.Outcome{Throttled: status == http.StatusTooManyRequests, Reason: reason, Err: err})
				}
				if lim == nil && status == http.StatusTooManyRequests {
					// GAM's waitOnFailure: min(2^n, 60) s + random(0.001, 1) s.
					fails++
					d := time.Duration(min(1<<fails, 60))*time.Second + time.Duration(rand.Float64()*float64(time.Second))
					select {
					case <-ctx.Done():
					case <-time.After(d):
					}
				} else if status == http.StatusOK {
					fails = 0
				}
			}
		}("user" + strconv.Itoa(first+i) + "@example.com")
	}
	wg.Wait()
}

func call(ctx context.Context, c *http.Client, url, user string) (int, string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/call?user="+user, nil)
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-Reason"), nil
}

func runShared(ctx context.Context, url string) error {
	addr := *redisAddr
	if addr == "" {
		a, stop, err := startRedis()
		if err != nil {
			return err
		}
		defer stop()
		addr = a
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	per := *workers / *procs
	pfx := fmt.Sprintf("bench-%d-%d", os.Getpid(), time.Now().UnixNano())
	deadline, _ := ctx.Deadline()
	var cmds []*exec.Cmd
	for p := 0; p < *procs; p++ {
		cmd := exec.Command(self, "-worker", "-server", url, "-redis", addr, "-prefix", pfx,
			"-workers", strconv.Itoa(per), "-user-offset", strconv.Itoa(p*per),
			"-limit", fmt.Sprint(*limit), "-user-limit", fmt.Sprint(*userLimit),
			"-duration", time.Until(deadline).String())
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		cmds = append(cmds, cmd)
	}
	var errs []error
	for _, c := range cmds {
		errs = append(errs, c.Wait())
	}
	return errors.Join(errs...)
}

func runWorkerProcess() error {
	rdb := redis.NewClient(&redis.Options{Addr: *redisAddr, PoolSize: *workers + 4})
	defer rdb.Close()
	lim, err := quota.New(quota.WithStore(redisstore.New(rdb, *prefix)),
		quota.WithoutDefaults(), quota.WithRules(knownRules()...))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	runWorkers(ctx, *serverURL, "bench", lim, *userOffset, *workers)
	return nil
}

// startRedis starts redis-server on a free loopback port.
func startRedis() (string, func(), error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, fmt.Errorf("shared mode needs -redis or redis-server on PATH: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(path, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	for i := 0; rdb.Ping(context.Background()).Err() != nil; i++ {
		if i > 500 {
			stop()
			return "", nil, errors.New("redis-server did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return addr, stop, nil
}

// server enforces the limits with token buckets holding one second's worth.
type server struct {
	mu       sync.Mutex
	hs       *http.Server
	begin    time.Time
	project  bucket
	users    map[string]*bucket
	total    atomic.Int64
	accepted atomic.Int64
	rejected atomic.Int64
	steady   atomic.Int64 // accepted after the warm-up, before the end
	// Answers after the warm-up, and per second (accepted, rejected for
	// the project, rejected for the user).
	steadyTotal, steadyRejected atomic.Int64
	perSec                      [][3]int64 // under mu
}

type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) fill(now time.Time, rate float64) {
	b.tokens = min(rate, b.tokens+now.Sub(b.last).Seconds()*rate) // burst = one second
	b.last = now
}

func startServer() (*server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	s := &server{users: map[string]*bucket{}}
	s.hs = &http.Server{Handler: s}
	go s.hs.Serve(ln)
	return s, "http://" + ln.Addr().String(), nil
}

func (s *server) start() {
	s.mu.Lock()
	s.begin = time.Now()
	s.project = bucket{tokens: *limit, last: s.begin}
	s.mu.Unlock()
}

func (s *server) close() { _ = s.hs.Close() }

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	now := time.Now()
	s.mu.Lock()
	elapsed := now.Sub(s.begin)
	u := s.users[user]
	if u == nil {
		u = &bucket{tokens: *userLimit, last: now}
		s.users[user] = u
	}
	u.fill(now, *userLimit)
	s.project.fill(now, *limit)
	reason := ""
	switch {
	case u.tokens < 1:
		reason = "userRateLimitExceeded"
	case s.project.tokens < 1:
		reason = "rateLimitExceeded"
	default:
		u.tokens--
		s.project.tokens--
	}
	if elapsed <= *duration {
		sec := int(elapsed / time.Second)
		for len(s.perSec) <= sec {
			s.perSec = append(s.perSec, [3]int64{})
		}
		switch reason {
		case "":
			s.perSec[sec][0]++
		case "rateLimitExceeded":
			s.perSec[sec][1]++
		default:
			s.perSec[sec][2]++
		}
	}
	s.mu.Unlock()
	if elapsed > *duration {
		// Past the end of the run: not counted.
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	s.total.Add(1)
	if elapsed >= *warmup {
		s.steadyTotal.Add(1)
	}
	if reason != "" {
		s.rejected.Add(1)
		if elapsed >= *warmup {
			s.steadyRejected.Add(1)
		}
		w.Header().Set("X-Reason", reason)
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	s.accepted.Add(1)
	if elapsed >= *warmup {
		s.steady.Add(1)
	}
	w.WriteHeader(http.StatusOK)
}

func (s *server) result() result {
	s.mu.Lock()
	perSec := append([][3]int64(nil), s.perSec...)
	s.mu.Unlock()
	return result{
		steadyTotal: s.steadyTotal.Load(), steadyRejected: s.steadyRejected.Load(), perSec: perSec,
		total: s.total.Load(), accepted: s.accepted.Load(), rejected: s.rejected.Load(),
		steady: float64(s.steady.Load()) / (*duration - *warmup).Seconds(),
		whole:  float64(s.accepted.Load()) / duration.Seconds(),
	}
}
