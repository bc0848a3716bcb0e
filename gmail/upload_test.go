package gmail_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/gmail"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/workspacetest"
)

// TestSizeLimitsBeforeRequest: messages over 35 MiB (send) or 150 MiB
// (insert, import) are refused locally, with no request sent.
func TestSizeLimitsBeforeRequest(t *testing.T) {
	e := newEnv(t, nil)
	hdr := "From: a@example.com\r\nTo: b@example.com\r\nSubject: big\r\n\r\n"
	send := append([]byte(hdr), bytes.Repeat([]byte("x"), gmail.MaxSendSize)...)
	store := append([]byte(hdr), bytes.Repeat([]byte("x"), gmail.MaxInsertSize)...)
	for name, f := range map[string]func() error{
		"send":   func() error { _, err := e.g.Messages.Send(t.Context(), e.user, send, nil); return err },
		"insert": func() error { _, err := e.g.Messages.Insert(t.Context(), e.user, store, nil); return err },
		"import": func() error { _, err := e.g.Messages.Import(t.Context(), e.user, store, nil); return err },
		"empty":  func() error { _, err := e.g.Messages.Insert(t.Context(), e.user, nil, nil); return err },
	} {
		if err := f(); !errors.Is(err, workspace.ErrInvalidInput) {
			t.Errorf("%s: err = %v, want ErrInvalidInput", name, err)
		}
	}
	if st := e.srv.Stats()["gmail"]; st.Accepted != 0 || len(st.Rejected) != 0 {
		t.Errorf("server saw Gmail calls: %+v", st)
	}
}

