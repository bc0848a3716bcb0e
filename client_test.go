package workspace_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
)

// noSleep records waits instead of sleeping.
func noSleep(o *retry.Options) {
	o.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
}

func newClient(t *testing.T, srvURL string, opts ...workspace.Option) *workspace.Client {
	t.Helper()
	base := []workspace.Option{workspace.WithEndpoint(srvURL), workspace.WithRetry(noSleep)}
	c, err := workspace.NewClient(t.Context(), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func get(t *testing.T, c *workspace.Client, call *core.Call, path string) (*http.Response, error) {
	t.Helper()
	hc, err := c.HTTPClient("")
	if err != nil {
		t.Fatal(err)
	}
	ctx := core.WithCall(t.Context(), call)
	req, _ := http.NewRequestWithContext(ctx, "GET", core.Of(c).BaseURL(call.API)+path, nil)
	return hc.Do(req)
}

func TestErrorCategories(t *testing.T) {
	tests := []struct {
		name     string
		api      string
		status   int
		body     string
		want     error
		notWant  []error
		attempts int
	}{
		{"not found", "gmail", 404, `{"error":{"code":404,"message":"Requested entity was not found.","errors":[{"reason":"notFound"}]}}`, workspace.ErrNotFound, []error{workspace.ErrInvalidInput}, 1},
		{"throttle after retries", "gmail", 403, `{"error":{"code":403,"message":"User Rate Limit Exceeded","errors":[{"reason":"userRateLimitExceeded"}]}}`, workspace.ErrRateLimited, nil, 6},
		{"legacy 503", "groupsmigration", 503, `{"error":{"code":503,"message":"BACKEND FAILURE"}}`, workspace.ErrRateLimited, nil, 7},
		{"daily quota fails fast", "gmail", 403, `{"error":{"code":403,"message":"Daily Limit Exceeded","errors":[{"reason":"dailyLimitExceeded"}]}}`, workspace.ErrQuotaExhausted, []error{workspace.ErrRateLimited}, 1},
		{"bad request", "gmail", 400, `{"error":{"code":400,"message":"Invalid label","errors":[{"reason":"invalidArgument"}]}}`, workspace.ErrInvalidInput, nil, 1},
		{"legacy 403 is bad input", "audit", 403, ``, workspace.ErrInvalidInput, []error{workspace.ErrPermissionDenied}, 1},
		{"migration authorization failure", "groupsmigration", 403, `{"error":{"code":403,"message":"AUTHORIZATION FAILURE"},"responseCode":"AUTHORIZATION FAILURE"}`, workspace.ErrPermissionDenied, []error{workspace.ErrInvalidInput}, 1},
		{"gmail 403 policy", "gmail", 403, `{"error":{"code":403,"message":"disabled","errors":[{"reason":"domainPolicy"}]}}`, workspace.ErrPermissionDenied, []error{workspace.ErrInvalidInput}, 1},
		{"gdata missing entity", "settings", 400, `<AppsForYourDomainErrors><error errorCode="1301" invalidInput="x" reason="EntityDoesNotExist"/></AppsForYourDomainErrors>`, workspace.ErrNotFound, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, workspace.WithoutAuthentication(), workspace.WithQuota(quota.Unlimited()))
			_, err := get(t, c, &core.Call{API: tt.api, Method: "m.get"}, "x")
			if !errors.Is(err, tt.want) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tt.want)
			}
			for _, nw := range tt.notWant {
				if errors.Is(err, nw) {
					t.Errorf("error also matches %v", nw)
				}
			}
			var we *workspace.Error
			if !errors.As(err, &we) {
				t.Fatalf("errors.As *Error failed for %T", err)
			}
			if we.StatusCode != tt.status || we.API != tt.api || we.Method != "m.get" {
				t.Errorf("Error = %+v", we)
			}
			if int(hits.Load()) != tt.attempts || we.Attempts != tt.attempts {
				t.Errorf("hits %d, Attempts %d, want %d", hits.Load(), we.Attempts, tt.attempts)
			}
		})
	}
}

