package workspace_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/gmail"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/settings"
	"github.com/gwsadmin/workspace/workspacetest"
)

// fakeCore returns a client on srv with its service-account key, acting as
// subject.
func fakeCore(t *testing.T, srv *workspacetest.Server, subject string) *workspace.Client {
	t.Helper()
	c, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(subject),
		workspace.WithRetry(noSleep), workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkRemedy checks that err is a permission denial whose text names the
// cause and the fix.
func checkRemedy(t *testing.T, err error, words ...string) {
	t.Helper()
	if !errors.Is(err, workspace.ErrPermissionDenied) {
		t.Fatalf("errors.Is(%v, ErrPermissionDenied) = false", err)
	}
	if errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("%v also matches ErrInvalidInput", err)
	}
	var we *workspace.Error
	if !errors.As(err, &we) || we.Remedy == "" {
		t.Fatalf("no Remedy in %#v", err)
	}
	for _, w := range append([]string{"cause:", "fix:"}, words...) {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error text lacks %q:\n%v", w, err)
		}
	}
}

func TestRemedyAgainstFake(t *testing.T) {
	msg := []byte("From: a@example.com\r\nTo: g@example.com\r\nDate: Mon, 2 Jan 2006 15:04:05 +0000\r\nSubject: s\r\n\r\nbody\r\n")
	for _, tt := range []struct {
		name  string
		api   string
		kind  workspacetest.DenyKind
		call  func(context.Context, *datatransfer.Client) error
		words []string
	}{
		{"transfers, API disabled", "datatransfer", workspacetest.DenyAPINotEnabled, listTransfers,
			[]string{"not enabled", "https://console.developers.google.com/apis/api/admin.googleapis.com/overview?project="}},
		{"archive (legacy), API disabled", "groupsmigration", workspacetest.DenyAPINotEnabled,
			insertArchive(msg),
			[]string{"not enabled", "groupsmigration.googleapis.com"}},
		{"transfers, scope missing", "datatransfer", workspacetest.DenyScopeNotGranted, listTransfers,
			[]string{"lacks the OAuth scope", "Domain-wide delegation"}},
		{"archive (legacy), scope missing", "groupsmigration", workspacetest.DenyScopeNotGranted,
			insertArchive(msg),
			[]string{"lacks the OAuth scope"}},
		{"transfers, not an admin", "datatransfer", workspacetest.DenyNotAuthorized, listTransfers,
			[]string{"not an administrator", "super administrator"}},
		{"archive (legacy), not authorized", "groupsmigration", workspacetest.DenyNotAuthorized,
			insertArchive(msg),
			[]string{"not an administrator"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := workspacetest.NewServer()
			defer srv.Close()
			srv.AddGroup("g@example.com")
			srv.DenyAPI(tt.api, tt.kind)
			dt := datatransfer.New(fakeCore(t, srv, srv.AdminEmail()))
			checkRemedy(t, tt.call(t.Context(), dt), tt.words...)
		})
	}
}

func listTransfers(ctx context.Context, dt *datatransfer.Client) error {
	_, err := dt.Transfers.List(ctx, nil)
	return err
}

func insertArchive(msg []byte) func(context.Context, *datatransfer.Client) error {
	return func(ctx context.Context, dt *datatransfer.Client) error {
		return dt.Archive.Insert(ctx, "g@example.com", msg)
	}
}

// TestRemedyNonAdminSubject: acting as a user who is not an administrator,
// the Admin SDK refuses and the error says to act as an administrator.
func TestRemedyNonAdminSubject(t *testing.T) {
	srv := workspacetest.NewServer()
	defer srv.Close()
	user := "plain@" + srv.Domain()
	srv.AddUser(user)
	dt := datatransfer.New(fakeCore(t, srv, user))
	_, err := dt.Users.ID(t.Context(), srv.AdminEmail())
	checkRemedy(t, err, "not an administrator", "WithSubject")
}

// TestRemedyBodies: the cause is read from the body on every API, legacy
// ones included; a message the server found bad stays bad input.
func TestRemedyBodies(t *testing.T) {
	for _, tt := range []struct {
		name, api, body string
		want            error
		remedy          string
	}{
		{"audit not authorized", "audit",
			`<errors><error><reason>forbidden</reason><internalReason>Not Authorized to access this resource/api</internalReason></error></errors>`,
			workspace.ErrPermissionDenied, "not an administrator"},
		{"settings scope", "settings",
			`{"error":{"code":403,"message":"Request had insufficient authentication scopes.","status":"PERMISSION_DENIED"}}`,
			workspace.ErrPermissionDenied, "lacks the OAuth scope"},
		{"gmail disabled, link in message only", "gmail",
			`{"error":{"code":403,"message":"Gmail API has not been used in project 12 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/gmail.googleapis.com/overview?project=12 then retry.","errors":[{"reason":"accessNotConfigured"}]}}`,
			workspace.ErrPermissionDenied, "https://console.developers.google.com/apis/api/gmail.googleapis.com/overview?project=12 "},
		{"gmail delegation denied", "gmail",
			`{"error":{"code":403,"message":"Delegation denied for bob@example.com","errors":[{"reason":"forbidden","message":"Delegation denied for bob@example.com"}]}}`,
			workspace.ErrPermissionDenied, "act as the mailbox owner"},
		{"migration invalid message", "groupsmigration",
			`{"error":{"code":403,"message":"Not Authorized to access this resource/api"},"responseCode":"INVALID MESSAGE FAILURE"}`,
			workspace.ErrInvalidInput, ""},
		{"legacy 403 without a cause", "datatransfer", `{"error":{"code":403,"message":"bad"}}`, workspace.ErrInvalidInput, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, workspace.WithoutAuthentication(), workspace.WithQuota(quota.Unlimited()))
			_, err := get(t, c, &core.Call{API: tt.api, Method: "m.get"}, "x")
			if !errors.Is(err, tt.want) {
				t.Fatalf("errors.Is(%v, %v) = false", err, tt.want)
			}
			var we *workspace.Error
			errors.As(err, &we)
			if tt.remedy == "" {
				if we.Remedy != "" || errors.Is(err, workspace.ErrPermissionDenied) {
					t.Errorf("unexpected permission cause: %v", err)
				}
				return
			}
			if !strings.Contains(err.Error(), tt.remedy) {
				t.Errorf("error lacks %q:\n%v", tt.remedy, err)
			}
		})
	}
}

