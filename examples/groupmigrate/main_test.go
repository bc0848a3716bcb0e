package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/examples/internal/cli/clitest"
	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/workspacetest"
)

// result is one run of the program.
type result struct {
	code        int
	out, errOut string
	rep         *migrate.Report
}

// runWithReport runs the program with args and -report, and reads the
// report back.
func runWithReport(t *testing.T, args ...string) result {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.json")
	var out, errOut bytes.Buffer
	code := run(append(args, "-report", path), &out, &errOut)
	res := result{code: code, out: out.String(), errOut: errOut.String()}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no report (exit %d): %v\nstdout:\n%s\nstderr:\n%s", code, err, res.out, res.errOut)
	}
	res.rep = new(migrate.Report)
	if err := json.Unmarshal(data, res.rep); err != nil {
		t.Fatal(err)
	}
	return res
}

func (r result) dump() string { return "stdout:\n" + r.out + "\nstderr:\n" + r.errOut }

// accounted checks that every message read has exactly one outcome, and
// that the program printed that sum.
func accounted(t *testing.T, r result, want int) {
	t.Helper()
	rep := r.rep
	sum := rep.Inserted + rep.Duplicates + rep.Resumed + len(rep.RefusedLocally) + len(rep.RefusedByGoogle) + len(rep.Failed) + len(rep.Pending)
	if rep.Messages != want || sum != want {
		t.Errorf("messages read %d, outcomes %d, want %d", rep.Messages, sum, want)
	}
	if !strings.Contains(r.out, fmt.Sprintf("  %d messages read = %d stored + ", want, rep.Inserted)) || strings.Contains(r.out, "WARNING") {
		t.Errorf("the accounting line is missing or warns:\n%s", r.out)
	}
}

// demoMessages is how many messages the demo's sources hold with
// -messages n, and the generated list archive's facts.
func demoMessages(n int) (int, mailgen.SampleInfo) {
	msgs, info := mailgen.Sample(1, n)
	_, count := netscapeFolder()
	return len(msgs) + 1 + len(exportedMessages()) + maildirMessages + len(bounceMessages()) + count, info
}

func refusedKeys(items []migrate.Item) []string {
	var keys []string
	for _, it := range items {
		keys = append(keys, filepath.Base(it.Key))
	}
	slices.Sort(keys)
	return keys
}

func hasRepair(items []migrate.Item, key, repair string) bool {
	return slices.ContainsFunc(items, func(it migrate.Item) bool {
		return filepath.Base(it.Key) == key && slices.Contains(it.Repairs, repair)
	})
}

// The demo end to end with the default policy, then again with the same
// folder: the journals say everything is done, so nothing is sent.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("migrates 3,500 messages")
	}
	t.Parallel()
	dir := t.TempDir()
	total, info := demoMessages(3000)
	first := runWithReport(t, "-speed", "500", "-demo-dir", dir, "-v")
	if first.code != 0 {
		t.Fatalf("exit %d\n%s", first.code, first.dump())
	}
	rep := first.rep
	accounted(t, first, total)
	refused := 3 // the message over 25 MiB and the two without a Date
	if rep.Inserted != total-len(info.Duplicates)-refused || rep.Duplicates != len(info.Duplicates) ||
		len(rep.Failed) != 0 || len(rep.Pending) != 0 || len(rep.RefusedByGoogle) != 0 || !rep.OK() {
		t.Errorf("report: %d stored, %d duplicates, %d failed, %d pending, %d refused by Google, stopped %q\n%s",
			rep.Inserted, rep.Duplicates, len(rep.Failed), len(rep.Pending), len(rep.RefusedByGoogle), rep.Stopped, first.dump())
	}
	wantRefused := []string{fmt.Sprintf("%s#%d", demoArchive, info.MalformedIndex), "2019-04-30 Re minutes.eml",
		fmt.Sprintf("%s#%d", demoArchive, 3000*3/5)}
	slices.Sort(wantRefused)
	if got := refusedKeys(rep.RefusedLocally); !slices.Equal(got, wantRefused) {
		t.Errorf("refused locally %q, want %q", got, wantRefused)
	}
	for _, it := range rep.RefusedLocally {
		if it.Field != "Date" && it.Field != "size" {
			t.Errorf("refused for %q: %+v", it.Field, it)
		}
	}
	_, netscape := netscapeFolder()
	for g, want := range map[string]int{groupPostmaster: len(bounceMessages()), groupLegacy: netscape, groupAnnounce: maildirMessages} {
		if c := rep.Targets[g+"@example.com"]; c == nil || c.Inserted != want || c.Stopped != "" {
			t.Errorf("%s: %+v, want %d stored", g, c, want)
		}
	}
	// Both messages with one Message-ID are stored; the second is listed.
	for _, l := range [][]migrate.Item{rep.RefusedLocally, rep.RefusedByGoogle, rep.Failed} {
		for _, it := range l {
			if strings.HasPrefix(filepath.Base(it.Key), "nightly-report") {
				t.Errorf("not stored: %+v", it)
			}
		}
	}
	if len(rep.SameMessageID) != 1 || "<"+rep.SameMessageID[0].MessageID+">" != sharedMessageID ||
		!strings.Contains(first.out, "same Message-ID, different content: 1") {
		t.Errorf("same Message-ID: %+v", rep.SameMessageID)
	}
	if !hasRepair(rep.Repaired, "03-postfix-mailbox-full.eml", migrate.RepairEnvelopeLine) {
		t.Errorf("the bounce saved with its envelope line is not listed as repaired")
	}
	if rep.RepairCounts[mailsource.FixContentLength.String()] != 1 {
		t.Errorf("repairs %v: the Netscape message kept whole by its Content-Length is missing", rep.RepairCounts)
	}
	// With faults injected, some inserts were retried and some messages
	// sent again after a dropped connection.
	for _, want := range []string{"retries: ", "after 500", "faults the fake injected: ", "the fake's archives hold ",
		"refused locally, not sent:       3", "per group:", "journal problems: none", "rate: "} {
		if !strings.Contains(first.out, want) {
			t.Errorf("summary lacks %q:\n%s", want, first.out)
		}
	}
	if len(rep.PossibleDuplicates) == 0 || !strings.Contains(first.out, fmt.Sprintf("possible duplicates:             %d", len(rep.PossibleDuplicates))) {
		t.Errorf("no possible duplicates reported (%d)\n%s", len(rep.PossibleDuplicates), first.out)
	}

	again := runWithReport(t, "-speed", "500", "-demo-dir", dir)
	if again.code != 0 {
		t.Fatalf("resume: exit %d\n%s", again.code, again.dump())
	}
	accounted(t, again, total)
	if r := again.rep; r.Inserted != 0 || r.Resumed != rep.Inserted || r.Duplicates != rep.Duplicates || len(r.RefusedLocally) != refused {
		t.Errorf("resume: %d stored, %d done before (want %d), %d duplicates, %d refused", r.Inserted, r.Resumed, rep.Inserted, r.Duplicates, len(r.RefusedLocally))
	}
	if !strings.Contains(again.out, "requests: none sent") {
		t.Errorf("resume sent requests:\n%s", again.out)
	}
}

