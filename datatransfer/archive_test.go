package datatransfer_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/workspacetest"
)

const goodMsg = "From: Alice <alice@example.com>\nTo: list@example.com\nDate: Mon, 2 Jan 2006 15:04:05 -0700\nSubject: hi\nMessage-ID: <a1@example.com>\n\nbody line\nFrom the start\n"

func TestInsertNormalizesAndStores(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.AddGroup("list@example.com")
	if err := e.dt.Archive.Insert(t.Context(), "list@example.com", []byte(goodMsg)); err != nil {
		t.Fatal(err)
	}
	got := e.srv.GroupMessages("list@example.com")
	if len(got) != 1 {
		t.Fatalf("stored %d messages", len(got))
	}
	want := strings.ReplaceAll(goodMsg, "\n", "\r\n")
	if string(got[0].Raw) != want {
		t.Errorf("stored %q, want CRLF-normalized %q", got[0].Raw, want)
	}
}

// TestInsertSendsWhatGoogleMayAccept: messages that only a strict parser
// refuses (odd dates, sender-less bounce addresses, an envelope line at the
// top) are sent, and the fake, which follows Google's documents, stores
// them.
func TestInsertSendsWhatGoogleMayAccept(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.AddGroup("list@example.com")
	msgs := []string{
		strings.Replace(goodMsg, "Mon, 2 Jan 2006 15:04:05 -0700", "Tue, 029 Apr 2019 10:00:00 +0900", 1),
		strings.Replace(goodMsg, "From: Alice <alice@example.com>", "From: MAILER-DAEMON <>", 1),
		strings.Replace(goodMsg, "From: Alice <alice@example.com>", "From: Mail Delivery Subsystem <MAILER-DAEMON>", 1),
		strings.Replace(goodMsg, "To: list@example.com", "To: postmaster", 1),
		"From MAILER-DAEMON Tue Apr 29 10:00:00 2019\n" + goodMsg,
	}
	for i, m := range msgs {
		if err := e.dt.Archive.Insert(t.Context(), "list@example.com", []byte(m)); err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
	got := e.srv.GroupMessages("list@example.com")
	if len(got) != len(msgs) {
		t.Fatalf("stored %d messages, want %d", len(got), len(msgs))
	}
	if last := got[len(got)-1].Raw; bytes.HasPrefix(last, []byte("From ")) {
		t.Errorf("envelope line was sent: %.60q", last)
	}
}

func TestInsertRefusesBadInputBeforeSending(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.AddGroup("list@example.com")
	big := mailgen.LargeMessage(datatransfer.MaxMessageSize + 1)
	tests := []struct {
		name, group, msg, field string
	}{
		{"empty", "list@example.com", "", ""},
		{"no from", "list@example.com", strings.Replace(goodMsg, "From: Alice <alice@example.com>\n", "", 1), "From"},
		{"no recipients", "list@example.com", strings.Replace(goodMsg, "To: list@example.com\n", "", 1), "To"},
		{"no date", "list@example.com", strings.Replace(goodMsg, "Date: Mon, 2 Jan 2006 15:04:05 -0700\n", "", 1), "Date"},
		{"blank date", "list@example.com", strings.Replace(goodMsg, "Mon, 2 Jan 2006 15:04:05 -0700", " ", 1), "Date"},
		{"no header", "list@example.com", "just a line of text\n\nand a body\n", "header"},
		{"too large", "list@example.com", string(big), "size"},
		{"bad group", "list", goodMsg, "group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.dt.Archive.Insert(t.Context(), tt.group, []byte(tt.msg))
			if !errors.Is(err, workspace.ErrInvalidInput) {
				t.Fatalf("err = %v, want ErrInvalidInput", err)
			}
			var ie *workspace.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("not an *InputError: %T", err)
			}
			if tt.field != "" && ie.Field != tt.field {
				t.Errorf("Field = %q, want %q (%v)", ie.Field, tt.field, err)
			}
		})
	}
	if st := e.srv.Stats(); len(st) != 0 {
		t.Errorf("requests reached the server: %+v", st)
	}
}

func TestInsertServerErrors(t *testing.T) {
	e := newEnv(t, nil)
	// Unknown group: the API answers 400 INVALID MESSAGE FAILURE-style.
	err := e.dt.Archive.Insert(t.Context(), "nobody@example.com", []byte(goodMsg))
	var we *workspace.Error
	if !errors.As(err, &we) || we.StatusCode != 400 || we.API != "groupsmigration" || we.Method != "archive.insert" {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "http://") {
		t.Errorf("error repeats the URL: %v", err)
	}
	// A throttle that outlasts every retry is ErrRateLimited.
	e.srv.AddGroup("list@example.com")
	e.srv.InjectFault("groupsmigration", workspacetest.FaultHTTP429, 100)
	err = e.dt.Archive.Insert(t.Context(), "list@example.com", []byte(goodMsg))
	if !errors.Is(err, workspace.ErrRateLimited) {
		t.Fatalf("err = %v, want ErrRateLimited", err)
	}
	if !errors.As(err, &we) || we.Attempts != 7 {
		t.Errorf("attempts = %d, want 7", we.Attempts)
	}
	// A 503 that names a backend failure does not prove the message was
	// not stored: an insert is sent once and says so.
	e = newEnv(t, nil)
	e.srv.AddGroup("list@example.com")
	e.srv.InjectFault("groupsmigration", workspacetest.FaultHTTP503, 100)
	err = e.dt.Archive.Insert(t.Context(), "list@example.com", []byte(goodMsg))
	if !errors.Is(err, workspace.ErrOutcomeUnknown) || !errors.As(err, &we) || we.Attempts != 1 {
		t.Errorf("503 backendError: err = %v, want one attempt and ErrOutcomeUnknown", err)
	}
}

func TestNoParallelInsertsWithManyWorkers(t *testing.T) {
	e := newEnv(t, nil, workspacetest.WithProcessingDelay(3*time.Second)) // each insert holds its group 3 ms at speed 1000
	dir := t.TempDir()
	msgs := mailgen.Messages(11, 90)
	var jobs []migrate.Job
	groups := []string{"a@example.com", "b@example.com", "c@example.com"}
	for i, g := range groups {
		e.srv.AddGroup(g)
		for k := range 3 {
			src := writeMbox(t, dir, g+string(rune('0'+k))+".mbox", msgs[i*30+k*10:i*30+k*10+10])
			jobs = append(jobs, migrate.Job{Source: src, Target: g})
		}
	}
	rep, err := e.dt.Migrate(t.Context(), jobs, &migrate.Options{Workers: 20})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Inserted != 90 {
		t.Errorf("inserted %d", rep.Inserted)
	}
	st := e.srv.Stats()["groupsmigration"]
	if len(st.Rejected) != 0 {
		t.Errorf("server rejected: %v", st.Rejected)
	}
}
