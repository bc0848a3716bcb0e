package workspacetest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Fake identities of the server's service account and OAuth client.
const (
	serviceAccountProject = "workspacetest-project"
	serviceAccountKeyID   = "0f5e4c3b2a19087766554433221100ffeeddccbb"
	serviceAccountID      = "100000000000000000001"
	oauthClientID         = "100000000002-workspacetest.apps.googleusercontent.com"
	oauthClientSecret     = "workspacetest-client-secret"

	jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	// legacyAssertionType goes with grant_type=assertion.
	legacyAssertionType = "http://oauth.net/grant_type/jwt/1.0/bearer"

	// allScopes marks the tokens of Client and WithoutAuth.
	allScopes = "*"
)

// signingKey is generated once per process: RSA key generation is slow and
// every Server may share the key, since tokens are scoped by server.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("workspacetest: generate RSA key: " + err.Error())
	}
	return k
})

// token is an issued access token.
type token struct {
	subject string // acting user (the JWT sub, or the service account)
	project string // developer project the quota is charged to
	scopes  map[string]bool
	expires time.Time
}

func (t *token) hasScope(any []string) bool {
	if t.scopes[allScopes] || len(any) == 0 {
		return true
	}
	for _, sc := range any {
		if t.scopes[sc] {
			return true
		}
	}
	return false
}

// caller is the principal of an authenticated request, for handlers.
type caller struct {
	Subject string // the acting user's email
	Project string // the project quotas are charged to
	token   *token
	fault   FaultKind // the fault injected into this request, if any
}

type callerKey struct{}

// callerFrom returns who is making request r. It is never nil inside a
// handler registered with s.handle.
func callerFrom(r *http.Request) *caller {
	c, _ := r.Context().Value(callerKey{}).(*caller)
	if c == nil {
		return &caller{}
	}
	return c
}

// ServiceAccountEmail returns the client_email of the server's service
// account.
func (s *Server) ServiceAccountEmail() string {
	return "workspacetest@" + serviceAccountProject + ".iam.gserviceaccount.com"
}

// TokenURL returns the server's OAuth2 token endpoint, URL + "/token".
func (s *Server) TokenURL() string { return s.URL + "/token" }

// ServiceAccountKey returns a service account JSON key file whose token_uri
// is this server's token endpoint, for google.JWTConfigFromJSON,
// google.CredentialsFromJSON or this module's WithCredentialsJSON. The
// server honours domain-wide delegation for it (Subject must be a seeded
// user of the domain).
func (s *Server) ServiceAccountKey() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(signingKey())
	if err != nil {
		panic("workspacetest: " + err.Error())
	}
	b, _ := json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  serviceAccountProject,
		"private_key_id":              serviceAccountKeyID,
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                s.ServiceAccountEmail(),
		"client_id":                   serviceAccountID,
		"auth_uri":                    s.URL + "/o/oauth2/auth",
		"token_uri":                   s.TokenURL(),
		"auth_provider_x509_cert_url": s.URL + "/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	return b
}

// WriteServiceAccountKey writes ServiceAccountKey to a new file in dir
// (os.TempDir when empty) and returns its path.
func (s *Server) WriteServiceAccountKey(dir string) (string, error) {
	f, err := os.CreateTemp(dir, "workspacetest-sa-*.json")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(s.ServiceAccountKey()); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return filepath.Clean(f.Name()), nil
}

// AuthorizedUserKey returns an authorized-user credentials JSON (the kind
// gcloud writes) for the default admin, whose refresh token the server's
// token endpoint exchanges for access tokens.
func (s *Server) AuthorizedUserKey() []byte { return s.AuthorizedUserKeyFor(s.AdminEmail()) }

// AuthorizedUserKeyFor is AuthorizedUserKey for any principal: the file
// "gcloud auth application-default login" writes for that user, to test
// Application Default Credentials as a gcloud user (point
// GOOGLE_APPLICATION_CREDENTIALS at it). Its access tokens act as
// principal with every scope; to call signJwt the principal also needs
// [Server.GrantTokenCreator].
func (s *Server) AuthorizedUserKeyFor(principal string) []byte {
	principal = principalName(principal)
	rt := "1//workspacetest-refresh-" + principal
	s.mu.Lock()
	s.refreshTokens[rt] = principal
	s.mu.Unlock()
	b, _ := json.MarshalIndent(map[string]string{
		"type":          "authorized_user",
		"client_id":     oauthClientID,
		"client_secret": oauthClientSecret,
		"refresh_token": rt,
		"token_uri":     s.TokenURL(),
	}, "", "  ")
	return b
}

