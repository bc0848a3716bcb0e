package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

func TestParseCredentials(t *testing.T) {
	key := testKeyPEM()
	sa := func(mod func(m map[string]any)) []byte {
		m := map[string]any{
			"type": "service_account", "project_id": "proj", "private_key_id": "kid-1",
			"private_key": key, "client_email": testEmail, "token_uri": "https://example.test/token",
		}
		if mod != nil {
			mod(m)
		}
		b, _ := json.Marshal(m)
		return b
	}
	user := func(mod func(m map[string]any)) []byte {
		m := map[string]any{
			"type": "authorized_user", "client_id": "cid", "client_secret": "SECRET-abc",
			"refresh_token": "REFRESH-xyz", "quota_project_id": "qp",
		}
		if mod != nil {
			mod(m)
		}
		b, _ := json.Marshal(m)
		return b
	}
	type info struct {
		Type                       CredentialsType
		ProjectID, Email, TokenURL string
	}
	tests := []struct {
		name    string
		data    []byte
		want    info
		wantErr string // substring
	}{
		{"service account", sa(nil), info{TypeServiceAccount, "proj", testEmail, "https://example.test/token"}, ""},
		{"service account default token_uri", sa(func(m map[string]any) { delete(m, "token_uri") }), info{TypeServiceAccount, "proj", testEmail, DefaultTokenURL}, ""},
		{"authorized user", user(nil), info{TypeAuthorizedUser, "qp", "", DefaultTokenURL}, ""},
		{"missing client_email", sa(func(m map[string]any) { delete(m, "client_email") }), info{}, `missing field "client_email"`},
		{"missing private_key", sa(func(m map[string]any) { delete(m, "private_key") }), info{}, `missing field "private_key"`},
		{"private_key not PEM", sa(func(m map[string]any) { m["private_key"] = "KEYMATERIAL-not-pem" }), info{}, `"private_key" is not PEM encoded`},
		{"private_key garbage PEM", sa(func(m map[string]any) {
			m["private_key"] = "-----BEGIN PRIVATE KEY-----\nS0VZTUFURVJJQUw=\n-----END PRIVATE KEY-----\n"
		}), info{}, `not a PKCS #8 or PKCS #1 RSA private key`},
		{"missing client_id", user(func(m map[string]any) { delete(m, "client_id") }), info{}, `missing field "client_id"`},
		{"missing client_secret", user(func(m map[string]any) { delete(m, "client_secret") }), info{}, `missing field "client_secret"`},
		{"missing refresh_token", user(func(m map[string]any) { delete(m, "refresh_token") }), info{}, `missing field "refresh_token"`},
		{"missing type", sa(func(m map[string]any) { delete(m, "type") }), info{}, `missing field "type"`},
		{"unknown type", sa(func(m map[string]any) { m["type"] = "external_account" }), info{}, `unsupported credentials type "external_account"`},
		{"wrong JSON type", sa(func(m map[string]any) { m["client_email"] = 42 }), info{}, `field "client_email" has the wrong JSON type`},
		{"not JSON", []byte(`{"private_key": "KEYMATERIAL` + "\x01"), info{}, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCredentials(tt.data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseCredentials error = %v, want containing %q", err, tt.wantErr)
				}
				for _, secret := range []string{"KEYMATERIAL", "SECRET-abc", "REFRESH-xyz", "BEGIN", "S0VZ"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q leaks %q", err, secret)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := info{c.Type(), c.ProjectID(), c.ClientEmail(), c.TokenURL()}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("credentials (-want +got):\n%s", diff)
			}
			for _, s := range []string{c.String(), c.GoString()} {
				for _, secret := range []string{"PRIVATE KEY", "SECRET-abc", "REFRESH-xyz"} {
					if strings.Contains(s, secret) {
						t.Errorf("String() %q leaks %q", s, secret)
					}
				}
			}
		})
	}
}

