package workspacetest_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gwsadmin/workspace/workspacetest"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	directory "google.golang.org/api/admin/directory/v1"
	"google.golang.org/api/iamcredentials/v1"
	"google.golang.org/api/impersonate"
	"google.golang.org/api/option"
)

const caller = "ops@example.com"

// iamService returns an IAM Credentials client pointed at s, sending tok.
func iamService(t *testing.T, s *workspacetest.Server, tok string) *iamcredentials.Service {
	t.Helper()
	svc, err := iamcredentials.NewService(t.Context(),
		option.WithEndpoint(s.IAMCredentialsURL()+"/"),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok})))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// claims returns a delegation claim set acting as subject.
func claims(s *workspacetest.Server, subject string, scopes ...string) string {
	now := time.Now().Unix()
	b, _ := json.Marshal(map[string]any{
		"iss": s.ServiceAccountEmail(), "sub": subject, "scope": strings.Join(scopes, " "),
		"aud": s.TokenURL(), "iat": now, "exp": now + 3600,
	})
	return string(b)
}

// exchange trades a signed JWT for an access token at s's token endpoint.
func exchange(t *testing.T, s *workspacetest.Server, jwt string) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(s.TokenURL(), url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {jwt},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// The keyless path by hand: signJwt with the caller's token, then the
// token endpoint, then an admin API as the subject.
func TestSignJwtKeyless(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddUser("jane@example.com")
	s.GrantTokenCreator("user:"+caller, s.ServiceAccountEmail())
	// Even with the key deleted: signJwt uses the system-managed key.
	s.DeleteServiceAccountKey()

	name := "projects/-/serviceAccounts/" + s.ServiceAccountEmail()
	payload := claims(s, s.AdminEmail(), scopeUserRO)
	resp, err := iamService(t, s, s.CallerToken(caller)).Projects.ServiceAccounts.SignJwt(name,
		&iamcredentials.SignJwtRequest{Payload: payload}).Do()
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(resp.SignedJwt, ".")
	if len(parts) != 3 {
		t.Fatalf("signedJwt %q", resp.SignedJwt)
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h map[string]string
	_ = json.Unmarshal(hdr, &h)
	if h["alg"] != "RS256" || h["kid"] != resp.KeyId || resp.KeyId == "" {
		t.Errorf("header %v, keyId %q", h, resp.KeyId)
	}
	if got, _ := base64.RawURLEncoding.DecodeString(parts[1]); string(got) != payload {
		t.Errorf("payload %s, want %s", got, payload)
	}

	code, body := exchange(t, s, resp.SignedJwt)
	tok, _ := body["access_token"].(string)
	if code != 200 || tok == "" {
		t.Fatalf("token exchange: %d %v", code, body)
	}
	if code, body := getWithToken(t, s, "/admin/directory/v1/users/jane@example.com", tok); code != 200 {
		t.Errorf("Directory with the delegated token: %d %s", code, body)
	}

	// The same service account by unique id.
	if _, err := iamService(t, s, s.CallerToken(caller)).Projects.ServiceAccounts.SignJwt(
		"projects/-/serviceAccounts/"+s.ServiceAccountClientID(),
		&iamcredentials.SignJwtRequest{Payload: payload}).Do(); err != nil {
		t.Errorf("by unique id: %v", err)
	}
}

func TestSignJwtRefusals(t *testing.T) {
	t.Parallel()
	denied := "Permission 'iam.serviceAccounts.signJwt' denied on resource (or it may not exist)."
	tests := []struct {
		name       string
		setup      func(s *workspacetest.Server)
		token      func(s *workspacetest.Server) string
		resource   func(s *workspacetest.Server) string
		payload    func(s *workspacetest.Server) string
		wantCode   int
		wantStatus string
		wantMsg    string // prefix
	}{
		{name: "no role", wantCode: 403, wantStatus: "PERMISSION_DENIED", wantMsg: denied},
		{name: "role revoked", setup: func(s *workspacetest.Server) {
			s.GrantTokenCreator(caller, s.ServiceAccountEmail())
			s.RevokeTokenCreator(caller, s.ServiceAccountEmail())
		}, wantCode: 403, wantStatus: "PERMISSION_DENIED", wantMsg: denied},
		{name: "role held by someone else", setup: func(s *workspacetest.Server) {
			s.GrantTokenCreator("other@example.com", s.ServiceAccountEmail())
		}, wantCode: 403, wantStatus: "PERMISSION_DENIED", wantMsg: denied},
		{name: "unknown service account", resource: func(*workspacetest.Server) string {
			return "projects/-/serviceAccounts/nobody@p.iam.gserviceaccount.com"
		}, wantCode: 403, wantStatus: "PERMISSION_DENIED", wantMsg: denied},
		{name: "token without cloud-platform", token: func(s *workspacetest.Server) string {
			return s.IssueToken(s.AdminEmail(), scopeUserRO)
		}, wantCode: 403, wantStatus: "PERMISSION_DENIED", wantMsg: "Request had insufficient authentication scopes."},
		{name: "API not enabled", setup: func(s *workspacetest.Server) {
			s.GrantTokenCreator(caller, s.ServiceAccountEmail())
			s.DenyAPI("iamcredentials", workspacetest.DenyAPINotEnabled)
		}, wantCode: 403, wantStatus: "PERMISSION_DENIED", wantMsg: "IAM Service Account Credentials API has not been used in project"},
		{name: "project not the wildcard", setup: grant, resource: func(s *workspacetest.Server) string {
			return "projects/workspacetest-project/serviceAccounts/" + s.ServiceAccountEmail()
		}, wantCode: 400, wantStatus: "INVALID_ARGUMENT"},
		{name: "payload not JSON", setup: grant, payload: func(*workspacetest.Server) string { return "sub=x" },
			wantCode: 400, wantStatus: "INVALID_ARGUMENT"},
		{name: "exp more than 12 hours ahead", setup: grant, payload: func(*workspacetest.Server) string {
			return `{"exp": ` + jsonInt(time.Now().Add(13*time.Hour).Unix()) + `}`
		}, wantCode: 400, wantStatus: "INVALID_ARGUMENT"},
		{name: "exp in the past", setup: grant, payload: func(*workspacetest.Server) string {
			return `{"exp": ` + jsonInt(time.Now().Add(-time.Hour).Unix()) + `}`
		}, wantCode: 400, wantStatus: "INVALID_ARGUMENT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			if tt.setup != nil {
				tt.setup(s)
			}
			tok := s.CallerToken(caller)
			if tt.token != nil {
				tok = tt.token(s)
			}
			res := "projects/-/serviceAccounts/" + s.ServiceAccountEmail()
			if tt.resource != nil {
				res = tt.resource(s)
			}
			payload := claims(s, s.AdminEmail(), scopeUserRO)
			if tt.payload != nil {
				payload = tt.payload(s)
			}
			_, err := iamService(t, s, tok).Projects.ServiceAccounts.SignJwt(res,
				&iamcredentials.SignJwtRequest{Payload: payload}).Do()
			ge := apiError(t, err)
			var body struct {
				Error struct {
					Status  string
					Message string
				}
			}
			_ = json.Unmarshal([]byte(ge.Body), &body)
			if ge.Code != tt.wantCode || body.Error.Status != tt.wantStatus || !strings.HasPrefix(ge.Message, tt.wantMsg) {
				t.Errorf("got %d %s %q, want %d %s %q…", ge.Code, body.Error.Status, ge.Message, tt.wantCode, tt.wantStatus, tt.wantMsg)
			}
			if tt.wantMsg == denied {
				reason, md := errorInfo(ge)
				if reason != "IAM_PERMISSION_DENIED" || md["permission"] != "iam.serviceAccounts.signJwt" {
					t.Errorf("ErrorInfo %q %v", reason, md)
				}
			}
		})
	}
}

