package audit_test

import (
	"testing"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/audit"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/workspacetest"
)

// TestDocumentedScopeSuffices: with only the Email Audit scope delegated,
// monitors can be created, listed and deleted.
func TestDocumentedScopeSuffices(t *testing.T) {
	srv := workspacetest.NewServer()
	defer srv.Close()
	srv.SetDelegatedScopes(srv.ServiceAccountClientID(), auth.ScopeEmailAudit)
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()),
		workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	srv.AddUser("src@" + srv.Domain())
	srv.AddUser("dst@" + srv.Domain())
	a := audit.New(core, srv.Domain())
	ctx := t.Context()
	if _, err := a.Monitors.Create(ctx, "src", &audit.Monitor{Destination: "dst", End: time.Now().Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ms, err := a.Monitors.List(ctx, "src")
	if err != nil || len(ms) != 1 {
		t.Fatalf("List = %d monitors, %v", len(ms), err)
	}
	if err := a.Monitors.Delete(ctx, "src", "dst"); err != nil {
		t.Fatal(err)
	}
}
