package migrate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
)

// fakeClock is a clock whose sleeps advance it at once.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return nil
}

// scriptSink answers from a script: errs[subject] are returned for the
// message's first attempts, in order, then nil. It records every attempt.
type scriptSink struct {
	mu       sync.Mutex
	errs     map[string][]error
	every    error // returned for every attempt when set
	attempts []string
	stored   map[string][]string // target → subjects
	inFlight map[string]bool
	parallel bool
	sent     map[string][]byte // subject → bytes of the last InsertBody
	bodies   map[*Body][]byte  // the bytes of each InsertBody's body
}

func newSink() *scriptSink {
	return &scriptSink{errs: map[string][]error{}, stored: map[string][]string{}, inFlight: map[string]bool{}}
}

func (s *scriptSink) CheckTarget(t string) error {
	if !strings.Contains(t, "@") {
		return &workspace.InputError{Op: "test", Field: "target", Reason: "not an address"}
	}
	return nil
}
func (s *scriptSink) MaxSize() int64 { return 1 << 20 }

func subjectOf(msg []byte) string {
	h := scanFields(msg)
	v, _ := h.get("Subject")
	return v
}

func (s *scriptSink) Insert(ctx context.Context, target string, msg []byte) error {
	subj := subjectOf(msg)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight[target] {
		s.parallel = true
	}
	s.attempts = append(s.attempts, subj)
	if s.every != nil {
		return s.every
	}
	if l := s.errs[subj]; len(l) > 0 {
		s.errs[subj] = l[1:]
		if l[0] != nil {
			var we *workspace.Error
			if errors.As(l[0], &we) || errors.Is(l[0], workspace.ErrInvalidInput) {
				return l[0]
			}
			// A transport error: report it, but store when asked to
			// (the "stored, then the connection dropped" case).
			if strings.Contains(l[0].Error(), "after storing") {
				s.stored[target] = append(s.stored[target], subj)
			}
			return l[0]
		}
	}
	s.stored[target] = append(s.stored[target], subj)
	return nil
}

func (s *scriptSink) storedIn(target string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.stored[target]...)
}

func msg(subject string, extra ...string) string {
	h := "From: Alice <alice@example.com>\nTo: list@example.com\nDate: Mon, 2 Mar 2026 09:00:00 +0000\nSubject: " + subject + "\n"
	for _, e := range extra {
		h += e + "\n"
	}
	return h + "\nbody of " + subject + "\n"
}

// writeMbox writes msgs (LF line ends) as an mbox.
func writeMbox(t *testing.T, dir, name string, msgs ...string) string {
	t.Helper()
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("From alice@example.com Mon Mar  2 09:00:00 2026\n")
		b.WriteString(m)
		b.WriteString("\n")
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// spillForTests, when set, is the spillSize of testOpts: see
// TestEngineWithMessagesInFiles.
var spillForTests int64

func testOpts(c *fakeClock) *Options {
	return &Options{now: c.Now, sleep: c.Sleep, spillSize: spillForTests}
}

func backend() error {
	return &workspace.Error{API: "groupsmigration", Method: "archive.insert", StatusCode: 503, Reasons: []string{"backendError"}, Message: "Backend Error"}
}

func checkAccounted(t *testing.T, r *Report) {
	t.Helper()
	sum := r.Inserted + r.Duplicates + r.Resumed + len(r.RefusedLocally) + len(r.RefusedByGoogle) + len(r.Failed) + len(r.Pending)
	if sum != r.Messages {
		t.Errorf("report accounts for %d messages, read %d: %+v", sum, r.Messages, r)
	}
}

// TestRetryDoesNotHoldTheTarget: while a message waits for its retry after
// a backend error, the target goes on with the next messages.
func TestRetryDoesNotHoldTheTarget(t *testing.T) {
	dir := t.TempDir()
	src := writeMbox(t, dir, "a.mbox", msg("m0"), msg("m1"), msg("m2"), msg("m3"))
	sink := newSink()
	sink.errs["m0"] = []error{backend(), backend()}
	c := newClock()
	var retries []time.Duration
	o := testOpts(c)
	o.Progress = func(ev Event) {
		if ev.Status == Retrying {
			retries = append(retries, ev.Wait)
		}
	}
	r, err := Run(t.Context(), []Job{{Source: src, Target: "list@example.com"}}, sink, o)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"m0", "m1", "m2", "m3", "m0", "m0"}, sink.attempts); diff != "" {
		t.Errorf("attempt order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"m1", "m2", "m3", "m0"}, sink.storedIn("list@example.com")); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	if r.Inserted != 4 || !r.OK() {
		t.Errorf("report: %+v", r)
	}
	// Google does not promise that a 503 stored nothing: m0 is listed.
	if len(r.PossibleDuplicates) != 1 || r.PossibleDuplicates[0].Index != 0 {
		t.Errorf("possible duplicates %+v, want m0", r.PossibleDuplicates)
	}
	// A backend error waits about half a second, then a second: not the
	// 5 s of a quota error.
	if len(retries) != 2 || retries[0] > time.Second || retries[1] > 2*time.Second {
		t.Errorf("retry waits %v, want ~0.5s and ~1s", retries)
	}
	if sink.parallel {
		t.Error("two inserts in flight for one target")
	}
	checkAccounted(t, r)
}