// countingSource hands out a new token on every call.
type countingSource struct{ n atomic.Int32 }

func (s *countingSource) Token() (*oauth2.Token, error) {
	n := s.n.Add(1)
	return &oauth2.Token{AccessToken: fmt.Sprintf("tok-%d", n), Expiry: time.Now().Add(time.Hour)}, nil
}

func TestRefreshOnceOn401(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization")+" "+string(b))
		mu.Unlock()
		if r.Header.Get("Authorization") == "Bearer tok-1" {
			w.WriteHeader(401)
			io.WriteString(w, `{"error":{"code":401,"message":"Invalid Credentials","errors":[{"reason":"authError"}]}}`)
			return
		}
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	ts := &countingSource{}
	c := newClient(t, srv.URL, workspace.WithTokenSource(ts))
	hc, _ := c.HTTPClient("")
	ctx := core.WithCall(t.Context(), &core.Call{API: "gmail", Method: "users.messages.insert"})
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/x", strings.NewReader("body"))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := []string{"Bearer tok-1 body", "Bearer tok-2 body"}
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Errorf("requests = %q, want %q", seen, want)
	}
}

func TestSecond401IsUnauthenticated(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(401)
		io.WriteString(w, `{"error":{"code":401,"message":"Invalid Credentials"}}`)
	}))
	defer srv.Close()
	ts := &countingSource{}
	c := newClient(t, srv.URL, workspace.WithTokenSource(ts))
	_, err := get(t, c, &core.Call{API: "gmail", Method: "users.getProfile"}, "x")
	if !errors.Is(err, workspace.ErrUnauthenticated) {
		t.Fatalf("err = %v, want ErrUnauthenticated", err)
	}
	if hits.Load() != 2 || ts.n.Load() != 2 {
		t.Errorf("hits %d tokens %d, want 2 and 2", hits.Load(), ts.n.Load())
	}
}

// tokenServer is a JWT-bearer token endpoint that verifies the assertion
// with the service account's public key.
type tokenServer struct {
	*httptest.Server
	key  *rsa.PrivateKey
	mu   sync.Mutex
	subs []string
}

func newTokenServer(t *testing.T) *tokenServer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ts := &tokenServer{key: key}
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	parts := strings.Split(r.Form.Get("assertion"), ".")
	if r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || len(parts) != 3 {
		http.Error(w, `{"error":"invalid_request"}`, 400)
		return
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&ts.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		http.Error(w, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`, 400)
		return
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Iss, Sub, Aud, Scope string
	}
	json.Unmarshal(payload, &claims)
	ts.mu.Lock()
	ts.subs = append(ts.subs, claims.Sub)
	ts.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":"at-for-%s","token_type":"Bearer","expires_in":3600}`, url.QueryEscape(claims.Sub))
}

func (ts *tokenServer) keyJSON(t *testing.T) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(ts.key)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "proj-1", "private_key_id": "k1",
		"private_key": string(pemKey), "client_email": "sa@proj-1.iam.gserviceaccount.com",
		"client_id": "1", "token_uri": ts.URL + "/token",
	})
	return b
}

