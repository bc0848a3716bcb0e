// Command transfer measures the migration engine against the in-process fake
// server:
//
//	go run ./benchmarks/transfer -mode throughput   # inserts/s as a fraction of the limit
//	go run ./benchmarks/transfer -mode rss          # peak RSS migrating a 1 GiB mbox
//
// Throughput: several groups are migrated with the fake's limits scaled up
// (-speed) and the client's quota layer told the same scaled limit; the
// rate between the first and the last insert is compared with the limit.
//
// RSS: a 1 GiB mbox with messages up to 25 MiB is generated on disk, the
// fake runs in this process, and the migration runs in a child process
// whose peak resident set (getrusage ru_maxrss) is reported.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"golang.org/x/oauth2"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
	"github.com/gwsadmin/workspace/workspacetest"
)

type childConfig struct {
	URL, Token string
	Jobs       []migrate.Job
	Limit      float64
	MemProfile string
	CPUProfile string
}

func main() {
	mode := flag.String("mode", "throughput", "throughput or rss")
	speed := flag.Float64("speed", 20, "throughput: the fake's limits are scaled by this (limit = 10×speed inserts/s)")
	groups := flag.Int("groups", 10, "throughput: groups migrated in parallel")
	duration := flag.Duration("duration", 20*time.Second, "throughput: planned length of the run")
	size := flag.Int64("size", 1<<30, "rss: bytes of mbox to generate")
	maxMsg := flag.Int64("max-message", 25<<20, "rss: largest message in the mbox")
	memprofile := flag.String("memprofile", "", "rss: the child writes the heap profile of its peak to this file")
	cpuprofile := flag.String("cpuprofile", "", "rss: the child writes its CPU profile to this file")
	child := flag.String("child", "", "internal: run a migration described by this JSON")
	flag.Parse()
	var err error
	switch {
	case *child != "":
		err = runChild(*child)
	case *mode == "throughput":
		err = throughput(*speed, *groups, *duration)
	case *mode == "rss":
		err = rss(*size, *maxMsg, *memprofile, *cpuprofile)
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func client(ctx context.Context, url, token string, limit float64) (*workspace.Client, error) {
	lim, err := quota.New(quota.WithRules(quota.Rate("groupsmigration.project.rate", workspace.APIGroupsMigration, quota.PerProject, limit, time.Second)))
	if err != nil {
		return nil, err
	}
	return workspace.NewClient(ctx, workspace.WithEndpoint(url),
		workspace.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token})),
		workspace.WithQuota(lim), workspace.WithRetry(func(o *retry.Options) {
			p := retry.DefaultPolicy(workspace.APIAudit)
			p.Initial, p.Max = 50*time.Millisecond, time.Second
			o.Default = p
		}))
}