// TestRetryDelayFollowsTheError: a throttle waits longer than a backend
// error, and the server's Retry-After wins.
func TestRetryDelayFollowsTheError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		min, max time.Duration
	}{
		{"backend 503", backend(), 400 * time.Millisecond, 600 * time.Millisecond},
		{"500", &workspace.Error{StatusCode: 500}, 400 * time.Millisecond, 600 * time.Millisecond},
		{"rate limit 503", &workspace.Error{StatusCode: 503, Reasons: []string{"rateLimitExceeded"}}, 1600 * time.Millisecond, 2400 * time.Millisecond},
		{"parallel insert", &workspace.Error{StatusCode: 400, Reasons: []string{"UNSUPPORTED_PARALLEL_OPERATION"}}, 1600 * time.Millisecond, 2400 * time.Millisecond},
		{"parallel insert in the message only", &workspace.Error{StatusCode: 400, Message: "UNSUPPORTED_PARALLEL_OPERATION: busy"}, 1600 * time.Millisecond, 2400 * time.Millisecond},
		{"parallel insert in a 403's body", &workspace.Error{StatusCode: 403, Body: []byte(`{"responseCode":"UNSUPPORTED_PARALLEL_OPERATION"}`)}, 1600 * time.Millisecond, 2400 * time.Millisecond},
		{"parallel insert in a 200 answer's responseCode", fmt.Errorf("datatransfer: archive.insert: unexpected responseCode %q", "UNSUPPORTED_PARALLEL_OPERATION"), 1600 * time.Millisecond, 2400 * time.Millisecond},
		{"429 with Retry-After", &workspace.Error{StatusCode: 429, RetryAfter: 7 * time.Second}, 7 * time.Second, 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oc := classify(tt.err)
			if oc != throttled && oc != transient && oc != serverError {
				t.Fatalf("classified %d, want a retry", oc)
			}
			for range 20 {
				if d := delay(oc, 1, tt.err, rand.Float64); d < tt.min || d > tt.max {
					t.Fatalf("delay %v, want in [%v, %v]", d, tt.min, tt.max)
				}
			}
		})
	}
}

// TestAmbiguousFailureResentAndListed: a connection dropped after the
// message was stored: it is sent again and listed as a possible duplicate.
func TestAmbiguousFailureResentAndListed(t *testing.T) {
	dir := t.TempDir()
	src := writeMbox(t, dir, "a.mbox", msg("m0"), msg("m1"))
	sink := newSink()
	sink.errs["m0"] = []error{fmt.Errorf("read: connection reset by peer after storing: %w", syscall.ECONNRESET)}
	c := newClock()
	r, err := Run(t.Context(), []Job{{Source: src, Target: "list@example.com"}}, sink, testOpts(c))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.PossibleDuplicates) != 1 || r.PossibleDuplicates[0].Index != 0 || r.Inserted != 2 {
		t.Errorf("report: %+v", r)
	}
	if got := sink.storedIn("list@example.com"); len(got) != 3 {
		t.Errorf("stored %v, want m0 twice and m1", got)
	}
}

