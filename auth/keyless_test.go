package auth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
)

const (
	callerToken = "caller-token"
	keylessSA   = "dwd@proj.iam.gserviceaccount.com"
)

// iamServer is a fake IAM Credentials API: signJwt signs the payload with
// the test key (kid-1), for callers presenting callerToken.
type iamServer struct {
	*httptest.Server

	mu       sync.Mutex
	signs    int
	paths    []string
	payloads []claims
	status   int    // if set, answer with this status
	body     string // and this body
}

func newIAMServer(t *testing.T) *iamServer {
	s := &iamServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *iamServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signs
}

func (s *iamServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paths = append(s.paths, r.URL.Path)
	w.Header().Set("Content-Type", "application/json")
	if s.status != 0 {
		w.WriteHeader(s.status)
		fmt.Fprint(w, s.body)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+callerToken {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`)
		return
	}
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, ":signJwt") {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	var req struct{ Payload string }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var c claims
	if err := json.Unmarshal([]byte(req.Payload), &c); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.signs++
	s.payloads = append(s.payloads, c)
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","kid":"kid-1"}`)) + "." + enc.EncodeToString([]byte(req.Payload))
	sum := sha256.Sum256([]byte(head))
	sig, err := rsa.SignPKCS1v15(rand.Reader, testKey(), crypto.SHA256, sum[:])
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"keyId": "kid-1", "signedJwt": head + "." + enc.EncodeToString(sig)})
}

func keylessPool(t *testing.T, iam *iamServer, ts *tokenServer, clk *fakeClock) *Pool {
	t.Helper()
	caller, err := (&Pool{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: callerToken})}).Source("", nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &Pool{Keyless: &Keyless{ServiceAccount: keylessSA, Caller: caller, TokenURL: ts.tokenURL(), IAMCredentialsURL: iam.URL}}
	if clk != nil {
		p.now = clk.Now
	}
	return p
}

