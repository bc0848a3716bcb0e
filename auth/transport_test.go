package auth

import (
	"bytes"
	"context"
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

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

func newAPIServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// countingSource returns a Source issuing "tok-1", "tok-2", ... and the
// counter of fetches.
func countingSource() (*Source, *atomic.Int32) {
	var n atomic.Int32
	s := newSource(func(context.Context) (*oauth2.Token, error) {
		return &oauth2.Token{AccessToken: fmt.Sprintf("tok-%d", n.Add(1)), Expiry: time.Now().Add(time.Hour)}, nil
	}, DefaultEarlyExpiry, nil)
	return s, &n
}

// recordingAPI answers 401 to the first `reject` requests and 200 after,
// recording each request's Authorization header and body.
type recordingAPI struct {
	mu     sync.Mutex
	reject int
	auths  []string
	bodies []string
}

func (a *recordingAPI) handler(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.auths = append(a.auths, r.Header.Get("Authorization"))
	a.bodies = append(a.bodies, string(b))
	if len(a.auths) <= a.reject {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, `{"error":{"code":401,"message":"Request had invalid authentication credentials."}}`, http.StatusUnauthorized)
		return
	}
	fmt.Fprint(w, "ok")
}

func TestTransport401(t *testing.T) {
	tests := []struct {
		name        string
		reject      int
		method      string
		body        string
		noGetBody   bool
		wantStatus  int
		wantAuths   []string
		wantBodies  []string
		wantFetches int32
	}{
		{
			name: "ok first time", reject: 0, method: "GET",
			wantStatus: 200, wantAuths: []string{"Bearer tok-1"}, wantBodies: []string{""}, wantFetches: 1,
		},
		{
			name: "401 then retry GET", reject: 1, method: "GET",
			wantStatus: 200, wantAuths: []string{"Bearer tok-1", "Bearer tok-2"}, wantBodies: []string{"", ""}, wantFetches: 2,
		},
		{
			name: "401 then replayed POST", reject: 1, method: "POST", body: `{"insert":"message"}`,
			wantStatus: 200, wantAuths: []string{"Bearer tok-1", "Bearer tok-2"},
			wantBodies: []string{`{"insert":"message"}`, `{"insert":"message"}`}, wantFetches: 2,
		},
		{
			name: "second 401 returned", reject: 2, method: "POST", body: "data",
			wantStatus: 401, wantAuths: []string{"Bearer tok-1", "Bearer tok-2"}, wantBodies: []string{"data", "data"}, wantFetches: 2,
		},
		{
			name: "body without GetBody not retried", reject: 1, method: "POST", body: "once", noGetBody: true,
			wantStatus: 401, wantAuths: []string{"Bearer tok-1"}, wantBodies: []string{"once"}, wantFetches: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &recordingAPI{reject: tt.reject}
			srv := newAPIServer(t, api.handler)
			src, fetches := countingSource()
			hc := &http.Client{Transport: &Transport{Source: src, AllowHost: AllowHosts(srv.Listener.Addr().String())}}

			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
				if tt.noGetBody {
					body = io.NopCloser(body) // NewRequest sets GetBody only for known types
				}
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+"/x", body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			rb, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %q)", resp.StatusCode, tt.wantStatus, rb)
			}
			if tt.wantStatus == 401 && !strings.Contains(string(rb), "invalid authentication") {
				t.Errorf("401 body should be the server's, got %q", rb)
			}
			if req.Header.Get("Authorization") != "" {
				t.Error("the caller's request was modified")
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			if diff := cmp.Diff(tt.wantAuths, api.auths); diff != "" {
				t.Errorf("Authorization headers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantBodies, api.bodies); diff != "" {
				t.Errorf("bodies (-want +got):\n%s", diff)
			}
			if got := fetches.Load(); got != tt.wantFetches {
				t.Errorf("token fetches = %d, want %d", got, tt.wantFetches)
			}
		})
	}
}

func TestTransportSameTokenNotRetried(t *testing.T) {
	api := &recordingAPI{reject: 5}
	srv := newAPIServer(t, api.handler)
	static := &Pool{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "fixed"})}
	src, err := static.Source("", nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &Transport{Source: src, AllowHost: AllowHosts(srv.Listener.Addr().String())}}
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || len(api.auths) != 1 {
		t.Errorf("status %d after %d requests; want 401 after 1", resp.StatusCode, len(api.auths))
	}
}

func TestTransportConcurrent401OneRefresh(t *testing.T) {
	var mu sync.Mutex
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") == "Bearer tok-1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	})
	src, fetches := countingSource()
	if _, err := src.Token(t.Context()); err != nil { // cache tok-1
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &Transport{Source: src, AllowHost: AllowHosts(srv.Listener.Addr().String())}}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			resp, err := hc.Get(srv.URL)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if got := fetches.Load(); got != 2 {
		t.Errorf("token fetches = %d, want 2 (one refresh for all 401s)", got)
	}
}

