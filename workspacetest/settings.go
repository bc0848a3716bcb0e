package workspacetest

import (
	"crypto/dsa" //lint:ignore SA1019 Google accepts DSA IdP certificates and SSO signing keys
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"html"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Admin Settings API (legacy GData) feeds that Google still documents:
// sso/general, sso/signingkey, email/gateway (GET/PUT) and emailrouting
// (POST), under /a/feeds/domain/2.0/{domain}/.
//
// A PUT changes the properties it sends and keeps the others (the old
// client libraries sent only the changed properties); an <id> in the body
// must name the feed it is sent to. Bad values are refused with 403 and an
// AppsForYourDomainErrors body (the limits page: 403 means bad input), a
// body that is not an Atom entry with 400.
//
// Turned-down feeds (general/*, accountInformation/*, appearance/customLogo,
// verification/*, email/migration) answer 404 with an HTML page, not a GData
// error. Reasoning: when Google turned these feeds down on 2018-10-31 they
// stopped being routed at all, so a client meets the front end's generic
// "not found" page, not an AppsForYourDomainErrors document; a client must
// cope with a non-XML 404 there. 410 Gone would be kinder but is not what a
// shut-down Google path sends. The HTML names the replacement API so a
// person reading a log knows what to do.

const scopeAdminSettings = "https://apps-apis.google.com/a/feeds/domain/"

// gdataLegacySsoMultiParty is the errorCode of SSO changes refused while
// multi-party approval is on.
const gdataLegacySsoMultiParty = 1811

// settingsState holds the Admin Settings of the primary domain; s.mu.
type settingsState struct {
	feeds      map[string]map[string]string // feed path -> property -> value
	updated    map[string]time.Time
	routes     []map[string]string
	multiParty bool
}

var settingsStates = serverLocal[settingsState]{newT: func(*Server) *settingsState {
	return &settingsState{
		feeds: map[string]map[string]string{
			"sso/general": {
				"enableSSO": "false", "samlSignonUri": "", "samlLogoutUri": "",
				"changePasswordUri": "", "ssoWhitelist": "", "useDomainSpecificIssuer": "false",
			},
			"sso/signingkey": {"signingKey": ""},
			"email/gateway":  {"smartHost": "", "smtpMode": "SMTP"},
		},
		updated: map[string]time.Time{},
	}
}}

func (s *Server) settings() *settingsState { return settingsStates.get(s) }

// SetMultiPartyApproval turns the customer's multi-party approval for
// sensitive actions on or off. While it is on, Admin Settings SSO writes
// are refused (errorCode 1811), and the Cloud Identity methods whose
// discovery descriptions say so (inboundSamlSsoProfiles.create and
// .patch, idpCredentials.add) return an operation awaiting approval
// ("done": false, metadata "state": "awaiting-multi-party-approval")
// instead of making the change.
func (s *Server) SetMultiPartyApproval(on bool) {
	st := s.settings()
	s.mu.Lock()
	defer s.mu.Unlock()
	st.multiParty = on
}

// AdminSetting returns the value of a property of a live Admin Settings
// feed, e.g. AdminSetting("sso/general", "enableSSO"); "" when unset.
func (s *Server) AdminSetting(feed, property string) string {
	st := s.settings()
	s.mu.Lock()
	defer s.mu.Unlock()
	return st.feeds[feed][property]
}

// EmailRoutes returns the email routes added through the emailrouting
// feed, oldest first, each as its properties.
func (s *Server) EmailRoutes() []map[string]string {
	st := s.settings()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]string, len(st.routes))
	for i, r := range st.routes {
		out[i] = make(map[string]string, len(r))
		for k, v := range r {
			out[i][k] = v
		}
	}
	return out
}

// turnedDownSettings are the Admin Settings feeds shut down on 2018-10-31
// (and the related ones old clients still call), with their replacement.
var turnedDownSettings = map[string]string{
	"general/":            "the Directory API customers resource (language, postalAddress.organizationName) and the Reports API",
	"accountInformation/": "the Directory API customers and domains resources",
	"appearance/":         "the Google Admin console (no API replacement)",
	"verification/":       "the Directory API domains resource (verified) and the Site Verification API",
	"email/migration":     "the Gmail API",
}

