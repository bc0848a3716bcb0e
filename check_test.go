package workspace_test

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/workspacetest"
)

func TestCheckDelegation(t *testing.T) {
	srv := workspacetest.NewServer()
	defer srv.Close()
	id := srv.ServiceAccountClientID()
	// Groups Migration is delegated; Data Transfer is not.
	srv.SetDelegatedScopes(id, auth.ScopeGroupsMigration)
	c := fakeCore(t, srv, srv.AdminEmail())

	r, err := c.CheckDelegation(t.Context(), "", workspace.APIGroupsMigration, workspace.APIDataTransfer)
	if err != nil {
		t.Fatal(err)
	}
	if r.ClientID != id || r.ServiceAccount != srv.ServiceAccountEmail() || r.Subject != srv.AdminEmail() {
		t.Errorf("identity: %+v", r)
	}
	if len(r.Scopes) != 2 || !r.Scopes[0].Granted || r.Scopes[0].Err != nil ||
		r.Scopes[1].Granted || r.Scopes[1].Err == nil {
		t.Fatalf("scopes: %+v", r.Scopes)
	}
	if r.OK() {
		t.Error("OK with a missing scope")
	}
	if got := r.Missing(); len(got) != 1 || got[0] != auth.ScopeDataTransfer {
		t.Errorf("Missing = %v", got)
	}
	if !strings.Contains(r.Scopes[1].Err.Error(), "unauthorized_client") {
		t.Errorf("refusal lacks Google's error: %v", r.Scopes[1].Err)
	}
	want := auth.ScopeGroupsMigration + "," + auth.ScopeDataTransfer
	if r.ScopeList() != want {
		t.Errorf("ScopeList = %q, want %q", r.ScopeList(), want)
	}
	for _, w := range []string{id, want, "Domain-wide delegation", "missing: " + auth.ScopeDataTransfer} {
		if !strings.Contains(r.Remedy(), w) {
			t.Errorf("Remedy lacks %q: %s", w, r.Remedy())
		}
	}

	// Once the remedy is applied, everything passes.
	srv.SetDelegatedScopes(id, strings.Split(r.ScopeList(), ",")...)
	r, err = c.CheckDelegation(t.Context(), "", workspace.APIGroupsMigration, workspace.APIDataTransfer)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Remedy() != "" {
		t.Errorf("after delegation: %+v, remedy %q", r.Scopes, r.Remedy())
	}

	// Every API, no delegation at all: all refused.
	srv.SetDelegatedScopes(id)
	r, err = c.CheckDelegation(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Missing()) != len(r.Scopes) || len(r.Scopes) < len(workspace.APIs()) {
		t.Errorf("nothing delegated: %d missing of %d", len(r.Missing()), len(r.Scopes))
	}
}

func TestCheckDelegationRefusesWhatCannotDelegate(t *testing.T) {
	srv := workspacetest.NewServer()
	defer srv.Close()
	c, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})),
		workspace.WithSubject(srv.AdminEmail()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CheckDelegation(t.Context(), ""); !errors.Is(err, workspace.ErrNoDelegation) {
		t.Errorf("token source: %v", err)
	}
	sa, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.CheckDelegation(t.Context(), ""); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("no subject: %v", err)
	}
	if _, err := sa.CheckDelegation(t.Context(), srv.AdminEmail(), "nope"); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("unknown API: %v", err)
	}
}

// TestCheckDelegationKeyless: the check works through signJwt too; the
// client id is not known locally, so the remedy names the service account.
func TestCheckDelegationKeyless(t *testing.T) {
	srv := workspacetest.NewServer()
	defer srv.Close()
	caller := "ops@" + srv.Domain()
	srv.GrantTokenCreator("user:"+caller, srv.ServiceAccountEmail())
	srv.SetDelegatedScopes(srv.ServiceAccountClientID(), auth.ScopeGmailInsert)
	c, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.CallerToken(caller)})),
		workspace.WithServiceAccount(srv.ServiceAccountEmail()), workspace.WithSubject(srv.AdminEmail()))
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.CheckScopes(t.Context(), "", auth.ScopeGmailInsert, auth.ScopeGmailSend)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Scopes[0].Granted || r.Scopes[1].Granted {
		t.Fatalf("scopes: %+v", r.Scopes)
	}
	if r.ServiceAccount != srv.ServiceAccountEmail() || !strings.Contains(r.Remedy(), srv.ServiceAccountEmail()) {
		t.Errorf("report %+v, remedy %q", r, r.Remedy())
	}
}

// TestCheckDelegationUnreachable: a token endpoint that does not answer
// refuses nothing: the scopes are unchecked, not missing, and there is no
// Admin console remedy.
func TestCheckDelegationUnreachable(t *testing.T) {
	srv := workspacetest.NewServer()
	c := fakeCore(t, srv, srv.AdminEmail())
	srv.Close()
	r, err := c.CheckDelegation(t.Context(), "", workspace.APIGroupsMigration, workspace.APIDataTransfer)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() {
		t.Error("OK with nothing checked")
	}
	if got := r.Missing(); len(got) != 0 {
		t.Errorf("Missing = %v, want none (nothing was refused)", got)
	}
	if got, want := r.Unchecked(), []string{auth.ScopeGroupsMigration, auth.ScopeDataTransfer}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Unchecked = %v, want %v", got, want)
	}
	if r.Remedy() != "" {
		t.Errorf("Remedy for an unreachable endpoint: %s", r.Remedy())
	}
	for _, s := range r.Scopes {
		if s.Err == nil {
			t.Errorf("%s: no error kept", s.Scope)
		}
	}
}
