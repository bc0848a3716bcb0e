package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/workspacetest"
)

func message(from, to, subject, body string, date time.Time) []byte {
	return []byte(fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s.%d@example.com>\r\n\r\n%s\r\n",
		from, to, subject, date.Format(time.RFC1123Z), strings.ReplaceAll(subject, " ", "."), date.Unix(), body))
}

// seedMail gives user n messages; one body has a "From " line that mbox
// must quote.
func seedMail(e *env, user string, n int) [][]byte {
	var msgs [][]byte
	for i := range n {
		body := fmt.Sprintf("message %d for %s", i, user)
		if i == 1 {
			body += "\r\nFrom the archive: a line mbox must quote\r\n>From an already quoted line"
		}
		raw := message("boss@example.com", user, fmt.Sprintf("subject %d", i), body, start.Add(-time.Duration(n-i)*time.Hour))
		e.srv.AddMail(user, raw)
		msgs = append(msgs, raw)
	}
	return msgs
}

func TestExportEndToEnd(t *testing.T) {
	e := newEnv(t)
	e.srv.AddUser("alice@example.com")
	msgs := seedMail(e, "alice@example.com", 5)
	e.srv.SetExportFileSize(700) // several files, whole messages each
	ctx := t.Context()
	kp := testKey(t)
	up, err := e.a.PublicKey.Upload(ctx, kp.Public)
	if err != nil {
		t.Fatal(err)
	}
	if up.Fingerprint == "" || !strings.Contains(up.ID, "/publickey/example.com/") {
		t.Errorf("uploaded = %+v", up)
	}
	x, err := e.a.Exports.Create(ctx, "alice@example.com", &ExportRequest{Begin: start.Add(-30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if x.Status != StatusPending || x.RequestID == "" || x.User != "alice" || x.PackageContent != PackageFullMessage {
		t.Fatalf("created = %+v", x)
	}
	var seen []Status
	e.clk.takePauses()
	done, err := e.a.Exports.Wait(ctx, "alice", x.RequestID, &WaitOptions{
		WaitOptions: workspace.WaitOptions{Interval: 10 * time.Second, MaxInterval: 25 * time.Second},
		Progress: func(x *Export, err error) {
			if err == nil {
				seen = append(seen, x.Status)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	pauses := e.clk.takePauses()
	// The fake completes after one minute: pauses grow by half, capped.
	wantPauses := []time.Duration{10 * time.Second, 15 * time.Second, 22500 * time.Millisecond, 25 * time.Second}
	if fmt.Sprint(pauses) != fmt.Sprint(wantPauses) || seen[len(seen)-1] != StatusCompleted {
		t.Errorf("pauses %v, statuses %v", pauses, seen)
	}
	if len(done.FileURLs) < 2 || done.NumberOfFiles != len(done.FileURLs) || done.Expires.IsZero() {
		t.Fatalf("completed = %+v", done)
	}
	if done.ExpiresWithin(e.clk.Now(), 24*time.Hour) || !done.ExpiresWithin(e.clk.Now(), 22*24*time.Hour) {
		t.Errorf("expiry %v", done.Expires)
	}
	dir := t.TempDir()
	files, err := e.a.Exports.Download(ctx, done, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := testPrivate(t)
	var all bytes.Buffer
	total := 0
	for _, f := range files {
		if !f.SizeChecked || f.Skipped {
			t.Errorf("file %+v", f)
		}
		out := strings.TrimSuffix(f.Path, ".gpg")
		res, err := DecryptFile(ctx, out, f.Path, keys, nil)
		if err != nil {
			t.Fatal(err)
		}
		total += res.Messages
		b, _ := os.ReadFile(out)
		all.Write(b)
		// Byte for byte what the server encrypted for this file.
		if want := e.srv.ExportPlaintext(done.RequestID, f.Index); !bytes.Equal(b, want) {
			t.Errorf("file %d: decrypted %d bytes differ from the %d the server encrypted", f.Index, len(b), len(want))
		}
		if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", out, st.Mode())
		}
	}
	if total != len(msgs) {
		t.Errorf("%d messages decrypted, want %d", total, len(msgs))
	}
	got := splitMbox(all.String())
	if len(got) != len(msgs) {
		t.Fatalf("%d messages in the mbox files, want %d", len(got), len(msgs))
	}
	for i, m := range msgs {
		want := strings.TrimSuffix(strings.ReplaceAll(string(m), "\r\n", "\n"), "\n")
		if got[i] != want {
			t.Errorf("message %d:\n got %q\nwant %q", i, got[i], want)
		}
	}
	// A second Download skips what is on disk.
	again, err := e.a.Exports.Download(ctx, done, dir, nil)
	if err != nil || len(again) != len(files) || !again[0].Skipped {
		t.Errorf("second download: %+v %v", again, err)
	}

	// Delete: MARKED_DELETE (the fake's cleanup takes an hour), re-sent
	// with backoff until DELETED.
	e.clk.takePauses()
	del, err := e.a.Exports.Delete(ctx, "alice", x.RequestID, &DeleteOptions{WaitOptions: workspace.WaitOptions{Interval: 10 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	pauses = e.clk.takePauses()
	// Pauses grow by half, as Wait's do.
	if del.Status != StatusDeleted || fmt.Sprint(pauses) != "[10m0s 15m0s 22m30s 33m45s]" {
		t.Errorf("delete: %s after pauses %v", del.Status, pauses)
	}
	if _, err := e.a.Exports.Download(ctx, del, dir, &DownloadOptions{Overwrite: true}); err == nil {
		t.Error("download of a deleted export succeeded")
	}
}

// splitMbox undoes mboxrd: messages without their "From " lines, quoted
// lines unquoted.
func splitMbox(s string) []string {
	var out []string
	var cur []string
	flush := func() {
		if cur != nil {
			out = append(out, strings.TrimSuffix(strings.Join(cur, "\n"), "\n"))
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if strings.HasPrefix(line, "From ") {
			flush()
			cur = []string{}
			continue
		}
		if strings.HasPrefix(strings.TrimLeft(line, ">"), "From ") {
			line = line[1:]
		}
		cur = append(cur, line)
	}
	flush()
	return out
}

func TestExportValidation(t *testing.T) {
	e := newEnv(t)
	e.srv.AddUser("alice@example.com")
	tests := []struct {
		name  string
		user  string
		req   *ExportRequest
		field string
	}{
		{"query with deleted", "alice", &ExportRequest{SearchQuery: "from:bob", IncludeDeleted: true}, "SearchQuery"},
		{"bad package", "alice", &ExportRequest{PackageContent: "EVERYTHING"}, "PackageContent"},
		{"end before begin", "alice", &ExportRequest{Begin: start, End: start.Add(-time.Hour)}, "End"},
		{"other domain", "alice@other.com", nil, "user"},
		{"no user", " ", nil, "user"},
	}
	for _, tt := range tests {
		before := e.sent.n.Load()
		_, err := e.a.Exports.Create(t.Context(), tt.user, tt.req)
		var ie *workspace.InputError
		if !errors.As(err, &ie) || ie.Field != tt.field {
			t.Errorf("%s: err = %v, want an InputError on %s", tt.name, err, tt.field)
		}
		if e.sent.n.Load() != before {
			t.Errorf("%s: a request was sent", tt.name)
		}
	}
	for _, id := range []string{"", "a/b"} {
		if _, err := e.a.Exports.Get(t.Context(), "alice", id); !errors.Is(err, workspace.ErrInvalidInput) {
			t.Errorf("Get(%q) = %v", id, err)
		}
	}
	// The server's refusals: unknown user (403 EntityDoesNotExist), unknown id.
	if _, err := e.a.Exports.Create(t.Context(), "nobody", nil); !errors.Is(err, workspace.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := e.a.Exports.Get(t.Context(), "alice", "123"); !errors.Is(err, workspace.ErrNotFound) {
		t.Errorf("unknown request: %v", err)
	}
	// HEADER_ONLY and a query are sent as given.
	x, err := e.a.Exports.Create(t.Context(), "alice", &ExportRequest{SearchQuery: "subject:x", PackageContent: PackageHeaderOnly, End: start})
	if err != nil || x.PackageContent != PackageHeaderOnly || x.SearchQuery != "subject:x" || !x.End.Equal(start) {
		t.Errorf("created %+v, %v", x, err)
	}
}

func TestExportErrorExpiredAndDeletePending(t *testing.T) {
	e := newEnv(t)
	e.srv.AddUser("alice@example.com")
	seedMail(e, "alice@example.com", 1)
	ctx := t.Context()
	// No public key yet: the export ends in ERROR.
	x, err := e.a.Exports.Create(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A PENDING export cannot be deleted (403 InvalidValue).
	if _, err := e.a.Exports.Delete(ctx, "alice", x.RequestID, nil); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("delete pending: %v", err)
	}
	if _, err := e.a.Exports.Download(ctx, x, t.TempDir(), nil); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("download pending: %v", err)
	}
	got, err := e.a.Exports.Wait(ctx, "alice", x.RequestID, nil)
	var oe *workspace.OperationError
	if !errors.As(err, &oe) || got.Status != StatusError || !strings.Contains(err.Error(), "public key") {
		t.Fatalf("wait without key: %v %+v", err, got)
	}
	if oe.API != workspace.APIAudit || oe.Operation != "export" || oe.ID != x.RequestID || oe.Status != "ERROR" || oe.Code != 0 {
		t.Errorf("wait without key: %#v", oe)
	}
	// Download refuses it the same way.
	if _, err := e.a.Exports.Download(ctx, got, t.TempDir(), nil); !errors.As(err, &oe) || oe.Status != "ERROR" {
		t.Errorf("download of a failed export: %v", err)
	}

	if _, err := e.a.PublicKey.Upload(ctx, testKey(t).Public); err != nil {
		t.Fatal(err)
	}
	x, err = e.a.Exports.Create(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(2 * time.Minute)
	done, err := e.a.Exports.Get(ctx, "alice", x.RequestID)
	if err != nil || done.Status != StatusCompleted {
		t.Fatalf("get: %+v %v", done, err)
	}
	// Close to the three-week limit: reported, and still downloadable.
	e.clk.Advance(20*24*time.Hour + 12*time.Hour)
	if !done.ExpiresWithin(e.clk.Now(), 24*time.Hour) {
		t.Errorf("not reported as close to expiry: expires %v, now %v", done.Expires, e.clk.Now())
	}
	if _, err := e.a.Exports.Download(ctx, done, t.TempDir(), nil); err != nil {
		t.Errorf("download close to expiry: %v", err)
	}
	// Past it: EXPIRED from Wait and from Download; the file host's 410
	// also reads as expired.
	e.clk.Advance(24 * time.Hour)
	got, err = e.a.Exports.Wait(ctx, "alice", x.RequestID, nil)
	var xe *ExpiredError
	if !errors.As(err, &xe) || !errors.Is(err, ErrExpired) || got.Status != StatusExpired {
		t.Errorf("wait on expired: %v", err)
	}
	if _, err := e.a.Exports.Download(ctx, got, t.TempDir(), nil); !errors.Is(err, ErrExpired) {
		t.Errorf("download expired: %v", err)
	}
	stale := *done
	stale.Expires = time.Time{} // pretend the client did not know
	if _, err := e.a.Exports.Download(ctx, &stale, t.TempDir(), nil); !errors.Is(err, ErrExpired) {
		t.Errorf("download of a stale COMPLETED view: %v", err)
	}
}

func TestExportsPaging(t *testing.T) {
	e := newEnv(t)
	e.srv.AddUser("alice@example.com")
	e.srv.AddUser("bob@example.com")
	e.srv.SetAuditQuota(0, 0) // unlimited
	ctx := t.Context()
	want := map[string]bool{}
	for i := range 250 {
		user := []string{"alice", "bob"}[i%2]
		x, err := e.a.Exports.Create(ctx, user, nil)
		if err != nil {
			t.Fatal(err)
		}
		want[x.RequestID] = true
		e.clk.Advance(time.Minute)
	}
	before := e.sent.n.Load()
	got := map[string]bool{}
	for x, err := range e.a.Exports.All(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if got[x.RequestID] {
			t.Errorf("%s listed twice", x.RequestID)
		}
		got[x.RequestID] = true
		if x.User != "alice" && x.User != "bob" {
			t.Errorf("user %q", x.User)
		}
	}
	if len(got) != 250 || len(want) != 250 {
		t.Errorf("listed %d of %d", len(got), len(want))
	}
	if n := e.sent.n.Load() - before; n != 3 {
		t.Errorf("%d list requests, want 3 pages", n)
	}
	// One page, and From.
	p, err := e.a.Exports.List(ctx, &ExportListOptions{From: start.Add(200 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 50 || p.NextPageToken != "" {
		t.Errorf("from: %d exports, next %q", len(p.Items), p.NextPageToken)
	}
	// Page by page through the tokens, as All does.
	paged := 0
	opts := &ExportListOptions{}
	for pages := 0; ; pages++ {
		p, err := e.a.Exports.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		paged += len(p.Items)
		if len(p.Items) > 100 || pages > 3 {
			t.Fatalf("page %d: %d items", pages, len(p.Items))
		}
		if p.NextPageToken == "" {
			break
		}
		opts.PageToken = p.NextPageToken
	}
	if paged != 250 {
		t.Errorf("listed %d by page, want 250", paged)
	}
	// All starts at the first page whatever the token says.
	n := 0
	for _, err := range e.a.Exports.All(ctx, opts) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 250 {
		t.Errorf("All with a page token listed %d, want 250", n)
	}
	// Stopping early sends no more requests.
	before = e.sent.n.Load()
	for range e.a.Exports.All(ctx, nil) {
		break
	}
	if n := e.sent.n.Load() - before; n != 1 {
		t.Errorf("early stop: %d requests", n)
	}
	// A page token off the API host is refused, and so is a page size
	// (the API takes none), by List and All, before anything is sent.
	before = e.sent.n.Load()
	var ie *workspace.InputError
	if _, err := e.a.Exports.List(ctx, &ExportListOptions{ListOptions: workspace.ListOptions{PageToken: "https://evil.example.net/feed"}}); !errors.As(err, &ie) || ie.Field != "PageToken" {
		t.Errorf("foreign page token: %v", err)
	}
	sized := &ExportListOptions{ListOptions: workspace.ListOptions{PageSize: 10}}
	if _, err := e.a.Exports.List(ctx, sized); !errors.As(err, &ie) || ie.Field != "PageSize" {
		t.Errorf("page size: %v", err)
	}
	var errs []error
	for x, err := range e.a.Exports.All(ctx, sized) {
		if x != nil {
			t.Errorf("All with a page size yielded %+v", x)
		}
		errs = append(errs, err)
	}
	if len(errs) != 1 || !errors.As(errs[0], &ie) || ie.Field != "PageSize" {
		t.Errorf("All with a page size yielded %v, want one *InputError on PageSize", errs)
	}
	if n := e.sent.n.Load() - before; n != 0 {
		t.Errorf("%d requests sent for refused options", n)
	}
}

func TestExportQuota(t *testing.T) {
	e := newEnv(t)
	e.srv.AddUser("alice@example.com")
	e.srv.SetAuditQuota(0, 2)
	for range 2 {
		if _, err := e.a.Exports.Create(t.Context(), "alice", nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.a.Exports.Create(t.Context(), "alice", nil)
	if !errors.Is(err, workspace.ErrRateLimited) {
		t.Errorf("over the daily export budget: %v", err)
	}
}

func TestDownloadWritesIntoDir(t *testing.T) {
	x := &Export{User: "a/b", RequestID: "7"}
	if got := fileName(x, 2); got != "export-a_b-7-2.mbox.gpg" || filepath.Base(got) != got {
		t.Errorf("fileName = %q", got)
	}
}

// Wait keeps polling through failures that outlast the core's retries (a
// burst of 503s longer than the attempt limit) and still returns the
// completed export; each failed poll is reported to Progress.
func TestExportWaitThroughTemporaryFailures(t *testing.T) {
	e := newEnv(t)
	e.srv.AddUser("alice@example.com")
	seedMail(e, "alice@example.com", 2)
	ctx := t.Context()
	if _, err := e.a.PublicKey.Upload(ctx, testKey(t).Public); err != nil {
		t.Fatal(err)
	}
	x, err := e.a.Exports.Create(ctx, "alice@example.com", &ExportRequest{Begin: start.Add(-30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// 10 consecutive 503s: more than one Get's 7 attempts.
	e.srv.InjectFault("audit", workspacetest.FaultHTTP503, 10)
	var failed, ok int
	done, err := e.a.Exports.Wait(ctx, "alice", x.RequestID, &WaitOptions{
		WaitOptions: workspace.WaitOptions{Interval: 10 * time.Second, MaxInterval: 25 * time.Second},
		Progress: func(_ *Export, err error) {
			if err != nil {
				failed++
			} else {
				ok++
			}
		},
	})
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if done.Status != StatusCompleted || failed == 0 || ok == 0 {
		t.Errorf("status %s, failed polls %d, good polls %d", done.Status, failed, ok)
	}
}

// Wait's Timeout bounds the wait: the last pause is cut to fit, one more
// poll is made at the deadline, and the last state read comes back with
// an error matching context.DeadlineExceeded. A ctx that ends does the
// same with its own error.
func TestExportWaitTimeout(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	x := pendingExport(t, e)
	e.clk.takePauses()
	polls := 0
	got, err := e.a.Exports.Wait(ctx, "alice", x.RequestID, &WaitOptions{
		WaitOptions: workspace.WaitOptions{Interval: 10 * time.Second, Timeout: 30 * time.Second},
		Progress:    func(*Export, error) { polls++ },
	})
	// The fake completes after one minute.
	if !errors.Is(err, context.DeadlineExceeded) || got == nil || got.Status != StatusPending {
		t.Errorf("Wait = %+v, %v; want the PENDING export and DeadlineExceeded", got, err)
	}
	if p := e.clk.takePauses(); fmt.Sprint(p) != "[10s 15s 5s]" || polls != 4 {
		t.Errorf("pauses %v, %d polls; want [10s 15s 5s] and 4 polls", p, polls)
	}

	cctx, cancel := context.WithCancel(ctx)
	got, err = e.a.Exports.Wait(cctx, "alice", x.RequestID, &WaitOptions{
		Progress: func(*Export, error) { cancel() },
	})
	if err != context.Canceled || got == nil || got.RequestID != x.RequestID {
		t.Errorf("Wait after cancel = %+v, %v; want the export and context.Canceled itself", got, err)
	}
}

// With real time, a timeout is not a ctx deadline: the last poll is made
// at the timeout. The sleeper here honours ctx deadlines as a real one
// does (a sleep that reaches one ends early with DeadlineExceeded), so a
// wait that ran its polls under a ctx with the timeout as its deadline
// would lose the last poll.
func TestExportWaitTimeoutRealTime(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	x := pendingExport(t, e)
	e.clk.realDeadlines()
	e.clk.takePauses()
	t0 := e.clk.Now()
	var at []time.Duration
	got, err := e.a.Exports.Wait(ctx, "alice", x.RequestID, &WaitOptions{
		WaitOptions: workspace.WaitOptions{Interval: 10 * time.Second, Timeout: 30 * time.Second},
		Progress:    func(*Export, error) { at = append(at, e.clk.Now().Sub(t0)) },
	})
	if !errors.Is(err, context.DeadlineExceeded) || got == nil || got.Status != StatusPending {
		t.Fatalf("Wait = %+v, %v; want the PENDING export and DeadlineExceeded", got, err)
	}
	if !strings.Contains(err.Error(), "still PENDING after 30s (4 polls)") {
		t.Errorf("timeout error %q does not say what is pending", err)
	}
	if fmt.Sprint(at) != "[0s 10s 25s 30s]" {
		t.Errorf("polls at %v; want [0s 10s 25s 30s], the last at the timeout", at)
	}
	// The same export is done a minute after it was requested: a Timeout
	// of 60 s makes its last poll then, and succeeds.
	e.clk.takePauses()
	got, err = e.a.Exports.Wait(ctx, "alice", x.RequestID, &WaitOptions{
		WaitOptions: workspace.WaitOptions{Interval: 10 * time.Second, Timeout: 30 * time.Second},
	})
	if err != nil || got.Status != StatusCompleted {
		t.Errorf("second Wait = %+v, %v; want COMPLETED at its last poll", got, err)
	}
	if p := e.clk.takePauses(); fmt.Sprint(p) != "[10s 15s 5s]" {
		t.Errorf("second Wait paused %v", p)
	}
}

// An Interval above MaxInterval raises MaxInterval to it; negative
// durations are refused before any request, by Wait and Delete.
func TestExportWaitOptions(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	x := pendingExport(t, e)
	e.clk.takePauses()
	// The fake completes after one minute.
	got, err := e.a.Exports.Wait(ctx, "alice", x.RequestID, &WaitOptions{
		WaitOptions: workspace.WaitOptions{Interval: 40 * time.Second, MaxInterval: 20 * time.Second},
	})
	if err != nil || got.Status != StatusCompleted {
		t.Fatalf("Wait = %+v, %v", got, err)
	}
	if p := e.clk.takePauses(); fmt.Sprint(p) != "[40s 40s]" {
		t.Errorf("pauses %v, want [40s 40s]", p)
	}

	before := e.sent.n.Load()
	for _, tc := range []struct {
		w     workspace.WaitOptions
		field string
	}{
		{workspace.WaitOptions{Interval: -1}, "Interval"},
		{workspace.WaitOptions{MaxInterval: -time.Second}, "MaxInterval"},
		{workspace.WaitOptions{Timeout: -time.Minute}, "Timeout"},
	} {
		var ie *workspace.InputError
		got, err := e.a.Exports.Wait(ctx, "alice", x.RequestID, &WaitOptions{WaitOptions: tc.w})
		if got != nil || !errors.As(err, &ie) || ie.Field != tc.field || ie.Op != "audit: Exports.Wait" {
			t.Errorf("Wait %+v = %+v, %v; want an *InputError on %s", tc.w, got, err, tc.field)
		}
		got, err = e.a.Exports.Delete(ctx, "alice", x.RequestID, &DeleteOptions{WaitOptions: tc.w})
		if got != nil || !errors.As(err, &ie) || ie.Field != tc.field || ie.Op != "audit: Exports.Delete" {
			t.Errorf("Delete %+v = %+v, %v; want an *InputError on %s", tc.w, got, err, tc.field)
		}
	}
	if n := e.sent.n.Load() - before; n != 0 {
		t.Errorf("%d requests sent for refused options", n)
	}
}

// Delete waits as Wait does: a temporary failure is tried again at the
// next pause, and Timeout ends the wait with the last state read and an
// error matching context.DeadlineExceeded.
func TestExportDeleteWaits(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	x := readyExport(t, e)
	// 10 consecutive 503s: more than the first delete's 7 attempts.
	e.srv.InjectFault("audit", workspacetest.FaultHTTP503, 10)
	e.clk.takePauses()
	got, err := e.a.Exports.Delete(ctx, "alice", x.RequestID, &DeleteOptions{
		WaitOptions: workspace.WaitOptions{Interval: 10 * time.Minute, Timeout: 20 * time.Minute},
	})
	// The fake's cleanup takes an hour: MARKED_DELETE at the timeout.
	if !errors.Is(err, context.DeadlineExceeded) || got == nil || got.Status != StatusMarkedDelete {
		t.Fatalf("Delete = %+v, %v; want MARKED_DELETE and DeadlineExceeded", got, err)
	}
	if !strings.Contains(err.Error(), "still MARKED_DELETE after 20m0s") {
		t.Errorf("timeout error %q", err)
	}
	// The retry layer's own pauses (1 ms each, through the same clock)
	// count: the cut pause ends exactly at the timeout.
	var long []time.Duration
	var total time.Duration
	for _, p := range e.clk.takePauses() {
		total += p
		if p >= time.Second {
			long = append(long, p)
		}
	}
	if len(long) != 2 || long[0] != 10*time.Minute || total != 20*time.Minute {
		t.Errorf("pauses %v (%v in all), want 10m0s and the rest of 20m0s", long, total)
	}
}

// Delete reaches DELETED through its normal path: after the accepted
// delete it reads the export while the fake's cleanup (an hour on its
// clock, which the pauses advance) runs, sends the delete again while it
// reads MARKED_DELETE, as Google asks, and ends with the read that shows
// DELETED. No request is answered with an error: a delete sent blindly
// before reading would reach the fake after its cleanup and be answered
// 403 EntityDoesNotExist.
func TestExportDeleteReachesDeleted(t *testing.T) {
	e := newEnv(t)
	x, rec := completedExport(t, e, -1)
	e.clk.takePauses()
	got, err := e.a.Exports.Delete(t.Context(), "alice", x.RequestID, nil)
	if err != nil || got == nil || got.Status != StatusDeleted {
		t.Fatalf("Delete = %+v, %v; want DELETED", got, err)
	}
	if s := e.srv.ExportStatus(x.RequestID); s != "DELETED" {
		t.Errorf("the fake says %s", s)
	}
	reqs := rec.requests()
	if n := rec.count("DELETE 200"); n < 2 || n != rec.count("DELETE") {
		t.Errorf("requests %v: want the delete accepted each time, and sent again while MARKED_DELETE", reqs)
	}
	if rec.count("GET 200") != len(reqs)-rec.count("DELETE") || reqs[0] != "DELETE 200" || reqs[len(reqs)-1] != "GET 200" {
		t.Errorf("requests %v: want a delete first, reads answered 200, a read last", reqs)
	}
	var slept time.Duration
	for _, p := range e.clk.takePauses() {
		slept += p
	}
	if slept < time.Hour {
		t.Errorf("DELETED after %v of pauses; the fake's cleanup takes an hour", slept)
	}
}

// The export goes MARKED_DELETE, then is gone (a read answers 403
// EntityDoesNotExist): Delete sends the delete once, reads, and takes
// the not-found read as DELETED.
func TestExportDeleteSentOnceWhenGone(t *testing.T) {
	e := newEnv(t)
	x, rec := completedExport(t, e, 2) // gone after the delete and one read
	got, err := e.a.Exports.Delete(t.Context(), "alice", x.RequestID, nil)
	if err != nil || got == nil || got.Status != StatusDeleted || got.RequestID != x.RequestID || got.User != "alice" {
		t.Fatalf("Delete = %+v, %v; want DELETED", got, err)
	}
	if reqs := rec.requests(); fmt.Sprint(reqs) != "[DELETE 200 GET 200 GET 403]" {
		t.Errorf("requests %v; want [DELETE 200 GET 200 GET 403]: the delete sent once", reqs)
	}
}

// The cleanup finishes between a read that shows MARKED_DELETE and the
// delete sent again after it: the not-found answer to that delete is
// DELETED.
func TestExportDeleteResentFindsItGone(t *testing.T) {
	e := newEnv(t)
	x, rec := completedExport(t, e, 3) // gone after the delete and two reads
	got, err := e.a.Exports.Delete(t.Context(), "alice", x.RequestID, nil)
	if err != nil || got == nil || got.Status != StatusDeleted {
		t.Fatalf("Delete = %+v, %v; want DELETED", got, err)
	}
	if reqs := rec.requests(); fmt.Sprint(reqs) != "[DELETE 200 GET 200 GET 200 DELETE 403]" {
		t.Errorf("requests %v; want [DELETE 200 GET 200 GET 200 DELETE 403]", reqs)
	}
}

// A delete that was never accepted is not taken for a finished one: a
// request that does not exist is an error.
func TestExportDeleteUnknown(t *testing.T) {
	e := newEnv(t)
	x, rec := completedExport(t, e, 0) // gone from the first request on
	got, err := e.a.Exports.Delete(t.Context(), "alice", x.RequestID, nil)
	if !errors.Is(err, workspace.ErrNotFound) || got != nil {
		t.Fatalf("Delete = %+v, %v; want ErrNotFound", got, err)
	}
	if reqs := rec.requests(); fmt.Sprint(reqs) != "[DELETE 403]" {
		t.Errorf("requests %v", reqs)
	}
}
