package workspacetest_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gwsadmin/workspace/workspacetest"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

const (
	scopeUser      = "https://www.googleapis.com/auth/admin.directory.user"
	scopeMigration = "https://www.googleapis.com/auth/apps.groups.migration"
	scopeGmailRO   = "https://www.googleapis.com/auth/gmail.readonly"
)

// oauthError is a token endpoint refusal as a client sees it.
type oauthError struct {
	Status      int
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// delegatedToken asks s's token endpoint for a token acting as subject
// through a JWT signed with the service-account key. It returns the
// access token, or the refusal.
func delegatedToken(t *testing.T, s *workspacetest.Server, subject string, scopes ...string) (string, *oauthError) {
	t.Helper()
	conf, err := google.JWTConfigFromJSON(s.ServiceAccountKey(), scopes...)
	if err != nil {
		t.Fatal(err)
	}
	conf.Subject = subject
	tok, err := conf.TokenSource(t.Context()).Token()
	if err == nil {
		return tok.AccessToken, nil
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("token error %v (%T), want *oauth2.RetrieveError", err, err)
	}
	oe := &oauthError{Status: re.Response.StatusCode}
	if err := json.Unmarshal(re.Body, oe); err != nil {
		t.Fatalf("token error body %q: %v", re.Body, err)
	}
	return "", oe
}

const unauthorizedClient = "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."

func TestDelegatedScopes(t *testing.T) {
	t.Parallel()
	refused := &oauthError{Status: 401, Error: "unauthorized_client", Description: unauthorizedClient}
	tests := []struct {
		name    string
		setup   func(s *workspacetest.Server)
		subject string // "" means the admin
		scopes  []string
		want    *oauthError // nil: a token
	}{
		{"default allows any scope", nil, "", []string{scopeUser, scopeMigration}, nil},
		{"granted scope", func(s *workspacetest.Server) {
			s.SetDelegatedScopes(s.ServiceAccountClientID(), scopeUserRO, scopeMigration)
		}, "", []string{scopeUserRO}, nil},
		{"all granted scopes", func(s *workspacetest.Server) {
			s.SetDelegatedScopes(s.ServiceAccountClientID(), scopeUserRO, scopeMigration)
		}, "", []string{scopeMigration, scopeUserRO}, nil},
		{"one scope not granted refuses the whole request", func(s *workspacetest.Server) {
			s.SetDelegatedScopes(s.ServiceAccountClientID(), scopeUserRO)
		}, "", []string{scopeUserRO, scopeMigration}, refused},
		{"read-only granted, full asked", func(s *workspacetest.Server) {
			s.SetDelegatedScopes(s.ServiceAccountClientID(), scopeUserRO)
		}, "", []string{scopeUser}, refused},
		{"client not listed", func(s *workspacetest.Server) {
			s.SetDelegatedScopes(s.ServiceAccountClientID())
		}, "", []string{scopeUserRO}, refused},
		{"cleared again", func(s *workspacetest.Server) {
			s.SetDelegatedScopes(s.ServiceAccountClientID())
			s.ClearDelegatedScopes(s.ServiceAccountClientID())
		}, "", []string{scopeUserRO}, nil},
		{"another client's list does not apply", func(s *workspacetest.Server) {
			s.SetDelegatedScopes("999999999999999999999")
		}, "", []string{scopeUserRO}, nil},
		{"non-admin subject gets a token", nil, "jane@example.com", []string{scopeGmailRO}, nil},
		{"unknown subject", nil, "ghost@example.com", []string{scopeUserRO},
			&oauthError{Status: 400, Error: "invalid_grant", Description: "Invalid email or User ID"}},
		{"suspended subject", func(s *workspacetest.Server) { s.SuspendUser("jane@example.com") },
			"jane@example.com", []string{scopeGmailRO},
			&oauthError{Status: 400, Error: "invalid_grant", Description: "Invalid email or User ID"}},
		{"unsuspended subject", func(s *workspacetest.Server) {
			s.SuspendUser("jane@example.com")
			s.UnsuspendUser("jane@example.com")
		}, "jane@example.com", []string{scopeGmailRO}, nil},
		{"subject outside the domain", nil, "boss@other.org", []string{scopeUserRO}, refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			s.AddUser("jane@example.com")
			if tt.setup != nil {
				tt.setup(s)
			}
			subject := tt.subject
			if subject == "" {
				subject = s.AdminEmail()
			}
			tok, oe := delegatedToken(t, s, subject, tt.scopes...)
			if diff := cmp.Diff(tt.want, oe); diff != "" {
				t.Errorf("refusal (-want +got):\n%s", diff)
			}
			if tt.want == nil && tok == "" {
				t.Error("no token")
			}
		})
	}
}