func (s *Server) registerSettings(mux *http.ServeMux) {
	const p = "/a/feeds/domain/2.0/{domain}/"
	add := func(pattern, method string, h http.HandlerFunc) {
		s.handle(mux, pattern, endpoint{
			api: "adminsettings", method: method, scopes: []string{scopeAdminSettings},
			adminOnly: true, style: styleGData, h: h,
		})
	}
	for _, feed := range []string{"sso/general", "sso/signingkey", "email/gateway"} {
		add("GET "+p+feed, feed+".get", s.settingsGet(feed))
		add("PUT "+p+feed, feed+".update", s.settingsPut(feed))
	}
	add("POST "+p+"emailrouting", "emailrouting.create", s.settingsRoute)
	for prefix, repl := range turnedDownSettings {
		pat := p + prefix
		add(pat, "turneddown."+strings.TrimSuffix(prefix, "/"), func(w http.ResponseWriter, r *http.Request) {
			writeTurnedDown(w, "The Admin Settings API feed "+strings.TrimSuffix(prefix, "/"), repl)
		})
	}
}

// writeTurnedDown answers a request to an API that Google turned down: 404
// with a small HTML page (see the comment at the top of settings.go).
func writeTurnedDown(w http.ResponseWriter, what, replacement string) {
	if rw, ok := w.(*respWriter); ok {
		rw.reason = "turnedDown"
	}
	body := "<!DOCTYPE html>\n<html lang=en><meta charset=utf-8><title>Error 404 (Not Found)!!1</title>\n" +
		"<p><b>404.</b> <ins>That's an error.</ins>\n<p>" + html.EscapeString(what) +
		" was turned down and is no longer served. Use " + html.EscapeString(replacement) + " instead.\n"
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(body))
}

func (s *Server) settingsDomain(w http.ResponseWriter, r *http.Request) bool {
	if d := strings.ToLower(r.PathValue("domain")); d != s.cfg.domain {
		writeGDataError(w, http.StatusForbidden, gdataEntityDoesNotExist, d,
			"EntityDoesNotExist: domain "+d+" is not the customer's primary domain")
		return false
	}
	return true
}

// settingsEntryLocked renders a feed's entry; s.mu held.
func (s *Server) settingsEntryLocked(r *http.Request, feed string) *gdEntry {
	st := s.settings()
	e := &gdEntry{id: baseURL(r) + "/a/feeds/domain/2.0/" + s.cfg.domain + "/" + feed, updated: st.updated[feed]}
	if e.updated.IsZero() {
		e.updated = s.nowLocked()
	}
	for _, name := range settingsOrder[feed] {
		e.add(name, st.feeds[feed][name])
	}
	return e
}

var settingsOrder = map[string][]string{
	"sso/general":    {"enableSSO", "samlSignonUri", "samlLogoutUri", "changePasswordUri", "ssoWhitelist", "useDomainSpecificIssuer"},
	"sso/signingkey": {"signingKey"},
	"email/gateway":  {"smartHost", "smtpMode"},
}

func (s *Server) settingsGet(feed string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.settingsDomain(w, r) {
			return
		}
		s.mu.Lock()
		e := s.settingsEntryLocked(r, feed)
		s.mu.Unlock()
		writeGDataEntry(w, http.StatusOK, e)
	}
}

