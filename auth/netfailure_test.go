package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
)

// A refused connection to the token endpoint stays in the TokenError's
// chain (the oauth2 packages would flatten it into text), so that callers
// can tell it from credentials the endpoint refused.
func TestTokenFetchKeepsNetworkFailure(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	tokenURL := dead.URL + "/token"
	dead.Close()
	for _, typ := range []string{"service_account", "authorized_user"} {
		t.Run(typ, func(t *testing.T) {
			js := serviceAccountJSON(t, tokenURL)
			if typ == "authorized_user" {
				js = []byte(`{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r","token_uri":"` + tokenURL + `"}`)
			}
			creds, err := ParseCredentials(js)
			if err != nil {
				t.Fatal(err)
			}
			pool := &Pool{Credentials: creds, HTTPClient: &http.Client{}}
			subject := "admin@example.com"
			if typ == "authorized_user" {
				subject = ""
			}
			src, err := pool.Source(subject, []string{ScopeEmailAudit})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Token(t.Context())
			var te *TokenError
			if !errors.As(err, &te) || !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("err = %v, want a *TokenError whose chain holds ECONNREFUSED", err)
			}
			if !strings.Contains(err.Error(), "connection refused") {
				t.Errorf("err = %v, want the failure in the text", err)
			}
		})
	}
}