func grant(s *workspacetest.Server) { s.GrantTokenCreator(caller, s.ServiceAccountEmail()) }

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// Google's impersonate package, whose endpoints are fixed, reaches the fake
// through GoogleTransport: signJwt, then grant_type=assertion at
// oauth2.googleapis.com/token with that audience. The delegation list
// applies as for a key file.
func TestImpersonateThroughGoogleTransport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		delegated []string // nil: not restricted
		scopes    []string
		wantErr   string
	}{
		{"allowed", nil, []string{scopeUserRO}, ""},
		{"granted in the delegation list", []string{scopeUserRO}, []string{scopeUserRO}, ""},
		{"not granted", []string{scopeMigration}, []string{scopeUserRO}, "unauthorized_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			s.DeleteServiceAccountKey()
			s.GrantTokenCreator(caller, s.ServiceAccountEmail())
			if tt.delegated != nil {
				s.SetDelegatedScopes(s.ServiceAccountClientID(), tt.delegated...)
			}
			callerClient := &http.Client{Transport: &oauth2.Transport{
				Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: s.CallerToken(caller)}),
				Base:   s.GoogleTransport(nil),
			}}
			ts, err := impersonate.CredentialsTokenSource(t.Context(), impersonate.CredentialsConfig{
				TargetPrincipal: s.ServiceAccountEmail(),
				Scopes:          tt.scopes,
				Subject:         s.AdminEmail(),
			}, option.WithHTTPClient(callerClient))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := ts.Token()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			svc, err := directory.NewService(t.Context(),
				option.WithEndpoint(s.URL+"/"), option.WithTokenSource(oauth2.StaticTokenSource(tok)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Users.Get(s.AdminEmail()).Do(); err != nil {
				t.Errorf("Directory as the subject: %v", err)
			}
		})
	}
}

