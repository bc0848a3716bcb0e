package gmail_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/gmail"
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
