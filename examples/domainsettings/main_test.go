package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
		"8 steps, 8 succeeded, 0 failed.",
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
	if !strings.Contains(out.String(), "4 steps, 4 succeeded, 0 failed.") {
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
		{"-gateway", "x.example.com"},                   // a change in demo mode
		{"-endpoint", "http://127.0.0.1:1"},             // no -domain
		{"-credentials", "sa.json", "-domain", "x.com"}, // no -subject
		{"-endpoint", "http://127.0.0.1:1", "-domain", "x.com", "-gateway-tls"},
		{"-endpoint", "http://127.0.0.1:1", "-domain", "x.com", "-logo", "/nonexistent/logo.png"},
		{"-mx-wait", "-1s"},
		{"extra"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("run(%q) = %d, want 2 (stderr %q)", args, code, errOut.String())
		}
	}
}
