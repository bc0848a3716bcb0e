package migrate

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace/mailsource"
)

// TestPrepareLargeMatchesPrepare: a message read from a file is refused,
// repaired and sent exactly as the same message in memory, whatever its
// line ends, envelope lines, header and policy.
func TestPrepareLargeMatchesPrepare(t *testing.T) {
	heads := []string{
		"From: Alice <alice@example.com>\nTo: list@example.com\nDate: Mon, 2 Mar 2026 09:00:00 +0000\nSubject: hi\nMessage-ID: <a@b>\n",
		"From: a@b\nTo: c@d\n",
		"From: a@b\nDate: Mon, 2 Mar 2026 09:00:00 +0000\nTo:  \n",
		"Received: from b by c; Tue, 30 Apr 2019 01:02:03 +0200\nFrom: a@b\nTo: c@d\nDate: \n",
		"From : a@b\nTo\t: c@d\nDate : Mon, 1 Jan 2024 10:00:00 +0000\nSubject: folded\n  on two lines\n",
		"From: a@b\nTo: c@d\nbogus line\nDate: Mon, 2 Mar 2026 09:00:00 +0000\n",
		"From: a@b\nTo: c@d\nDate: Tue, 029 Apr 2019 10:00:00 +0900\n",
		"To: c@d\nDate: Mon, 2 Mar 2026 09:00:00 +0000\n",
		"hello there\n",
		" continuation first\nFrom: a@b\n",
		"",
		"From: a@b\nTo: c@d\nDate: Mon, 2 Mar 2026 09:00:00 +0000\nX-Long: " + strings.Repeat("x", 70000) + "\n",
	}
	tops := []string{"", "From MAILER-DAEMON Tue Apr 29 10:00:00 2019\n", ">From x Tue Apr 29 10:00:00 2019\n",
		"From a Tue Apr 29 10:00:00 2019\nFrom b Tue Apr 29 10:00:00 2019\nFrom c Tue Apr 29 10:00:00 2019\nFrom d Tue Apr 29 10:00:00 2019\n",
		"From : a@b\n"}
	bodies := []string{"", "\nbody\n", "\n" + strings.Repeat("a line of the body\n", 1000), "\n\n\n", "\nno end"}
	rng := rand.New(rand.NewPCG(1, 2))
	n := 0
	for _, top := range tops {
		for _, head := range heads {
			for _, body := range bodies {
				raw := top + head + body
				for _, ends := range []string{"\n", "\r\n", "\r", "mixed"} {
					var data []byte
					if ends == "mixed" {
						for _, c := range []byte(raw) {
							if c == '\n' {
								data = append(data, [][]byte{{'\n'}, {'\r', '\n'}, {'\r'}}[rng.IntN(3)]...)
							} else {
								data = append(data, c)
							}
						}
					} else {
						data = []byte(strings.ReplaceAll(raw, "\n", ends))
					}
					for _, policy := range []Policy{Standard, Strict, Repair} {
						n++
						comparePrepare(t, data, policy, []int64{1000, 100_000}[rng.IntN(2)])
					}
				}
			}
		}
	}
	// Whitespace only, Unicode spaces included, and a message beyond the
	// first read that ends in a CR.
	for _, raw := range []string{" \r\n\t\n", strings.Repeat(" \n", 50000), strings.Repeat(" \n", 50000) + "\u00a0\u2003\n",
		strings.Repeat(" \n", 50000) + "x", "From: a@b\r\nTo: c@d\r\nDate: x\r\n\r\n" + strings.Repeat("y\r", 40000)} {
		comparePrepare(t, []byte(raw), Standard, 1<<20)
	}
	// A CRLF, or a bare CR, across the boundary of the reads of the
	// whole message.
	hdr := "From: a@b\r\nTo: c@d\r\nDate: x\r\n\r\n"
	for _, after := range []string{"\n", "b"} {
		raw := hdr + strings.Repeat("a", 256<<10-1-len(hdr)) + "\r" + after + strings.Repeat("c\r\n", 1000)
		comparePrepare(t, []byte(raw), Standard, 1<<20)
	}
	t.Logf("%d cases", n)
}