// TestFailedAfterAttemptsAndRetriedNextRun: a message that keeps failing
// is reported Failed, and the next run sends it again.
func TestFailedAfterAttemptsAndRetriedNextRun(t *testing.T) {
	dir := t.TempDir()
	src := writeMbox(t, dir, "a.mbox", msg("m0"), msg("m1"))
	sink := newSink()
	sink.errs["m0"] = []error{backend(), backend(), backend()}
	c := newClock()
	o := testOpts(c)
	o.MaxAttempts = 3
	r, err := Run(t.Context(), []Job{{Source: src, Target: "list@example.com"}}, sink, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Failed) != 1 || r.Inserted != 1 || r.OK() {
		t.Fatalf("report: %+v", r)
	}
	checkAccounted(t, r)
	r, err = Run(t.Context(), []Job{{Source: src, Target: "list@example.com"}}, sink, testOpts(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Inserted != 1 || r.Resumed != 1 || !r.OK() {
		t.Errorf("second run: %+v", r)
	}
}

// TestSetupFailureStopsRunAndJournalsNothingFinal: 401 and a 403 that is
// not about the message stop the run; a rerun after the fix migrates
// everything.
func TestSetupFailureStopsRunAndJournalsNothingFinal(t *testing.T) {
	for _, tt := range []struct {
		name, advice string
		err          error
	}{
		{"401", "Domain-wide delegation", &workspace.Error{API: "groupsmigration", StatusCode: 401, Reasons: []string{"AUTHORIZATION FAILURE"}}},
		{"api disabled", "Enable the Groups Migration API", &workspace.Error{API: "groupsmigration", StatusCode: 403, Reasons: []string{"accessNotConfigured"},
			Message: "Groups Migration API has not been used in project 1 before or it is disabled."}},
		{"scope", "lacks https://www.googleapis.com/auth/apps.groups.migration", &workspace.Error{API: "groupsmigration", StatusCode: 403,
			Reasons: []string{"insufficientPermissions"}, Message: "Request had insufficient authentication scopes."}},
		{"not an admin", "super administrator", &workspace.Error{API: "groupsmigration", StatusCode: 403, Reasons: []string{"forbidden"}, Message: "Not Authorized to access this resource/api"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			src := writeMbox(t, dir, "a.mbox", msg("m0"), msg("m1"), msg("m2"))
			src2 := writeMbox(t, dir, "b.mbox", msg("n0"), msg("n1"))
			jobs := []Job{{Source: src, Target: "a@example.com"}, {Source: src2, Target: "b@example.com"}}
			sink := newSink()
			sink.every = tt.err
			c := newClock()
			o := testOpts(c)
			o.Workers = 1
			r, err := Run(t.Context(), jobs, sink, o)
			var se *SetupError
			if !errors.As(err, &se) || se.Target != "" || !strings.Contains(err.Error(), tt.advice) {
				t.Fatalf("err = %v, want a run-wide *SetupError with advice %q", err, tt.advice)
			}
			if len(sink.attempts) != 1 || r.Stopped == "" || r.OK() || len(r.Pending) != 1 {
				t.Errorf("attempts %v, report %+v: want one attempt, stopped, one pending", sink.attempts, r)
			}
			sink.every = nil
			r, err = Run(t.Context(), jobs, sink, o)
			if err != nil || r.Inserted != 5 || r.Resumed != 0 {
				t.Errorf("rerun after the fix: err %v, %+v; want all 5 inserted", err, r)
			}
		})
	}
}

// TestMissingTargetStopsOnlyThatTarget: a 404 stops its target, the others
// go on.
func TestMissingTargetStopsOnlyThatTarget(t *testing.T) {
	dir := t.TempDir()
	src := writeMbox(t, dir, "a.mbox", msg("m0"), msg("m1"))
	src2 := writeMbox(t, dir, "b.mbox", msg("n0"), msg("n1"))
	sink := newSink()
	sink.errs["m0"] = []error{&workspace.Error{StatusCode: 404, Message: "group not found"}}
	c := newClock()
	r, err := Run(t.Context(), []Job{{Source: src, Target: "a@example.com"}, {Source: src2, Target: "b@example.com"}}, sink, testOpts(c))
	var se *SetupError
	if !errors.As(err, &se) || se.Target != "a@example.com" {
		t.Fatalf("err = %v, want a *SetupError for a@example.com", err)
	}
	if r.Targets["a@example.com"].Stopped == "" || r.Targets["b@example.com"].Inserted != 2 || r.Stopped != "" {
		t.Errorf("report: %+v %+v", r.Targets["a@example.com"], r.Targets["b@example.com"])
	}
}

// TestRefusalsBeforeFirstSuccessAreNotFinal: Google refusing every message
// of a target (as for a group that does not exist) stops the target after
// a few and records nothing final; once the target takes messages, a
// refusal is final.
func TestRefusalsBeforeFirstSuccessAreNotFinal(t *testing.T) {
	dir := t.TempDir()
	var msgs []string
	for i := range 8 {
		msgs = append(msgs, msg(fmt.Sprintf("m%d", i)))
	}
	src := writeMbox(t, dir, "a.mbox", msgs...)
	invalid := &workspace.Error{API: "groupsmigration", StatusCode: 400, Reasons: []string{"INVALID MESSAGE FAILURE"}, Message: "Unable to lookup group"}
	sink := newSink()
	sink.every = invalid
	c := newClock()
	jobs := []Job{{Source: src, Target: "list@example.com"}}
	r, err := Run(t.Context(), jobs, sink, testOpts(c))
	var se *SetupError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("err = %v, want a *SetupError about a missing group", err)
	}
	if len(sink.attempts) != tentativeLimit || len(r.RefusedByGoogle) != tentativeLimit ||
		!r.RefusedByGoogle[0].Tentative {
		t.Errorf("attempts %d, refused %+v", len(sink.attempts), r.RefusedByGoogle)
	}
	// The group now exists; one message really is bad.
	sink.every = nil
	sink.errs["m1"] = []error{invalid}
	r, err = Run(t.Context(), jobs, sink, testOpts(c))
	if err != nil {
		t.Fatal(err)
	}
	if r.Inserted != 7 || len(r.RefusedByGoogle) != 1 || r.RefusedByGoogle[0].Tentative {
		t.Errorf("rerun: inserted %d, refused %+v", r.Inserted, r.RefusedByGoogle)
	}
	// m1 was refused after m0 was stored: final, so a third run sends
	// nothing.
	r, err = Run(t.Context(), jobs, sink, testOpts(c))
	if err != nil || r.Resumed != 8 || r.Inserted != 0 {
		t.Errorf("third run: %v %+v", err, r)
	}
}

// TestQuotaSpentStopsWithResumeAfter: Google's daily limit stops the run
// with the message unsent.
func TestQuotaSpentStopsWithResumeAfter(t *testing.T) {
	dir := t.TempDir()
	src := writeMbox(t, dir, "a.mbox", msg("m0"), msg("m1"))
	sink := newSink()
	daily := &workspace.Error{API: "groupsmigration", StatusCode: 503, Reasons: []string{"dailyLimitExceeded"}}
	sink.errs["m1"] = []error{quotaErr{daily}}
	c := newClock()
	r, err := Run(t.Context(), []Job{{Source: src, Target: "list@example.com"}}, sink, testOpts(c))
	if !errors.Is(err, workspace.ErrQuotaExhausted) || r.ResumeAfter.IsZero() || len(r.Pending) != 1 || r.Inserted != 1 {
		t.Fatalf("err %v, report %+v", err, r)
	}
	r, err = Run(t.Context(), []Job{{Source: src, Target: "list@example.com"}}, sink, testOpts(c))
	if err != nil || r.Inserted != 1 || r.Resumed != 1 || len(r.PossibleDuplicates) != 0 {
		t.Errorf("resume: %v %+v", err, r)
	}
}

// quotaErr is a server answer that matches ErrQuotaExhausted (the core's
// *workspace.Error does so through its class, which tests cannot set).
type quotaErr struct{ e *workspace.Error }

func (q quotaErr) Error() string        { return q.e.Error() }
func (q quotaErr) Is(target error) bool { return target == workspace.ErrQuotaExhausted }
func (q quotaErr) Unwrap() error        { return q.e }

// TestOutcomeUnknownIsResentAndListed: a sink error that says the outcome
// is unknown (workspace.ErrOutcomeUnknown) is resent and listed.
func TestOutcomeUnknownIsResentAndListed(t *testing.T) {
	dir := t.TempDir()
	src := writeMbox(t, dir, "a.mbox", msg("m0"), msg("m1"), msg("m2"))
	sink := newSink()
	sink.errs["m0"] = []error{fmt.Errorf("upload: %w", workspace.ErrOutcomeUnknown)}
	r, err := Run(t.Context(), []Job{{Source: src, Target: "list@example.com"}}, sink, testOpts(newClock()))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.PossibleDuplicates) != 1 || r.PossibleDuplicates[0].Index != 0 || r.Inserted != 3 {
		t.Errorf("inserted %d, possible duplicates %+v; want 3 and m0 only", r.Inserted, r.PossibleDuplicates)
	}
}

