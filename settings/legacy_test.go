package settings_test

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/settings"
	"github.com/gwsadmin/workspace/workspacetest"
)

// wireEntry is the documented request shape: an Atom entry (atom: prefix
// in the docs) holding <apps:property name value/> elements.
type wireEntry struct {
	XMLName xml.Name
	ID      string `xml:"http://www.w3.org/2005/Atom id"`
	Props   []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	} `xml:"http://schemas.google.com/apps/2006 property"`
}

func decodeWire(t *testing.T, b []byte) (*wireEntry, map[string]string) {
	t.Helper()
	var w wireEntry
	if err := xml.Unmarshal(b, &w); err != nil {
		t.Fatalf("request body is not XML: %v\n%s", err, b)
	}
	if w.XMLName.Space != "http://www.w3.org/2005/Atom" || w.XMLName.Local != "entry" {
		t.Fatalf("document element %v, want Atom entry", w.XMLName)
	}
	m := map[string]string{}
	for _, p := range w.Props {
		m[p.Name] = p.Value
	}
	return &w, m
}

func TestSSOGetAndUpdate(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	sso, err := e.s.SSO.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	feedPath := "/a/feeds/domain/2.0/" + e.srv.Domain() + "/sso/general"
	if sso.Enabled || sso.SignOnURI != "" || len(sso.Whitelist) != 0 || !strings.HasSuffix(sso.ID, feedPath) {
		t.Errorf("initial: %+v", sso)
	}

	up, err := e.s.SSO.Update(ctx, &settings.SSOUpdate{
		Enabled:           ptr(true),
		SignOnURI:         ptr("https://idp.example.org/sso"),
		LogoutURI:         ptr("https://idp.example.org/logout"),
		ChangePasswordURI: ptr("https://idp.example.org/password"),
		Whitelist:         []string{"10.0.0.0/8", " 192.168.1.0/24", "2001:db8::/32"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &settings.SSOSettings{
		ID: sso.ID, Enabled: true, SignOnURI: "https://idp.example.org/sso", LogoutURI: "https://idp.example.org/logout",
		ChangePasswordURI: "https://idp.example.org/password",
		Whitelist: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.0/24"),
			netip.MustParsePrefix("2001:db8::/32")},
		Updated: up.Updated,
	}
	if diff := cmp.Diff(want, up, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	if got := e.srv.AdminSetting("sso/general", "ssoWhitelist"); got != "10.0.0.0/8,192.168.1.0/24,2001:db8::/32" {
		t.Errorf("stored whitelist %q", got)
	}

	// The update read first, then PUT the full entry with the same id.
	reqs := e.rec.requests(feedPath)
	if len(reqs) != 3 || reqs[1].Method != "GET" || reqs[2].Method != "PUT" {
		t.Fatalf("requests: %+v", reqs)
	}
	put := reqs[2]
	if !strings.HasPrefix(put.ContentType, "application/atom+xml") {
		t.Errorf("content type %q", put.ContentType)
	}
	w, props := decodeWire(t, put.Body)
	if w.ID != sso.ID {
		t.Errorf("PUT id %q, want the GET's id %q", w.ID, sso.ID)
	}
	wantProps := map[string]string{
		"enableSSO": "true", "samlSignonUri": "https://idp.example.org/sso", "samlLogoutUri": "https://idp.example.org/logout",
		"changePasswordUri": "https://idp.example.org/password", "ssoWhitelist": "10.0.0.0/8,192.168.1.0/24,2001:db8::/32",
		"useDomainSpecificIssuer": "false",
	}
	if diff := cmp.Diff(wantProps, props); diff != "" {
		t.Errorf("PUT properties (-want +got):\n%s", diff)
	}

	// A second update changes only what it names; an empty whitelist clears it.
	up, err = e.s.SSO.Update(ctx, &settings.SSOUpdate{UseDomainSpecificIssuer: ptr(true), Whitelist: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if !up.Enabled || !up.UseDomainSpecificIssuer || len(up.Whitelist) != 0 || up.SignOnURI != want.SignOnURI || up.ID != sso.ID {
		t.Errorf("second update: %+v", up)
	}
}

func TestSSOUpdateRefusedLocally(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, field string
		u           *settings.SSOUpdate
	}{
		{"nil", "update", nil},
		{"http sign-on", "SignOnURI", &settings.SSOUpdate{SignOnURI: ptr("http://idp.example.org/sso")}},
		{"no host", "LogoutURI", &settings.SSOUpdate{LogoutURI: ptr("https:///x")}},
		{"javascript", "ChangePasswordURI", &settings.SSOUpdate{ChangePasswordURI: ptr("javascript:alert(1)")}},
		{"invalid CIDR", "Whitelist", &settings.SSOUpdate{Whitelist: []string{"10.0.0.0/8", "10.0.0.0/33"}}},
		{"not a CIDR", "Whitelist", &settings.SSOUpdate{Whitelist: []string{"example.com"}}},
		{"host bits", "Whitelist", &settings.SSOUpdate{Whitelist: []string{"192.168.1.7/24"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.rec.count()
			_, err := e.s.SSO.Update(t.Context(), tc.u)
			var ie *workspace.InputError
			if !errors.As(err, &ie) || ie.Field != tc.field || !errors.Is(err, workspace.ErrInvalidInput) {
				t.Fatalf("err = %v, want an InputError on %s", err, tc.field)
			}
			if n := e.rec.count() - before; n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
	// Turning SSO on without a sign-in page is refused after the read, before the write.
	_, err := e.s.SSO.Update(t.Context(), &settings.SSOUpdate{Enabled: ptr(true)})
	if !errors.Is(err, workspace.ErrInvalidInput) {
		t.Fatalf("enable without sign-on URI: %v", err)
	}
	for _, r := range e.rec.requests("/sso/general") {
		if r.Method != "GET" {
			t.Errorf("a %s was sent", r.Method)
		}
	}
}

func TestSSOMultiPartyApproval(t *testing.T) {
	e := newEnv(t)
	e.srv.SetMultiPartyApproval(true)
	_, err := e.s.SSO.Update(t.Context(), &settings.SSOUpdate{UseDomainSpecificIssuer: ptr(true)})
	var mpa *settings.MultiPartyApprovalError
	if !errors.As(err, &mpa) || !errors.Is(err, settings.ErrMultiPartyApproval) || mpa.Feed != "sso/general" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "Cloud Identity") {
		t.Errorf("message does not point to Cloud Identity: %v", err)
	}
	var we *workspace.Error
	if !errors.As(err, &we) || we.GDataCode != 1811 || we.StatusCode != 403 {
		t.Errorf("API error: %+v", we)
	}
	rk, _ := keys(t)
	pemData, _ := newCert(t, rk)
	if _, err := e.s.SSO.UpdateSigningKey(t.Context(), pemData); !errors.Is(err, settings.ErrMultiPartyApproval) {
		t.Errorf("signing key: %v", err)
	}
	// Reads still work, and the gateway is not an SSO feed.
	if _, err := e.s.SSO.Get(t.Context()); err != nil {
		t.Error(err)
	}
	if _, err := e.s.Gateway.Update(t.Context(), &settings.GatewayUpdate{SmartHost: ptr("smtp.example.com")}); err != nil {
		t.Error(err)
	}
}

func TestSigningKey(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	k, err := e.s.SSO.SigningKey(ctx)
	if err != nil || k.Key.Algorithm != "" || k.Certificate != nil {
		t.Fatalf("no key yet: %+v %v", k, err)
	}
	rk, ek := keys(t)
	pemData, der := newCert(t, rk)
	for name, in := range map[string][]byte{"PEM": pemData, "DER": der} {
		t.Run(name, func(t *testing.T) {
			got, err := e.s.SSO.UpdateSigningKey(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if got.Key != (settings.KeyInfo{Algorithm: "RSA", Bits: 2048}) || got.Certificate == nil ||
				got.Certificate.Subject.CommonName != "idp.example.org" || got.ID != k.ID {
				t.Errorf("key: %+v", got)
			}
			if v := e.srv.AdminSetting("sso/signingkey", "signingKey"); v != base64.StdEncoding.EncodeToString(der) {
				t.Errorf("stored key is not the base64 DER certificate: %.40q", v)
			}
			reqs := e.rec.requests("/sso/signingkey")
			w, props := decodeWire(t, reqs[len(reqs)-1].Body)
			if w.ID != k.ID || len(props) != 1 || props["signingKey"] == "" {
				t.Errorf("PUT: id %q props %v", w.ID, props)
			}
		})
	}
	ecPEM, ecDER := newCert(t, ek)
	before := e.rec.count()
	for _, in := range [][]byte{ecPEM, ecDER, []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), nil} {
		_, err := e.s.SSO.UpdateSigningKey(ctx, in)
		if !errors.Is(err, workspace.ErrInvalidInput) {
			t.Errorf("refused key: %v", err)
		}
	}
	_, err = e.s.SSO.UpdateSigningKey(ctx, ecPEM)
	if !strings.Contains(err.Error(), "EC") || !strings.Contains(err.Error(), "RSA or DSA") {
		t.Errorf("EC message: %v", err)
	}
	if e.rec.count() != before {
		t.Error("a refused key was sent")
	}
	k, err = e.s.SSO.SigningKey(ctx)
	if err != nil || k.Key.Bits != 2048 {
		t.Errorf("read back: %+v %v", k, err)
	}
}

func TestGateway(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	g, err := e.s.Gateway.Get(ctx)
	if err != nil || g.SmartHost != "" || g.Mode != settings.SMTP {
		t.Fatalf("initial: %+v %v", g, err)
	}
	up, err := e.s.Gateway.Update(ctx, &settings.GatewayUpdate{SmartHost: ptr("smtp-out.example.com"), Mode: ptr(settings.SMTPTLS)})
	if err != nil {
		t.Fatal(err)
	}
	if up.SmartHost != "smtp-out.example.com" || up.Mode != settings.SMTPTLS || up.ID != g.ID {
		t.Errorf("updated: %+v", up)
	}
	reqs := e.rec.requests("/email/gateway")
	w, props := decodeWire(t, reqs[len(reqs)-1].Body)
	if diff := cmp.Diff(map[string]string{"smartHost": "smtp-out.example.com", "smtpMode": "SMTP_TLS"}, props); diff != "" || w.ID != g.ID {
		t.Errorf("PUT id %q, props:\n%s", w.ID, diff)
	}
	up, err = e.s.Gateway.Update(ctx, &settings.GatewayUpdate{SmartHost: ptr("192.0.2.25")})
	if err != nil || up.SmartHost != "192.0.2.25" || up.Mode != settings.SMTPTLS {
		t.Fatalf("by IP: %+v %v", up, err)
	}
	before := e.rec.count()
	for _, u := range []*settings.GatewayUpdate{nil, {}, {SmartHost: ptr("smtp://x.example.com")}, {SmartHost: ptr("x.example.com:25")},
		{SmartHost: ptr("a b")}, {Mode: ptr(settings.SMTPMode("STARTTLS"))}} {
		if _, err := e.s.Gateway.Update(ctx, u); !errors.Is(err, workspace.ErrInvalidInput) {
			t.Errorf("%+v: %v", u, err)
		}
	}
	if e.rec.count() != before {
		t.Error("refused input was sent")
	}
}

func TestRouting(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	r, err := e.s.Routing.Create(ctx, &settings.Route{Destination: "mx.legacy.example.com", Enabled: true, BounceNotifications: true,
		AccountHandling: settings.UnknownAccounts})
	if err != nil {
		t.Fatal(err)
	}
	if r.Destination != "mx.legacy.example.com" || !r.Enabled || r.RewriteTo || !r.BounceNotifications || r.AccountHandling != settings.UnknownAccounts {
		t.Errorf("route: %+v", r)
	}
	if _, err := e.s.Routing.Create(ctx, &settings.Route{Destination: "198.51.100.7", RewriteTo: true}); err != nil {
		t.Fatal(err)
	}
	want := []map[string]string{
		{"routeDestination": "mx.legacy.example.com", "routeRewriteTo": "false", "routeEnabled": "true", "bounceNotifications": "true", "accountHandling": "unknownAccounts"},
		{"routeDestination": "198.51.100.7", "routeRewriteTo": "true", "routeEnabled": "false", "bounceNotifications": "false", "accountHandling": "allAccounts"},
	}
	if diff := cmp.Diff(want, e.srv.EmailRoutes()); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	posts := e.rec.requests("/emailrouting")
	if len(posts) != 2 || posts[0].Method != "POST" || posts[0].Path != "/a/feeds/domain/2.0/"+e.srv.Domain()+"/emailrouting" {
		t.Fatalf("%+v", posts)
	}
	w, props := decodeWire(t, posts[0].Body)
	if w.ID != "" || !cmp.Equal(want[0], props) {
		t.Errorf("POST: id %q props %v", w.ID, props)
	}
	before := e.rec.count()
	for _, r := range []*settings.Route{nil, {}, {Destination: "user@example.com"}, {Destination: "x.example.com", AccountHandling: "some"}} {
		if _, err := e.s.Routing.Create(ctx, r); !errors.Is(err, workspace.ErrInvalidInput) {
			t.Errorf("%+v: %v", r, err)
		}
	}
	if e.rec.count() != before {
		t.Error("refused input was sent")
	}
}

func TestLegacyErrors(t *testing.T) {
	e := newEnv(t)
	// A throttle (503 on a legacy API) is retried by the core.
	e.srv.InjectFault("adminsettings", workspacetest.FaultHTTP503, 2)
	if _, err := e.s.Gateway.Get(t.Context()); err != nil {
		t.Fatalf("after two 503s: %v", err)
	}
	// A domain that is not the account's: the GData error comes back typed.
	other := settings.New(coreOf(t, e), "not-mine.example.org")
	_, err := other.SSO.Get(t.Context())
	var we *workspace.Error
	if !errors.As(err, &we) || we.GDataCode != 1301 || !errors.Is(err, workspace.ErrNotFound) {
		t.Errorf("foreign domain: %v", err)
	}
	if _, err := settings.New(coreOf(t, e), "").Gateway.Get(t.Context()); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("empty domain: %v", err)
	}
}

func TestSigningKeyDSA(t *testing.T) {
	e := newEnv(t)
	der := dsaCert(t)
	got, err := e.s.SSO.UpdateSigningKey(t.Context(), der)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != (settings.KeyInfo{Algorithm: "DSA", Bits: 1024}) {
		t.Errorf("key: %+v", got.Key)
	}
	if v := e.srv.AdminSetting("sso/signingkey", "signingKey"); v != base64.StdEncoding.EncodeToString(der) {
		t.Error("stored key differs")
	}
	p, err := e.s.Profiles.Create(t.Context(), &settings.Profile{IdP: idp(1)})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := e.s.Profiles.AddCredential(t.Context(), p.Name, der)
	if err != nil || cr.Key != (settings.KeyInfo{Algorithm: "DSA", Bits: 1024}) {
		t.Errorf("Cloud Identity DSA credential: %+v %v", cr, err)
	}
}
