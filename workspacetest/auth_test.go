package workspacetest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gwsadmin/workspace/workspacetest"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	directory "google.golang.org/api/admin/directory/v1"
	"google.golang.org/api/option"
)

const scopeUserRO = "https://www.googleapis.com/auth/admin.directory.user.readonly"

func TestServiceAccountJWTFlow(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddUser("jane@example.com")

	conf, err := google.JWTConfigFromJSON(s.ServiceAccountKey(), scopeUserRO)
	if err != nil {
		t.Fatal(err)
	}
	conf.Subject = s.AdminEmail()
	svc, err := directory.NewService(t.Context(),
		option.WithEndpoint(s.URL+"/"), option.WithTokenSource(conf.TokenSource(t.Context())))
	if err != nil {
		t.Fatal(err)
	}
	u, err := svc.Users.Get("jane@example.com").Do()
	if err != nil {
		t.Fatal(err)
	}
	if u.PrimaryEmail != "jane@example.com" {
		t.Errorf("got %q", u.PrimaryEmail)
	}

	// A non-admin subject may get a token but not call the Directory API.
	conf.Subject = "jane@example.com"
	tok, err := conf.TokenSource(t.Context()).Token()
	if err != nil {
		t.Fatal(err)
	}
	code, _ := getWithToken(t, s, "/admin/directory/v1/users/jane@example.com", tok.AccessToken)
	if code != http.StatusForbidden {
		t.Errorf("non-admin subject: status %d, want 403", code)
	}

	// A token without the needed scope is refused with 403.
	conf2, _ := google.JWTConfigFromJSON(s.ServiceAccountKey(), "https://www.googleapis.com/auth/apps.groups.migration")
	conf2.Subject = s.AdminEmail()
	tok2, err := conf2.TokenSource(t.Context()).Token()
	if err != nil {
		t.Fatal(err)
	}
	code, body := getWithToken(t, s, "/admin/directory/v1/users/jane@example.com", tok2.AccessToken)
	if code != http.StatusForbidden || !jsonHas(body, "insufficientPermissions") {
		t.Errorf("wrong scope: status %d body %s", code, body)
	}
}

func TestTokenEndpointRefusals(t *testing.T) {
	t.Parallel()
	s := newServer(t)

	otherKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(otherKey)
	var key map[string]string
	if err := json.Unmarshal(s.ServiceAccountKey(), &key); err != nil {
		t.Fatal(err)
	}
	key["private_key"] = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	forged, _ := json.Marshal(key)

	tests := []struct {
		name       string
		keyJSON    []byte
		subject    string
		scopes     []string
		wantStatus int
		wantCode   string
	}{
		{"other signing key", forged, s.AdminEmail(), []string{scopeUserRO}, 400, "invalid_grant"},
		{"subject outside domain", s.ServiceAccountKey(), "boss@other.org", []string{scopeUserRO}, 401, "unauthorized_client"},
		{"unknown subject", s.ServiceAccountKey(), "ghost@example.com", []string{scopeUserRO}, 400, "invalid_grant"},
		{"no scope", s.ServiceAccountKey(), s.AdminEmail(), nil, 400, "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf, err := google.JWTConfigFromJSON(tt.keyJSON, tt.scopes...)
			if err != nil {
				t.Fatal(err)
			}
			conf.Subject = tt.subject
			_, err = conf.TokenSource(t.Context()).Token()
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *oauth2.RetrieveError", err)
			}
			// The jwt package leaves ErrorCode empty; read the OAuth2 body.
			var body struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(re.Body, &body); err != nil {
				t.Fatalf("body %q: %v", re.Body, err)
			}
			if diff := cmp.Diff([2]any{tt.wantStatus, tt.wantCode}, [2]any{re.Response.StatusCode, body.Error}); diff != "" {
				t.Errorf("error code (-want +got):\n%s\nbody: %s", diff, re.Body)
			}
		})
	}
}

func getWithToken(t *testing.T, s *workspacetest.Server, path, tok string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.URL+path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	return resp.StatusCode, string(b)
}

func jsonHas(body, reason string) bool {
	var v struct {
		Error struct {
			Errors []struct{ Reason string }
		}
	}
	_ = json.Unmarshal([]byte(body), &v)
	return len(v.Error.Errors) > 0 && v.Error.Errors[0].Reason == reason
}

func TestExpiredToken401(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	s := newServer(t, workspacetest.WithClock(clock.now), workspacetest.WithTokenLifetime(time.Hour))
	const path = "/admin/directory/v1/users/admin@example.com"

	tok := s.IssueToken(s.AdminEmail())
	if code, _ := getWithToken(t, s, path, tok); code != 200 {
		t.Fatalf("fresh token: %d", code)
	}
	clock.advance(time.Hour + time.Second)
	code, body := getWithToken(t, s, path, tok)
	want := map[string]any{"error": map[string]any{
		"code":    401.0,
		"message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
		"errors": []any{map[string]any{
			"message": "Invalid Credentials", "domain": "global", "reason": "authError",
			"location": "Authorization", "locationType": "header",
		}},
		"status": "UNAUTHENTICATED",
	}}
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if code != 401 {
		t.Errorf("status %d", code)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("401 body (-want +got):\n%s", diff)
	}

	// ExpireTokens and missing tokens too.
	tok = s.IssueToken(s.AdminEmail())
	s.ExpireTokens()
	if code, _ := getWithToken(t, s, path, tok); code != 401 {
		t.Errorf("after ExpireTokens: %d", code)
	}
	if code, _ := getWithToken(t, s, path, ""); code != 401 {
		t.Errorf("no token: %d", code)
	}
	// Client keeps working: it gets a fresh token.
	resp, err := s.Client().Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("Client after expiry: %d", resp.StatusCode)
	}
}

func TestAuthorizedUserRefresh(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	creds, err := google.CredentialsFromJSONWithType(t.Context(), s.AuthorizedUserKey(), google.AuthorizedUser, scopeUserRO)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := creds.TokenSource.Token()
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := getWithToken(t, s, "/admin/directory/v1/users/admin@example.com", tok.AccessToken); code != 200 {
		t.Errorf("refreshed token: status %d", code)
	}
}

func TestWithoutAuthAndKeyFile(t *testing.T) {
	t.Parallel()
	s := newServer(t, workspacetest.WithoutAuth())
	if code, _ := getWithToken(t, s, "/admin/directory/v1/users/admin@example.com", ""); code != 200 {
		t.Errorf("WithoutAuth, no token: %d", code)
	}
	if code, _ := getWithToken(t, s, "/admin/directory/v1/users/admin@example.com", "bogus"); code != 401 {
		t.Errorf("WithoutAuth, bad token: %d", code)
	}
	path, err := s.WriteServiceAccountKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var key map[string]string
	if err := json.Unmarshal(b, &key); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"type": "service_account", "token_uri": s.URL + "/token", "client_email": s.ServiceAccountEmail()}
	got := map[string]string{"type": key["type"], "token_uri": key["token_uri"], "client_email": key["client_email"]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("key file (-want +got):\n%s", diff)
	}
}