func TestServiceAccountDelegation(t *testing.T) {
	ts := newTokenServer(t)
	var auths sync.Map
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auths.Store(r.Header.Get("Authorization"), true)
		io.WriteString(w, "{}")
	}))
	defer api.Close()
	c := newClient(t, api.URL, workspace.WithCredentialsJSON(ts.keyJSON(t)), workspace.WithSubject("admin@example.com"))
	if c.Project() != "proj-1" {
		t.Errorf("Project = %q", c.Project())
	}
	for _, sub := range []string{"", "alice@example.com", "alice@example.com"} {
		hc, err := c.HTTPClient(sub, "https://www.googleapis.com/auth/gmail.readonly")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Get(api.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for _, want := range []string{"Bearer at-for-admin%40example.com", "Bearer at-for-alice%40example.com"} {
		if _, ok := auths.Load(want); !ok {
			t.Errorf("no request carried %q", want)
		}
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if strings.Join(ts.subs, ",") != "admin@example.com,alice@example.com" {
		t.Errorf("JWT subs = %v (one token per subject, reused)", ts.subs)
	}
}

func TestRedirectDropsAuthorization(t *testing.T) {
	var leaked atomic.Value
	leaked.Store("")
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization"))
		io.WriteString(w, "{}")
	}))
	defer other.Close()
	// Same loopback IP, other port: another host.
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			t.Error("origin got no Authorization")
		}
		http.Redirect(w, r, other.URL+"/elsewhere", http.StatusFound)
	}))
	defer origin.Close()
	c := newClient(t, origin.URL, workspace.WithTokenSource(&countingSource{}))
	resp, err := get(t, c, &core.Call{API: "audit", Method: "exports.download"}, "file")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := leaked.Load().(string); got != "" {
		t.Errorf("Authorization %q followed the redirect to another host", got)
	}
}

func TestPlainHTTPRefused(t *testing.T) {
	_, err := workspace.NewClient(t.Context(), workspace.WithEndpoint("http://example.com/"), workspace.WithoutAuthentication())
	if err == nil || !strings.Contains(err.Error(), "plain http") {
		t.Fatalf("err = %v", err)
	}
	for _, ok := range []string{"http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9", "https://example.com"} {
		if _, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(ok), workspace.WithoutAuthentication()); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
}

func TestOptionValidation(t *testing.T) {
	tests := []struct {
		name string
		opts []workspace.Option
	}{
		{"two credentials", []workspace.Option{workspace.WithoutAuthentication(), workspace.WithTokenSource(&countingSource{})}},
		{"bad subject", []workspace.Option{workspace.WithoutAuthentication(), workspace.WithSubject("admin")}},
		{"nil client", []workspace.Option{workspace.WithoutAuthentication(), workspace.WithHTTPClient(nil)}},
		{"nil logger", []workspace.Option{workspace.WithoutAuthentication(), workspace.WithLogger(nil)}},
		{"nil quota", []workspace.Option{workspace.WithoutAuthentication(), workspace.WithQuota(nil)}},
		{"bad retry", []workspace.Option{workspace.WithoutAuthentication(), workspace.WithRetry(func(o *retry.Options) { o.Default = retry.Policy{MaxAttempts: 2, Multiplier: 0} })}},
		{"bad json", []workspace.Option{workspace.WithCredentialsJSON([]byte(`{"type":"service_account"}`))}},
		{"missing file", []workspace.Option{workspace.WithCredentialsFile("/nonexistent/sa.json")}},
		{"bad endpoint", []workspace.Option{workspace.WithoutAuthentication(), workspace.WithEndpoint("ftp://x")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := workspace.NewClient(t.Context(), tt.opts...); err == nil {
				t.Error("NewClient succeeded")
			}
		})
	}
}

func TestLogsNeverCarryTokens(t *testing.T) {
	const secret = "ya29.SECRET-TOKEN-VALUE"
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			w.WriteHeader(503)
			io.WriteString(w, `{"error":{"code":503,"message":"backend"}}`)
			return
		}
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, srv.URL, workspace.WithLogger(logger),
		workspace.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: secret})))
	resp, err := get(t, c, &core.Call{API: "gmail", Method: "users.messages.list"}, "x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	out := buf.String()
	if !strings.Contains(out, "retrying") {
		t.Errorf("expected retry records, got %q", out)
	}
	if strings.Contains(out, secret) || strings.Contains(out, "SECRET") {
		t.Errorf("token leaked into logs: %s", out)
	}
}

