// Command migration measures and checks the migration engine (package
// migrate, through datatransfer's group archive sink) against the
// in-process fake Google (workspacetest):
//
//	go run ./benchmarks/migration -mode corpus   # real bounce mail: acceptance, repairs, policies
//	go run ./benchmarks/migration -mode faults   # throughput at the real limit under 5% faults
//	go run ./benchmarks/migration -mode crash    # SIGKILL mid-run, resume from the journal
//
// corpus migrates ../shared/corpus/sisimai-err (bounces.mbox and eml/)
// with each policy, decides with its own code which messages Google's
// documents accept, and checks that exactly those arrive, once each, with
// their repairs reported; synthetic edge cases follow (-edge-cases=false
// skips them). faults migrates 3 groups of generated mail at Google's real
// limit (10 inserts/s per project, a 200 ms processing time per insert so
// that one group alone cannot reach it) with 5% server faults, through the
// engine and through a simple one-goroutine-per-group loop, side by side.
// crash kills a child migration with SIGKILL and resumes it.
//
// Every mode prints its figures and a list of checks, and exits with
// status 1 when a check fails. The checks are written here, independently
// of the library's own: which messages Google's documents accept, which
// messages the fake stored and how often, whether the report adds up.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	if os.Getenv(childEnv) != "" {
		if err := crashChild(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		return
	}
	mode := flag.String("mode", "", "corpus, faults or crash")
	corpus := flag.String("corpus", "", "corpus: folder with bounces.mbox and eml/ (default ../shared/corpus/sisimai-err from the module root)")
	perGroup := flag.Int("messages", 150, "faults: messages per group (3 groups)")
	delay := flag.Duration("processing-delay", 200*time.Millisecond, "faults: the fake's processing time per insert, during which the group is busy")
	faultRate := flag.Float64("fault-rate", 0.05, "faults: share of groupsmigration requests that get a fault")
	seed := flag.Int64("seed", 11, "faults: seed of the fault plan and of the generated mail")
	edge := flag.Bool("edge-cases", true, "corpus: also migrate synthetic edge cases (not part of the corpus) and check them the same way")
	trials := flag.Int("trials", 3, "crash: kill-and-resume rounds, each killing at a different point")
	crashMsgs := flag.Int("crash-messages", 150, "crash: messages per group (3 groups)")
	flag.Parse()

	c := &checks{}
	fmt.Printf("load average at start: %s\n", loadAverage())
	var err error
	switch *mode {
	case "corpus":
		err = corpusMode(c, *corpus)
		if err == nil && *edge {
			section("Synthetic edge cases (not part of the corpus), default policy")
			err = edgeMode(c)
		}
	case "faults":
		err = faultsMode(c, faultsConfig{perGroup: *perGroup, delay: *delay, rate: *faultRate, seed: *seed})
	case "crash":
		err = crashMode(c, *trials, *crashMsgs)
	default:
		fmt.Fprintln(os.Stderr, "usage: migration -mode corpus|faults|crash [flags]")
		flag.PrintDefaults()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "migration:", err)
		os.Exit(1)
	}
	fmt.Println()
	fmt.Printf("load average at the end: %s\n", loadAverage())
	fmt.Printf("checks: %d passed, %d failed\n", c.passed, c.failed)
	if c.failed > 0 {
		os.Exit(1)
	}
}

// checks prints each check as it is made and counts the failures.
type checks struct {
	passed, failed int
}

// check records one check; detail says what was compared.
func (c *checks) check(ok bool, name, detail string, args ...any) bool {
	status := "PASS"
	if ok {
		c.passed++
	} else {
		status = "FAIL"
		c.failed++
	}
	line := fmt.Sprintf("  %s  %s", status, name)
	if detail != "" {
		line += ": " + fmt.Sprintf(detail, args...)
	}
	fmt.Println(line)
	return ok
}

// section prints a heading.
func section(title string) {
	fmt.Println()
	fmt.Println(title)
	fmt.Println(strings.Repeat("-", len(title)))
}

// pct formats a/b as a percentage.
func pct(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*a/b)
}

// loadAverage returns the machine's 1, 5 and 15 minute load averages, for
// judging how far wall-clock figures can be trusted.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
