package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

// fakeAuthServer plays Google's authorization and token endpoints for the
// installed-app flow, including PKCE verification.
type fakeAuthServer struct {
	*httptest.Server
	t *testing.T

	mu        sync.Mutex
	grants    map[string]grant // code -> grant
	exchanged []string         // codes exchanged successfully
	denied    bool             // answer error=access_denied
	badToken  bool             // token endpoint fails
}

type grant struct {
	challenge, redirectURI, scope string
}

func newFakeAuthServer(t *testing.T) *fakeAuthServer {
	s := &fakeAuthServer{t: t, grants: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *fakeAuthServer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	want := map[string]string{"response_type": "code", "client_id": "cid", "code_challenge_method": "S256", "access_type": "offline"}
	for k, v := range want {
		if q.Get(k) != v {
			http.Error(w, fmt.Sprintf("%s = %q, want %q", k, q.Get(k), v), http.StatusBadRequest)
			return
		}
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme != "http" || redirect.Hostname() != "127.0.0.1" || redirect.Path != "/" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	if q.Get("state") == "" || q.Get("code_challenge") == "" {
		http.Error(w, "missing state or challenge", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	code := fmt.Sprintf("code-%d", len(s.grants)+1)
	s.grants[code] = grant{q.Get("code_challenge"), q.Get("redirect_uri"), q.Get("scope")}
	denied := s.denied
	s.mu.Unlock()
	v := url.Values{"state": {q.Get("state")}}
	if denied {
		v.Set("error", "access_denied")
	} else {
		v.Set("code", code)
	}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+v.Encode(), http.StatusFound)
}

func (s *fakeAuthServer) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Get("grant_type") == "refresh_token" && f.Get("refresh_token") == "user-refresh" && f.Get("client_secret") == "csecret" {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"refreshed-access","token_type":"Bearer","expires_in":3599}`)
		return
	}
	g, ok := s.grants[f.Get("code")]
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	switch {
	case s.badToken:
		http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		return
	case f.Get("grant_type") != "authorization_code" || !ok:
		http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		http.Error(w, `{"error":"invalid_grant","error_description":"code_verifier does not match"}`, http.StatusBadRequest)
		return
	case f.Get("redirect_uri") != g.redirectURI || f.Get("client_id") != "cid" || f.Get("client_secret") != "csecret":
		http.Error(w, `{"error":"invalid_client"}`, http.StatusBadRequest)
		return
	}
	delete(s.grants, f.Get("code")) // codes are single-use
	s.exchanged = append(s.exchanged, f.Get("code"))
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":"user-access","refresh_token":"user-refresh","token_type":"Bearer","expires_in":3599,"scope":%q}`, g.scope)
}

func (s *fakeAuthServer) flow(open func(string) error) *InstalledAppFlow {
	return &InstalledAppFlow{
		ClientID: "cid", ClientSecret: "csecret",
		Scopes:      []string{ScopeGmailReadOnly, ScopeGmailLabels},
		AuthURL:     s.URL + "/authorize",
		TokenURL:    s.URL + "/token",
		HTTPClient:  s.Client(),
		OpenBrowser: open,
	}
}

// browser follows the consent URL like a browser whose user clicks "Allow".
func browser(t *testing.T) func(string) error {
	return func(u string) error {
		resp, err := http.Get(u)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("browser got %d: %s", resp.StatusCode, body)
		}
		return nil
	}
}

func TestInstalledAppFlow(t *testing.T) {
	as := newFakeAuthServer(t)
	tok, err := as.flow(browser(t)).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := []string{tok.AccessToken, tok.RefreshToken}
	if diff := cmp.Diff([]string{"user-access", "user-refresh"}, got); diff != "" {
		t.Errorf("token (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"code-1"}, as.exchanged); diff != "" {
		t.Errorf("exchanged codes (-want +got):\n%s", diff)
	}
	if tok.Extra("scope") != ScopeGmailReadOnly+" "+ScopeGmailLabels {
		t.Errorf("scope = %v", tok.Extra("scope"))
	}
}

func TestInstalledAppFlowTokenSource(t *testing.T) {
	as := newFakeAuthServer(t)
	ts := as.flow(nil).TokenSource(t.Context(), &oauth2.Token{RefreshToken: "user-refresh"})
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	got := []string{tok.AccessToken, tok.RefreshToken}
	if diff := cmp.Diff([]string{"refreshed-access", "user-refresh"}, got); diff != "" {
		t.Errorf("refreshed token (-want +got):\n%s", diff)
	}
}

func TestInstalledAppFlowRejectsWrongState(t *testing.T) {
	as := newFakeAuthServer(t)
	var forged []int
	open := func(u string) error {
		au, _ := url.Parse(u)
		redirect := au.Query().Get("redirect_uri")
		// A forged redirect with another state, and one without any.
		for _, q := range []string{"?code=evil&state=wrong", "?code=evil", "?error=access_denied&state=wrong"} {
			resp, err := http.Get(redirect + q)
			if err != nil {
				return err
			}
			resp.Body.Close()
			forged = append(forged, resp.StatusCode)
		}
		return browser(t)(u)
	}
	tok, err := as.flow(open).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{400, 400, 400}, forged); diff != "" {
		t.Errorf("forged redirect status (-want +got):\n%s", diff)
	}
	if tok.AccessToken != "user-access" {
		t.Errorf("token = %q", tok.AccessToken)
	}
	if diff := cmp.Diff([]string{"code-1"}, as.exchanged); diff != "" {
		t.Errorf("exchanged codes (-want +got):\n%s", diff)
	}
}

func TestInstalledAppFlowErrors(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(as *fakeAuthServer)
		open   func(t *testing.T, cancel context.CancelFunc) func(string) error
		check  func(error) bool
		listen string
	}{
		{
			name:  "user denies",
			setup: func(as *fakeAuthServer) { as.denied = true },
			open:  func(t *testing.T, _ context.CancelFunc) func(string) error { return browser(t) },
			check: func(err error) bool { return err != nil && strings.Contains(err.Error(), "access_denied") },
		},
		{
			name:  "token endpoint fails",
			setup: func(as *fakeAuthServer) { as.badToken = true },
			open:  func(t *testing.T, _ context.CancelFunc) func(string) error { return browser(t) },
			check: func(err error) bool { return err != nil && strings.Contains(err.Error(), "invalid_grant") },
		},
		{
			name: "context ends while waiting",
			open: func(t *testing.T, cancel context.CancelFunc) func(string) error {
				return func(string) error { cancel(); return nil } // the user never comes back
			},
			check: func(err error) bool { return errors.Is(err, context.Canceled) },
		},
		{
			name: "browser fails",
			open: func(t *testing.T, _ context.CancelFunc) func(string) error {
				return func(string) error { return errors.New("no display") }
			},
			check: func(err error) bool { return err != nil && strings.Contains(err.Error(), "no display") },
		},
		{
			name:   "non-loopback listen address",
			listen: "0.0.0.0:0",
			open:   func(t *testing.T, _ context.CancelFunc) func(string) error { return browser(t) },
			check:  func(err error) bool { return err != nil && strings.Contains(err.Error(), "not a loopback address") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := newFakeAuthServer(t)
			if tt.setup != nil {
				tt.setup(as)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			f := as.flow(tt.open(t, cancel))
			f.Listen = tt.listen
			tok, err := f.Run(ctx)
			if tok != nil || !tt.check(err) {
				t.Fatalf("Run = %v, %v", tok, err)
			}
			if strings.Contains(err.Error(), "user-access") || strings.Contains(err.Error(), "csecret") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}
