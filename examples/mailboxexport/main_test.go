package main

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gwsadmin/workspace/audit"
	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/examples/internal/cli/clitest"
	"github.com/gwsadmin/workspace/workspacetest"
)

func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != cli.ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"Public key", "alice: COMPLETED", "alice      12 messages", "bob        7 messages", "All 2 exports decrypted."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// protectedKey writes a key pair whose private key has a passphrase.
func protectedKey(t *testing.T, pass string) (priv, pub string) {
	t.Helper()
	kp, err := audit.GenerateKey("example.com", &audit.KeyOptions{Bits: 2048, Passphrase: []byte(pass)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "audit.key"), filepath.Join(dir, "audit.key.pub")
	if err := kp.WritePrivateKey(priv); err != nil {
		t.Fatal(err)
	}
	if err := kp.WritePublicKey(pub); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// exportServer is a fake (no authentication, its clock moved by the
// recorded waits) behind a proxy that records every request.
func exportServer(t *testing.T, throttle string) (*workspacetest.Server, *clitest.Proxy, *clitest.Waits) {
	clk := clitest.NewClock()
	waits := clitest.RecordWaits(t, clk)
	srv := workspacetest.NewServer(workspacetest.WithoutAuth(), workspacetest.WithClock(clk.Now))
	t.Cleanup(srv.Close)
	srv.AddUser("alice@" + srv.Domain())
	srv.AddMail("alice@"+srv.Domain(), []byte("From: a@example.net\r\nTo: alice@"+srv.Domain()+"\r\nSubject: hi\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: <1@example.net>\r\n\r\nHello.\r\n"))
	return srv, clitest.NewProxy(t, srv.URL, throttle), waits
}

func exportRequests(p *clitest.Proxy) []string {
	var out []string
	for _, r := range p.Requests() {
		if strings.HasPrefix(r, "POST ") && strings.Contains(r, "/mail/export/") {
			out = append(out, r)
		}
	}
	return out
}

// The passphrase is checked before anything is requested: a wrong or
// missing one exits 2 and the server sees no export request (nor any
// other call); the right one exports and decrypts.
func TestPassphraseBeforeExport(t *testing.T) {
	priv, pub := protectedKey(t, "correct horse")
	stdinIsTerminal = func() bool { return false }
	defer func() { stdinIsTerminal = func() bool { return false } }()
	for _, tt := range []struct {
		name, env string
		set       bool
		code      int
		want      string
	}{
		{"wrong", "battery staple", true, cli.ExitUsage, "passphrase does not unlock the private key; nothing was requested"},
		{"none given", "", false, cli.ExitUsage, "protected by a passphrase: give it in an environment variable"},
		{"right", "correct horse", true, cli.ExitOK, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, proxy, _ := exportServer(t, "")
			args := []string{"-endpoint", proxy.URL, "-domain", srv.Domain(), "-users", "alice", "-key", priv,
				"-upload-key", pub, "-out", t.TempDir()}
			if tt.set {
				t.Setenv("AUDIT_PASS", tt.env)
				args = append(args, "-passphrase-env", "AUDIT_PASS")
			}
			var out, errb bytes.Buffer
			code := run(args, &out, &errb)
			if code != tt.code || !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("exit %d, want %d and %q on stderr\nstdout:\n%s\nstderr:\n%s", code, tt.code, tt.want, out.String(), errb.String())
			}
			reqs := exportRequests(proxy)
			if tt.code != cli.ExitOK {
				if len(proxy.Requests()) != 0 {
					t.Errorf("the server got %q", proxy.Requests())
				}
				return
			}
			if len(reqs) != 1 || !strings.Contains(out.String(), "All 1 exports decrypted.") {
				t.Errorf("export requests %q\nstdout:\n%s", reqs, out.String())
			}
		})
	}
}

