package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// refusingEndpoint answers every token request with status and Google's
// error body.
func refusingEndpoint(t *testing.T, status int, code, desc string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":%q,"error_description":%q}`, code, desc)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/token"
}

func TestTokenErrorRemedies(t *testing.T) {
	const (
		gmailRO = "https://www.googleapis.com/auth/gmail.readonly"
		dirUser = "https://www.googleapis.com/auth/admin.directory.user"
	)
	tests := []struct {
		name        string
		status      int
		code, desc  string
		user        bool // authorized-user credentials
		subject     string
		want        []string
		wantNoExtra bool
	}{
		{"scopes not delegated", 401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.", false, "admin@example.com",
			[]string{`"unauthorized_client"`, "Client is unauthorized", "the scopes " + dirUser + "," + gmailRO + " are not authorized for client id 1234 in Admin console › Security › API controls › Domain-wide delegation"}, false},
		{"unknown subject", 400, "invalid_grant", "Invalid email or User ID", false, "ghost@example.com",
			[]string{`"invalid_grant"`, "Invalid email or User ID", `subject "ghost@example.com" is not a user of the domain, or is suspended`}, false},
		{"clock skew", 400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.", false, "admin@example.com",
			[]string{"Check your iat and exp", "clock skew", "NTP"}, false},
		{"key deleted", 400, "invalid_grant", "Invalid JWT Signature.", false, "admin@example.com",
			[]string{"Invalid JWT Signature", "key (private_key_id kid-1) was deleted or rotated", testEmail}, false},
		{"refresh token revoked", 400, "invalid_grant", "Token has been expired or revoked.", true, "",
			[]string{"expired or revoked", "sign in again"}, false},
		{"invalid scope", 400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.", false, "admin@example.com",
			[]string{"Invalid OAuth scope", "is not a valid OAuth scope"}, false},
		{"app blocked", 400, "admin_policy_enforced", "Access to this app is blocked by your administrator.", false, "admin@example.com",
			[]string{"blocked by your administrator", "App access control"}, false},
		{"unknown grant error", 400, "invalid_grant", "Something new.", false, "admin@example.com",
			[]string{"Something new."}, true},
		{"endpoint failure", 503, "internal_failure", "Backend Error", false, "admin@example.com",
			[]string{"Backend Error"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := refusingEndpoint(t, tt.status, tt.code, tt.desc)
			var creds *Credentials
			var err error
			if tt.user {
				creds, err = ParseCredentials([]byte(`{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r","token_uri":"` + url + `"}`))
			} else {
				creds, err = ParseCredentials(serviceAccountJSON(t, url))
			}
			if err != nil {
				t.Fatal(err)
			}
			src, err := (&Pool{Credentials: creds}).Source(tt.subject, []string{gmailRO, dirUser})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Token(t.Context())
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("error %v is not a TokenError", err)
			}
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != tt.code || re.ErrorDescription != tt.desc {
				t.Errorf("Google's error and description are not kept: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			if tt.wantNoExtra != (te.Remedy == "") {
				t.Errorf("Remedy %q", te.Remedy)
			}
		})
	}
}
