package workspacetest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
)

const settingsPath = "/a/feeds/domain/2.0/example.com/"

func TestSettingsGatewayGetPutKeepsID(t *testing.T) {
	s := newServer(t)
	st, _, b := do(t, s, "GET", settingsPath+"email/gateway", "")
	if st != 200 {
		t.Fatalf("get: %d %s", st, b)
	}
	e := parseEntry(t, b)
	if !strings.HasSuffix(e.ID, "/a/feeds/domain/2.0/example.com/email/gateway") {
		t.Errorf("id %q", e.ID)
	}
	if v, _ := e.prop("smtpMode"); v != "SMTP" {
		t.Errorf("default smtpMode %q", v)
	}
	// PUT back the entry with its id, as the docs tell clients to.
	body := "<atom:entry xmlns:atom='http://www.w3.org/2005/Atom' xmlns:apps='http://schemas.google.com/apps/2006'><atom:id>" + e.ID +
		"</atom:id><apps:property name='smartHost' value='smtp.out.example.com'/><apps:property name='smtpMode' value='SMTP_TLS'/></atom:entry>"
	st, _, b = do(t, s, "PUT", settingsPath+"email/gateway", body)
	if st != 200 {
		t.Fatalf("put: %d %s", st, b)
	}
	e2 := parseEntry(t, b)
	if e2.ID != e.ID {
		t.Errorf("PUT changed the id: %q -> %q", e.ID, e2.ID)
	}
	if v, _ := e2.prop("smartHost"); v != "smtp.out.example.com" || s.AdminSetting("email/gateway", "smtpMode") != "SMTP_TLS" {
		t.Errorf("echo %+v", e2.Props)
	}
	st, _, b = do(t, s, "PUT", settingsPath+"email/gateway", atomBody("smtpMode", "SMTPS"))
	wantGDataError(t, st, b, http.StatusForbidden, "1801")
	wrongID := strings.Replace(body, "email/gateway</atom:id>", "sso/general</atom:id>", 1)
	st, _, b = do(t, s, "PUT", settingsPath+"email/gateway", wrongID)
	wantGDataError(t, st, b, http.StatusBadRequest, "1801")
	st, _, b = do(t, s, "GET", "/a/feeds/domain/2.0/other.com/email/gateway", "")
	wantGDataError(t, st, b, http.StatusForbidden, "1301")
}