// TestUnreachableServerStopsInSeconds: connection refused before anything
// was stored stops the run after a few quick attempts, naming the host.
func TestUnreachableServerStopsInSeconds(t *testing.T) {
	dir := t.TempDir()
	src := writeMbox(t, dir, "a.mbox", msg("m0"), msg("m1"), msg("m2"))
	sink := newSink()
	sink.every = &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, Err: syscall.ECONNREFUSED}
	c := newClock()
	start := c.Now()
	r, err := Run(t.Context(), []Job{{Source: src, Target: "list@example.com"}}, sink, testOpts(c))
	var se *SetupError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "127.0.0.1:1") || !strings.Contains(err.Error(), "check the endpoint") {
		t.Fatalf("err = %v, want a *SetupError naming the host", err)
	}
	if waited := c.Now().Sub(start); waited > 5*time.Second {
		t.Errorf("gave up after %v of waiting, want seconds", waited)
	}
	if r.Inserted != 0 || len(r.Pending) == 0 || r.OK() {
		t.Errorf("report %+v", r)
	}
	checkAccounted(t, r)
}

// TestMaybeStoredStaysListedAcrossRuns: after a dropped connection (the
// message may be stored) and then a spent quota, the next run that sends
// the message again lists it as a possible duplicate.
func TestMaybeStoredStaysListedAcrossRuns(t *testing.T) {
	src := writeMbox(t, t.TempDir(), "a.mbox", msg("m0"), msg("m1"))
	sink := newSink()
	daily := &workspace.Error{API: "groupsmigration", StatusCode: 503, Reasons: []string{"dailyLimitExceeded"}}
	sink.errs["m0"] = []error{fmt.Errorf("read: connection reset by peer after storing: %w", syscall.ECONNRESET), quotaErr{daily}}
	c := newClock()
	jobs := []Job{{Source: src, Target: "list@example.com"}}
	r1, err := Run(t.Context(), jobs, sink, testOpts(c))
	if !errors.Is(err, workspace.ErrQuotaExhausted) {
		t.Fatalf("first run: %v", err)
	}
	r2, err := Run(t.Context(), jobs, sink, testOpts(c))
	if err != nil {
		t.Fatal(err)
	}
	if len(r1.PossibleDuplicates)+len(r2.PossibleDuplicates) != 1 || len(r2.PossibleDuplicates) != 1 {
		t.Errorf("stored %v; possible duplicates %+v then %+v: want m0 listed by the second run",
			sink.storedIn("list@example.com"), r1.PossibleDuplicates, r2.PossibleDuplicates)
	}
}