func comparePrepare(t *testing.T, data []byte, policy Policy, maxSize int64) {
	t.Helper()
	m := &mailsource.Message{Data: data, Size: int64(len(data)), Envelope: "MAILER-DAEMON Mon Apr 29 10:00:00 2019",
		Fixes: mailsource.FixUnescaped}
	want := prepare(m, "list@example.com", maxSize, policy)
	got, body, full, raw, err := prepareLarge(m, "list@example.com", maxSize, policy)
	name := func() string { return policy.String() + " " + string(data[:min(len(data), 60)]) }
	if err != nil {
		t.Fatalf("%s: %v", name(), err)
	}
	if raw != shortHash(data) {
		t.Fatalf("%s: hash as read %s, want %s", name(), raw, shortHash(data))
	}
	if (want.refusal == nil) != (got.refusal == nil) {
		t.Fatalf("%s: refusal %v, want %v", name(), got.refusal, want.refusal)
	}
	if want.refusal != nil {
		if *want.refusal != *got.refusal {
			t.Fatalf("%s: refusal %v, want %v", name(), got.refusal, want.refusal)
		}
		return
	}
	if diff := cmp.Diff(want.repairs, got.repairs); diff != "" {
		t.Fatalf("%s: repairs (-want +got):\n%s", name(), diff)
	}
	for range 2 {
		sent, err := io.ReadAll(body.Open())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sent, want.data) {
			t.Fatalf("%s: body differs: %d bytes, want %d", name(), len(sent), len(want.data))
		}
	}
	if body.Size() != int64(len(want.data)) || full != mailsource.ContentHash(want.data) {
		t.Fatalf("%s: size %d hash %s, want %d %s", name(), body.Size(), full, len(want.data), mailsource.ContentHash(want.data))
	}
}

// TestCRLFReaderAnyReads: line ends split between reads, one byte at a
// time, give what NormalizeCRLF gives.
func TestCRLFReaderAnyReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		var in []byte
		for range rng.IntN(300) {
			in = append(in, "ab\r\n\r\n\r\r\n"[rng.IntN(9)])
		}
		want := mailsource.NormalizeCRLF(in)
		for _, r := range []io.Reader{bytes.NewReader(in), iotest.OneByteReader(bytes.NewReader(in)), iotest.HalfReader(bytes.NewReader(in))} {
			got, err := io.ReadAll(newCRLFReader(r, int64(len(in))))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%q: got %q (%v), want %q", in, got, err, want)
			}
		}
	}
}

// bodyProblems collects what scriptSink.InsertBody found wrong.
var bodyProblems struct {
	sync.Mutex
	list []string
}

// InsertBody makes scriptSink a StreamSink: it reads each body twice and
// checks that every attempt of a message sends the same bytes.
func (s *scriptSink) InsertBody(ctx context.Context, target string, b *Body) error {
	var got [2][]byte
	for i := range got {
		var err error
		if got[i], err = io.ReadAll(b.Open()); err != nil {
			return err
		}
	}
	subj := subjectOf(got[0])
	s.mu.Lock()
	var problems []string
	if !bytes.Equal(got[0], got[1]) || int64(len(got[0])) != b.Size() {
		problems = append(problems, subj+": two reads differ")
	}
	// The map holds every body, so that no two share an address.
	if prev, ok := s.bodies[b]; ok && !bytes.Equal(prev, got[0]) {
		problems = append(problems, subj+": an attempt sent other bytes")
	}
	if s.sent == nil {
		s.sent, s.bodies = map[string][]byte{}, map[*Body][]byte{}
	}
	s.sent[subj], s.bodies[b] = got[0], got[0]
	s.mu.Unlock()
	bodyProblems.Lock()
	bodyProblems.list = append(bodyProblems.list, problems...)
	bodyProblems.Unlock()
	return s.Insert(ctx, target, got[0])
}

// plainSink hides InsertBody: Run gives it bytes.
type plainSink struct{ Sink }

// TestEngineWithMessagesInFiles runs the engine's tests with every message
// kept out of memory (a temporary file per message), through a
// StreamSink: same outcomes, and no file left behind.
func TestEngineWithMessagesInFiles(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	spillForTests = 1
	defer func() { spillForTests = 0 }()
	for _, tt := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"RetryDoesNotHoldTheTarget", TestRetryDoesNotHoldTheTarget},
		{"RetryDelayFollowsTheError", TestRetryDelayFollowsTheError},
		{"AmbiguousFailureResentAndListed", TestAmbiguousFailureResentAndListed},
		{"FailedAfterAttemptsAndRetriedNextRun", TestFailedAfterAttemptsAndRetriedNextRun},
		{"SetupFailureStopsRunAndJournalsNothingFinal", TestSetupFailureStopsRunAndJournalsNothingFinal},
		{"RefusalsBeforeFirstSuccessAreNotFinal", TestRefusalsBeforeFirstSuccessAreNotFinal},
		{"OutcomeUnknownIsResentAndListed", TestOutcomeUnknownIsResentAndListed},
		{"MaybeStoredStaysListedAcrossRuns", TestMaybeStoredStaysListedAcrossRuns},
		{"ByMessageIDFollowerSentWhenTheFirstIsRefused", TestByMessageIDFollowerSentWhenTheFirstIsRefused},
		{"DedupeRules", TestDedupeRules},
		{"SameMessageIDWhileTheFirstWaitsForRetry", TestSameMessageIDWhileTheFirstWaitsForRetry},
		{"DuplicateOfAMessageWaitingForRetry", TestDuplicateOfAMessageWaitingForRetry},
		{"ChangedSourceNeverSkipsNewMessages", TestChangedSourceNeverSkipsNewMessages},
		{"IdenticalMessagesInOneSourceKeepTheirIdentity", TestIdenticalMessagesInOneSourceKeepTheirIdentity},
		{"JournalOfThePreviousVersion", TestJournalOfThePreviousVersion},
	} {
		t.Run(tt.name, tt.f)
	}
	if len(bodyProblems.list) > 0 {
		t.Errorf("bodies: %v", bodyProblems.list)
	}
	if runtime.GOOS != "windows" {
		// Files are unlinked at once; none may be left in the folder.
		if left, _ := os.ReadDir(tmp); len(left) > 0 {
			t.Errorf("left in the temporary folder: %v", left)
		}
	}
}