func TestSettingsSSOAndMultiPartyApproval(t *testing.T) {
	s := newServer(t)
	st, _, b := do(t, s, "PUT", settingsPath+"sso/general", atomBody("enableSSO", "true", "samlSignonUri", "https://idp.example.org/sso",
		"samlLogoutUri", "https://idp.example.org/logout", "ssoWhitelist", "10.0.0.0/8,192.168.1.0/24", "useDomainSpecificIssuer", "true"))
	if st != 200 {
		t.Fatalf("put sso/general: %d %s", st, b)
	}
	e := parseEntry(t, b)
	if v, _ := e.prop("enableSSO"); v != "true" {
		t.Errorf("enableSSO %q", v)
	}
	if v, _ := e.prop("changePasswordUri"); v != "" {
		t.Errorf("changePasswordUri %q", v)
	}
	for name, body := range map[string]string{
		"bad whitelist": atomBody("ssoWhitelist", "10.0.0.1"),
		"bad bool":      atomBody("enableSSO", "yes"),
		"bad uri":       atomBody("samlSignonUri", "not a url"),
		"unknown":       atomBody("colour", "blue"),
	} {
		st, _, b := do(t, s, "PUT", settingsPath+"sso/general", body)
		t.Run(name, func(t *testing.T) { wantGDataError(t, st, b, http.StatusForbidden, "1801") })
	}

	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	certPEM := selfSigned(t, &key.PublicKey, key)
	blk, _ := pem.Decode([]byte(certPEM))
	st, _, b = do(t, s, "PUT", settingsPath+"sso/signingkey", atomBody("signingKey", base64.StdEncoding.EncodeToString(blk.Bytes)))
	if st != 200 {
		t.Fatalf("put signing key (cert): %d %s", st, b)
	}
	pkix, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if st, _, b := do(t, s, "PUT", settingsPath+"sso/signingkey", atomBody("signingKey", base64.StdEncoding.EncodeToString(pkix))); st != 200 {
		t.Fatalf("put signing key (public key): %d %s", st, b)
	}
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	epkix, _ := x509.MarshalPKIXPublicKey(&ek.PublicKey)
	for _, v := range []string{base64.StdEncoding.EncodeToString(epkix), "!!", base64.StdEncoding.EncodeToString([]byte("junk"))} {
		st, _, b := do(t, s, "PUT", settingsPath+"sso/signingkey", atomBody("signingKey", v))
		wantGDataError(t, st, b, http.StatusForbidden, "1408")
	}

	s.SetMultiPartyApproval(true)
	for _, feed := range []string{"sso/general", "sso/signingkey"} {
		body := atomBody("enableSSO", "false")
		if feed == "sso/signingkey" {
			body = atomBody("signingKey", base64.StdEncoding.EncodeToString(pkix))
		}
		st, _, b := do(t, s, "PUT", settingsPath+feed, body)
		wantGDataError(t, st, b, http.StatusForbidden, "1811")
		if !strings.Contains(string(b), "LegacyInboundSsoChangeNotAllowedWithMultiPartyApproval") {
			t.Errorf("%s: reason missing: %s", feed, b)
		}
	}
	if s.AdminSetting("sso/general", "enableSSO") != "true" {
		t.Error("refused write changed the setting")
	}
	// Non-SSO feeds are not affected.
	if st, _, _ := do(t, s, "PUT", settingsPath+"email/gateway", atomBody("smartHost", "mx.example.com")); st != 200 {
		t.Errorf("gateway under MPA: %d", st)
	}
}

func TestSettingsEmailRouting(t *testing.T) {
	s := newServer(t)
	st, _, b := do(t, s, "POST", settingsPath+"emailrouting", atomBody("routeDestination", "mail.example.org",
		"routeRewriteTo", "true", "routeEnabled", "true", "bounceNotifications", "false", "accountHandling", "unknownAccounts"))
	if st != 200 {
		t.Fatalf("route: %d %s", st, b)
	}
	e := parseEntry(t, b)
	if v, _ := e.prop("accountHandling"); v != "unknownAccounts" {
		t.Errorf("accountHandling %q", v)
	}
	if r := s.EmailRoutes(); len(r) != 1 || r[0]["routeDestination"] != "mail.example.org" || r[0]["routeRewriteTo"] != "true" {
		t.Errorf("EmailRoutes = %v", r)
	}
	for name, body := range map[string]string{
		"no destination": atomBody("routeEnabled", "true"),
		"bad handling":   atomBody("routeDestination", "mx.example.org", "accountHandling", "someAccounts"),
		"bad bool":       atomBody("routeDestination", "mx.example.org", "routeEnabled", "1"),
	} {
		st, _, b := do(t, s, "POST", settingsPath+"emailrouting", body)
		t.Run(name, func(t *testing.T) { wantGDataError(t, st, b, http.StatusForbidden, "1801") })
	}
}

func TestSettingsTurnedDownFeeds(t *testing.T) {
	s := newServer(t)
	for _, p := range []string{"general/defaultLanguage", "general/organizationName", "accountInformation/adminSecondaryEmail",
		"accountInformation/edition", "appearance/customLogo", "verification/mx", "email/migration"} {
		for _, m := range []string{"GET", "PUT"} {
			st, h, b := do(t, s, m, settingsPath+p, "")
			if st != http.StatusNotFound || !strings.HasPrefix(h.Get("Content-Type"), "text/html") ||
				!strings.Contains(string(b), "turned down") || strings.Contains(string(b), "AppsForYourDomainErrors") {
				t.Errorf("%s %s: %d %q %s", m, p, st, h.Get("Content-Type"), b)
			}
		}
	}
	if st := s.Stats()["adminsettings"]; st.Rejected["turnedDown"] != 14 {
		t.Errorf("turned-down calls in Stats: %+v", st)
	}
}
