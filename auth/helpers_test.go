package auth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testKey is one RSA key shared by all tests (generating one is slow).
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func testKeyPEM() string {
	der, err := x509.MarshalPKCS8PrivateKey(testKey())
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

const testEmail = "robot@proj.iam.gserviceaccount.com"

func serviceAccountJSON(t *testing.T, tokenURL string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "proj",
		"private_key_id": "kid-1",
		"private_key":    testKeyPEM(),
		"client_email":   testEmail,
		"client_id":      "1234",
		"token_uri":      tokenURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// claims is the part of a JWT assertion the fake token endpoint checks.
type claims struct {
	Iss   string `json:"iss"`
	Sub   string `json:"sub"`
	Aud   string `json:"aud"`
	Scope string `json:"scope"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`
}

// tokenServer is a fake OAuth 2.0 token endpoint for the JWT bearer grant
// and the refresh-token grant. It verifies RS256 assertions with the test
// key and issues tokens "tok-1", "tok-2", ...
type tokenServer struct {
	*httptest.Server
	ExpiresIn int // seconds; 3600 if zero

	mu     sync.Mutex
	n      int
	claims []claims
	forms  []map[string]string
	fail   string // if set, answer 400 with this error code
}

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) tokenURL() string { return ts.Server.URL + "/token" }

func (ts *tokenServer) fetches() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.n
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/token" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	form := map[string]string{}
	for k := range r.PostForm {
		form[k] = r.PostForm.Get(k)
	}
	ts.forms = append(ts.forms, form)
	if ts.fail != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":%q,"error_description":"Client is unauthorized to retrieve access tokens using this method."}`, ts.fail)
		return
	}
	switch form["grant_type"] {
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		c, err := verifyJWT(form["assertion"])
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"invalid_grant","error_description":%q}`, err.Error())
			return
		}
		if c.Aud != ts.Server.URL+"/token" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		ts.claims = append(ts.claims, c)
	case "refresh_token":
		if form["refresh_token"] == "" || form["client_secret"] == "" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
	default:
		http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
		return
	}
	ts.n++
	exp := ts.ExpiresIn
	if exp == 0 {
		exp = 3600
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":%d}`, ts.n, exp)
}

// verifyJWT checks an RS256 JWT against the test key's public half and
// returns its claims.
func verifyJWT(assertion string) (claims, error) {
	var c claims
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return c, fmt.Errorf("assertion has %d parts", len(parts))
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return c, err
	}
	var h struct{ Alg, Typ, Kid string }
	if err := json.Unmarshal(hb, &h); err != nil {
		return c, err
	}
	if h.Alg != "RS256" || h.Kid != "kid-1" {
		return c, fmt.Errorf("header %+v", h)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return c, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&testKey().PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return c, fmt.Errorf("bad signature: %v", err)
	}
	cb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(cb, &c); err != nil {
		return c, err
	}
	if c.Exp <= c.Iat {
		return c, fmt.Errorf("exp %d not after iat %d", c.Exp, c.Iat)
	}
	return c, nil
}

// fakeClock is a settable clock for Pool.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