// ExpireTokens makes every access token issued so far expired, so the next
// request with one gets 401 and a client must refresh.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	for _, t := range s.tokens {
		if t.expires.After(now) {
			t.expires = now
		}
	}
}

// IssueToken returns a fresh access token acting as subject (a seeded user)
// with the given scopes (none: every scope), without a JWT round trip. It
// panics if subject is not a seeded user.
func (s *Server) IssueToken(subject string, scopes ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.usersByEmail[strings.ToLower(subject)] == nil {
		panic("workspacetest: IssueToken: unknown user " + subject)
	}
	if len(scopes) == 0 {
		scopes = []string{allScopes}
	}
	tok, _ := s.mintLocked(strings.ToLower(subject), serviceAccountProject, scopes)
	return tok
}

// mintLocked issues an access token; s.mu must be held.
func (s *Server) mintLocked(subject, project string, scopes []string) (string, time.Duration) {
	s.tokenSeq++
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	tok := fmt.Sprintf("ya29.workspacetest-%d-%s", s.tokenSeq, hex.EncodeToString(rnd[:]))
	life := s.scaled(s.cfg.tokenLifetime)
	sc := map[string]bool{}
	for _, x := range scopes {
		sc[x] = true
	}
	s.tokens[tok] = &token{subject: subject, project: project, scopes: sc, expires: s.nowLocked().Add(life)}
	return tok, life
}

// clientTokenValue returns a valid token for Client, minting one as needed.
func (s *Server) clientTokenValue() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[s.clientToken]; t != nil && s.nowLocked().Before(t.expires) {
		return s.clientToken
	}
	s.clientToken, _ = s.mintLocked(s.AdminEmail(), serviceAccountProject, []string{allScopes})
	return s.clientToken
}

// authTransport adds the Client token to each request.
type authTransport struct {
	s    *Server
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer "+t.s.clientTokenValue())
	return t.base.RoundTrip(r2)
}

// unauthenticated writes Google's 401 reply for a missing, unknown or
// expired token, in the endpoint's style.
func (s *Server) unauthenticated(w http.ResponseWriter, ep *endpoint) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
	if ep.style == styleGData {
		if rw, ok := w.(*respWriter); ok {
			rw.reason = "authError"
		}
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("<HTML>\n<HEAD>\n<TITLE>Token invalid</TITLE>\n</HEAD>\n<BODY>\n<H1>Token invalid</H1>\n<H2>Error 401</H2>\n</BODY>\n</HTML>\n"))
		return
	}
	writeGoogleError(w, googleError{
		Code:    http.StatusUnauthorized,
		Message: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
		Status:  "UNAUTHENTICATED",
		Items: []errorItem{{
			Message: "Invalid Credentials", Domain: "global", Reason: "authError",
			Location: "Authorization", LocationType: "header",
		}},
	})
}

// authenticate checks the request's bearer token against ep. On failure it
// writes the refusal and returns false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, ep *endpoint) (*caller, bool) {
	if ep.noAuth {
		return &caller{Project: serviceAccountProject}, true
	}
	raw := r.Header.Get("Authorization")
	if raw == "" {
		raw = r.URL.Query().Get("access_token")
		if raw != "" {
			raw = "Bearer " + raw
		}
	}
	if raw == "" {
		if s.cfg.noAuth {
			t := &token{subject: s.AdminEmail(), project: serviceAccountProject, scopes: map[string]bool{allScopes: true}}
			return &caller{Subject: t.subject, Project: t.project, token: t}, true
		}
		s.unauthenticated(w, ep)
		return nil, false
	}
	scheme, value, _ := strings.Cut(raw, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		s.unauthenticated(w, ep)
		return nil, false
	}
	s.mu.Lock()
	t := s.tokens[strings.TrimSpace(value)]
	valid := t != nil && s.nowLocked().Before(t.expires)
	var isAdmin, known bool
	if valid {
		if u := s.usersByEmail[t.subject]; u != nil {
			if u.suspended {
				valid = false
			}
			known, isAdmin = true, u.admin
		}
	}
	s.mu.Unlock()
	if !valid {
		s.unauthenticated(w, ep)
		return nil, false
	}
	if !t.hasScope(ep.scopes) {
		writeStyled(w, ep, scopeInsufficient(ep.api))
		return nil, false
	}
	if ep.adminOnly && (!known || !isAdmin) {
		writeStyled(w, ep, notAuthorized())
		return nil, false
	}
	return &caller{Subject: t.subject, Project: t.project, token: t}, true
}

// googleTokenURIs are Google's token endpoints, accepted as JWT audiences
// beside the server's own (clients that cannot change the token URI send
// one of these, and reach the fake through GoogleTransport).
var googleTokenURIs = []string{
	"https://oauth2.googleapis.com/token",
	"https://www.googleapis.com/oauth2/v4/token",
	"https://accounts.google.com/o/oauth2/token",
}

