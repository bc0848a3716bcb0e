package migrate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
)

// TestJournalLock: a second run on a journal in use fails at once, before
// any request, with a clear error; the lock goes with the first run.
func TestJournalLock(t *testing.T) {
	dir := t.TempDir()
	src := writeMbox(t, dir, "a.mbox", msg("m0"))
	st := newJournalState()
	j, err := openJournal(src+".journal", st)
	if err != nil {
		t.Fatal(err)
	}
	sink := newSink()
	_, err = Run(t.Context(), []Job{{Source: src, Target: "list@example.com"}}, sink, testOpts(newClock()))
	if !errors.Is(err, ErrJournalLocked) || !errors.Is(err, workspace.ErrInvalidInput) || len(sink.attempts) != 0 {
		t.Fatalf("err = %v, attempts %v; want ErrJournalLocked before any request", err, sink.attempts)
	}
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
	if r, err := Run(t.Context(), []Job{{Source: src, Target: "list@example.com"}}, sink, testOpts(newClock())); err != nil || r.Inserted != 1 {
		t.Fatalf("after the lock was released: %v %+v", err, r)
	}
	info, err := os.Stat(src + ".journal")
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
}

// TestJournalDamagedLineSkipsOnlyThatRecord: garbage in the middle of a
// journal loses that one record (reported), not the ones after it; a torn
// last line is reported and the journal stays append-only.
func TestJournalDamagedLineSkipsOnlyThatRecord(t *testing.T) {
	dir := t.TempDir()
	src := writeMbox(t, dir, "a.mbox", msg("m0"), msg("m1"), msg("m2"), msg("m3"))
	jobs := []Job{{Source: src, Target: "list@example.com"}}
	sink := newSink()
	if _, err := Run(t.Context(), jobs, sink, testOpts(newClock())); err != nil {
		t.Fatal(err)
	}
	path := src + ".journal"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	// Lines: magic, then begin/ok per message. Damage m1's "ok" (line 5)
	// and cut the journal's last line short.
	if !strings.Contains(lines[4], `"st":"ok"`) {
		t.Fatalf("unexpected journal layout: %q", lines[4])
	}
	lines[4] = "{\"t\":\"list@exa\x00mple.com\",garbage\n"
	last := len(lines) - 2 // the final element is ""
	lines[last] = lines[last][:len(lines[last])/2]
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	before := len(sink.attempts)
	r, err := Run(t.Context(), jobs, sink, testOpts(newClock()))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.JournalProblems) != 2 {
		t.Errorf("journal problems %q, want the damaged line and the torn one", r.JournalProblems)
	}
	// m1's ok record is gone: its begin says it may be stored, so it is
	// sent again and listed; m3's torn ok likewise. m0 and m2 resume.
	resent := sink.attempts[before:]
	if diff := cmp.Diff([]string{"m1", "m3"}, resent); diff != "" {
		t.Errorf("sent again (-want +got):\n%s", diff)
	}
	if r.Resumed != 2 || len(r.PossibleDuplicates) != 2 {
		t.Errorf("resumed %d, possible duplicates %+v", r.Resumed, r.PossibleDuplicates)
	}
	// The file was only appended to.
	now, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(now), strings.Join(lines, "")) {
		t.Error("the journal was rewritten, not appended to")
	}
}