func TestTransportHostAllowList(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{} // server name -> Authorization
	record := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[name] = r.Header.Get("Authorization")
			mu.Unlock()
		}
	}
	other := newAPIServer(t, record("other"))
	otherURL, _ := url.Parse(other.URL)
	_, otherPort, _ := strings.Cut(otherURL.Host, ":")

	var target string
	allowed := newAPIServer(t, func(w http.ResponseWriter, r *http.Request) {
		record("allowed")(w, r)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, target, http.StatusFound)
		}
	})
	allowedHost := allowed.Listener.Addr().String()

	tests := []struct {
		name     string
		target   string // where /redirect points; "" means call other directly
		policy   func(*http.Request, []*http.Request) error
		wantSeen map[string]string
	}{
		{"direct to disallowed host", "", nil, map[string]string{"other": ""}},
		{"redirect to other port", other.URL + "/landing", nil, map[string]string{"allowed": "Bearer tok-1", "other": ""}},
		{"redirect to other host name", "http://localhost:" + otherPort + "/landing", nil, map[string]string{"allowed": "Bearer tok-1", "other": ""}},
		{"redirect with RedirectPolicy", other.URL + "/landing", RedirectPolicy, map[string]string{"allowed": "Bearer tok-1", "other": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			clear(seen)
			mu.Unlock()
			target = tt.target
			src, _ := countingSource()
			hc := &http.Client{
				Transport:     &Transport{Source: src, AllowHost: AllowHosts(allowedHost)},
				CheckRedirect: tt.policy,
			}
			u := allowed.URL + "/redirect"
			if tt.target == "" {
				u = other.URL + "/direct"
			}
			resp, err := hc.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(tt.wantSeen, seen); diff != "" {
				t.Errorf("Authorization seen per server (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTransportDefaultAllowsOnlyGoogle(t *testing.T) {
	api := &recordingAPI{}
	srv := newAPIServer(t, api.handler)
	src, fetches := countingSource()
	hc := &http.Client{Transport: &Transport{Source: src}} // AllowHost nil: GoogleHost
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if diff := cmp.Diff([]string{""}, api.auths); diff != "" {
		t.Errorf("Authorization headers (-want +got):\n%s", diff)
	}
	if fetches.Load() != 0 {
		t.Errorf("fetched a token for a host that gets none")
	}
}

func TestRedirectPolicy(t *testing.T) {
	mk := func(u string) *http.Request {
		r, _ := http.NewRequest("GET", u, nil)
		r.Header.Set("Authorization", "Bearer x")
		return r
	}
	orig := mk("https://www.googleapis.com/a")
	tests := []struct {
		name     string
		next     string
		via      int
		wantAuth bool
		wantErr  bool
	}{
		{"same host", "https://www.googleapis.com/b", 1, true, false},
		{"other host", "https://evil.example/b", 1, false, false},
		{"other port", "https://www.googleapis.com:8443/b", 1, false, false},
		{"subdomain", "https://x.www.googleapis.com/b", 1, false, false},
		{"too many", "https://www.googleapis.com/b", 10, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := mk(tt.next)
			via := make([]*http.Request, tt.via)
			for i := range via {
				via[i] = orig
			}
			err := RedirectPolicy(req, via)
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got := req.Header.Get("Authorization") != ""; got != tt.wantAuth && !tt.wantErr {
				t.Errorf("Authorization kept = %v, want %v", got, tt.wantAuth)
			}
		})
	}
}

func TestAllowHosts(t *testing.T) {
	allow := AllowHosts("127.0.0.1:8080", "fake.internal")
	tests := map[string]bool{
		"www.googleapis.com":       true,
		"gmail.googleapis.com:443": true,
		"apps-apis.google.com":     true,
		"GMAIL.GoogleAPIs.com":     true,
		"googleapis.com.evil.com":  false,
		"evilgoogleapis.com":       false,
		"mail.google.com":          false,
		"127.0.0.1:8080":           true,
		"127.0.0.1:8081":           false,
		"fake.internal:9999":       true,
		"example.com":              false,
	}
	for host, want := range tests {
		if got := allow(host); got != want {
			t.Errorf("allow(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestTransportNeverLogsToken(t *testing.T) {
	api := &recordingAPI{reject: 2}
	srv := newAPIServer(t, api.handler)
	src, _ := countingSource()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hc := &http.Client{Transport: &Transport{Source: src, AllowHost: AllowHosts(srv.Listener.Addr().String()), Logger: logger}}
	resp, err := hc.Post(srv.URL, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.Contains(logs.String(), "retrying with a fresh token") {
		t.Errorf("expected a debug record, got %q", logs.String())
	}
	if strings.Contains(logs.String(), "tok-") {
		t.Errorf("log leaks a token: %q", logs.String())
	}
}

// TestTransportLogsNewToken: a new token put to use is logged once, at
// Debug, without the token; requests with the same token log nothing.
func TestTransportLogsNewToken(t *testing.T) {
	src, _ := countingSource()
	api := &recordingAPI{}
	srv := newAPIServer(t, api.handler)
	var buf bytes.Buffer
	tr := &Transport{Source: src, AllowHost: func(string) bool { return true },
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for range 3 {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := strings.Count(buf.String(), "using a new access token"); n != 1 {
		t.Errorf("%d new-token records for one token:\n%s", n, buf.String())
	}
	if strings.Contains(buf.String(), "tok-1") {
		t.Errorf("the token was logged:\n%s", buf.String())
	}
}
