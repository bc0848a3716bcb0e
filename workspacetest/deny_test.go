package workspacetest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gwsadmin/workspace/workspacetest"
	"google.golang.org/api/googleapi"
)

// errorInfo returns the reason and metadata of the first
// google.rpc.ErrorInfo among ge's details.
func errorInfo(ge *googleapi.Error) (reason string, metadata map[string]any) {
	for _, d := range ge.Details {
		m, _ := d.(map[string]any)
		if m["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
			md, _ := m["metadata"].(map[string]any)
			r, _ := m["reason"].(string)
			return r, md
		}
	}
	return "", nil
}

// TestDenyAPIShapes shows each setup failure as Groups Migration answers
// it through Google's generated client: 403 with Google's reason, message,
// status and ErrorInfo, nothing stored, and normal service after AllowAPI.
func TestDenyAPIShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind             workspacetest.DenyKind
		wantReason       string
		wantDomain       string
		wantMsg          string // prefix of the error message
		wantInfo         string // ErrorInfo reason, "" for none
		wantResponseCode bool   // whether Groups Migration's responseCode is added
	}{
		{workspacetest.DenyAPINotEnabled, "accessNotConfigured", "usageLimits",
			"Groups Migration API has not been used in project workspacetest-project before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/groupsmigration.googleapis.com/overview?project=workspacetest-project then retry.",
			"SERVICE_DISABLED", false},
		{workspacetest.DenyNotAuthorized, "forbidden", "global",
			"Not Authorized to access this resource/api", "", false},
		{workspacetest.DenyScopeNotGranted, "insufficientPermissions", "global",
			"Request had insufficient authentication scopes.", "ACCESS_TOKEN_SCOPE_INSUFFICIENT", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			s.AddGroup("archive@example.com")
			svc := migrationService(t, s)
			s.DenyAPI("groupsmigration", tt.kind)

			_, err := insert(svc, "archive@example.com", message("d@example.com"))
			ge := apiError(t, err)
			if ge.Code != 403 || reason(ge) != tt.wantReason || !strings.HasPrefix(ge.Message, tt.wantMsg) {
				t.Errorf("got %d %q %q\nwant 403 %q %q...", ge.Code, reason(ge), ge.Message, tt.wantReason, tt.wantMsg)
			}
			if !strings.Contains(ge.Body, `"domain":"`+tt.wantDomain+`"`) || !strings.Contains(ge.Body, `"status":"PERMISSION_DENIED"`) {
				t.Errorf("body lacks domain %q or status: %s", tt.wantDomain, ge.Body)
			}
			if got := strings.Contains(ge.Body, `"responseCode":"AUTHORIZATION FAILURE"`); got != tt.wantResponseCode {
				t.Errorf("responseCode present = %v, want %v: %s", got, tt.wantResponseCode, ge.Body)
			}
			info, md := errorInfo(ge)
			if info != tt.wantInfo {
				t.Errorf("ErrorInfo reason %q, want %q", info, tt.wantInfo)
			}
			if info != "" && md["service"] != "groupsmigration.googleapis.com" {
				t.Errorf("ErrorInfo metadata %v", md)
			}
			if info == "SERVICE_DISABLED" && md["consumer"] != "projects/workspacetest-project" {
				t.Errorf("ErrorInfo metadata %v", md)
			}
			if n := s.GroupMessageCount("archive@example.com"); n != 0 {
				t.Errorf("stored %d while denied", n)
			}
			st := s.Stats()["groupsmigration"]
			if st.Rejected[tt.wantReason] != 1 || st.Accepted != 0 {
				t.Errorf("stats %+v", st)
			}

			s.AllowAPI("groupsmigration")
			if _, err := insert(svc, "archive@example.com", message("d@example.com")); err != nil {
				t.Errorf("after AllowAPI: %v", err)
			}
		})
	}
}

// TestDenyAPIScopeMatchesRealScopeRefusal shows that DenyScopeNotGranted
// answers exactly as the server does for a token that lacks the scope.
func TestDenyAPIScopeMatchesRealScopeRefusal(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddGroup("archive@example.com")
	post := func(tok string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "POST",
			s.URL+"/upload/groups/v1/groups/archive@example.com/archive?uploadType=media", strings.NewReader(message("s@example.com")))
		req.Header.Set("Content-Type", "message/rfc822")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code1, body1 := post(s.IssueToken(s.AdminEmail(), "https://www.googleapis.com/auth/admin.directory.user"))
	s.DenyAPI("groupsmigration", workspacetest.DenyScopeNotGranted)
	code2, body2 := post(s.IssueToken(s.AdminEmail()))
	if diff := cmp.Diff([2]any{403, body1}, [2]any{code2, body2}); diff != "" || code1 != 403 {
		t.Errorf("real refusal %d, DenyAPI (-real +deny):\n%s", code1, diff)
	}
}

// TestDenyAPIOtherAPIs shows that DenyAPI works for the other JSON APIs,
// affects only the API named, and that a bad token still gets 401 first.
func TestDenyAPIOtherAPIs(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.DenyAPI("directory", workspacetest.DenyAPINotEnabled)

	resp, err := s.Client().Get(s.URL + "/admin/directory/v1/users/admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !jsonHas(string(b), "accessNotConfigured") ||
		!strings.Contains(string(b), "Admin SDK API has not been used in project") ||
		!strings.Contains(string(b), `"service":"admin.googleapis.com"`) {
		t.Errorf("directory: %d %s", resp.StatusCode, b)
	}

	if code, _ := getWithToken(t, s, "/admin/directory/v1/users/admin@example.com", "ya29.not-a-token"); code != 401 {
		t.Errorf("bad token on a denied API: %d, want 401", code)
	}

	resp, err = s.Client().Get(s.URL + "/admin/datatransfer/v1/applications")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("datatransfer, not denied: %d", resp.StatusCode)
	}

	for _, api := range []string{"audit", "adminsettings", "oauth2", "nosuchapi"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("DenyAPI(%q) did not panic", api)
				}
			}()
			s.DenyAPI(api, workspacetest.DenyAPINotEnabled)
		}()
	}
}
