package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/examples/internal/cli/clitest"
	"github.com/gwsadmin/workspace/workspacetest"
)

// The demo end to end: read, SSO with a generated certificate, Cloud
// Identity profile, gateway, MX wait over a changing DNS answer, logo.
func TestDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{
		"Customer C", `organization "Esempio S.r.l."`, "Domain esempio.example.org: primary=false verified=true",
		"✓ upload SSO signing key: RSA 2048 bits",
		"✓ set domain-wide SSO: enabled=true sign-in=https://idp.demo.example/saml/sso networks=[203.0.113.0/24 2001:db8:10::/48]",
		"/a/feeds/domain/2.0/example.com/sso/general",
		"✓ Cloud Identity SAML profile: inboundSamlSsoProfiles/",
		"✓ outbound gateway: smart host smtp-relay.demo.example (SMTP_TLS)",
		"(demo: skipping a 5m0s wait)",
		"✓ MX records point at Google: example.com: 1 smtp.google.com; points at Google; TTL 1h0m0s (after 3 lookups)",
		"✓ logo check: png 143×59",
		"11 steps, 11 succeeded, 0 failed.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// Real mode against a standalone compatible server (-endpoint).
func TestEndpoint(t *testing.T) {
	srv := workspacetest.NewServer(workspacetest.WithoutAuth())
	defer srv.Close()
	dir := t.TempDir()
	logo := filepath.Join(dir, "logo.png")
	if err := os.WriteFile(logo, demoLogo(), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"-endpoint", srv.URL, "-domain", srv.Domain(), "-gateway", "relay.example.net", "-logo", logo}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if got := srv.AdminSetting("email/gateway", "smartHost"); got != "relay.example.net" {
		t.Errorf("smart host %q", got)
	}
	if !strings.Contains(out.String(), "7 steps, 7 succeeded, 0 failed.") {
		t.Errorf("summary:\n%s", out.String())
	}
}

// A failed step makes the exit status 1 and the summary says which.
func TestFailureExitStatus(t *testing.T) {
	srv := workspacetest.NewServer(workspacetest.WithoutAuth())
	defer srv.Close()
	srv.SetMultiPartyApproval(true)
	var out, errOut bytes.Buffer
	code := run([]string{"-endpoint", srv.URL, "-domain", srv.Domain(), "-sso-signon", "https://idp.example.net/sso", "-sso-enable"}, &out, &errOut)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	for _, want := range []string{"FAILED set domain-wide SSO", "error 1811", "Cloud Identity", "1 failed."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-bogus"},
		{"-gateway", "x.example.com"},                                 // a change in demo mode
		{"-endpoint", "http://127.0.0.1:1"},                           // no -domain
		{"-credentials", "sa.json", "-domain", "x.com"},               // no -subject
		{"-endpoint", "127.0.0.1:1", "-domain", "x.com"},              // not a URL
		{"-endpoint", "http://relay.example.com", "-domain", "x.com"}, // plain http, not loopback
		{"-endpoint", "http://127.0.0.1:1", "-domain", "x.com", "-sso-signon", "http://idp.example.com/"}, // not https
		{"-endpoint", "http://127.0.0.1:1", "-domain", "x.com", "-sso-whitelist", "10.0.0.0/33"},
		{"-endpoint", "http://127.0.0.1:1", "-domain", "x.com", "-gateway", "smtp://relay.example.com:25"},
		{"-endpoint", "http://127.0.0.1:1", "-domain", "x.com", "-sso-cert", "main.go"}, // not a certificate
		{"-v", "-logo", "x.png"}, // a change in demo mode
		{"-endpoint", "http://127.0.0.1:1", "-domain", "x.com", "-logo", "/nonexistent/logo.png"},
		{"-mx-wait", "-1s"},
		{"extra"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != cli.ExitUsage {
			t.Errorf("run(%q) = %d, want 2 (stderr %q)", args, code, errOut.String())
		}
	}
}

// -gateway alone keeps the gateway's TLS setting; -gateway-tls=false alone
// turns TLS off and keeps the host.
func TestGatewayTLSKept(t *testing.T) {
	srv := workspacetest.NewServer(workspacetest.WithoutAuth())
	defer srv.Close()
	real := []string{"-endpoint", srv.URL, "-domain", srv.Domain()}
	for _, step := range []struct {
		args       []string
		host, mode string
	}{
		{[]string{"-gateway", "relay.example.net", "-gateway-tls"}, "relay.example.net", "SMTP_TLS"},
		{[]string{"-gateway", "relay2.example.net"}, "relay2.example.net", "SMTP_TLS"},
		{[]string{"-gateway-tls=false"}, "relay2.example.net", "SMTP"},
		{[]string{"-gateway", "relay3.example.net"}, "relay3.example.net", "SMTP"},
	} {
		var out, errOut bytes.Buffer
		if code := run(append(real, step.args...), &out, &errOut); code != cli.ExitOK {
			t.Fatalf("run(%q) = %d\n%s\n%s", step.args, code, out.String(), errOut.String())
		}
		host, mode := srv.AdminSetting("email/gateway", "smartHost"), srv.AdminSetting("email/gateway", "smtpMode")
		if host != step.host || mode != step.mode {
			t.Errorf("after %q: gateway %s (%s), want %s (%s)", step.args, host, mode, step.host, step.mode)
		}
	}
}

// faultProxy forwards to a fake but answers paths holding a key of fail
// with that status; with barrier > 0 it holds every request until
// barrier requests are in flight at once (or a second passed), and
// records the most it saw.
type faultProxy struct {
	*httptest.Server
	mu       sync.Mutex
	inFlight int
	most     int
	all      chan struct{}
}

func newFaultProxy(t *testing.T, target string, fail map[string]int, barrier int) *faultProxy {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &faultProxy{all: make(chan struct{})}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.inFlight++
		p.most = max(p.most, p.inFlight)
		if p.inFlight == barrier {
			close(p.all)
		}
		p.mu.Unlock()
		defer func() { p.mu.Lock(); p.inFlight--; p.mu.Unlock() }()
		if barrier > 0 {
			select {
			case <-p.all:
			case <-time.After(time.Second): // sequential reads: give up and let the test fail
			case <-r.Context().Done():
			}
		}
		for frag, code := range fail {
			if strings.Contains(r.URL.Path, frag) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(code)
				w.Write([]byte(`{"error":{"code":` + fmt.Sprint(code) + `,"message":"` + http.StatusText(code) + `"}}`))
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// A part that cannot be read is shown as failed with why, one the server
// does not have as not available, and neither as a zero; the other parts
// are read and shown; exit 1.
func TestPartsNeverZero(t *testing.T) {
	srv := workspacetest.NewServer(workspacetest.WithoutAuth())
	defer srv.Close()
	proxy := newFaultProxy(t, srv.URL, map[string]int{"/inboundSamlSsoProfiles": http.StatusForbidden, "/domains": http.StatusNotFound}, 0)
	var out, errOut bytes.Buffer
	code := run([]string{"-endpoint", proxy.URL, "-domain", srv.Domain()}, &out, &errOut)
	if code != cli.ExitFailed {
		t.Errorf("exit %d, want %d", code, cli.ExitFailed)
	}
	for _, want := range []string{
		"Outbound gateway: (none) (SMTP)", "Customer C", "Cloud Identity SSO assignments: 0",
		"Cloud Identity SAML profiles: could not be read:", "Domains: not available (",
		"✗ read Cloud Identity: could not read profiles", "✓ read Directory: 1 read, not available: domains",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "SAML profiles: 0") || strings.Contains(out.String(), "Domains: 0") {
		t.Errorf("a part not read shows as 0:\n%s", out.String())
	}
}

// The reads run at once: the proxy sees all seven in flight together.
func TestReadsInParallel(t *testing.T) {
	srv := workspacetest.NewServer(workspacetest.WithoutAuth())
	defer srv.Close()
	proxy := newFaultProxy(t, srv.URL, nil, len(allParts))
	var out, errOut bytes.Buffer
	if code := run([]string{"-endpoint", proxy.URL, "-domain", srv.Domain()}, &out, &errOut); code != cli.ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	if proxy.most != len(allParts) {
		t.Errorf("at most %d reads in flight, want %d", proxy.most, len(allParts))
	}
}

// A closed port fails fast, naming the host.
func TestClosedPort(t *testing.T) {
	host := clitest.ClosedPort(t)
	waits := clitest.RecordWaits(t, nil)
	var out, errOut bytes.Buffer
	start := time.Now()
	code := run([]string{"-endpoint", "http://" + host, "-domain", "example.com", "-gateway", "relay.example.net"}, &out, &errOut)
	clitest.CheckFastFailures(t, code, out.String()+errOut.String(), host, waits, time.Since(start), len(allParts))
	for _, want := range []string{"no part of the settings could be read; no change attempted", "could not be read:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "outbound gateway") {
		t.Errorf("a change was attempted:\n%s", out.String())
	}
}