// TestResumableInsert: a message above the threshold goes by resumable
// upload, in chunks, and arrives whole with its labels.
func TestResumableInsert(t *testing.T) {
	e := newEnv(t, nil)
	body := bytes.Repeat([]byte("0123456789abcdef\r\n"), 40000) // 720 kB
	raw := append([]byte("From: a@example.com\r\nTo: alice@example.com\r\nSubject: large\r\n\r\n"), body...)
	m, err := e.g.Messages.Insert(t.Context(), e.user, raw, &gmail.InsertOptions{
		LabelIDs: []string{"INBOX"}, ResumableThreshold: 256 << 10, ChunkSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for _, gm := range e.srv.GmailMessages(e.user) {
		if gm.ID == m.Id {
			got = gm.Raw
			if len(gm.LabelIDs) != 1 || gm.LabelIDs[0] != "INBOX" {
				t.Errorf("labels = %v, want [INBOX]", gm.LabelIDs)
			}
		}
	}
	if !bytes.Equal(got, raw) {
		t.Errorf("stored %d bytes, want the %d sent", len(got), len(raw))
	}
}

// TestSendLimit: once the daily sending limit is reached, Send returns a
// *SendLimitError with the time sending resumes, at once (one attempt).
func TestSendLimit(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.SetGmailConfig(workspacetest.GmailConfig{DailySendLimit: 1})
	msg, err := gmail.Compose(&gmail.Mail{From: e.user, To: []string{"bob@example.org"}, Subject: "hi", Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.g.Messages.Send(t.Context(), e.user, msg, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = e.g.Messages.Send(t.Context(), e.user, msg, nil)
	var se *gmail.SendLimitError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a SendLimitError", err)
	}
	if !errors.Is(err, workspace.ErrQuotaExhausted) || errors.Is(err, workspace.ErrRateLimited) || se.Err.Attempts > 1 {
		t.Errorf("err = %v (attempts %d), want a spent quota sent back after one attempt", err, se.Err.Attempts)
	}
	if until := time.Until(se.RetryAt); until < 20*time.Hour || until > 25*time.Hour {
		t.Errorf("RetryAt = %v (in %v), want about 24 h from now", se.RetryAt, until)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Send took %v", time.Since(start))
	}
}

// TestComposeMultipart: Compose builds a message with both bodies and an
// attachment that Gmail accepts.
func TestComposeMultipart(t *testing.T) {
	e := newEnv(t, nil)
	raw, err := gmail.Compose(&gmail.Mail{From: "Alice <" + e.user + ">", To: []string{"bob@example.org"},
		Subject: "Report", Text: "see attached", HTML: "<p>see attached</p>",
		Attachments: []gmail.Attachment{{Filename: "r.csv", ContentType: "text/csv", Data: []byte("a,b\n1,2\n")}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"multipart/mixed", "multipart/alternative", "text/html", `filename=r.csv`, "Message-Id: <"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("composed message lacks %q:\n%s", want, raw)
		}
	}
	m, err := e.g.Messages.Import(t.Context(), e.user, raw, &gmail.InsertOptions{LabelIDs: []string{"INBOX"}})
	if err != nil {
		t.Fatal(err)
	}
	full, err := e.g.Messages.Get(t.Context(), e.user, m.Id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if full.Payload == nil || len(full.Payload.Parts) != 2 || full.Payload.Parts[1].Filename != "r.csv" {
		t.Errorf("payload = %+v, want two parts with r.csv second", full.Payload)
	}
	if _, err := gmail.Compose(&gmail.Mail{From: "not an address"}); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("bad From: err = %v, want ErrInvalidInput", err)
	}
}

// TestImportMbox: an mbox goes into the mailbox through the migration
// engine; a second run resumes from the journal and imports nothing again.
func TestImportMbox(t *testing.T) {
	e := newEnv(t, nil)
	dir := t.TempDir()
	var mbox bytes.Buffer
	for i := range 5 {
		mbox.WriteString("From bob@example.org Mon Mar  2 09:00:00 2026\n")
		mbox.Write(bytes.ReplaceAll(mail(i), []byte("\r\n"), []byte("\n")))
		mbox.WriteString("\n")
	}
	mbox.WriteString("From bob@example.org Mon Mar  2 09:00:00 2026\n\n\n") // empty: invalid
	src := filepath.Join(dir, "old.mbox")
	if err := os.WriteFile(src, mbox.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := e.g.ImportMbox(t.Context(), e.user, src, &gmail.ImportMboxOptions{Message: &gmail.InsertOptions{LabelIDs: []string{"INBOX"}}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Inserted != 5 || len(rep.RefusedLocally) != 1 || len(rep.Failed) != 0 {
		t.Errorf("report: inserted %d, refused %v, failed %v; want 5, 1, 0", rep.Inserted, rep.RefusedLocally, rep.Failed)
	}
	if n := len(e.srv.GmailMessages(e.user)); n != 5 {
		t.Errorf("mailbox holds %d messages, want 5", n)
	}
	rep, err = e.g.ImportMbox(t.Context(), e.user, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Inserted != 0 || rep.Resumed != 5 || len(rep.RefusedLocally) != 1 {
		t.Errorf("second run: inserted %d, resumed %d, refused %d; want 0, 5, 1 (the empty one is refused again, for free)",
			rep.Inserted, rep.Resumed, len(rep.RefusedLocally))
	}
	if _, err := e.g.ImportMbox(t.Context(), "nobody", src, nil); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("bad user: err = %v, want ErrInvalidInput", err)
	}
}

// unitsLimiter wraps a limiter and adds up the Gmail units it is asked
// for (a request's Cost, or the method's cost in the legacy table).
type unitsLimiter struct {
	next  quota.Limiter
	mu    sync.Mutex
	units int64
	calls map[string]int
}

func (l *unitsLimiter) Acquire(ctx context.Context, r *quota.Request) (quota.Release, error) {
	if r.API == workspace.APIGmail {
		c := r.Cost
		if c <= 0 {
			c, _ = quota.GmailCost(quota.GmailLegacy, r.Method)
		}
		l.mu.Lock()
		l.units += c
		if l.calls == nil {
			l.calls = map[string]int{}
		}
		l.calls[r.Method]++
		l.mu.Unlock()
	}
	return l.next.Acquire(ctx, r)
}

// bigMessage returns an RFC 822 message of about n bytes.
func bigMessage(n int, subject string) []byte {
	hdr := "From: bob@example.org\r\nTo: alice@example.com\r\nSubject: " + subject + "\r\n\r\n"
	line := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n"
	return append([]byte(hdr), bytes.Repeat([]byte(line), (n-len(hdr))/len(line)+1)...)
}

// storedCopies counts the stored copies of raw in the user's mailbox.
func (e *env) storedCopies(raw []byte) int {
	n := 0
	for _, m := range e.srv.GmailMessages(e.user) {
		if bytes.Equal(m.Raw, raw) {
			n++
		}
	}
	return n
}

// dataChunk reports whether r sends bytes to an upload session (not a
// status query, not the session start).
func dataChunk(r *http.Request) bool {
	return r.URL.Query().Get("upload_id") != "" && r.Method == http.MethodPut &&
		!strings.HasPrefix(r.Header.Get("Content-Range"), "bytes */")
}

// faultAtChunk injects count faults of kind into the n-th data chunk
// (from 1) and the requests after it.
func (e *env) faultAtChunk(n int, kind workspacetest.FaultKind, count int) {
	var mu sync.Mutex
	seen := 0
	e.onRequest(func(r *http.Request) {
		if !dataChunk(r) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if seen++; seen == n {
			e.srv.InjectFault("gmail", kind, count)
		}
	})
}

// TestResumableImportChargedOnce: a 6 MiB import in 1 MiB chunks is
// charged 25 units, once, by the client's limiter (it was charged for
// every chunk: 200 units) and by the fake.
func TestResumableImportChargedOnce(t *testing.T) {
	lim := &unitsLimiter{next: mustLimiter(t)}
	e := newEnv(t, lim)
	raw := bigMessage(6<<20+100, "six MiB")
	m, err := e.g.Messages.Import(t.Context(), e.user, raw, &gmail.InsertOptions{ChunkSize: 1 << 20, LabelIDs: []string{"INBOX"}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Id == "" || e.storedCopies(raw) != 1 {
		t.Fatalf("message %q stored %d times, want once", m.Id, e.storedCopies(raw))
	}
	if lim.units != 25 || lim.calls["users.messages.import"] != 1 {
		t.Errorf("limiter charged %d units (%v), want 25 for one import", lim.units, lim.calls)
	}
	if u := e.srv.GmailUnits(e.user); u != 25 {
		t.Errorf("fake charged %d units, want 25", u)
	}
	if n := len(e.srv.GmailUploadLog()); n != 7 {
		t.Errorf("%d chunk requests, want 7 (6 MiB and a bit in 1 MiB chunks)", n)
	}
}

func mustLimiter(t *testing.T) quota.Limiter {
	t.Helper()
	l, err := quota.New()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestResumableChunkResumes: a chunk fails mid-upload; the client asks
// the session where it stands (an empty PUT, "bytes */total") and goes
// on from the offset the server committed, re-sending nothing it holds.
// The message is stored once, whole.
func TestResumableChunkResumes(t *testing.T) {
	const chunk = 256 << 10
	for _, tc := range []struct {
		name string
		kind workspacetest.FaultKind
		// the server took the failed chunk (its reply was lost)
		took bool
	}{
		{"reply lost after the chunk was taken", workspacetest.FaultResetAfterProcessing, true},
		{"503 before the chunk was taken", workspacetest.FaultHTTP503, false},
		{"connection reset before the body", workspacetest.FaultResetBeforeBody, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			raw := bigMessage(4*chunk+1000, "resumed")
			e.faultAtChunk(2, tc.kind, 1)
			m, err := e.g.Messages.Import(t.Context(), e.user, raw, &gmail.InsertOptions{
				ResumableThreshold: chunk, ChunkSize: chunk})
			if err != nil {
				t.Fatal(err)
			}
			if m.Id == "" || e.storedCopies(raw) != 1 {
				t.Fatalf("stored %d copies, want 1", e.storedCopies(raw))
			}
			var got []string
			for _, r := range e.srv.GmailUploadLog() {
				if r.First >= 0 && r.First != r.Received {
					t.Errorf("a chunk started at byte %d while the server held %d", r.First, r.Received)
				}
				kind := "chunk"
				if r.First < 0 {
					kind = "query"
				}
				got = append(got, fmt.Sprintf("%s %d>%d", kind, r.Received, r.Committed))
			}
			total := len(raw)
			want := []string{"chunk 0>262144", "chunk 262144>524288", "query 524288>524288",
				"chunk 524288>786432", "chunk 786432>1048576", fmt.Sprintf("chunk 1048576>%d", total)}
			if !tc.took {
				// The failed chunk never reached the session.
				want = []string{"chunk 0>262144", "query 262144>262144", "chunk 262144>524288",
					"chunk 524288>786432", "chunk 786432>1048576", fmt.Sprintf("chunk 1048576>%d", total)}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("requests to the session (-want +got):\n%s", diff)
			}
			if len(e.sleeps) != 1 {
				t.Errorf("slept %v, want one backoff", e.sleeps)
			}
		})
	}
}

// TestResumableLastReplyLost: the last chunk is taken and the message
// stored, but its reply is lost; the status query gets the message, which
// is stored once. The same through the migration engine's sink, which
// makes no retries (one status query, no wait). When the status cannot
// be had either, the error is an *OutcomeUnknownError.
func TestResumableLastReplyLost(t *testing.T) {
	const chunk = 256 << 10
	e := newEnv(t, nil)
	raw := bigMessage(2*chunk+10, "last lost")
	e.faultAtChunk(3, workspacetest.FaultResetAfterProcessing, 1)
	opts := &gmail.InsertOptions{ResumableThreshold: chunk, ChunkSize: chunk}
	m, err := e.g.Messages.Insert(t.Context(), e.user, raw, opts)
	if err != nil || m.Id == "" {
		t.Fatalf("Insert: %v, %v", m, err)
	}
	if n := e.storedCopies(raw); n != 1 {
		t.Errorf("stored %d copies, want 1", n)
	}

	raw = bigMessage(2*chunk+10, "through the sink")
	e.faultAtChunk(3, workspacetest.FaultResetAfterProcessing, 1)
	e.sleeps = nil
	sink := e.g.ImportSink(&gmail.ImportMboxOptions{Message: opts})
	if err := sink.Insert(t.Context(), e.user, raw); err != nil {
		t.Fatalf("sink: %v", err)
	}
	if n := e.storedCopies(raw); n != 1 || len(e.sleeps) != 0 {
		t.Errorf("sink: stored %d copies, slept %v; want 1 copy, no sleep", n, e.sleeps)
	}

	raw = bigMessage(2*chunk+10, "unknown")
	e.onRequest(func(r *http.Request) {
		if dataChunk(r) && strings.HasPrefix(r.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", 2*chunk)) {
			// The last chunk is taken, its reply lost, and every status
			// query after it fails.
			e.srv.InjectFault("gmail", workspacetest.FaultResetAfterProcessing, 1)
			e.srv.InjectFault("gmail", workspacetest.FaultHTTP503, 100)
		}
	})
	_, err = e.g.Messages.Insert(t.Context(), e.user, raw, opts)
	var ou *gmail.OutcomeUnknownError
	if !errors.As(err, &ou) || ou.Method != "users.messages.insert" {
		t.Fatalf("err = %v, want an *OutcomeUnknownError", err)
	}
	if n := e.storedCopies(raw); n != 1 {
		t.Errorf("stored %d copies, want 1 (stored, but the client cannot know)", n)
	}
}

// TestResumableSessionExpired: a session that expires before the last
// byte is started over from the first byte; the message is stored once.
func TestResumableSessionExpired(t *testing.T) {
	const chunk = 256 << 10
	e := newEnv(t, nil)
	raw := bigMessage(3*chunk+10, "expired")
	var mu sync.Mutex
	seen := 0
	e.onRequest(func(r *http.Request) {
		if !dataChunk(r) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if seen++; seen == 2 {
			e.srv.ExpireGmailUploads()
		}
	})
	m, err := e.g.Messages.Import(t.Context(), e.user, raw, &gmail.InsertOptions{
		ResumableThreshold: chunk, ChunkSize: chunk})
	if err != nil || m.Id == "" {
		t.Fatalf("Import: %v, %v", m, err)
	}
	if n := e.storedCopies(raw); n != 1 {
		t.Errorf("stored %d copies, want 1", n)
	}
	sessions := map[string]bool{}
	for _, r := range e.srv.GmailUploadLog() {
		sessions[r.UploadID] = true
	}
	if len(sessions) != 2 {
		t.Errorf("%d sessions, want 2 (the expired one and its restart)", len(sessions))
	}
}

// TestResumableRefusedLastChunk: a refusal of the last chunk (the
// message is not valid) is a clear answer: the plain error, after one
// try, not an outcome-unknown one.
func TestResumableRefusedLastChunk(t *testing.T) {
	const chunk = 256 << 10
	e := newEnv(t, nil)
	raw := bigMessage(chunk+10, "bad label")
	_, err := e.g.Messages.Insert(t.Context(), e.user, raw, &gmail.InsertOptions{LabelIDs: []string{"Label_404"},
		ResumableThreshold: chunk, ChunkSize: chunk})
	var ou *gmail.OutcomeUnknownError
	if !errors.Is(err, workspace.ErrInvalidInput) || errors.As(err, &ou) {
		t.Fatalf("err = %v, want invalid input", err)
	}
	var we *workspace.Error
	if !errors.As(err, &we) || we.API != workspace.APIGmail || we.Method != "users.messages.insert" {
		t.Errorf("error = %#v, want a gmail users.messages.insert error", we)
	}
	if len(e.sleeps) != 0 || e.storedCopies(raw) != 0 {
		t.Errorf("slept %v, stored %d", e.sleeps, e.storedCopies(raw))
	}
}
