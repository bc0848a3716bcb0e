package datatransfer_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/workspacetest"
)

// realWorld are shapes from real bounce archives that a strict parser
// refuses and Google's documents do not.
var realWorld = []string{
	"From: Mail Delivery Subsystem <MAILER-DAEMON>\nTo: postmaster\nDate: Tue, 29 Apr 2019 10:00:00 +0900\nSubject: Undelivered Mail\nMessage-ID: <b1@x>\n\nbounce 1\n",
	"From: MAILER-DAEMON <>\nTo: user@example.jp\nDate: Tue, 029 Apr 2019 10:00:00 +0900\nSubject: failure notice\n\nbounce 2\n",
	"From: Doe, John <john@example.com>\nTo: list@example.com\nDate: 2 Jan 06 15:04 EST\nSubject: sloppy\n\nbody 3\n",
}

// TestMigrateStoresWhatTheOldValidatorRefused: real-world bounce shapes go
// through the engine to the fake, which holds to Google's documents.
func TestMigrateStoresWhatTheOldValidatorRefused(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.AddGroup("list@example.com")
	var msgs [][]byte
	for _, m := range realWorld {
		msgs = append(msgs, []byte(m))
	}
	src := writeMbox(t, t.TempDir(), "bounces.mbox", msgs)
	rep, err := e.dt.Migrate(t.Context(), []migrate.Job{{Source: src, Target: "list@example.com"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Inserted != 3 || e.srv.GroupMessageCount("list@example.com") != 3 {
		t.Errorf("inserted %d, stored %d, refused %+v %+v", rep.Inserted, e.srv.GroupMessageCount("list@example.com"), rep.RefusedLocally, rep.RefusedByGoogle)
	}
}

// TestMigrateStoredButUnreadableReply: a 200 whose body cannot be read is
// a stored message, not sent again.
func TestMigrateStoredButUnreadableReply(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.AddGroup("list@example.com")
	msgs := numbered(3)
	src := writeMbox(t, t.TempDir(), "a.mbox", msgs)
	e.srv.InjectFault("groupsmigration", workspacetest.FaultStoredUnreadableReply, 1)
	rep, err := e.dt.Migrate(t.Context(), []migrate.Job{{Source: src, Target: "list@example.com"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Inserted != 3 || len(rep.PossibleDuplicates) != 0 || e.srv.GroupMessageCount("list@example.com") != 3 {
		t.Errorf("inserted %d, possible duplicates %d, stored %d; want 3, 0, 3", rep.Inserted, len(rep.PossibleDuplicates),
			e.srv.GroupMessageCount("list@example.com"))
	}
}

// TestMigrateSetupFailuresStopAndRerunMigratesAll: the API disabled, the
// scope not granted or the caller not allowed stop the run with advice;
// after the fix, a rerun with the same journal stores everything.
func TestMigrateSetupFailuresStopAndRerunMigratesAll(t *testing.T) {
	for _, tt := range []struct {
		kind   workspacetest.DenyKind
		advice string
	}{
		{workspacetest.DenyAPINotEnabled, "Enable the Groups Migration API"},
		{workspacetest.DenyScopeNotGranted, "apps.groups.migration"},
		{workspacetest.DenyNotAuthorized, "super administrator"},
	} {
		t.Run(string(tt.kind), func(t *testing.T) {
			e := newEnv(t, nil)
			e.srv.AddGroup("a@example.com")
			e.srv.AddGroup("b@example.com")
			dir := t.TempDir()
			jobs := []migrate.Job{
				{Source: writeMbox(t, dir, "a.mbox", numbered(10)), Target: "a@example.com"},
				{Source: writeMbox(t, dir, "b.mbox", numbered(10)), Target: "b@example.com"},
			}
			e.srv.DenyAPI("groupsmigration", tt.kind)
			rep, err := e.dt.Migrate(t.Context(), jobs, nil)
			var se *migrate.SetupError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.advice) {
				t.Fatalf("err = %v, want a *migrate.SetupError with %q", err, tt.advice)
			}
			if rep.Inserted != 0 || len(rep.RefusedByGoogle) != 0 || rep.OK() {
				t.Errorf("report while denied: %+v", rep)
			}
			e.srv.AllowAPI("groupsmigration")
			rep, err = e.dt.Migrate(t.Context(), jobs, nil)
			if err != nil || rep.Inserted != 20 {
				t.Fatalf("rerun: %v, inserted %d; want all 20", err, rep.Inserted)
			}
		})
	}
}

// TestMigrateMissingGroupIsNotFinal: Google answers INVALID MESSAGE
// FAILURE for a group that does not exist; the run stops that group after
// a few messages, records nothing final, and once the group exists the
// rerun stores every message.
func TestMigrateMissingGroupIsNotFinal(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.AddGroup("b@example.com")
	dir := t.TempDir()
	jobs := []migrate.Job{
		{Source: writeMbox(t, dir, "a.mbox", numbered(12)), Target: "a@example.com"},
		{Source: writeMbox(t, dir, "b.mbox", numbered(12)), Target: "b@example.com"},
	}
	rep, err := e.dt.Migrate(t.Context(), jobs, nil)
	var se *migrate.SetupError
	if !errors.As(err, &se) || se.Target != "a@example.com" {
		t.Fatalf("err = %v, want a *migrate.SetupError for a@example.com", err)
	}
	if rep.Targets["b@example.com"].Inserted != 12 || rep.Targets["a@example.com"].Stopped == "" {
		t.Errorf("targets: a %+v, b %+v", rep.Targets["a@example.com"], rep.Targets["b@example.com"])
	}
	e.srv.AddGroup("a@example.com")
	rep, err = e.dt.Migrate(t.Context(), jobs, nil)
	if err != nil || rep.Targets["a@example.com"].Inserted != 12 || rep.Targets["b@example.com"].Resumed != 12 {
		t.Fatalf("rerun: %v, %+v", err, rep.Targets)
	}
	if n := e.srv.GroupMessageCount("a@example.com"); n != 12 {
		t.Errorf("a@example.com holds %d, want 12", n)
	}
}

func numbered(n int) [][]byte {
	var out [][]byte
	for i := range n {
		out = append(out, fmt.Appendf(nil, "From: a@example.com\nTo: list@example.com\nDate: Mon, 2 Mar 2026 09:00:00 +0000\nSubject: n%d\nMessage-ID: <n%d@example.com>\n\nbody %d\n", i, i, i))
	}
	return out
}