// A deleted key: the key file's JWTs are refused, Google's way.
func TestDeleteServiceAccountKey(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.DeleteServiceAccountKey()
	_, oe := delegatedToken(t, s, s.AdminEmail(), scopeUserRO)
	want := &oauthError{Status: 400, Error: "invalid_grant", Description: "Invalid JWT Signature."}
	if diff := cmp.Diff(want, oe); diff != "" {
		t.Errorf("refusal (-want +got):\n%s", diff)
	}
}

// ADC as a gcloud user: the authorized_user file of a principal gives
// tokens that may call signJwt once the principal holds the role.
func TestAuthorizedUserKeyForSignJwt(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	creds, err := google.CredentialsFromJSONWithType(t.Context(), s.AuthorizedUserKeyFor(caller),
		google.AuthorizedUser, "https://www.googleapis.com/auth/cloud-platform")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := creds.TokenSource.Token()
	if err != nil {
		t.Fatal(err)
	}
	sign := func() error {
		_, err := iamService(t, s, tok.AccessToken).Projects.ServiceAccounts.SignJwt(
			"projects/-/serviceAccounts/"+s.ServiceAccountEmail(),
			&iamcredentials.SignJwtRequest{Payload: claims(s, s.AdminEmail(), scopeUserRO)}).Do()
		return err
	}
	if err := sign(); err == nil || apiError(t, err).Code != 403 {
		t.Fatalf("before the grant: %v", err)
	}
	s.GrantTokenCreator(caller, s.ServiceAccountEmail())
	if err := sign(); err != nil {
		t.Errorf("after the grant: %v", err)
	}
}

// ADC on a VM: GCE_METADATA_HOST points Google's libraries at the fake's
// metadata server, whose tokens act as the VM's service account and may
// call signJwt once granted.
func TestMetadataServerADC(t *testing.T) {
	s := newServer(t)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	t.Setenv("GCE_METADATA_HOST", s.MetadataHost())

	creds, err := google.FindDefaultCredentials(t.Context(), "https://www.googleapis.com/auth/cloud-platform")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := creds.TokenSource.Token()
	if err != nil {
		t.Fatal(err)
	}
	sign := func() error {
		_, err := iamService(t, s, tok.AccessToken).Projects.ServiceAccounts.SignJwt(
			"projects/-/serviceAccounts/"+s.ServiceAccountEmail(),
			&iamcredentials.SignJwtRequest{Payload: claims(s, s.AdminEmail(), scopeUserRO)}).Do()
		return err
	}
	if err := sign(); err == nil || apiError(t, err).Code != 403 {
		t.Fatalf("before the grant: %v", err)
	}
	s.GrantTokenCreator("serviceAccount:"+s.MetadataServiceAccount(), s.ServiceAccountEmail())
	if err := sign(); err != nil {
		t.Errorf("after the grant: %v", err)
	}

	// Without the header the metadata server refuses.
	resp, err := http.Get("http://" + s.MetadataHost() + "/computeMetadata/v1/project/project-id")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("no Metadata-Flavor: %d, want 403", resp.StatusCode)
	}
}