func TestDelegatedScopesInspection(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	id := s.ServiceAccountClientID()
	var key struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal(s.ServiceAccountKey(), &key); err != nil {
		t.Fatal(err)
	}
	if key.ClientID != id {
		t.Errorf("ServiceAccountClientID %q, key file client_id %q", id, key.ClientID)
	}
	if sc, restricted := s.DelegatedScopes(id); sc != nil || restricted {
		t.Errorf("default: %v %v, want nil false", sc, restricted)
	}
	s.SetDelegatedScopes(id, scopeUserRO, scopeMigration)
	sc, restricted := s.DelegatedScopes(id)
	if diff := cmp.Diff([]string{scopeUserRO, scopeMigration}, sc); diff != "" || !restricted {
		t.Errorf("after Set (-want +got):\n%s restricted %v", diff, restricted)
	}
}

// A suspended user's tokens stop working, and the Directory says so.
func TestSuspendUser(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddUser("jane@example.com")
	tok := s.IssueToken("jane@example.com", scopeGmailRO)
	if code, body := getWithToken(t, s, "/gmail/v1/users/me/profile", tok); code != 200 {
		t.Fatalf("before suspension: %d %s", code, body)
	}
	s.SuspendUser("jane@example.com")
	if code, _ := getWithToken(t, s, "/gmail/v1/users/me/profile", tok); code != 401 {
		t.Errorf("suspended user's token: %d, want 401", code)
	}
	code, body := getWithToken(t, s, "/admin/directory/v1/users/jane@example.com", s.IssueToken(s.AdminEmail()))
	var u struct{ Suspended bool }
	_ = json.Unmarshal([]byte(body), &u)
	if code != 200 || !u.Suspended {
		t.Errorf("Directory: %d suspended=%v", code, u.Suspended)
	}
}

// A JWT whose iat/exp are far from the server's clock is refused with
// Google's text.
func TestClockSkew(t *testing.T) {
	t.Parallel()
	want := &oauthError{Status: 400, Error: "invalid_grant",
		Description: "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values and use a clock with skew to account for clock differences between systems."}
	tests := []struct {
		name   string
		offset time.Duration // server clock minus the client's
		want   *oauthError
	}{
		{"in sync", 0, nil},
		{"server 2 minutes ahead", 2 * time.Minute, nil},
		{"server 2 minutes behind", -2 * time.Minute, nil},
		{"server 2 hours ahead", 2 * time.Hour, want},
		{"server 2 hours behind", -2 * time.Hour, want},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, workspacetest.WithClock(func() time.Time { return time.Now().Add(tt.offset) }))
			_, oe := delegatedToken(t, s, s.AdminEmail(), scopeUserRO)
			if diff := cmp.Diff(tt.want, oe); diff != "" {
				t.Errorf("refusal (-want +got):\n%s", diff)
			}
		})
	}
}

// Admin APIs refuse a non-admin subject with 403 "Not Authorized to access
// this resource/api"; the same subject may read its own mailbox.
func TestNonAdminSubject(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddUser("jane@example.com")
	s.AddGroup("archive@example.com")
	tok := s.IssueToken("jane@example.com")
	tests := []struct {
		method, path string
		wantCode     int
	}{
		{"GET", "/admin/directory/v1/users/jane@example.com", 403},
		{"GET", "/admin/directory/v1/customers/my_customer", 403},
		{"GET", "/admin/datatransfer/v1/applications", 403},
		{"POST", "/upload/groups/v1/groups/archive@example.com/archive?uploadType=media", 403},
		{"GET", "/v1/inboundSamlSsoProfiles", 403},
		{"GET", "/a/feeds/compliance/audit/mail/monitor/example.com/jane", 403},
		{"GET", "/a/feeds/domain/2.0/example.com/sso/general", 403},
		{"GET", "/gmail/v1/users/me/profile", 200},
		{"GET", "/gmail/v1/users/jane@example.com/labels", 200},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tt.method, s.URL+tt.path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			if tt.method == "POST" {
				req.Header.Set("Content-Type", "message/rfc822")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct {
					Errors []struct{ Reason, Message string }
				}
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantCode)
			}
			if tt.wantCode == 403 && resp.Header.Get("Content-Type") != "text/xml; charset=UTF-8" {
				errs := body.Error.Errors
				if len(errs) == 0 || errs[0].Reason != "forbidden" || errs[0].Message != "Not Authorized to access this resource/api" {
					t.Errorf("errors %+v", errs)
				}
			}
		})
	}
}
