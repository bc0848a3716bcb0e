package datatransfer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/workspacetest"
)

func dropHeader(msg []byte, name string) []byte {
	lines := strings.SplitAfter(string(msg), "\n")
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, name+":") {
			out = append(out, l)
		}
	}
	return []byte(strings.Join(out, ""))
}

// fixture writes three sources of different kinds, each with one invalid
// message, and returns the jobs and the valid messages per group.
func fixture(t *testing.T) ([]migrate.Job, map[string][][]byte) {
	dir := t.TempDir()
	all := mailgen.Messages(7, 150)
	a, b, c := all[:60], all[60:110], all[110:]
	badA := dropHeader(all[0], "From")
	badB := dropHeader(all[1], "Date")
	mboxA := writeMbox(t, dir, "a.mbox", append(slices.Clone(a[:30]), append([][]byte{append([]byte(nil), badA...)}, a[30:]...)...))
	// Messages in B must not collide with A's Message-IDs: all[1] is in A.
	badB = bytes.Replace(badB, []byte("Message-ID: <"), []byte("Message-ID: <bad-"), 1)
	emlDir := filepath.Join(dir, "b-eml")
	if err := mailgen.WriteEMLDir(emlDir, append(slices.Clone(b), badB)); err != nil {
		t.Fatal(err)
	}
	maildir := filepath.Join(dir, "c-maildir")
	if err := mailgen.WriteMaildir(maildir, c); err != nil {
		t.Fatal(err)
	}
	jobs := []migrate.Job{
		{Source: mboxA, Target: "alpha@example.com"},
		{Source: emlDir, Target: "beta@example.com"},
		{Source: maildir, Target: "beta@example.com"},
		{Source: maildir, Target: "gamma@example.com"},
	}
	want := map[string][][]byte{
		"alpha@example.com": a,
		"beta@example.com":  append(slices.Clone(b), c...),
		"gamma@example.com": c,
	}
	return jobs, want
}

func seedGroups(srv *workspacetest.Server, want map[string][][]byte) {
	for g := range want {
		srv.AddGroup(g)
	}
}

