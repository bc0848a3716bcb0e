package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gwsadmin/workspace/audit"
	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/examples/internal/cli/clitest"
	"github.com/gwsadmin/workspace/internal/gdata"
	"github.com/gwsadmin/workspace/workspacetest"
)

func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != cli.ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"Created alice → auditor", "outgoing HEADER_ONLY", "Updated (levels left empty revert to their defaults) alice → auditor",
		"incoming FULL_MESSAGE, outgoing FULL_MESSAGE, drafts NONE", "1 monitor(s) of alice", "refused locally", "After delete: 0 monitors.", "All steps succeeded."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// Bad usage exits 2 before anything is sent.
func TestUsage(t *testing.T) {
	srv := workspacetest.NewServer(workspacetest.WithoutAuth())
	defer srv.Close()
	key := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(key, srv.ServiceAccountKey(), 0o600); err != nil {
		t.Fatal(err)
	}
	real := []string{"-endpoint", srv.URL, "-domain", srv.Domain(), "-source", "alice"}
	end := time.Now().UTC().Add(48 * time.Hour).Format(audit.DateLayout)
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"unknown flag", []string{"-nope"}},
		{"argument", []string{"extra"}},
		{"demo with an action", []string{"-list"}},
		{"no domain", []string{"-endpoint", srv.URL, "-source", "alice", "-list"}},
		{"list and delete", append(real, "-list", "-delete", "-dest", "auditor")},
		{"list with a level", append(real, "-list", "-incoming", "HEADER_ONLY")},
		{"list with dest", append(real, "-list", "-dest", "auditor")},
		{"delete with an end", append(real, "-delete", "-dest", "auditor", "-end", end)},
		{"delete without dest", append(real, "-delete")},
		{"create without end", append(real, "-dest", "auditor")},
		{"create without dest", append(real, "-end", end)},
		{"bad level", append(real, "-dest", "auditor", "-end", end, "-draft", "ALL")},
		{"bad date", append(real, "-dest", "auditor", "-end", "tomorrow")},
		{"end before begin", append(real, "-dest", "auditor", "-end", "2030-01-01 00:00", "-begin", "2030-02-01 00:00")},
		{"begin in the past", append(real, "-dest", "auditor", "-begin", "2020-03-01 00:00", "-end", end)},
		{"end in the past", append(real, "-dest", "auditor", "-end", "2020-03-01 00:00")},
		{"malformed endpoint", []string{"-endpoint", "127.0.0.1:8080", "-domain", "example.com", "-source", "alice", "-list"}},
		{"key without subject", []string{"-credentials", key, "-endpoint", srv.URL, "-domain", "example.com", "-source", "alice", "-list"}},
		{"unreadable key", []string{"-credentials", key + ".missing", "-subject", "a@example.com", "-domain", "example.com", "-source", "alice", "-list"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tt.args, &out, &errb); code != cli.ExitUsage {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, cli.ExitUsage, out.String(), errb.String())
			}
		})
	}
	if st := srv.Stats()["audit"]; st.Accepted != 0 {
		t.Errorf("the server got %d calls", st.Accepted)
	}
}

// Real mode against a compatible server: a create says Created, the
// same pair again says Updated and shows what it was; exit 0; a failed
// call exits 1.
func TestEndpoint(t *testing.T) {
	srv := workspacetest.NewServer(workspacetest.WithoutAuth())
	defer srv.Close()
	srv.AddUser("alice@" + srv.Domain())
	srv.AddUser("auditor@" + srv.Domain())
	real := []string{"-endpoint", srv.URL, "-domain", srv.Domain(), "-source", "alice"}
	end := time.Now().UTC().Add(48 * time.Hour).Format(audit.DateLayout)
	for _, step := range []struct {
		args []string
		code int
		want string
	}{
		{append(real, "-dest", "auditor", "-end", end, "-outgoing", "HEADER_ONLY"), cli.ExitOK,
			"Created alice → auditor"},
		{append(real, "-dest", "auditor@"+srv.Domain(), "-end", end, "-draft", "FULL_MESSAGE"), cli.ExitOK,
			"incoming FULL_MESSAGE, outgoing FULL_MESSAGE, drafts FULL_MESSAGE, chats not audited"},
		{append(real, "-list"), cli.ExitOK, "1 monitor(s) of alice"},
		{append(real, "-delete", "-dest", "auditor"), cli.ExitOK, "Deleted the monitor of alice for auditor."},
		{append(real, "-delete", "-dest", "auditor"), cli.ExitFailed, ""},
	} {
		var out, errb bytes.Buffer
		code := run(step.args, &out, &errb)
		if code != step.code || !strings.Contains(out.String(), step.want) {
			t.Errorf("run(%q) = %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", step.args, code, step.code, step.want, out.String(), errb.String())
		}
		if strings.Contains(out.String(), "Updated") != strings.Contains(step.want, "drafts FULL_MESSAGE") {
			t.Errorf("run(%q): Updated wrongly said or not said:\n%s", step.args, out.String())
		}
	}
}