// The Repair policy stores the messages without a Date, with the date of
// their envelope line or newest Received header; -dedupe message-id skips
// the second message with a known Message-ID; -v shows retries and
// refusals; -fail-on-refused turns the oversized message into exit 1.
func TestDemoRepair(t *testing.T) {
	if testing.Short() {
		t.Skip("migrates 1,100 messages")
	}
	t.Parallel()
	const sample = 600
	total, info := demoMessages(sample)
	res := runWithReport(t, "-speed", "500", "-messages", fmt.Sprint(sample),
		"-policy", "repair", "-dedupe", "message-id", "-v", "-fail-on-refused")
	if res.code != 1 || !strings.Contains(res.out, "Exit status 1: messages were refused (-fail-on-refused).") {
		t.Errorf("exit %d, want 1 for the refused message\n%s", res.code, res.dump())
	}
	rep := res.rep
	accounted(t, res, total)
	if !rep.OK() || len(rep.RefusedLocally) != 1 || rep.RefusedLocally[0].Field != "size" {
		t.Errorf("want only the oversized message refused, and nothing failed: %+v\n%s", rep.RefusedLocally, res.dump())
	}
	if !hasRepair(rep.Repaired, "2019-04-30 Re minutes.eml", migrate.RepairDateReceived) {
		t.Errorf("the .eml without a Date was not stored with the date of its Received header: %v", rep.RepairCounts)
	}
	key := fmt.Sprintf("%s#%d", demoArchive, info.MalformedIndex)
	if !hasRepair(rep.Repaired, key, migrate.RepairDateEnvelope) {
		t.Errorf("%s was not stored with the date of its envelope line: %v", key, rep.RepairCounts)
	}
	if rep.Duplicates != len(info.Duplicates)+1 || len(rep.SameMessageID) != 0 {
		t.Errorf("%d duplicates, want %d (the second nightly report too); same Message-ID %+v",
			rep.Duplicates, len(info.Duplicates)+1, rep.SameMessageID)
	}
	for _, want := range []string{"refused locally: archive@example.com: " + demoArchive + " message #", ": size: ", "retry: ", "next attempt in "} {
		if !strings.Contains(res.errOut, want) {
			t.Errorf("-v output lacks %q:\n%s", want, res.errOut)
		}
	}
}

