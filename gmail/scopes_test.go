package gmail_test

import (
	"strings"
	"testing"

	gmailapi "google.golang.org/api/gmail/v1"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/gmail"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/workspacetest"
)

// delegatedGmail starts a fake whose service account is delegated exactly
// scopes, with a mailbox, and a Client with no scopes of its own.
func delegatedGmail(t *testing.T, scopes ...string) (*workspacetest.Server, *gmail.Client, string) {
	t.Helper()
	srv := workspacetest.NewServer(workspacetest.WithProcessingDelay(0))
	t.Cleanup(srv.Close)
	srv.SetDelegatedScopes(srv.ServiceAccountClientID(), scopes...)
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()),
		workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	user := "alice@" + srv.Domain()
	srv.AddUser(user)
	return srv, gmail.New(core), user
}

const scopeRaw = "From: bob@example.com\r\nTo: alice@example.com\r\nDate: Mon, 2 Jan 2006 15:04:05 +0000\r\nSubject: hi\r\nMessage-ID: <1@example.com>\r\n\r\nbody\r\n"

// TestDocumentedScopesSuffice: with exactly the scopes the package doc
// lists (Messages.Delete's full access aside), the main calls work.
func TestDocumentedScopesSuffice(t *testing.T) {
	ctx := t.Context()
	_, g, user := delegatedGmail(t, auth.ScopeGmailModify, auth.ScopeGmailInsert, auth.ScopeGmailSend, auth.ScopeGmailLabels)
	m, err := g.Messages.Insert(ctx, user, []byte(scopeRaw), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Messages.Import(ctx, user, []byte(strings.Replace(scopeRaw, "<1@", "<2@", 1)), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Messages.List(ctx, user, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Messages.Get(ctx, user, m.Id, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Messages.GetMany(ctx, user, []string{m.Id}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Messages.Modify(ctx, user, m.Id, []string{"STARRED"}, nil); err != nil {
		t.Fatal(err)
	}
	l, err := g.Labels.Create(ctx, user, &gmailapi.Label{Name: "Scopes"})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Labels.Delete(ctx, user, l.Id); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Messages.Send(ctx, user, []byte(strings.Replace(scopeRaw, "<1@", "<3@", 1)), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Profile(ctx, user); err != nil {
		t.Fatal(err)
	}
	// Delete needs full mail access, which is not delegated: the token
	// request is refused.
	if err := g.Messages.Delete(ctx, user, m.Id); err == nil || !strings.Contains(err.Error(), "unauthorized_client") {
		t.Errorf("delete without https://mail.google.com/: %v", err)
	}
}

// TestEachGroupNeedsOnlyItsScope: an import-only or read-only tool needs
// only its scope.
func TestEachGroupNeedsOnlyItsScope(t *testing.T) {
	ctx := t.Context()
	srv, g, user := delegatedGmail(t, auth.ScopeGmailInsert)
	if _, err := g.Messages.Insert(ctx, user, []byte(scopeRaw), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Messages.List(ctx, user, nil); err == nil {
		t.Error("list with only gmail.insert succeeded")
	}

	srv.SetDelegatedScopes(srv.ServiceAccountClientID(), auth.ScopeGmailReadOnly)
	g.ReadOnlyScopes = true
	res, err := g.Messages.List(ctx, user, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != 1 {
		t.Fatalf("listed %d messages", len(res.Messages))
	}
	if _, err := g.Messages.GetMany(ctx, user, []string{res.Messages[0].Id}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Labels.List(ctx, user, nil); err != nil {
		t.Fatal(err)
	}
}

// TestServiceWithScopes: a generated client over a token with the scopes
// asked for, here full access for a permanent delete.
func TestServiceWithScopes(t *testing.T) {
	ctx := t.Context()
	_, g, user := delegatedGmail(t, auth.ScopeGmailInsert, auth.ScopeGmailFull)
	m, err := g.Messages.Insert(ctx, user, []byte(scopeRaw), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := g.ServiceWithScopes(ctx, user, auth.ScopeGmailFull)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Users.Messages.Delete(user, m.Id).Context(gmail.CallContext(ctx, user, "users.messages.delete")).Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := g.ServiceWithScopes(ctx, user); err == nil {
		t.Error("no scopes accepted")
	}
}