// registerOAuth adds the OAuth2 token endpoint, under /token and under the
// paths of Google's other token URIs.
func (s *Server) registerOAuth(mux *http.ServeMux) {
	for _, p := range []string{"/token", "/oauth2/v4/token", "/o/oauth2/token"} {
		s.handle(mux, "POST "+p, endpoint{api: "oauth2", method: "token", noAuth: true, style: styleOAuth, h: s.tokenEndpoint})
	}
}

// tokenEndpoint serves POST /token for the JWT-bearer and refresh_token
// grants.
func (s *Server) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Malformed form body.")
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case jwtBearerGrant:
		s.jwtGrant(w, r)
	case "assertion":
		// The older form Google still accepts, used by Google's
		// impersonate packages for domain-wide delegation.
		if at := r.PostForm.Get("assertion_type"); at != legacyAssertionType {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid assertion_type: "+at)
			return
		}
		s.jwtGrant(w, r)
	case "refresh_token":
		s.refreshGrant(w, r)
	case "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: grant_type")
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+gt)
	}
}

// clockSkewDesc is Google's error_description for a JWT whose iat and exp
// are not within the accepted window, as quoted in public issue threads
// (googleapis/google-api-php-client#1501, fastlane/fastlane#14972).
const clockSkewDesc = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values and use a clock with skew to account for clock differences between systems."

type jwtClaims struct {
	Iss   string `json:"iss"`
	Sub   string `json:"sub"`
	Aud   string `json:"aud"`
	Scope string `json:"scope"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`
}

// jwtGrant verifies an RS256 JWT assertion signed with the server's
// service-account key and issues a token for its subject.
func (s *Server) jwtGrant(w http.ResponseWriter, r *http.Request) {
	bad := func(desc string) { writeOAuthError(w, http.StatusBadRequest, "invalid_grant", desc) }
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		bad("Invalid JWT: not a compact JWS.")
		return
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	var cl jwtClaims
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &cl) != nil {
		bad("Invalid JWT: malformed segment.")
		return
	}
	if hdr.Alg != "RS256" {
		bad("Invalid JWT: unsupported algorithm " + hdr.Alg)
		return
	}
	if !s.keyIDAccepted(hdr.Kid) {
		bad("Invalid JWT Signature.")
		return
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&signingKey().PublicKey, crypto.SHA256, sum[:], sig) != nil {
		bad("Invalid JWT Signature.")
		return
	}
	if cl.Iss != s.ServiceAccountEmail() {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
		return
	}
	if cl.Aud != s.TokenURL() && cl.Aud != "http://"+r.Host+"/token" && !slices.Contains(googleTokenURIs, cl.Aud) {
		bad("Invalid JWT: Failed audience check. The right audience is " + s.TokenURL())
		return
	}
	now := s.now().Unix()
	const skew = 300
	if cl.Iat == 0 || cl.Exp == 0 || cl.Iat > now+skew || cl.Exp <= now-skew || cl.Exp-cl.Iat > 3600 || cl.Exp < cl.Iat {
		bad(clockSkewDesc)
		return
	}
	scopes := strings.Fields(cl.Scope)
	if len(scopes) == 0 {
		writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
		return
	}
	subject := s.ServiceAccountEmail()
	if cl.Sub != "" {
		subject = strings.ToLower(cl.Sub)
		if !s.subjectRefusal(w, subject, scopes) {
			return
		}
	}
	s.mu.Lock()
	tok, life := s.mintLocked(subject, serviceAccountProject, scopes)
	s.mu.Unlock()
	writeTokenReply(w, tok, life, "")
}

// refreshGrant exchanges a refresh token from AuthorizedUserKey.
func (s *Server) refreshGrant(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != oauthClientID || secret != oauthClientSecret {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Unauthorized")
		return
	}
	s.mu.Lock()
	subject, found := s.refreshTokens[r.PostForm.Get("refresh_token")]
	var tok string
	var life time.Duration
	if found {
		tok, life = s.mintLocked(subject, serviceAccountProject, []string{allScopes})
	}
	s.mu.Unlock()
	if !found {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
		return
	}
	writeTokenReply(w, tok, life, "")
}

func writeTokenReply(w http.ResponseWriter, tok string, life time.Duration, scope string) {
	secs := int64((life + time.Second - 1) / time.Second)
	w.Header().Set("Cache-Control", "no-store")
	body := map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": secs}
	if scope != "" {
		body["scope"] = scope
	}
	writeJSON(w, http.StatusOK, body)
}