// A group that does not exist: Google refuses its first messages, the
// group stops, the others go on, and the exit status is 1.
func TestStoppedGroup(t *testing.T) {
	t.Parallel()
	srv := workspacetest.NewServer(workspacetest.WithoutAuth(), workspacetest.WithSpeed(100))
	defer srv.Close()
	srv.AddGroup("real@" + srv.Domain())
	dir := t.TempDir()
	src := filepath.Join(dir, "small.mbox")
	var buf bytes.Buffer
	if err := mailgen.WriteMbox(&buf, mailgen.Messages(3, 8), mailsource.MboxRD); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runWithReport(t, "-endpoint", srv.URL, "-map", src+"=missing@"+srv.Domain(), "-map", src+"=real@"+srv.Domain())
	if res.code != 1 {
		t.Errorf("exit %d, want 1\n%s", res.code, res.dump())
	}
	rep := res.rep
	accounted(t, res, rep.Messages)
	if c := rep.Targets["missing@"+srv.Domain()]; c == nil || c.Stopped == "" || c.Inserted != 0 {
		t.Errorf("missing group: %+v", c)
	}
	if c := rep.Targets["real@"+srv.Domain()]; c == nil || c.Inserted != 8 || c.Stopped != "" {
		t.Errorf("real group: %+v", c)
	}
	for _, want := range []string{"STOPPED: ", "[NOT FINAL", "1 group(s) stopped early"} {
		if !strings.Contains(res.out, want) {
			t.Errorf("output lacks %q\n%s", want, res.dump())
		}
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-source", "x.mbox"},                                       // no group, but demo mode refuses sources too
		{"-credentials", "sa.json"},                                 // no sources
		{"-credentials", "sa.json", "-map", "a.mbox=g@example.com"}, // no subject
		{"-map", "nogroup", "-endpoint", "http://127.0.0.1:1"},
		{"-speed", "0"},
		{"-faults", "1.5"},
		{"-messages", "10"},
		{"-strict"},
		{"-policy", "lenient"},
		{"-dedupe", "subject"},
		{"-format", "maildir"},
		{"-workers", "0"},
		{"-bogus"},
		{"stray-argument"},
		{"-endpoint", "http://127.0.0.1:1", "-demo-dir", "d", "-map", "a.mbox=g@example.com"},
		// Jobs refused before any request.
		{"-endpoint", "http://127.0.0.1:1", "-map", filepath.Join(t.TempDir(), "missing.mbox") + "=g@example.com"},
		{"-endpoint", "http://127.0.0.1:1", "-map", "main.go=not-an-address"},
		// Connection flags checked before any request.
		{"-endpoint", "127.0.0.1:1", "-map", "main.go=g@example.com"},
		{"-endpoint", "http://relay.example.com", "-map", "main.go=g@example.com"},
		{"-credentials", "main.go", "-subject", "admin@example.com", "-map", "main.go=g@example.com"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("run(%q) = %d, want 2 (stderr %q)", args, code, errOut.String())
		}
	}
}

// The summary warns, and the exit status is 1, when the outcomes do not
// add up to the messages read; sources that could not be read are not
// messages.
func TestSummaryAccounting(t *testing.T) {
	rep := &migrate.Report{Messages: 5, Inserted: 3, Duplicates: 1,
		SourceErrors: []migrate.Item{{Source: "/a.mbox", Key: "/a.mbox", Index: -1, Reason: "cannot open source"}},
		Targets:      map[string]*migrate.TargetCounts{"g@example.com": {Inserted: 3, Duplicates: 1}}}
	var out bytes.Buffer
	s := summary{w: &out, r: rep, limit: 10}
	if s.print() || !strings.Contains(out.String(), "WARNING: these outcomes add up to 4, not to the 5 messages read") {
		t.Errorf("no warning:\n%s", out.String())
	}
	rep.Messages = 4
	out.Reset()
	if !s.print() || strings.Contains(out.String(), "WARNING") || !strings.Contains(out.String(), "sources not read to the end:     1") {
		t.Errorf("balanced report:\n%s", out.String())
	}
}

// A closed port fails fast, naming the host: exit 1.
func TestClosedPort(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "list.mbox")
	if err := os.WriteFile(src, []byte("From a@example.net Mon Mar  2 10:00:00 2026\nFrom: a@example.net\nTo: g@example.com\nSubject: hi\nDate: Mon, 2 Mar 2026 10:00:00 +0000\nMessage-ID: <1@example.net>\n\nHello.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host := clitest.ClosedPort(t)
	waits := clitest.RecordWaits(t, nil)
	var out, errOut bytes.Buffer
	start := time.Now()
	code := run([]string{"-endpoint", "http://" + host, "-map", src + "=g@example.com", "-journal", filepath.Join(dir, "j")}, &out, &errOut)
	// The engine sends each insert once and requeues it itself; its
	// waits go through the client's sleeper like the retry layer's, so
	// they are recorded here and take no real time. The summary names
	// the host and says why it stopped.
	took := time.Since(start)
	t.Logf("waits %v, took %v", waits.List(), took)
	if code != cli.ExitFailed || !strings.Contains(out.String(), host) || !strings.Contains(out.String(), "No connection could be made") ||
		len(waits.List()) == 0 || waits.Total() > 5*time.Second || took > 20*time.Second {
		t.Errorf("exit %d, waits %v, took %v\n%s\n%s", code, waits.List(), took, out.String(), errOut.String())
	}
}