func TestServiceAccountJWTFlow(t *testing.T) {
	ts := newTokenServer(t)
	creds, err := ParseCredentials(serviceAccountJSON(t, ts.tokenURL()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		subject string
		scopes  []string
	}{
		{"impersonate", "admin@example.com", []string{ScopeGroupsMigration, ScopeEmailAudit}},
		{"no subject", "", []string{ScopeDataTransfer}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.WithValue(t.Context(), oauth2.HTTPClient, ts.Client())
			src, err := creds.TokenSource(ctx, tt.subject, tt.scopes)
			if err != nil {
				t.Fatal(err)
			}
			before := ts.fetches()
			tok, err := src.Token()
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken == "" || tok.Expiry.IsZero() {
				t.Fatalf("token = %+v, want access token and expiry", tok)
			}
			// Cached: no second fetch.
			for range 5 {
				if _, err := src.Token(); err != nil {
					t.Fatal(err)
				}
			}
			if got := ts.fetches() - before; got != 1 {
				t.Errorf("token fetches = %d, want 1", got)
			}
			ts.mu.Lock()
			c := ts.claims[len(ts.claims)-1]
			ts.mu.Unlock()
			got := claims{Iss: c.Iss, Sub: c.Sub, Aud: c.Aud, Scope: c.Scope}
			want := claims{Iss: testEmail, Sub: tt.subject, Aud: ts.tokenURL(), Scope: strings.Join(tt.scopes, " ")}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("JWT claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthorizedUser(t *testing.T) {
	ts := newTokenServer(t)
	data, _ := json.Marshal(map[string]string{
		"type": "authorized_user", "client_id": "cid", "client_secret": "SECRET-abc",
		"refresh_token": "REFRESH-xyz", "token_uri": ts.tokenURL(),
	})
	creds, err := ParseCredentials(data)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, ts.Client())
	if _, err := creds.TokenSource(ctx, "someone@example.com", nil); !errors.Is(err, ErrSubjectNotSupported) {
		t.Errorf("TokenSource with subject: err = %v, want ErrSubjectNotSupported", err)
	}
	src, err := creds.TokenSource(ctx, "", []string{ScopeGmailReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "tok-1" {
		t.Errorf("access token = %q, want tok-1", tok.AccessToken)
	}
	ts.mu.Lock()
	form := ts.forms[0]
	ts.mu.Unlock()
	want := map[string]string{"grant_type": "refresh_token", "refresh_token": "REFRESH-xyz", "client_id": "cid", "client_secret": "SECRET-abc"}
	if diff := cmp.Diff(want, form); diff != "" {
		t.Errorf("refresh request (-want +got):\n%s", diff)
	}
}

func TestTokenErrorRedaction(t *testing.T) {
	ts := newTokenServer(t)
	ts.fail = "unauthorized_client"
	creds, err := ParseCredentials(serviceAccountJSON(t, ts.tokenURL()))
	if err != nil {
		t.Fatal(err)
	}
	pool := &Pool{Credentials: creds, HTTPClient: ts.Client()}
	src, err := pool.Source("admin@example.com", []string{ScopeEmailAudit})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token(t.Context())
	var te *TokenError
	if !errors.As(err, &te) || te.Subject != "admin@example.com" {
		t.Fatalf("err = %v, want *TokenError for admin@example.com", err)
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || !strings.Contains(string(re.Body), "unauthorized_client") {
		t.Errorf("err = %v, want wrapped RetrieveError unauthorized_client", err)
	}
	if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), "assertion") {
		t.Errorf("error leaks request material: %v", err)
	}

	// Transport surfaces the same error and sends nothing.
	var hits int
	api := newAPIServer(t, func(w http.ResponseWriter, r *http.Request) { hits++ })
	hc := &http.Client{Transport: &Transport{Source: src, AllowHost: AllowHosts(api.Listener.Addr().String())}}
	if _, err := hc.Get(api.URL); !errors.As(err, &te) {
		t.Errorf("Get err = %v, want *TokenError", err)
	}
	if hits != 0 {
		t.Errorf("API hits = %d, want 0", hits)
	}
}