// TestJournalOfThePreviousVersion: a journal written by the previous
// version is kept beside the new one (.v1) and read: what it says was
// stored is not sent again, what was in flight is listed when sent, and
// what it refused is judged again by today's rules.
func TestJournalOfThePreviousVersion(t *testing.T) {
	dir := t.TempDir()
	m0 := msg("m0", "Message-ID: <m0@example.com>")
	m1 := msg("m1")
	m2 := msg("m2", "Message-ID: <m2@example.com>")
	src := writeMbox(t, dir, "a.mbox", m0, m1, m2, msg("m3"))
	crlf := func(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }
	v1 := strings.Join([]string{
		`{"g":"list@example.com","k":"a.mbox#0","o":0,"id":"` + v1Key("m0@example.com", crlf(m0)) + `","s":"begin"}`,
		`{"g":"list@example.com","k":"a.mbox#0","o":0,"id":"` + v1Key("m0@example.com", crlf(m0)) + `","s":"ok"}`,
		`{"g":"list@example.com","k":"a.mbox#1","o":150,"id":"` + v1Key("", crlf(m1)) + `","s":"ok"}`,
		`{"g":"list@example.com","k":"a.mbox#2","o":300,"id":"` + v1Key("m2@example.com", crlf(m2)) + `","s":"begin"}`,
		`{"g":"list@example.com","k":"a.mbox#3","o":450,"s":"invalid"}`,
	}, "\n") + "\n"
	if err := os.WriteFile(src+".journal", []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	sink := newSink()
	jobs := []Job{{Source: src, Target: "list@example.com"}}
	r, err := Run(t.Context(), jobs, sink, testOpts(newClock()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"m2", "m3"}, sink.attempts); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	if r.Resumed != 2 || len(r.PossibleDuplicates) != 1 || r.PossibleDuplicates[0].Index != 2 {
		t.Errorf("resumed %d, possible duplicates %+v", r.Resumed, r.PossibleDuplicates)
	}
	if _, err := os.Stat(src + ".journal.v1"); err != nil {
		t.Errorf("the old journal was not kept: %v", err)
	}
	r, err = Run(t.Context(), jobs, sink, testOpts(newClock()))
	if err != nil || r.Resumed != 4 || len(sink.attempts) != 2 {
		t.Errorf("third run: %v, resumed %d, attempts %v", err, r.Resumed, sink.attempts)
	}
}

// TestChangedSourceNeverSkipsNewMessages: messages added in the middle of
// an mbox, or changed, between two runs are sent; the others are not.
func TestChangedSourceNeverSkipsNewMessages(t *testing.T) {
	dir := t.TempDir()
	src := writeMbox(t, dir, "a.mbox", msg("m0"), msg("m1"), msg("m2"))
	jobs := []Job{{Source: src, Target: "list@example.com"}}
	sink := newSink()
	if _, err := Run(t.Context(), jobs, sink, testOpts(newClock())); err != nil {
		t.Fatal(err)
	}
	// A new message at the front, m1 edited, one appended.
	writeMbox(t, dir, "a.mbox", msg("new0"), msg("m0"), msg("m1", "X-Edited: yes"), msg("m2"), msg("new9"))
	before := len(sink.attempts)
	r, err := Run(t.Context(), jobs, sink, testOpts(newClock()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"new0", "m1", "new9"}, sink.attempts[before:]); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	if r.Resumed != 2 || r.Inserted != 3 {
		t.Errorf("resumed %d inserted %d, want 2 and 3", r.Resumed, r.Inserted)
	}
}

// TestIdenticalMessagesInOneSourceKeepTheirIdentity: with KeepAll, two
// identical messages are both sent, and both resume.
func TestIdenticalMessagesInOneSourceKeepTheirIdentity(t *testing.T) {
	dir := t.TempDir()
	src := writeMbox(t, dir, "a.mbox", msg("m0"), msg("m0"), msg("m1"))
	jobs := []Job{{Source: src, Target: "list@example.com"}}
	sink := newSink()
	o := testOpts(newClock())
	o.Dedupe = KeepAll
	r, err := Run(t.Context(), jobs, sink, o)
	if err != nil || r.Inserted != 3 {
		t.Fatalf("%v %+v", err, r)
	}
	r, err = Run(t.Context(), jobs, sink, o)
	if err != nil || r.Resumed != 3 || r.Inserted != 0 {
		t.Fatalf("rerun: %v %+v", err, r)
	}
}

// FuzzJournal: any bytes after the first line load without a panic; each
// line is a record, a reported problem, or blank.
func FuzzJournal(f *testing.F) {
	f.Add([]byte(`{"t":"g@x","s":"/a","k":"/a#0","n":3,"h":"ab","st":"begin"}` + "\n" +
		`{"t":"g@x","s":"/a","k":"/a#0","n":3,"h":"ab","c":"cd","st":"ok"}` + "\n"))
	f.Add([]byte("garbage\n{\"t\":\n"))
	f.Add([]byte(`{"t":"g@x","st":"rejected?"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		path := filepath.Join(t.TempDir(), "j")
		if err := os.WriteFile(path, append([]byte(journalMagic+"\n"), body...), 0o600); err != nil {
			t.Fatal(err)
		}
		st := newJournalState()
		j, err := openJournal(path, st)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Count(string(body), "\n") + 1
		if len(st.damaged) > lines {
			t.Errorf("%d problems for %d lines", len(st.damaged), lines)
		}
		err = j.append(record{Target: "g@x", Source: "/a", Hash: "ff", State: stOK, Norm: "ee"}, true)
		if cerr := j.close(); err != nil || cerr != nil {
			t.Fatal(err, cerr)
		}
		st2 := newJournalState()
		j2, err := openJournal(path, st2)
		if err != nil {
			t.Fatal(err)
		}
		defer j2.close()
		if st2.final[ident{"g@x", "/a", "ff", 0}] != stOK {
			t.Error("a record appended after damage was not read back")
		}
	})
}