// A server that echoes only the fields it was given: the monitor printed
// is the whole monitor, with its levels and a real begin date.
func TestEchoOnlyServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/atom+xml")
		if r.Method == http.MethodGet {
			w.Write([]byte(`<feed xmlns="http://www.w3.org/2005/Atom"></feed>`))
			return
		}
		in, err := gdata.DecodeEntry(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
		w.Write(gdata.NewEntry(in.Properties...).Encode())
	}))
	defer srv.Close()
	end := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Minute)
	var out, errb bytes.Buffer
	code := run([]string{"-endpoint", srv.URL, "-domain", "example.com", "-source", "alice", "-dest", "auditor",
		"-end", end.Format(audit.DateLayout), "-chat", "HEADER_ONLY"}, &out, &errb)
	if code != cli.ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	want := "UTC; incoming FULL_MESSAGE, outgoing FULL_MESSAGE, drafts NONE, chats HEADER_ONLY"
	if !strings.Contains(out.String(), "Created alice → auditor, "+time.Now().UTC().Format("2006-01-02")) ||
		!strings.Contains(out.String(), want) || strings.Contains(out.String(), "0001-01-01") {
		t.Errorf("stdout:\n%s\nwant a begin date of today and %q", out.String(), want)
	}
}

// -v shows the retry of a throttled call and no token; the long wait gets
// its line (the wait is recorded, not slept).
func TestVerbose(t *testing.T) {
	srv := workspacetest.NewServer()
	defer srv.Close()
	srv.AddUser("alice@" + srv.Domain())
	key := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(key, srv.ServiceAccountKey(), 0o600); err != nil {
		t.Fatal(err)
	}
	proxy := clitest.NewProxy(t, srv.URL, "/audit/mail/monitor/")
	waits := clitest.RecordWaits(t, nil)
	var out, errb bytes.Buffer
	code := run([]string{"-v", "-credentials", key, "-subject", srv.AdminEmail(), "-endpoint", proxy.URL,
		"-domain", srv.Domain(), "-source", "alice", "-list"}, &out, &errb)
	if code != cli.ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"msg=\"workspace: retrying\"", "reason=userRateLimitExceeded",
		"waiting 10s for Google's quota (403 userRateLimitExceeded) before retrying audit monitor.list"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	if len(proxy.Tokens()) == 0 {
		t.Fatal("no token went through the proxy")
	}
	for _, tok := range proxy.Tokens() {
		if strings.Contains(errb.String(), tok) {
			t.Errorf("stderr holds the token %q", tok)
		}
	}
	if got := waits.List(); len(got) != 1 || got[0] != 10*time.Second {
		t.Errorf("waits %v, want [10s]", got)
	}
}

// A closed port fails fast, naming the host.
func TestClosedPort(t *testing.T) {
	host := clitest.ClosedPort(t)
	waits := clitest.RecordWaits(t, nil)
	var out, errb bytes.Buffer
	start := time.Now()
	code := run([]string{"-endpoint", "http://" + host, "-domain", "example.com", "-source", "alice", "-list"}, &out, &errb)
	clitest.CheckFastFailure(t, code, errb.String(), host, waits, time.Since(start))
}

// TestReadBack: after a create, the monitor shown is the one the server
// lists, not the echo of the write.
func TestReadBack(t *testing.T) {
	end := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Minute)
	begin := time.Now().UTC().Add(time.Hour).Truncate(time.Minute)
	var created atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/atom+xml")
		if r.Method == http.MethodPost {
			created.Store(true)
			w.WriteHeader(http.StatusCreated)
			w.Write(gdata.NewEntry(gdata.Property{Name: "destUserName", Value: "auditor"}).Encode())
			return
		}
		if !created.Load() {
			w.Write([]byte(`<feed xmlns="http://www.w3.org/2005/Atom"></feed>`))
			return
		}
		fmt.Fprintf(w, `<feed xmlns="http://www.w3.org/2005/Atom" xmlns:apps="http://schemas.google.com/apps/2006"><entry>`+
			`<apps:property name="destUserName" value="auditor"/><apps:property name="beginDate" value="%s"/>`+
			`<apps:property name="endDate" value="%s"/><apps:property name="incomingEmailMonitorLevel" value="HEADER_ONLY"/>`+
			`<apps:property name="outgoingEmailMonitorLevel" value="HEADER_ONLY"/><apps:property name="draftMonitorLevel" value="NONE"/>`+
			`<apps:property name="chatMonitorLevel" value="NONE"/></entry></feed>`, begin.Format(audit.DateLayout), end.Format(audit.DateLayout))
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	code := run([]string{"-endpoint", srv.URL, "-domain", "example.com", "-source", "alice", "-dest", "auditor",
		"-end", end.Format(audit.DateLayout), "-chat", "FULL_MESSAGE"}, &out, &errb)
	if code != cli.ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	want := "incoming HEADER_ONLY, outgoing HEADER_ONLY, drafts NONE, chats NONE"
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), begin.Format(audit.DateLayout)) {
		t.Errorf("stdout:\n%s\nwant the listed monitor: %q from %s", out.String(), want, begin.Format(audit.DateLayout))
	}
}