func throughput(speed float64, groups int, duration time.Duration) error {
	limit := 10 * speed
	total := int(limit * duration.Seconds())
	srv := workspacetest.NewServer(workspacetest.WithSpeed(speed))
	defer srv.Close()
	dir, err := os.MkdirTemp("", "dt-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	msgs := mailgen.Messages(1, total)
	var jobs []migrate.Job
	per := total / groups
	for g := range groups {
		group := fmt.Sprintf("g%02d@%s", g, srv.Domain())
		srv.AddGroup(group)
		path := filepath.Join(dir, fmt.Sprintf("g%02d.mbox", g))
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := mailgen.WriteMbox(f, msgs[g*per:(g+1)*per], mailsource.MboxRD); err != nil {
			return err
		}
		f.Close()
		jobs = append(jobs, migrate.Job{Source: path, Target: group})
	}
	ctx := context.Background()
	core, err := client(ctx, srv.URL, srv.IssueToken(srv.AdminEmail(), "https://www.googleapis.com/auth/apps.groups.migration"), limit)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var first, last time.Time
	n := 0
	rep, err := datatransfer.New(core).Migrate(ctx, jobs, &migrate.Options{Workers: groups,
		Progress: func(ev migrate.Event) {
			if ev.Status != migrate.Inserted {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			now := time.Now()
			if n == 0 {
				first = now
			}
			last = now
			n++
		}})
	if err != nil {
		return err
	}
	st := srv.Stats()["groupsmigration"]
	rejected := 0
	for _, v := range st.Rejected {
		rejected += v
	}
	// n inserts span n-1 intervals.
	rate := float64(n-1) / last.Sub(first).Seconds()
	fmt.Printf("throughput: %d messages into %d groups, limit %.0f inserts/s (Google's 10/s ×%g)\n", rep.Inserted, groups, limit, speed)
	fmt.Printf("  achieved %.1f inserts/s = %.1f%% of the limit; server rejections %d of %d requests (%.2f%%); failed %d\n",
		rate, 100*rate/limit, rejected, st.Accepted+rejected, 100*float64(rejected)/float64(max(1, st.Accepted+rejected)), len(rep.Failed))
	return nil
}

func rss(size, maxMsg int64, memprofile, cpuprofile string) error {
	dir, err := os.MkdirTemp("", "dt-rss-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "big.mbox")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	n, err := mailgen.WriteLargeMbox(f, size, maxMsg)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	info, _ := os.Stat(path)
	// Tokens would expire after 1 h / speed: give them a day.
	srv := workspacetest.NewServer(workspacetest.WithSpeed(1000), workspacetest.WithProcessingDelay(0),
		workspacetest.WithTokenLifetime(24000*time.Hour))
	defer srv.Close()
	group := "big@" + srv.Domain()
	srv.AddGroup(group)
	cfg, _ := json.Marshal(childConfig{URL: srv.URL, Token: srv.IssueToken(srv.AdminEmail(), "https://www.googleapis.com/auth/apps.groups.migration"),
		Jobs: []migrate.Job{{Source: path, Target: group}}, Limit: 10000, MemProfile: memprofile, CPUProfile: cpuprofile})
	start := time.Now()
	cmd := exec.Command(os.Args[0], "-child", string(cfg))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return err
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	fmt.Printf("rss: migrated a %.2f GiB mbox (%d messages, largest up to %d MiB) in %s\n",
		float64(info.Size())/(1<<30), n, maxMsg>>20, time.Since(start).Round(time.Millisecond))
	fmt.Printf("  peak RSS of the migrating process: %.1f MiB; stored in the fake: %d messages\n",
		float64(ru.Maxrss)/1024, srv.GroupMessageCount(group))
	fmt.Printf("  CPU time of the migrating process: user %.2f s, system %.2f s\n",
		time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds())
	return nil
}

func runChild(cfgJSON string) error {
	var cfg childConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		return err
	}
	ctx := context.Background()
	core, err := client(ctx, cfg.URL, cfg.Token, cfg.Limit)
	if err != nil {
		return err
	}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	var stop func() error
	if cfg.MemProfile != "" {
		stop = peakProfile(cfg.MemProfile)
	}
	rep, err := datatransfer.New(core).Migrate(ctx, cfg.Jobs, nil)
	if err != nil {
		return err
	}
	if stop != nil {
		if err := stop(); err != nil {
			return err
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("  child: inserted %d (%.1f MB), duplicates %d, invalid %d, failed %d; Go HeapSys %.1f MiB\n",
		rep.Inserted, float64(rep.Bytes)/1e6, rep.Duplicates, len(rep.RefusedLocally), len(rep.Failed), float64(ms.HeapSys)/(1<<20))
	return nil
}

// peakProfile runs a goroutine that takes a heap profile every time the
// heap in use reaches a new peak (looked at every 5 ms, after a GC so the
// profile is current); the returned function stops it and writes the
// profile of the peak to path.
func peakProfile(path string) func() error {
	runtime.MemProfileRate = 64 << 10
	done := make(chan struct{})
	finished := make(chan []byte)
	go func() {
		var peak uint64
		var best []byte
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				finished <- best
				return
			case <-t.C:
			}
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak+peak/10 {
				peak = v
				var buf bytes.Buffer
				pprof.Lookup("heap").WriteTo(&buf, 0)
				best = buf.Bytes()
				fmt.Fprintf(os.Stderr, "  child: heap objects peak %.1f MiB\n", float64(v)/(1<<20))
			}
		}
	}()
	return func() error {
		close(done)
		return os.WriteFile(path, <-finished, 0o644)
	}
}
