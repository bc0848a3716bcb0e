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

func TestDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	// Speed 1000: the fake's 5 s of transfer time pass in 5 ms.
	if code := run([]string{"-speed", "1000"}, &out, &errOut); code != cli.ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"requested", "Transfer completed", "application 55656082996: completed", "RELEASE_RESOURCES:[TRUE]"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// Bad usage exits 2 with nothing sent.
func TestFlags(t *testing.T) {
	srv := workspacetest.NewServer(workspacetest.WithoutAuth())
	defer srv.Close()
	key := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(key, srv.ServiceAccountKey(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-speed", "0"},
		{"-nope"},
		{"extra"},
		{"-from", "a@example.com"}, // demo mode makes its own
		{"-endpoint", srv.URL},     // real mode needs -from and -to
		{"-endpoint", srv.URL, "-from", "a@example.com", "-to", "A@example.com"}, // the same user
		{"-endpoint", srv.URL, "-from", "a@example.com", "-to", "b@example.com", "-speed", "2"},
		{"-endpoint", srv.URL, "-from", "a@example.com", "-to", "b@example.com", "-drive=false", "-calendar=false"},
		{"-endpoint", srv.URL, "-from", "a@example.com", "-to", "b@example.com", "-calendar=false", "-release-resources=false"},
		{"-endpoint", "ftp://127.0.0.1", "-from", "a@example.com", "-to", "b@example.com"},
		{"-credentials", key, "-endpoint", srv.URL, "-from", "a@example.com", "-to", "b@example.com"}, // no -subject
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != cli.ExitUsage {
			t.Errorf("run(%q) = %d, want %d\n%s", args, code, cli.ExitUsage, errOut.String())
		}
	}
	if st := srv.Stats(); len(st) != 0 {
		t.Errorf("the server got calls: %v", st)
	}
}

// Real mode: a transfer that completes exits 0, one that cannot be
// requested (an unknown user) exits 1.
func TestEndpoint(t *testing.T) {
	clk := clitest.NewClock()
	clitest.RecordWaits(t, clk)
	srv := workspacetest.NewServer(workspacetest.WithoutAuth(), workspacetest.WithClock(clk.Now))
	defer srv.Close()
	srv.AddUser("leaver@" + srv.Domain())
	srv.AddUser("manager@" + srv.Domain())
	for _, tt := range []struct {
		from string
		code int
		want string
	}{
		{"leaver@" + srv.Domain(), cli.ExitOK, "Transfer completed"},
		{"ghost@" + srv.Domain(), cli.ExitFailed, ""},
	} {
		var out, errOut bytes.Buffer
		code := run([]string{"-endpoint", srv.URL, "-from", tt.from, "-to", "manager@" + srv.Domain()}, &out, &errOut)
		if code != tt.code || !strings.Contains(out.String(), tt.want) {
			t.Errorf("from %s: exit %d, want %d with %q\n%s\n%s", tt.from, code, tt.code, tt.want, out.String(), errOut.String())
		}
	}
}

// A closed port fails fast, naming the host.
func TestClosedPort(t *testing.T) {
	host := clitest.ClosedPort(t)
	waits := clitest.RecordWaits(t, nil)
	var out, errOut bytes.Buffer
	start := time.Now()
	code := run([]string{"-endpoint", "http://" + host, "-from", "a@example.com", "-to", "b@example.com"}, &out, &errOut)
	clitest.CheckFastFailure(t, code, errOut.String(), host, waits, time.Since(start))
}