func TestKeylessDelegation(t *testing.T) {
	iam, ts, clk := newIAMServer(t), newTokenServer(t), newFakeClock()
	p := keylessPool(t, iam, ts, clk)
	src, err := p.Source("alice@example.com", []string{"b-scope", "a-scope"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "tok-1" {
		t.Fatalf("token %q", tok.AccessToken)
	}
	if got, want := iam.paths[0], "/v1/projects/-/serviceAccounts/"+keylessSA+":signJwt"; got != want {
		t.Errorf("signJwt path %q, want %q", got, want)
	}
	c := ts.claims[0]
	if c.Iss != keylessSA || c.Sub != "alice@example.com" || c.Scope != "a-scope b-scope" || c.Aud != ts.tokenURL() || c.Exp-c.Iat != 3600 {
		t.Errorf("claims %+v", c)
	}
	if c.Iat != clk.Now().Unix() {
		t.Errorf("iat %d, want the pool clock's %d", c.Iat, clk.Now().Unix())
	}
	if g := ts.forms[0]["grant_type"]; g != jwtBearerGrant {
		t.Errorf("grant_type %q", g)
	}

	// Cached: the same (subject, scope set) signs nothing new.
	src2, _ := p.Source("alice@example.com", []string{"a-scope", "b-scope"})
	if _, err := src2.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := iam.count(); n != 1 {
		t.Errorf("signJwt called %d times, want 1", n)
	}
	// Refreshed near expiry.
	clk.Advance(time.Hour - 30*time.Second)
	if tok, err := src.Token(t.Context()); err != nil || tok.AccessToken != "tok-2" {
		t.Fatalf("after expiry: %v, %v", tok, err)
	}
	// Another subject gets its own token.
	other, _ := p.Source("bob@example.com", []string{"a-scope"})
	if _, err := other.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := iam.count(); n != 3 {
		t.Errorf("signJwt called %d times, want 3", n)
	}
	if last := ts.claims[len(ts.claims)-1]; last.Sub != "bob@example.com" {
		t.Errorf("subject %q", last.Sub)
	}
}

func TestKeylessNoSubjectActsAsServiceAccount(t *testing.T) {
	iam, ts := newIAMServer(t), newTokenServer(t)
	src, err := keylessPool(t, iam, ts, nil).Source("", []string{"s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c := ts.claims[0]; c.Sub != "" || c.Iss != keylessSA {
		t.Errorf("claims %+v", c)
	}
}

func TestKeylessConfigErrors(t *testing.T) {
	caller, _ := (&Pool{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})}).Source("", nil)
	for name, p := range map[string]*Pool{
		"no caller":  {Keyless: &Keyless{ServiceAccount: keylessSA}},
		"bad email":  {Keyless: &Keyless{ServiceAccount: "dwd", Caller: caller}},
		"two kinds":  {Keyless: &Keyless{ServiceAccount: keylessSA, Caller: caller}, TokenSource: oauth2.StaticTokenSource(&oauth2.Token{})},
		"no scopes?": {Keyless: &Keyless{ServiceAccount: keylessSA, Caller: caller}},
	} {
		scopes := []string{"s"}
		if name == "no scopes?" {
			scopes = nil
		}
		if _, err := p.Source("a@example.com", scopes); err == nil {
			t.Errorf("%s: Source succeeded", name)
		}
	}
}

func TestKeylessSignJwtRefused(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   []string
	}{
		{403, `{"error":{"code":403,"message":"Permission 'iam.serviceAccounts.signJwt' denied on resource (or it may not exist).","status":"PERMISSION_DENIED"}}`,
			[]string{"403", "Permission 'iam.serviceAccounts.signJwt' denied", "roles/iam.serviceAccountTokenCreator", keylessSA, "iamcredentials.googleapis.com"}},
		{403, `{"error":{"code":403,"message":"IAM Service Account Credentials API has not been used in project 42 before or it is disabled.","status":"PERMISSION_DENIED"}}`,
			[]string{"not enabled", "gcloud services enable iamcredentials.googleapis.com"}},
		{404, `{"error":{"code":404,"message":"Not found; Gaia id not found for email x","status":"NOT_FOUND"}}`,
			[]string{"does not exist", keylessSA}},
	}
	for _, tt := range tests {
		iam, ts := newIAMServer(t), newTokenServer(t)
		iam.status, iam.body = tt.status, tt.body
		src, _ := keylessPool(t, iam, ts, nil).Source("a@example.com", []string{"s"})
		_, err := src.Token(t.Context())
		if err == nil {
			t.Fatalf("%d: no error", tt.status)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%d: error %q lacks %q", tt.status, err, w)
			}
		}
		var ge *googleapi.Error
		var re *oauth2.RetrieveError
		if !errors.As(err, &ge) || ge.Code != tt.status || !errors.As(err, &re) || re.Response.StatusCode != tt.status {
			t.Errorf("%d: error chain %v lacks the API error or its token form", tt.status, err)
		}
		if ts.fetches() != 0 {
			t.Errorf("%d: token endpoint called after signJwt failed", tt.status)
		}
	}
}

func TestKeylessSignJwtUnreachable(t *testing.T) {
	iam, ts := newIAMServer(t), newTokenServer(t)
	p := keylessPool(t, iam, ts, nil)
	iam.Close()
	src, _ := p.Source("a@example.com", []string{"s"})
	_, err := src.Token(t.Context())
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("error %v does not unwrap to ECONNREFUSED", err)
	}
}

func TestKeylessTokenRefusedKeepsGoogleError(t *testing.T) {
	iam, ts := newIAMServer(t), newTokenServer(t)
	ts.fail = "unauthorized_client"
	p := keylessPool(t, iam, ts, nil)
	p.Keyless.ClientID = "1122334455"
	src, _ := p.Source("a@example.com", []string{"https://www.googleapis.com/auth/gmail.readonly", "https://www.googleapis.com/auth/admin.directory.user"})
	_, err := src.Token(t.Context())
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "unauthorized_client" || !strings.HasPrefix(re.ErrorDescription, "Client is unauthorized") {
		t.Fatalf("error %v: no RetrieveError with Google's error", err)
	}
	want := "the scopes https://www.googleapis.com/auth/admin.directory.user,https://www.googleapis.com/auth/gmail.readonly are not authorized for client id 1122334455 in Admin console › Security › API controls › Domain-wide delegation"
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "unauthorized_client") {
		t.Errorf("error %q\nlacks %q", err, want)
	}
}
