package settings_test

import (
	"strings"
	"testing"

	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/settings"
)

// delegated starts a fake whose service account is delegated exactly
// scopes.
func delegated(t *testing.T, scopes ...string) *env {
	t.Helper()
	e := newEnv(t)
	e.srv.SetDelegatedScopes(e.srv.ServiceAccountClientID(), scopes...)
	return e
}

// TestDocumentedScopesSuffice: with exactly the scopes the package doc
// lists, every service's main calls work; with the read-only ones and
// ReadOnlyScopes, the reads do.
func TestDocumentedScopesSuffice(t *testing.T) {
	ctx := t.Context()
	all := []string{auth.ScopeAdminSettings, auth.ScopeInboundSSO, auth.ScopeDirectoryCustomer, auth.ScopeDirectoryDomain}
	e := delegated(t, all...)
	if _, err := e.s.SSO.Get(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Gateway.Get(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := e.s.Profiles.Create(ctx, &settings.Profile{DisplayName: "Okta", IdP: idp(1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Profiles.List(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Profiles.Get(ctx, p.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Assignments.List(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Customer.Get(ctx); err != nil {
		t.Fatal(err)
	}
	lang := "fr"
	if _, err := e.s.Customer.Update(ctx, &settings.CustomerUpdate{Language: &lang}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Domains.List(ctx); err != nil {
		t.Fatal(err)
	}

	ro := delegated(t, auth.ScopeAdminSettings, auth.ScopeInboundSSOReadOnly, auth.ScopeDirectoryCustomerReadOnly, auth.ScopeDirectoryDomainReadOnly)
	ro.s.ReadOnlyScopes = true
	if _, err := ro.s.SSO.Get(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ro.s.Profiles.List(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ro.s.Assignments.List(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ro.s.Customer.Get(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ro.s.Domains.List(ctx); err != nil {
		t.Fatal(err)
	}
	// A write still asks for the write scope, which is not delegated.
	if _, err := ro.s.Profiles.Create(ctx, &settings.Profile{IdP: idp(2)}); err == nil || !strings.Contains(err.Error(), "unauthorized_client") {
		t.Errorf("create with read-only scopes: %v", err)
	}
}

// TestEachServiceNeedsOnlyItsScope: Cloud Identity lists need no Directory
// scope; the legacy feeds need only theirs.
func TestEachServiceNeedsOnlyItsScope(t *testing.T) {
	ctx := t.Context()
	ci := delegated(t, auth.ScopeInboundSSO)
	if _, err := ci.s.Profiles.List(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ci.s.Assignments.List(ctx, nil); err != nil {
		t.Fatal(err)
	}
	legacy := delegated(t, auth.ScopeAdminSettings)
	if _, err := legacy.s.Gateway.Get(ctx); err != nil {
		t.Fatal(err)
	}
	dom := delegated(t, auth.ScopeDirectoryDomain)
	if _, err := dom.s.Domains.List(ctx); err != nil {
		t.Fatal(err)
	}
}
