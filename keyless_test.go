package workspace_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/workspacetest"
)

const caller = "ops@corp.example"

// signJwts counts the signJwt calls the fake accepted.
func signJwts(srv *workspacetest.Server) int { return srv.Stats()["iamcredentials"].Accepted }

func TestKeylessDelegationEndToEnd(t *testing.T) {
	srv := workspacetest.NewServer()
	defer srv.Close()
	bob := "bob@example.com"
	srv.AddUser(bob)
	srv.GrantTokenCreator("user:"+caller, srv.ServiceAccountEmail())
	c := newClient(t, srv.URL,
		workspace.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.CallerToken(caller)})),
		workspace.WithServiceAccount(srv.ServiceAccountEmail()),
		workspace.WithSubject(srv.AdminEmail()))

	if got, err := profileAddress(t, c, ""); err != nil || got != srv.AdminEmail() {
		t.Fatalf("default subject: %q, %v", got, err)
	}
	if n := signJwts(srv); n != 1 {
		t.Fatalf("signJwt calls %d, want 1", n)
	}
	// Cached: the same subject and scopes sign nothing new.
	if got, err := profileAddress(t, c, ""); err != nil || got != srv.AdminEmail() {
		t.Fatalf("second call: %q, %v", got, err)
	}
	if n := signJwts(srv); n != 1 {
		t.Errorf("signJwt calls %d after a second call, want 1", n)
	}
	// Another subject is honoured, with its own token.
	if got, err := profileAddress(t, c, bob); err != nil || got != bob {
		t.Fatalf("subject %s: %q, %v", bob, got, err)
	}
	if n := signJwts(srv); n != 2 {
		t.Errorf("signJwt calls %d, want 2", n)
	}
	if c.Project() != "workspacetest-project" {
		t.Errorf("project %q, want the service account's", c.Project())
	}
}

func TestKeylessWithADCUser(t *testing.T) {
	srv := workspacetest.NewServer()
	defer srv.Close()
	srv.GrantTokenCreator("user:"+caller, srv.ServiceAccountEmail())
	path := filepath.Join(t.TempDir(), "application_default_credentials.json")
	if err := os.WriteFile(path, srv.AuthorizedUserKeyFor(caller), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
	c := newClient(t, srv.URL, workspace.WithServiceAccount(srv.ServiceAccountEmail()), workspace.WithSubject(srv.AdminEmail()))
	if got, err := profileAddress(t, c, ""); err != nil || got != srv.AdminEmail() {
		t.Fatalf("got %q, %v", got, err)
	}
	if n := signJwts(srv); n != 1 {
		t.Errorf("signJwt calls %d, want 1", n)
	}
}

// tokenRefusal makes one call acting as subject and checks that it fails
// as unauthenticated with every text in want.
func tokenRefusal(t *testing.T, c *workspace.Client, subject string, want ...string) {
	t.Helper()
	_, err := profileAddress(t, c, subject)
	if err == nil {
		t.Fatal("call succeeded")
	}
	if !errors.Is(err, workspace.ErrUnauthenticated) {
		t.Errorf("error %v does not match ErrUnauthenticated", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\nlacks %q", err, w)
		}
	}
}

func TestTokenErrorsNameTheFix(t *testing.T) {
	keyClient := func(t *testing.T, srv *workspacetest.Server) *workspace.Client {
		return newClient(t, srv.URL, workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()))
	}
	t.Run("scope not delegated", func(t *testing.T) {
		srv := workspacetest.NewServer()
		defer srv.Close()
		srv.SetDelegatedScopes(srv.ServiceAccountClientID(), "https://www.googleapis.com/auth/admin.directory.user.readonly")
		tokenRefusal(t, keyClient(t, srv), "", `"unauthorized_client"`, "Client is unauthorized",
			"the scopes "+scopeGmailReadonly+" are not authorized for client id "+srv.ServiceAccountClientID()+
				" in Admin console › Security › API controls › Domain-wide delegation")
	})
	t.Run("scope not delegated, keyless", func(t *testing.T) {
		srv := workspacetest.NewServer()
		defer srv.Close()
		srv.SetDelegatedScopes(srv.ServiceAccountClientID())
		srv.GrantTokenCreator(caller, srv.ServiceAccountEmail())
		c := newClient(t, srv.URL,
			workspace.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.CallerToken(caller)})),
			workspace.WithServiceAccount(srv.ServiceAccountEmail()))
		tokenRefusal(t, c, srv.AdminEmail(), `"unauthorized_client"`,
			"the scopes "+scopeGmailReadonly+" are not authorized for the client id of service account "+srv.ServiceAccountEmail())
	})
	t.Run("unknown subject", func(t *testing.T) {
		srv := workspacetest.NewServer()
		defer srv.Close()
		tokenRefusal(t, keyClient(t, srv), "ghost@example.com", `"invalid_grant"`, "Invalid email or User ID",
			`subject "ghost@example.com" is not a user of the domain, or is suspended`)
	})
	t.Run("suspended subject", func(t *testing.T) {
		srv := workspacetest.NewServer()
		defer srv.Close()
		srv.AddUser("gone@example.com")
		srv.SuspendUser("gone@example.com")
		tokenRefusal(t, keyClient(t, srv), "gone@example.com", `subject "gone@example.com" is not a user of the domain, or is suspended`)
	})
	t.Run("clock skew", func(t *testing.T) {
		srv := workspacetest.NewServer(workspacetest.WithClock(func() time.Time { return time.Now().Add(-20 * time.Minute) }))
		defer srv.Close()
		tokenRefusal(t, keyClient(t, srv), "", `"invalid_grant"`, "iat and exp", "clock skew", "NTP")
	})
	t.Run("key deleted", func(t *testing.T) {
		srv := workspacetest.NewServer()
		defer srv.Close()
		srv.DeleteServiceAccountKey()
		tokenRefusal(t, keyClient(t, srv), "", "Invalid JWT Signature", "was deleted or rotated", srv.ServiceAccountEmail())
	})
	t.Run("no token creator role", func(t *testing.T) {
		srv := workspacetest.NewServer()
		defer srv.Close()
		c := newClient(t, srv.URL,
			workspace.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.CallerToken(caller)})),
			workspace.WithServiceAccount(srv.ServiceAccountEmail()), workspace.WithSubject(srv.AdminEmail()))
		tokenRefusal(t, c, "", "403", "iam.serviceAccounts.signJwt",
			"the caller lacks roles/iam.serviceAccountTokenCreator on the service account "+srv.ServiceAccountEmail(),
			"iamcredentials.googleapis.com")
	})
}