// On a terminal the passphrase is asked for, up to three times.
func TestPassphraseAsked(t *testing.T) {
	priv, _ := protectedKey(t, "s3cret")
	stdinIsTerminal = func() bool { return true }
	answers := []string{"no", "still no", "s3cret"}
	readPassword = func() ([]byte, error) {
		if len(answers) == 0 {
			return nil, errors.New("no more answers")
		}
		a := answers[0]
		answers = answers[1:]
		return []byte(a), nil
	}
	defer func() { stdinIsTerminal = func() bool { return false } }()
	srv, proxy, _ := exportServer(t, "")
	var out, errb bytes.Buffer
	code := run([]string{"-endpoint", proxy.URL, "-domain", srv.Domain(), "-request", "alice:1", "-key", priv, "-out", t.TempDir()}, &out, &errb)
	if strings.Count(errb.String(), "Passphrase of the private key:") != 3 || len(answers) != 0 {
		t.Errorf("asked %d times\n%s", strings.Count(errb.String(), "Passphrase of the private key:"), errb.String())
	}
	if code != cli.ExitFailed { // request 1 does not exist: the job fails, after the key was unlocked
		t.Errorf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
}

// Bad usage exits 2 with nothing sent.
func TestUsage(t *testing.T) {
	priv, pub := protectedKey(t, "")
	_, otherPub := protectedKey(t, "")
	srv, proxy, _ := exportServer(t, "")
	real := []string{"-endpoint", proxy.URL, "-domain", srv.Domain(), "-key", priv}
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"unknown flag", []string{"-nope"}},
		{"demo with a flag", []string{"-users", "alice"}},
		{"no users", []string{"-endpoint", proxy.URL, "-domain", srv.Domain(), "-key", priv}},
		{"no key", []string{"-endpoint", proxy.URL, "-domain", srv.Domain(), "-users", "alice"}},
		{"users and requests", append(real, "-users", "alice", "-request", "alice:1")},
		{"bad request", append(real, "-request", "alice")},
		{"user of another domain", append(real, "-users", "alice,bob@elsewhere.example")},
		{"bad username", append(real, "-users", "alice,b ob")},
		{"bad date", append(real, "-users", "alice", "-begin", "yesterday")},
		{"query and deleted", append(real, "-users", "alice", "-query", "from:x", "-include-deleted")},
		{"generate over a key", append(real, "-users", "alice", "-generate-key")},
		{"generate and upload", []string{"-endpoint", proxy.URL, "-domain", srv.Domain(), "-users", "alice", "-key", priv + ".new", "-generate-key", "-upload-key", pub}},
		{"missing key file", []string{"-endpoint", proxy.URL, "-domain", srv.Domain(), "-users", "alice", "-key", priv + ".missing"}},
		{"public key of another pair", append(real, "-users", "alice", "-upload-key", otherPub)},
		{"passphrase variable unset", append(real, "-users", "alice", "-passphrase-env", "NO_SUCH_VARIABLE_SET")},
		{"malformed endpoint", []string{"-endpoint", "localhost", "-domain", "example.com", "-users", "alice", "-key", priv}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tt.args, &out, &errb); code != cli.ExitUsage {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, cli.ExitUsage, out.String(), errb.String())
			}
		})
	}
	if got := proxy.Requests(); len(got) != 0 {
		t.Errorf("the server got %q", got)
	}
}

// A closed port fails fast, naming the host.
func TestClosedPort(t *testing.T) {
	priv, pub := protectedKey(t, "")
	host := clitest.ClosedPort(t)
	waits := clitest.RecordWaits(t, nil)
	var out, errb bytes.Buffer
	start := time.Now()
	code := run([]string{"-endpoint", "http://" + host, "-domain", "example.com", "-users", "alice", "-key", priv, "-upload-key", pub}, &out, &errb)
	clitest.CheckFastFailure(t, code, errb.String(), host, waits, time.Since(start))
}

// -v shows the retry of a throttled call and the wait line.
func TestVerbose(t *testing.T) {
	priv, pub := protectedKey(t, "")
	srv, proxy, waits := exportServer(t, "/publickey/")
	var out, errb bytes.Buffer
	code := run([]string{"-v", "-endpoint", proxy.URL, "-domain", srv.Domain(), "-users", "alice", "-key", priv, "-upload-key", pub, "-out", t.TempDir()}, &out, &errb)
	if code != cli.ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{`msg="workspace: retrying"`, "waiting 10s for Google's quota (403 userRateLimitExceeded) before retrying audit"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	if waits.Total() < 10*time.Second {
		t.Errorf("waits %v", waits.List())
	}
}
