package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/examples/internal/cli/clitest"
	"github.com/gwsadmin/workspace/workspacetest"
)

// TestDemo runs the demo end to end against the in-process fake.
func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-messages", "300"}, &out, &errb); code != cli.ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"full sync (first sync)", "incremental sync", "added 5, labels changed 2, deleted 4", "quota units spent", "summary: both syncs succeeded"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestBadFlags: bad usage exits with status 2.
func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-regime", "1999"},
		{"-user-limit", "-5"},
		{"-credentials", "x.json"},
		{"-nosuchflag"},
		{"extra"},
		{"-user", "alice@example.com"}, // demo mode syncs its own
		{"-messages", "0"},
		{"-endpoint", "http://127.0.0.1:1"}, // no -user
		{"-endpoint", "http://127.0.0.1:1", "-user", "alice"}, // not an address
		{"-endpoint", "http://127.0.0.1:1", "-user", "a@example.com", "-messages", "5"},
		{"-endpoint", "127.0.0.1:1", "-user", "a@example.com"},
		{"-credentials", "/nonexistent.json", "-subject", "admin@example.com", "-user", "a@example.com"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != cli.ExitUsage {
			t.Errorf("run(%q) = %d, want %d\n%s", args, code, cli.ExitUsage, errb.String())
		}
	}
}

// Real mode against a compatible server: a sync exits 0, a sync of a
// mailbox the server does not have exits 1.
func TestEndpoint(t *testing.T) {
	srv := workspacetest.NewServer()
	defer srv.Close()
	user := "alice@" + srv.Domain()
	key := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(key, srv.ServiceAccountKey(), 0o600); err != nil {
		t.Fatal(err)
	}
	srv.AddUser(user)
	for i := range 3 {
		srv.AddGmailMessage(user, demoMail(user, i), "INBOX")
	}
	dir := t.TempDir()
	for _, tt := range []struct {
		user string
		code int
		want string
	}{
		{user, cli.ExitOK, "full sync (first sync) of " + user + ": 3 messages"},
		{user, cli.ExitOK, "incremental sync of " + user + ": 3 messages"},
		{"ghost@" + srv.Domain(), cli.ExitFailed, ""},
	} {
		var out, errb bytes.Buffer
		code := run([]string{"-credentials", key, "-subject", tt.user, "-endpoint", srv.URL, "-user", tt.user, "-store", filepath.Join(dir, tt.user+".db")}, &out, &errb)
		if code != tt.code || !strings.Contains(out.String(), tt.want) {
			t.Errorf("%s: exit %d, want %d with %q\n%s\n%s", tt.user, code, tt.code, tt.want, out.String(), errb.String())
		}
	}
}

// A closed port fails fast, naming the host.
func TestClosedPort(t *testing.T) {
	host := clitest.ClosedPort(t)
	waits := clitest.RecordWaits(t, nil)
	var out, errb bytes.Buffer
	start := time.Now()
	code := run([]string{"-endpoint", "http://" + host, "-user", "a@example.com", "-store", filepath.Join(t.TempDir(), "s.db")}, &out, &errb)
	clitest.CheckFastFailure(t, code, errb.String(), host, waits, time.Since(start))
}
