package datatransfer_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/workspacetest"
)

// delegatedEnv is a fake whose service account is delegated exactly
// scopes, and a Client acting as its administrator.
func delegatedEnv(t *testing.T, scopes ...string) (*workspacetest.Server, *datatransfer.Client) {
	t.Helper()
	srv := workspacetest.NewServer()
	t.Cleanup(srv.Close)
	srv.SetDelegatedScopes(srv.ServiceAccountClientID(), scopes...)
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()),
		workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	return srv, datatransfer.New(core)
}

const scopeMsg = "From: a@example.com\r\nTo: g@example.com\r\nDate: Mon, 2 Jan 2006 15:04:05 +0000\r\nSubject: s\r\n\r\nbody\r\n"

// TestDocumentedScopesSuffice: with exactly the scopes the package doc
// lists delegated, the main calls work.
func TestDocumentedScopesSuffice(t *testing.T) {
	srv, dt := delegatedEnv(t, auth.ScopeGroupsMigration, auth.ScopeDataTransfer, auth.ScopeDirectoryUserReadOnly)
	ctx := t.Context()
	srv.AddGroup("g@example.com")
	srv.AddUser("old@example.com")
	srv.AddUser("new@example.com")
	if err := dt.Archive.Insert(ctx, "g@example.com", []byte(scopeMsg)); err != nil {
		t.Fatal(err)
	}
	if _, err := dt.Applications.List(ctx, nil); err != nil {
		t.Fatal(err)
	}
	tr, err := dt.Transfers.Insert(ctx, &datatransfer.TransferRequest{From: "old@example.com", To: "new@example.com",
		Drive: &datatransfer.DriveTransfer{PrivacyLevels: []datatransfer.PrivacyLevel{datatransfer.PrivacyPrivate}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dt.Transfers.Get(ctx, tr.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := dt.Transfers.List(ctx, nil); err != nil {
		t.Fatal(err)
	}
}

// TestEachServiceNeedsOnlyItsScope: each service works with its own scope
// alone, so an administrator who uses one service delegates only that.
func TestEachServiceNeedsOnlyItsScope(t *testing.T) {
	t.Run("archive", func(t *testing.T) {
		srv, dt := delegatedEnv(t, auth.ScopeGroupsMigration)
		srv.AddGroup("g@example.com")
		if err := dt.Archive.Insert(t.Context(), "g@example.com", []byte(scopeMsg)); err != nil {
			t.Fatal(err)
		}
		// The transfer service's scope is missing: its calls fail, at the
		// token request.
		if _, err := dt.Transfers.List(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "unauthorized_client") {
			t.Errorf("transfers without their scope: %v", err)
		}
	})
	t.Run("transfers by id", func(t *testing.T) {
		srv, dt := delegatedEnv(t, auth.ScopeDataTransfer)
		from, to := srv.AddUser("old@example.com"), srv.AddUser("new@example.com")
		if _, err := dt.Transfers.Insert(t.Context(), &datatransfer.TransferRequest{From: from, To: to,
			Calendar: &datatransfer.CalendarTransfer{}}); err != nil {
			t.Fatal(err)
		}
		if _, err := dt.Applications.List(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("read-only", func(t *testing.T) {
		_, dt := delegatedEnv(t, auth.ScopeDataTransferReadOnly)
		dt.ReadOnlyScopes = true
		if _, err := dt.Applications.List(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := dt.Transfers.List(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		_, err := dt.Transfers.Insert(t.Context(), &datatransfer.TransferRequest{From: "1", To: "2", Calendar: &datatransfer.CalendarTransfer{}})
		if err == nil || !errors.Is(err, workspace.ErrUnauthenticated) && !strings.Contains(err.Error(), "unauthorized_client") {
			t.Errorf("insert with only the read-only scope: %v", err)
		}
	})
	t.Run("users", func(t *testing.T) {
		srv, dt := delegatedEnv(t, auth.ScopeDirectoryUserReadOnly)
		id := srv.AddUser("u@example.com")
		got, err := dt.Users.ID(t.Context(), "u@example.com")
		if err != nil || got != id {
			t.Fatalf("Users.ID = %q, %v", got, err)
		}
	})
}