func TestMigrateSeveralSourcesExactlyOnce(t *testing.T) {
	e := newEnv(t, nil)
	jobs, want := fixture(t)
	seedGroups(e.srv, want)
	var events atomic.Int32
	rep, err := e.dt.Migrate(t.Context(), jobs, &migrate.Options{
		Progress: func(migrate.Event) { events.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for g, msgs := range want {
		if diff := cmp.Diff(ids(msgs), stored(e.srv, g)); diff != "" {
			t.Errorf("group %s (-want +got):\n%s", g, diff)
		}
		if d := e.srv.Duplicates(g); len(d) != 0 {
			t.Errorf("group %s duplicates %v", g, d)
		}
	}
	if rep.Inserted != 60+90+40 || len(rep.RefusedLocally) != 2 || len(rep.Failed) != 0 || !rep.OK() {
		t.Errorf("report: inserted %d invalid %d failed %d stopped %q", rep.Inserted, len(rep.RefusedLocally), len(rep.Failed), rep.Stopped)
	}
	fields := []string{rep.RefusedLocally[0].Field, rep.RefusedLocally[1].Field}
	slices.Sort(fields)
	if diff := cmp.Diff([]string{"Date", "From"}, fields); diff != "" {
		t.Errorf("invalid fields (-want +got):\n%s", diff)
	}
	if rep.RefusedLocally[0].Index < 0 || rep.RefusedLocally[0].Reason == "" {
		t.Errorf("invalid item lacks position or reason: %+v", rep.RefusedLocally[0])
	}
	if int(events.Load()) != 190+2 {
		t.Errorf("progress events %d, want 192", events.Load())
	}
	// The invalid messages never reached the server.
	st := e.srv.Stats()["groupsmigration"]
	if st.Accepted != 190 || len(st.Rejected) != 0 {
		t.Errorf("server stats %+v", st)
	}

	// A second run with the same journals sends nothing.
	rep2, err := e.dt.Migrate(t.Context(), jobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Inserted != 0 || rep2.Resumed != 190 || len(rep2.RefusedLocally) != 2 {
		t.Errorf("rerun inserted %d resumed %d refused %d, want 0, 190 and 2 (refused again, at no cost)",
			rep2.Inserted, rep2.Resumed, len(rep2.RefusedLocally))
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back migrate.Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back.Inserted != rep.Inserted || len(back.RefusedLocally) != 2 {
		t.Errorf("JSON round trip: %v %+v", err, back)
	}
}

func TestMigrateWithFaults(t *testing.T) {
	for _, tc := range []struct {
		name       string
		kinds      []workspacetest.FaultKind
		exactlyOne bool
	}{
		{"transient and throttles", []workspacetest.FaultKind{workspacetest.FaultHTTP500, workspacetest.FaultHTTP502,
			workspacetest.FaultHTTP503, workspacetest.FaultHTTP504, workspacetest.FaultHTTP429, workspacetest.FaultResetBeforeBody}, true},
		{"resets after processing", []workspacetest.FaultKind{workspacetest.FaultResetAfterProcessing, workspacetest.FaultHTTP503}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, workspacetest.WithFaults(workspacetest.FaultPlan{
				Seed: 42, Rate: 0.1, Kinds: tc.kinds, APIs: []string{"groupsmigration"}}))
			jobs, want := fixture(t)
			seedGroups(e.srv, want)
			rep, err := e.dt.Migrate(t.Context(), jobs, &migrate.Options{Workers: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(e.srv.FaultLog()) < 10 {
				t.Fatalf("only %d faults injected", len(e.srv.FaultLog()))
			}
			if len(rep.Failed) != 0 {
				t.Fatalf("failed: %+v", rep.Failed)
			}
			possible := map[string]bool{}
			for _, it := range rep.PossibleDuplicates {
				possible[it.MessageID] = true
			}
			for g, msgs := range want {
				got := stored(e.srv, g)
				if tc.exactlyOne {
					if diff := cmp.Diff(ids(msgs), got); diff != "" {
						t.Errorf("group %s (-want +got):\n%s", g, diff)
					}
					continue
				}
				// Every message is there; a duplicate only where the report
				// says the insert may have landed twice.
				if diff := cmp.Diff(ids(msgs), slices.Compact(slices.Clone(got))); diff != "" {
					t.Errorf("group %s missing messages (-want +got):\n%s", g, diff)
				}
				for _, id := range e.srv.Duplicates(g) {
					if !possible[strings.Trim(id, "<>")] {
						t.Errorf("group %s: %s stored twice but not reported", g, id)
					}
				}
			}
			if !tc.exactlyOne && len(rep.PossibleDuplicates) == 0 {
				t.Error("resets after processing produced no possible duplicates")
			}
		})
	}
}

func TestMigrateResumesAfterCancel(t *testing.T) {
	e := newEnv(t, nil)
	jobs, want := fixture(t)
	seedGroups(e.srv, want)
	ctx, cancel := context.WithCancel(t.Context())
	var n atomic.Int32
	rep, err := e.dt.Migrate(ctx, jobs, &migrate.Options{Workers: 2, Progress: func(ev migrate.Event) {
		if ev.Status == migrate.Inserted && n.Add(1) == 50 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || rep == nil || rep.Stopped == "" || rep.OK() {
		t.Fatalf("first run: err %v report %+v", err, rep)
	}
	first := rep.Inserted
	rep2, err := e.dt.Migrate(t.Context(), jobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first+rep2.Inserted < 190 {
		t.Errorf("inserted %d + %d, want at least 190", first, rep2.Inserted)
	}
	possible := map[string]bool{}
	for _, it := range rep2.PossibleDuplicates {
		possible[it.MessageID] = true
	}
	for g, msgs := range want {
		if diff := cmp.Diff(ids(msgs), slices.Compact(stored(e.srv, g))); diff != "" {
			t.Errorf("group %s (-want +got):\n%s", g, diff)
		}
		for _, id := range e.srv.Duplicates(g) {
			if !possible[strings.Trim(id, "<>")] {
				t.Errorf("%s stored twice but not reported as a possible duplicate", id)
			}
		}
	}
}

func TestMigrateSkipsDuplicateMessageIDs(t *testing.T) {
	e := newEnv(t, nil)
	dir := t.TempDir()
	msgs := mailgen.Messages(3, 10)
	src := writeMbox(t, dir, "dups.mbox", append(slices.Clone(msgs), msgs[2], msgs[5]))
	e.srv.AddGroup("list@example.com")
	rep, err := e.dt.Migrate(t.Context(), []migrate.Job{{Source: src, Target: "list@example.com"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Inserted != 10 || rep.Duplicates != 2 {
		t.Errorf("inserted %d duplicates %d", rep.Inserted, rep.Duplicates)
	}
	if diff := cmp.Diff(ids(msgs), stored(e.srv, "list@example.com")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMigrateTooLargeReportedNotSent(t *testing.T) {
	e := newEnv(t, nil)
	dir := t.TempDir()
	msgs := mailgen.Messages(4, 3)
	big := mailgen.LargeMessage(datatransfer.MaxMessageSize + 1024)
	src := writeMbox(t, dir, "big.mbox", [][]byte{msgs[0], big, msgs[1]})
	e.srv.AddGroup("list@example.com")
	rep, err := e.dt.Migrate(t.Context(), []migrate.Job{{Source: src, Target: "list@example.com"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Inserted != 2 || len(rep.RefusedLocally) != 1 || rep.RefusedLocally[0].Field != "size" || rep.RefusedLocally[0].Index != 1 {
		t.Errorf("report %+v", rep)
	}
}

func TestMigrateRefusesBadJobsBeforeSending(t *testing.T) {
	e := newEnv(t, nil)
	dir := t.TempDir()
	src := writeMbox(t, dir, "a.mbox", mailgen.Messages(1, 2))
	for _, tc := range []struct {
		name string
		jobs []migrate.Job
		opts *migrate.Options
	}{
		{"no jobs", nil, nil},
		{"bad group", []migrate.Job{{Source: src, Target: "not-an-address"}}, nil},
		{"missing source", []migrate.Job{{Source: filepath.Join(dir, "nope.mbox"), Target: "g@example.com"}}, nil},
		{"same job twice", []migrate.Job{{Source: src, Target: "g@example.com"}, {Source: src, Target: "G@example.com"}}, nil},
		{"negative workers", []migrate.Job{{Source: src, Target: "g@example.com"}}, &migrate.Options{Workers: -1}},
		{"journal in missing dir", []migrate.Job{{Source: src, Target: "g@example.com"}}, &migrate.Options{Journal: filepath.Join(dir, "no", "j")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.dt.Migrate(t.Context(), tc.jobs, tc.opts)
			if !errors.Is(err, workspace.ErrInvalidInput) {
				t.Errorf("err = %v, want ErrInvalidInput", err)
			}
		})
	}
	if n := len(e.srv.Stats()); n != 0 {
		t.Errorf("server saw traffic: %+v", e.srv.Stats())
	}
}

func TestJournalTornLineIgnored(t *testing.T) {
	e := newEnv(t, nil)
	dir := t.TempDir()
	msgs := mailgen.Messages(5, 5)
	src := writeMbox(t, dir, "a.mbox", msgs)
	e.srv.AddGroup("list@example.com")
	jobs := []migrate.Job{{Source: src, Target: "list@example.com"}}
	if _, err := e.dt.Migrate(t.Context(), jobs, nil); err != nil {
		t.Fatal(err)
	}
	// A crash mid-write leaves half a line.
	f, err := os.OpenFile(src+".journal", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"g":"list@example.com","k":"x`)
	f.Close()
	rep, err := e.dt.Migrate(t.Context(), jobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Resumed != 5 || rep.Inserted != 0 {
		t.Errorf("resumed %d inserted %d", rep.Resumed, rep.Inserted)
	}
	info, _ := os.Stat(src + ".journal")
	if info.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v", info.Mode().Perm())
	}
}

// A run started with migrate.Run and the client's ArchiveSink (not through
// Migrate) waits through the client's sleeper too: the engine's back-offs
// after throttles are recorded, not slept, and take no real time.
func TestRunWithArchiveSinkUsesClientSleep(t *testing.T) {
	var mu sync.Mutex
	var waits []time.Duration
	sleep := func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	e := newEnvSleep(t, nil, sleep, workspacetest.WithFaults(workspacetest.FaultPlan{
		Seed: 7, Rate: 0.3, Kinds: []workspacetest.FaultKind{workspacetest.FaultHTTP503}, APIs: []string{"groupsmigration"}}))
	jobs, want := fixture(t)
	seedGroups(e.srv, want)
	start := time.Now()
	rep, err := migrate.Run(t.Context(), jobs, e.dt.ArchiveSink(), &migrate.Options{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failed) != 0 || len(e.srv.FaultLog()) == 0 {
		t.Fatalf("failed %d, faults %d", len(rep.Failed), len(e.srv.FaultLog()))
	}
	mu.Lock()
	n := len(waits)
	var total time.Duration
	for _, d := range waits {
		total += d
	}
	mu.Unlock()
	// The engine's first back-off after a throttle is about 2 s: with
	// dozens of throttles, sleeping them would take minutes.
	if n == 0 || total < 10*time.Second || time.Since(start) > total/4 {
		t.Errorf("%d waits recorded (%v in all) in %v of real time; want the engine's back-offs recorded, not slept", n, total, time.Since(start))
	}
}