// A VM's identity (the metadata server, found by Application Default
// Credentials) is the caller of keyless delegation.
func TestKeylessWithMetadataServerIdentity(t *testing.T) {
	srv := workspacetest.NewServer()
	defer srv.Close()
	const vm = "vm-runner@workspacetest-project.iam.gserviceaccount.com"
	srv.GrantTokenCreator("serviceAccount:"+vm, srv.ServiceAccountEmail())
	md := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" || !strings.HasSuffix(r.URL.Path, "/instance/service-accounts/default/token") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, srv.CallerToken(vm))
	}))
	defer md.Close()
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(md.URL, "http://"))

	c := newClient(t, srv.URL, workspace.WithServiceAccount(srv.ServiceAccountEmail()), workspace.WithSubject(srv.AdminEmail()))
	if got, err := profileAddress(t, c, ""); err != nil || got != srv.AdminEmail() {
		t.Fatalf("got %q, %v", got, err)
	}
	if n := signJwts(srv); n != 1 {
		t.Errorf("signJwt calls %d, want 1", n)
	}
}

// A signJwt or token endpoint failure (5xx) is transient, as for a key
// file: the call is retried and goes through.
func TestKeylessTransientFailuresRetried(t *testing.T) {
	for _, api := range []string{"iamcredentials", "oauth2"} {
		t.Run(api, func(t *testing.T) {
			srv := workspacetest.NewServer()
			defer srv.Close()
			srv.GrantTokenCreator(caller, srv.ServiceAccountEmail())
			srv.InjectFault(api, workspacetest.FaultHTTP503, 1)
			c := newClient(t, srv.URL,
				workspace.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.CallerToken(caller)})),
				workspace.WithServiceAccount(srv.ServiceAccountEmail()), workspace.WithSubject(srv.AdminEmail()))
			if got, err := profileAddress(t, c, ""); err != nil || got != srv.AdminEmail() {
				t.Fatalf("got %q, %v", got, err)
			}
			if n := srv.Stats()[api].Faults[workspacetest.FaultHTTP503]; n != 1 {
				t.Errorf("%d faults served, want 1", n)
			}
		})
	}
}