// TestTentativeRefusalsDoNotBlockReruns: a group whose first messages
// Google refuses (they are bad, the group exists) is not stuck: a rerun
// gets past them, stores the rest, and the refusals become final.
func TestTentativeRefusalsDoNotBlockReruns(t *testing.T) {
	var msgs []string
	for i := range 8 {
		msgs = append(msgs, msg(fmt.Sprintf("m%d", i)))
	}
	src := writeMbox(t, t.TempDir(), "a.mbox", msgs...)
	invalid := &workspace.Error{API: "groupsmigration", StatusCode: 400, Reasons: []string{"INVALID MESSAGE FAILURE"}}
	sink := newSink()
	for i := range tentativeLimit {
		sink.errs[fmt.Sprintf("m%d", i)] = []error{invalid, invalid, invalid}
	}
	c := newClock()
	jobs := []Job{{Source: src, Target: "list@example.com"}}
	if _, err := Run(t.Context(), jobs, sink, testOpts(c)); err == nil {
		t.Fatal("first run: want the target stopped")
	}
	r, err := Run(t.Context(), jobs, sink, testOpts(c))
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if got := sink.storedIn("list@example.com"); len(got) != 3 || len(r.RefusedByGoogle) != tentativeLimit || r.RefusedByGoogle[0].Tentative {
		t.Errorf("stored %v, refused %+v; want m5..m7 stored and the five refusals final", got, r.RefusedByGoogle)
	}
	r, err = Run(t.Context(), jobs, sink, testOpts(c))
	if err != nil || r.Resumed != 8 {
		t.Errorf("third run: %v, resumed %d; want all 8 done", err, r.Resumed)
	}
}

// TestByMessageIDFollowerSentWhenTheFirstIsRefused: a message that waited
// only because it shares a Message-ID is sent when the first one is not
// stored, not reported with the first one's outcome.
func TestByMessageIDFollowerSentWhenTheFirstIsRefused(t *testing.T) {
	src := writeMbox(t, t.TempDir(), "a.mbox", msg("a"), msg("m0", "Message-ID: <x@example.com>"),
		msg("m1", "Message-ID: <x@example.com>"), msg("b"))
	invalid := &workspace.Error{API: "groupsmigration", StatusCode: 400, Reasons: []string{"INVALID MESSAGE FAILURE"}}
	sink := newSink()
	sink.errs["m0"] = []error{backend(), invalid}
	o := testOpts(newClock())
	o.Dedupe = ByMessageID
	r, err := Run(t.Context(), []Job{{Source: src, Target: "list@example.com"}}, sink, o)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b", "m1"}, sink.storedIn("list@example.com")); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	if len(r.RefusedByGoogle) != 1 || r.RefusedByGoogle[0].Index != 1 {
		t.Errorf("refused %+v, want m0 only", r.RefusedByGoogle)
	}
	checkAccounted(t, r)
}