// TestStreamedRetriesSendIdenticalBytes: a message read from a file that
// waits for its retries while later messages are sent is sent again byte
// for byte, with its repairs, and its file is released at the end.
func TestStreamedRetriesSendIdenticalBytes(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	big := "From: Alice <alice@example.com>\nSubject: big\n\n" + strings.Repeat("a long line of the body\r\n", 3000) + "last\r"
	src := writeMbox(t, t.TempDir(), "a.mbox", big, msg("b"), msg("c"))
	for _, stream := range []bool{true, false} {
		sink := newSink()
		sink.errs["big"] = []error{backend(), backend(), errors.New("connection reset")}
		var s Sink = sink
		if !stream {
			s = plainSink{sink}
		}
		o := testOpts(newClock())
		o.spillSize = 1000
		o.Policy = Repair
		o.Journal = filepath.Join(t.TempDir(), "journal")
		r, err := Run(t.Context(), []Job{{Source: src, Target: "list@example.com"}}, s, o)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"b", "c", "big"}, sink.storedIn("list@example.com")); diff != "" {
			t.Errorf("stored (-want +got):\n%s", diff)
		}
		if len(r.Repaired) != 3 || len(r.Repaired[0].Repairs) != 3 || r.Inserted != 3 || len(r.PossibleDuplicates) != 1 {
			t.Errorf("report %+v", r)
		}
		checkAccounted(t, r)
		if !stream {
			continue
		}
		if len(bodyProblems.list) > 0 {
			t.Errorf("%v", bodyProblems.list)
		}
		sent := string(sink.sent["big"])
		if !strings.HasPrefix(sent, "Date: Mon, 02 Mar 2026 09:00:00 -0000\r\nTo: list@example.com\r\nFrom: Alice") ||
			!strings.HasSuffix(sent, "\r\nlast\r\n") || strings.Contains(strings.ReplaceAll(sent, "\r\n", ""), "\n") {
			t.Errorf("sent %q…%q", sent[:min(100, len(sent))], sent[max(0, len(sent)-20):])
		}
	}
	if left, _ := os.ReadDir(tmp); runtime.GOOS != "windows" && len(left) > 0 {
		t.Errorf("left in the temporary folder: %v", left)
	}
}

// TestFolderMessagesReadWhereTheyAre: .eml files over the spill size are
// sent from the files themselves, retries included, and the files are
// left as they were.
func TestFolderMessagesReadWhereTheyAre(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"a.eml": msg("a"), "b.eml": msg("b", "X-Big: "+strings.Repeat("y", 5000)), "c.eml": "\xef\xbb\xbf" + msg("c")}
	for name, c := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sink := newSink()
	sink.errs["b"] = []error{backend(), backend()}
	o := testOpts(newClock())
	o.spillSize = 10
	o.Journal = filepath.Join(t.TempDir(), "journal")
	r, err := Run(t.Context(), []Job{{Source: dir, Target: "list@example.com"}}, sink, o)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "c", "b"}, sink.storedIn("list@example.com")); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	if len(bodyProblems.list) > 0 {
		t.Errorf("%v", bodyProblems.list)
	}
	if got := string(sink.sent["c"]); got != strings.ReplaceAll(msg("c"), "\n", "\r\n") {
		t.Errorf("sent %q", got)
	}
	checkAccounted(t, r)
	for name, c := range files {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != c {
			t.Errorf("%s: %v, changed %v", name, err, string(b) != c)
		}
	}
}