// TestRemedyEveryJSONAPI: each setup failure the fake can play gives a
// permission error that names the cause and the fix, on every API it
// plays them for.
func TestRemedyEveryJSONAPI(t *testing.T) {
	words := map[workspacetest.DenyKind]string{
		workspacetest.DenyAPINotEnabled:   "enable it at https://console.developers.google.com/apis/api/",
		workspacetest.DenyScopeNotGranted: "lacks the OAuth scope",
		workspacetest.DenyNotAuthorized:   "not an administrator",
	}
	calls := map[string]func(context.Context, *workspace.Client, *workspacetest.Server) error{
		"gmail": func(ctx context.Context, c *workspace.Client, srv *workspacetest.Server) error {
			_, err := gmail.New(c).Messages.List(ctx, srv.AdminEmail(), nil)
			return err
		},
		"cloudidentity": func(ctx context.Context, c *workspace.Client, srv *workspacetest.Server) error {
			_, err := settings.New(c, srv.Domain()).Profiles.List(ctx, nil)
			return err
		},
		"directory": func(ctx context.Context, c *workspace.Client, srv *workspacetest.Server) error {
			_, err := settings.New(c, srv.Domain()).Domains.List(ctx)
			return err
		},
	}
	for api, call := range calls {
		for kind, w := range words {
			t.Run(api+"/"+string(kind), func(t *testing.T) {
				srv := workspacetest.NewServer()
				defer srv.Close()
				srv.DenyAPI(api, kind)
				checkRemedy(t, call(t.Context(), fakeCore(t, srv, srv.AdminEmail()), srv), w)
			})
		}
	}
}

// TestNotAuthorizedIsPermission: a 403 that says the caller is not
// authorized is a permission problem on every API, the legacy ones (whose
// other 403s are bad input) included, whatever the body's layout.
func TestNotAuthorizedIsPermission(t *testing.T) {
	gdata := func(reason string) string {
		return `<?xml version="1.0" encoding="UTF-8"?><AppsForYourDomainErrors><error errorCode="1000" invalidInput="" reason="` + reason + `" /></AppsForYourDomainErrors>`
	}
	for _, tt := range []struct {
		name, api, body string
		perm            bool
	}{
		{"audit GData you are not authorized", "audit", gdata("You are not authorized to access this API"), true},
		{"audit plain text", "audit", "You are not authorized to access this API\n", true},
		{"settings HTML page", "settings", "<HTML><HEAD><TITLE>Not Authorized</TITLE></HEAD><BODY>Not Authorized</BODY></HTML>", true},
		{"settings domain cannot use", "settings", gdata("Domain cannot use Api, Google Apps Premier Edition required"), true},
		{"datatransfer Admin SDK JSON", "datatransfer",
			`{"error":{"code":403,"message":"Not Authorized to access this resource/api","errors":[{"message":"Not Authorized to access this resource/api","domain":"global","reason":"forbidden"}]}}`, true},
		{"datatransfer PERMISSION_DENIED", "datatransfer",
			`{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}`, true},
		{"audit bad input stays bad input", "audit", gdata("EntityDoesNotExist"), false},
		{"groups migration invalid message", "groupsmigration",
			`{"error":{"code":403,"message":"INVALID MESSAGE FAILURE","errors":[{"reason":"invalid"}]},"responseCode":"INVALID MESSAGE FAILURE"}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tt.body))}
			err := core.CheckResponse(tt.api, "m", resp)
			if got := errors.Is(err, workspace.ErrPermissionDenied); got != tt.perm {
				t.Errorf("errors.Is(ErrPermissionDenied) = %v, want %v: %v", got, tt.perm, err)
			}
			if got := errors.Is(err, workspace.ErrInvalidInput); got == tt.perm {
				t.Errorf("errors.Is(ErrInvalidInput) = %v, want %v: %v", got, !tt.perm, err)
			}
			var we *workspace.Error
			if tt.perm && (!errors.As(err, &we) || we.Remedy == "") {
				t.Errorf("no Remedy: %v", err)
			}
		})
	}
}