func (s *Server) settingsPut(feed string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.settingsDomain(w, r) {
			return
		}
		e := readGDataEntry(w, r)
		if e == nil {
			return
		}
		if e.ID != "" {
			u, err := url.Parse(strings.TrimSpace(e.ID))
			if err != nil || u.Path != r.URL.Path {
				writeGDataError(w, http.StatusBadRequest, gdataInvalidValue, e.ID,
					"InvalidValue: the entry id must stay the id returned by GET")
				return
			}
		}
		p := e.props()
		bad := func(code int, name, msg string) {
			writeGDataError(w, http.StatusForbidden, code, name, gdataReasonOr(code)+": "+msg)
		}
		known := settingsOrder[feed]
		for name := range p {
			if !slices.Contains(known, name) {
				bad(gdataInvalidValue, name, "unknown property "+name+" for "+feed)
				return
			}
		}
		switch feed {
		case "sso/general":
			for _, b := range []string{"enableSSO", "useDomainSpecificIssuer"} {
				if v, ok := p[b]; ok {
					if _, ok := parseGDataBool(v); !ok {
						bad(gdataInvalidValue, b, b+" must be true or false")
						return
					}
				}
			}
			for _, u := range []string{"samlSignonUri", "samlLogoutUri", "changePasswordUri"} {
				if v := p[u]; v != "" && !validHTTPURL(v) {
					bad(gdataInvalidValue, u, u+" must be an http or https URL")
					return
				}
			}
			if v := p["ssoWhitelist"]; v != "" {
				for _, c := range strings.Split(v, ",") {
					if _, _, err := net.ParseCIDR(strings.TrimSpace(c)); err != nil {
						bad(gdataInvalidValue, "ssoWhitelist", "ssoWhitelist must be network masks in CIDR notation")
						return
					}
				}
			}
		case "sso/signingkey":
			if err := checkSigningKey(p["signingKey"]); err != "" {
				bad(gdataInvalidSsoSigningKey, "signingKey", err)
				return
			}
		case "email/gateway":
			if v, ok := p["smtpMode"]; ok && v != "SMTP" && v != "SMTP_TLS" {
				bad(gdataInvalidValue, "smtpMode", "smtpMode must be SMTP or SMTP_TLS")
				return
			}
			if v := p["smartHost"]; strings.ContainsAny(v, " /@") {
				bad(gdataInvalidValue, "smartHost", "smartHost must be a host name or IP address")
				return
			}
		}
		st := s.settings()
		s.mu.Lock()
		if st.multiParty && strings.HasPrefix(feed, "sso/") {
			s.mu.Unlock()
			writeGDataError(w, http.StatusForbidden, gdataLegacySsoMultiParty, feed,
				"LegacyInboundSsoChangeNotAllowedWithMultiPartyApproval")
			return
		}
		cur := st.feeds[feed]
		if feed == "sso/general" {
			// Enabling SSO needs a sign-in page and a signing key in effect.
			next := map[string]string{}
			for k, v := range cur {
				next[k] = v
			}
			for k, v := range p {
				next[k] = v
			}
			if on, _ := parseGDataBool(next["enableSSO"]); on && next["samlSignonUri"] == "" {
				s.mu.Unlock()
				bad(gdataInvalidValue, "samlSignonUri", "samlSignonUri is required to enable SSO")
				return
			}
		}
		for k, v := range p {
			cur[k] = v
		}
		st.updated[feed] = s.nowLocked()
		out := s.settingsEntryLocked(r, feed)
		s.mu.Unlock()
		writeGDataEntry(w, http.StatusOK, out)
	}
}

func gdataReasonOr(code int) string {
	switch code {
	case gdataInvalidSsoSigningKey:
		return "InvalidSsoSigningKey"
	}
	return gdataReasons[code]
}

func validHTTPURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// checkSigningKey validates a signingKey: base64 of a DER X.509
// certificate or a DER public key (PKIX), RSA or DSA. It returns "" when
// the key is fine.
func checkSigningKey(v string) string {
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), ""))
	if err != nil || len(der) == 0 {
		return "signingKey must be the base64 of a DER X.509 certificate or public key"
	}
	var pub any
	if cert, err := x509.ParseCertificate(der); err == nil {
		pub = cert.PublicKey
	} else if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		pub = k
	} else {
		return "signingKey is neither an X.509 certificate nor a public key"
	}
	switch pub.(type) {
	case *rsa.PublicKey, *dsa.PublicKey:
		return ""
	}
	return "signingKey must hold an RSA or DSA key"
}

func (s *Server) settingsRoute(w http.ResponseWriter, r *http.Request) {
	if !s.settingsDomain(w, r) {
		return
	}
	e := readGDataEntry(w, r)
	if e == nil {
		return
	}
	p := e.props()
	bad := func(name, msg string) {
		writeGDataError(w, http.StatusForbidden, gdataInvalidValue, name, "InvalidValue: "+msg)
	}
	dest := strings.TrimSpace(p["routeDestination"])
	if dest == "" || strings.ContainsAny(dest, " /@") {
		bad("routeDestination", "routeDestination must be a host name or IP address")
		return
	}
	route := map[string]string{"routeDestination": dest}
	for _, b := range []string{"routeRewriteTo", "routeEnabled", "bounceNotifications"} {
		v := p[b]
		if v == "" {
			v = "false"
		}
		bv, ok := parseGDataBool(v)
		if !ok {
			bad(b, b+" must be true or false")
			return
		}
		route[b] = strconv.FormatBool(bv)
	}
	ah := p["accountHandling"]
	if ah == "" {
		ah = "allAccounts"
	}
	if ah != "allAccounts" && ah != "provisionedAccounts" && ah != "unknownAccounts" {
		bad("accountHandling", "accountHandling must be allAccounts, provisionedAccounts or unknownAccounts")
		return
	}
	route["accountHandling"] = ah
	st := s.settings()
	s.mu.Lock()
	st.routes = append(st.routes, route)
	now := s.nowLocked()
	s.mu.Unlock()
	out := &gdEntry{id: baseURL(r) + "/a/feeds/domain/2.0/" + s.cfg.domain + "/emailrouting", updated: now}
	for _, k := range []string{"routeDestination", "routeRewriteTo", "routeEnabled", "bounceNotifications", "accountHandling"} {
		out.add(k, route[k])
	}
	writeGDataEntry(w, http.StatusOK, out)
}
