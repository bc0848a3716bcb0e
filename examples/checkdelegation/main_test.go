package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/examples/internal/cli/clitest"
	"github.com/gwsadmin/workspace/workspacetest"
)

func TestDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{
		"FAIL    " + auth.ScopeGmailSend,
		"PASS    " + auth.ScopeGroupsMigration,
		"1 of 12 scopes refused",
		"Client ID:    100000000000000000001",
		"OAuth scopes: " + auth.ScopeGroupsMigration + ",",
		"unauthorized_client",
		"All 12 scopes are delegated.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestAgainstServer runs the real mode (key file, endpoint) against a fake
// that lacks one scope: exit 1, the remedy printed.
func TestAgainstServer(t *testing.T) {
	srv := workspacetest.NewServer()
	defer srv.Close()
	srv.SetDelegatedScopes(srv.ServiceAccountClientID(), auth.ScopeGroupsMigration)
	key := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(key, srv.ServiceAccountKey(), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"-credentials", key, "-subject", srv.AdminEmail(), "-endpoint", srv.URL,
		"-apis", "groupsmigration,datatransfer"}, &out, &errOut)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"PASS    " + auth.ScopeGroupsMigration, "FAIL    " + auth.ScopeDataTransfer,
		"OAuth scopes: " + auth.ScopeGroupsMigration + "," + auth.ScopeDataTransfer} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	srv.SetDelegatedScopes(srv.ServiceAccountClientID(), auth.ScopeGroupsMigration, auth.ScopeDataTransfer)
	out.Reset()
	if code := run([]string{"-credentials", key, "-subject", srv.AdminEmail(), "-endpoint", srv.URL,
		"-apis", "groupsmigration,datatransfer"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d after delegation\n%s", code, out.String())
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-nope"},
		{"-apis", "nosuchapi"},
		{"-endpoint", "http://127.0.0.1:1"}, // no -subject
		{"-endpoint", "http://127.0.0.1:1", "-subject", "a@b.example"}, // no credentials: nothing to delegate
		{"extra"},
		{"-apis", "gmail", "-scopes", "https://www.googleapis.com/auth/gmail.readonly"},
		{"-scopes", "gmail.readonly"},
		{"-endpoint", "localhost:8080", "-subject", "a@b.example"},
		{"-credentials", "/nonexistent/sa.json", "-subject", "a@b.example"},
		{"-credentials", "main.go", "-subject", "a@b.example"},   // not JSON
		{"-endpoint", "http://127.0.0.1:1", "-subject", "admin"}, // not an address
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != cli.ExitUsage {
			t.Errorf("run(%q) = %d, want 2\n%s", args, code, errOut.String())
		}
	}
}

// A closed port (API host and token endpoint) fails fast, naming the
// host: exit 1.
func TestClosedPort(t *testing.T) {
	srv := workspacetest.NewServer()
	key := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(key, srv.ServiceAccountKey(), 0o600); err != nil { // its token_uri is the server's
		t.Fatal(err)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	waits := clitest.RecordWaits(t, nil)
	var out, errOut bytes.Buffer
	start := time.Now()
	code := run([]string{"-credentials", key, "-subject", "admin@example.com", "-endpoint", "http://" + host, "-apis", "gmail"}, &out, &errOut)
	// The token requests of a check go straight to the token endpoint,
	// not through the retry layer: no wait line, no recorded wait.
	if code != cli.ExitFailed || !strings.Contains(errOut.String(), host) || waits.Total() != 0 || time.Since(start) > 20*time.Second {
		t.Errorf("exit %d, waits %v, took %v\n%s", code, waits.List(), time.Since(start), errOut.String())
	}
	if !strings.Contains(out.String(), "UNKNOWN  https://www.googleapis.com/auth/gmail.modify") || strings.Contains(out.String(), "Admin console") {
		t.Errorf("an unreachable token endpoint is not a refusal:\n%s", out.String())
	}
}