func TestStats(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(500)
			return
		}
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, workspace.WithoutAuthentication())
	for range 3 {
		resp, err := get(t, c, &core.Call{API: "directory", Method: "users.get"}, "x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	st := c.Stats()["directory"]
	if st.Requests != 3 || st.Attempts != 4 || st.Retries["transient"] != 1 || st.Failures != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestLocalBudgetIsQuotaExhausted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("request reached the server")
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, workspace.WithoutAuthentication(), workspace.WithQuota(spentLimiter{}))
	_, err := get(t, c, &core.Call{API: "audit", Method: "exports.create", Domain: "example.com"}, "x")
	if !errors.Is(err, workspace.ErrQuotaExhausted) || !errors.Is(err, quota.ErrBudgetExhausted) {
		t.Fatalf("err = %v", err)
	}
	var be *quota.BudgetError
	if !errors.As(err, &be) || be.Budget != "audit.exports.daily" {
		t.Errorf("BudgetError not reachable: %v", err)
	}
}

type spentLimiter struct{}

func (spentLimiter) Acquire(context.Context, *quota.Request) (quota.Release, error) {
	return nil, &quota.BudgetError{Budget: "audit.exports.daily", Key: "example.com", Limit: 100, ResetAt: time.Now().Add(time.Hour)}
}

func TestContextCanceledReturnsCtxErr(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := workspace.NewClient(ctx, workspace.WithEndpoint(srv.URL), workspace.WithoutAuthentication(),
		workspace.WithRetry(func(o *retry.Options) {
			o.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); <-ctx.Done(); return ctx.Err() }
		}))
	if err != nil {
		t.Fatal(err)
	}
	hc, _ := c.HTTPClient("")
	req, _ := http.NewRequestWithContext(core.WithCall(ctx, &core.Call{API: "audit"}), "GET", srv.URL, nil)
	_, err = hc.Do(req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestPlainHTTPTokenURIRefused(t *testing.T) {
	ts := newTokenServer(t) // loopback: accepted
	if _, err := workspace.NewClient(t.Context(), workspace.WithCredentialsJSON(ts.keyJSON(t))); err != nil {
		t.Fatalf("loopback http token_uri refused: %v", err)
	}
	var m map[string]string
	json.Unmarshal(ts.keyJSON(t), &m)
	m["token_uri"] = "http://oauth2.example.com/token"
	key, _ := json.Marshal(m)
	_, err := workspace.NewClient(t.Context(), workspace.WithCredentialsJSON(key))
	if err == nil || !strings.Contains(err.Error(), "token_uri") {
		t.Fatalf("err = %v, want the plain-http token_uri refused", err)
	}
	if strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Error("error quotes the key")
	}
}

// panicTransport panics on every request.
type panicTransport struct{}

func (panicTransport) RoundTrip(*http.Request) (*http.Response, error) { panic("boom") }

func TestQuotaSlotReleasedOnPanic(t *testing.T) {
	lim, err := quota.New()
	if err != nil {
		t.Fatal(err)
	}
	c, err := workspace.NewClient(t.Context(), workspace.WithEndpoint("http://127.0.0.1:1"),
		workspace.WithHTTPClient(&http.Client{Transport: panicTransport{}}), workspace.WithoutAuthentication(),
		workspace.WithQuota(lim))
	if err != nil {
		t.Fatal(err)
	}
	hc, _ := c.HTTPClient("")
	call := &core.Call{API: "groupsmigration", Method: "archive.insert", Group: "g@example.com"}
	for range 2 { // the second would block forever if the group's only slot leaked
		func() {
			defer func() { recover() }()
			req, _ := http.NewRequestWithContext(core.WithCall(t.Context(), call), "POST", "http://127.0.0.1:1/x", strings.NewReader("m"))
			hc.Do(req)
		}()
	}
	for _, st := range lim.Stats() {
		if st.InFlight != 0 {
			t.Errorf("%s %s: %d slots still held", st.Rule, st.Key, st.InFlight)
		}
	}
}
