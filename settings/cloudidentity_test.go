package settings_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/itertest"
	"github.com/gwsadmin/workspace/settings"
	"github.com/gwsadmin/workspace/workspacetest"
)

func idp(n int) settings.IdPConfig {
	return settings.IdPConfig{EntityID: fmt.Sprintf("https://idp%d.example.org/", n), SignOnURI: fmt.Sprintf("https://idp%d.example.org/sso", n),
		LogoutURI: "https://idp.example.org/out"}
}

func TestProfilesLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	p, err := e.s.Profiles.Create(ctx, &settings.Profile{DisplayName: "Okta", IdP: idp(1)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Name, "inboundSamlSsoProfiles/") || p.Customer != "customers/"+e.srv.CustomerID() ||
		p.SP.EntityID == "" || p.SP.AssertionConsumerServiceURI == "" || p.IdP != idp(1) || p.DisplayName != "Okta" {
		t.Errorf("created: %+v", p)
	}
	// Wire: the generated client's POST carries the real customer id.
	var body map[string]any
	posts := e.rec.requests("/v1/inboundSamlSsoProfiles")
	if err := json.Unmarshal(posts[0].Body, &body); err != nil || posts[0].Method != "POST" {
		t.Fatalf("%+v %v", posts[0], err)
	}
	if body["customer"] != "customers/"+e.srv.CustomerID() || body["displayName"] != "Okta" {
		t.Errorf("create body: %v", body)
	}

	got, err := e.s.Profiles.Get(ctx, strings.TrimPrefix(p.Name, "inboundSamlSsoProfiles/")) // bare id
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("get (-created +got):\n%s", diff)
	}

	up, err := e.s.Profiles.Update(ctx, p.Name, &settings.ProfileUpdate{DisplayName: ptr("Okta prod"), LogoutURI: ptr("")})
	if err != nil {
		t.Fatal(err)
	}
	if up.DisplayName != "Okta prod" || up.IdP.LogoutURI != "" || up.IdP.SignOnURI != idp(1).SignOnURI {
		t.Errorf("updated: %+v", up)
	}
	patch := e.rec.requests(p.Name)
	last := patch[len(patch)-1]
	if last.Method != "PATCH" || !strings.Contains(last.Query, "updateMask=displayName%2CidpConfig.logoutRedirectUri") {
		t.Errorf("patch: %s ?%s", last.Method, last.Query)
	}

	if err := e.s.Profiles.Delete(ctx, p.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Profiles.Get(ctx, p.Name); !errors.Is(err, workspace.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if err := e.s.Profiles.Delete(ctx, p.Name); !errors.Is(err, workspace.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func TestProfilesListAll(t *testing.T) {
	e := newEnv(t)
	var want []string
	for i := range 12 {
		p, err := e.s.Profiles.Create(t.Context(), &settings.Profile{DisplayName: fmt.Sprint("p", i), IdP: idp(i)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, p.Name)
	}
	page, err := e.s.Profiles.List(t.Context(), &workspace.ListOptions{PageSize: 5})
	if err != nil || len(page.Items) != 5 || page.NextPageToken == "" {
		t.Fatalf("page: %d %q %v", len(page.Items), page.NextPageToken, err)
	}
	page2, err := e.s.Profiles.List(t.Context(), &workspace.ListOptions{PageSize: 5, PageToken: page.NextPageToken})
	if err != nil || len(page2.Items) != 5 || page2.Items[0].Name != want[5] {
		t.Fatalf("second page: %+v %v", page2, err)
	}
	// All starts at the first page whatever the token.
	var got []string
	for p, err := range e.s.Profiles.All(t.Context(), &workspace.ListOptions{PageSize: 5, PageToken: page.NextPageToken}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Name)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("All (-want +got):\n%s", diff)
	}
	lists := e.rec.requests("/v1/inboundSamlSsoProfiles")
	if q := lists[len(lists)-1].Query; !strings.Contains(q, "filter=customer%3D%3D%22customers%2Fmy_customer%22") {
		t.Errorf("list filter: %s", q)
	}
	// A negative page size is refused before sending.
	before := e.rec.count()
	for _, n := range []int64{-1} {
		if _, err := e.s.Profiles.List(t.Context(), &workspace.ListOptions{PageSize: n}); !errors.Is(err, workspace.ErrInvalidInput) {
			t.Errorf("profiles page size %d: %v", n, err)
		}
		if _, err := e.s.Assignments.List(t.Context(), &workspace.ListOptions{PageSize: n}); !errors.Is(err, workspace.ErrInvalidInput) {
			t.Errorf("assignments page size %d: %v", n, err)
		}
		// All yields exactly one error, an *InputError, and nothing else.
		var ie *workspace.InputError
		if err := itertest.OneError(e.s.Profiles.All(t.Context(), &workspace.ListOptions{PageSize: n})); !errors.As(err, &ie) || ie.Field != "PageSize" {
			t.Errorf("Profiles.All page size %d: %v", n, err)
		}
		if err := itertest.OneError(e.s.Assignments.All(t.Context(), &workspace.ListOptions{PageSize: n})); !errors.As(err, &ie) || ie.Field != "PageSize" {
			t.Errorf("Assignments.All page size %d: %v", n, err)
		}
	}
	if _, err := e.s.Profiles.ListCredentials(t.Context(), want[0], &workspace.ListOptions{PageSize: -1}); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("credentials page size -1: %v", err)
	}
	if n := e.rec.count(); n != before {
		t.Errorf("%d refused lists were sent", n-before)
	}
	// Any other size is sent: discovery says the server silently reads a
	// size above 100 as 100.
	for _, n := range []int64{1, 100, 101, 500} {
		if _, err := e.s.Profiles.List(t.Context(), &workspace.ListOptions{PageSize: n}); err != nil {
			t.Errorf("profiles page size %d: %v", n, err)
		}
		if _, err := e.s.Assignments.List(t.Context(), &workspace.ListOptions{PageSize: n}); err != nil {
			t.Errorf("assignments page size %d: %v", n, err)
		}
	}
	if n := e.rec.count(); n != before+8 {
		t.Errorf("%d of the 8 accepted lists were sent", n-before)
	}
	// idpCredentials.list documents no maximum.
	if _, err := e.s.Profiles.ListCredentials(t.Context(), want[0], &workspace.ListOptions{PageSize: 500}); err != nil {
		t.Errorf("credentials page size 500: %v", err)
	}
}

func TestProfilesRefusedLocally(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"nil", func() error { _, err := e.s.Profiles.Create(t.Context(), nil); return err }},
		{"no entity id", func() error {
			_, err := e.s.Profiles.Create(t.Context(), &settings.Profile{IdP: settings.IdPConfig{SignOnURI: "https://x.example/sso"}})
			return err
		}},
		{"http sign-on", func() error {
			_, err := e.s.Profiles.Create(t.Context(), &settings.Profile{IdP: settings.IdPConfig{EntityID: "x", SignOnURI: "http://x.example/sso"}})
			return err
		}},
		{"http logout", func() error {
			c := idp(1)
			c.LogoutURI = "http://x.example/out"
			_, err := e.s.Profiles.Create(t.Context(), &settings.Profile{IdP: c})
			return err
		}},
		{"update http", func() error {
			_, err := e.s.Profiles.Update(t.Context(), "inboundSamlSsoProfiles/x", &settings.ProfileUpdate{ChangePasswordURI: ptr("ftp://x/")})
			return err
		}},
		{"update nothing", func() error {
			_, err := e.s.Profiles.Update(t.Context(), "inboundSamlSsoProfiles/x", &settings.ProfileUpdate{})
			return err
		}},
		{"bad name", func() error { _, err := e.s.Profiles.Get(t.Context(), "a/b"); return err }},
		{"bad credential name", func() error { return e.s.Profiles.DeleteCredential(t.Context(), "inboundSamlSsoProfiles/x") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.rec.count()
			if err := tc.call(); !errors.Is(err, workspace.ErrInvalidInput) {
				t.Fatalf("err = %v", err)
			}
			if e.rec.count() != before {
				t.Error("a request was sent")
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	p, err := e.s.Profiles.Create(ctx, &settings.Profile{IdP: idp(1)})
	if err != nil {
		t.Fatal(err)
	}
	rk, ek := keys(t)
	pemData, der := newCert(t, rk)

	c1, err := e.s.Profiles.AddCredential(ctx, p.Name, pemData)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := e.s.Profiles.AddCredential(ctx, p.Name, der) // DER is sent as PEM
	if err != nil {
		t.Fatal(err)
	}
	if c1.Key != (settings.KeyInfo{Algorithm: "RSA", Bits: 2048}) || c1.Updated.IsZero() ||
		!strings.HasPrefix(c1.Name, p.Name+"/idpCredentials/") {
		t.Errorf("credential: %+v", c1)
	}
	adds := e.rec.requests(":add")
	var body struct{ PemData string }
	if err := json.Unmarshal(adds[1].Body, &body); err != nil || body.PemData != string(pemData) {
		t.Errorf("DER upload was not sent as the same PEM: %v\n%s", err, adds[1].Body)
	}

	// A third is refused by the API (two per profile).
	if _, err := e.s.Profiles.AddCredential(ctx, p.Name, pemData); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("third credential: %v", err)
	}

	// An EC certificate never leaves the machine.
	ecPEM, _ := newCert(t, ek)
	before := e.rec.count()
	_, err = e.s.Profiles.AddCredential(ctx, p.Name, ecPEM)
	if !errors.Is(err, workspace.ErrInvalidInput) || !strings.Contains(err.Error(), "EC") {
		t.Errorf("EC key: %v", err)
	}
	if _, err := e.s.Profiles.AddCredential(ctx, p.Name, []byte("not a cert")); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("garbage: %v", err)
	}
	if e.rec.count() != before {
		t.Error("refused certificate was sent")
	}

	var names []string
	for c, err := range e.s.Profiles.AllCredentials(ctx, p.Name, &workspace.ListOptions{PageSize: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, c.Name)
	}
	if diff := cmp.Diff([]string{c1.Name, c2.Name}, names); diff != "" {
		t.Error(diff)
	}
	g, err := e.s.Profiles.GetCredential(ctx, c2.Name)
	if err != nil || g.Key.Bits != 2048 {
		t.Fatalf("get credential: %+v %v", g, err)
	}
	if err := e.s.Profiles.DeleteCredential(ctx, c1.Name); err != nil {
		t.Fatal(err)
	}
	page, err := e.s.Profiles.ListCredentials(ctx, p.Name, nil)
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("after delete: %+v %v", page, err)
	}
}

func TestCredentialAwaitingApproval(t *testing.T) {
	e := newEnv(t)
	p, err := e.s.Profiles.Create(t.Context(), &settings.Profile{IdP: idp(1)})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.SetMultiPartyApproval(true)
	rk, _ := keys(t)
	pemData, _ := newCert(t, rk)
	_, err = e.s.Profiles.AddCredential(t.Context(), p.Name, pemData)
	var ap *settings.ApprovalPendingError
	if !errors.As(err, &ap) || !errors.Is(err, settings.ErrApprovalPending) || ap.State != "awaiting-multi-party-approval" {
		t.Fatalf("err = %v", err)
	}
}

func TestAssignments(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	p, err := e.s.Profiles.Create(ctx, &settings.Profile{IdP: idp(1)})
	if err != nil {
		t.Fatal(err)
	}
	ou, err := e.s.Assignments.Create(ctx, &settings.Assignment{TargetOrgUnit: "id:03ph8a2z1", Mode: settings.SAMLSSO, SAMLProfile: p.Name})
	if err != nil {
		t.Fatal(err)
	}
	if ou.TargetOrgUnit != "orgUnits/03ph8a2z1" || ou.Mode != settings.SAMLSSO || ou.SAMLProfile != p.Name || ou.Name == "" {
		t.Errorf("org unit assignment: %+v", ou)
	}
	grp, err := e.s.Assignments.Create(ctx, &settings.Assignment{TargetGroup: "groups/01abc", Rank: 1, Mode: settings.SSOOff, NeverRedirect: true})
	if err != nil {
		t.Fatal(err)
	}
	if grp.TargetGroup != "groups/01abc" || grp.Rank != 1 || !grp.NeverRedirect {
		t.Errorf("group assignment: %+v", grp)
	}
	var names []string
	for a, err := range e.s.Assignments.All(ctx, &workspace.ListOptions{PageSize: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, a.Name)
	}
	if diff := cmp.Diff([]string{ou.Name, grp.Name}, names); diff != "" {
		t.Error(diff)
	}
	// The filter as discovery's example for this method writes it:
	// customer==customers/C0123abc, unquoted.
	lists := e.rec.requests("/v1/inboundSsoAssignments")
	for _, l := range lists {
		if l.Method != http.MethodGet || l.Path != "/v1/inboundSsoAssignments" {
			continue
		}
		if q, _ := url.ParseQuery(l.Query); q.Get("filter") != "customer==customers/my_customer" {
			t.Errorf("assignments list filter = %q, want customer==customers/my_customer", q.Get("filter"))
		}
	}
	// The profile is in use: the API refuses to delete it.
	if err := e.s.Profiles.Delete(ctx, p.Name); err == nil {
		t.Error("deleting a profile in use succeeded")
	}
	up, err := e.s.Assignments.Update(ctx, ou.Name, &settings.AssignmentUpdate{Mode: ptr(settings.DomainWideSAML)})
	if err != nil {
		t.Fatal(err)
	}
	if up.Mode != settings.DomainWideSAML || up.SAMLProfile != "" {
		t.Errorf("updated: %+v", up)
	}
	up, err = e.s.Assignments.Update(ctx, grp.Name, &settings.AssignmentUpdate{Rank: ptr(int64(3))})
	if err != nil || up.Rank != 3 || !up.NeverRedirect {
		t.Fatalf("rank update: %+v %v", up, err)
	}
	for _, n := range []string{ou.Name, grp.Name} {
		if err := e.s.Assignments.Delete(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.s.Profiles.Delete(ctx, p.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Assignments.Get(ctx, ou.Name); !errors.Is(err, workspace.ErrNotFound) {
		t.Errorf("get deleted: %v", err)
	}
}

func TestAssignmentsRefusedLocally(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		a    *settings.Assignment
	}{
		{"nil", nil},
		{"no target", &settings.Assignment{Mode: settings.SSOOff}},
		{"two targets", &settings.Assignment{TargetOrgUnit: "orgUnits/a", TargetGroup: "groups/b", Rank: 1, Mode: settings.SSOOff}},
		{"org unit rank", &settings.Assignment{TargetOrgUnit: "orgUnits/a", Rank: 2, Mode: settings.SSOOff}},
		{"group rank 0", &settings.Assignment{TargetGroup: "groups/b", Mode: settings.SSOOff}},
		{"saml without profile", &settings.Assignment{TargetOrgUnit: "orgUnits/a", Mode: settings.SAMLSSO}},
		{"profile with sso off", &settings.Assignment{TargetOrgUnit: "orgUnits/a", Mode: settings.SSOOff, SAMLProfile: "inboundSamlSsoProfiles/x"}},
		{"bad mode", &settings.Assignment{TargetOrgUnit: "orgUnits/a", Mode: "ON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.rec.count()
			if _, err := e.s.Assignments.Create(t.Context(), tc.a); !errors.Is(err, workspace.ErrInvalidInput) {
				t.Fatalf("err = %v", err)
			}
			if e.rec.count() != before {
				t.Error("a request was sent")
			}
		})
	}
}

func TestAllStopsAfterOneError(t *testing.T) {
	e := newEnv(t)
	if _, err := e.s.Profiles.Create(t.Context(), &settings.Profile{IdP: idp(1)}); err != nil {
		t.Fatal(err)
	}
	e.srv.InjectFault("cloudidentity", workspacetest.FaultHTTP500, 50) // outlasts the retries
	var items, errs int
	for p, err := range e.s.Profiles.All(t.Context(), nil) {
		if err != nil {
			errs++
			if p != nil {
				t.Error("an item came with the error")
			}
			var we *workspace.Error
			if !errors.As(err, &we) || we.StatusCode != 500 || we.Attempts < 2 {
				t.Errorf("err = %v", err)
			}
			continue
		}
		items++
	}
	if items != 0 || errs != 1 {
		t.Errorf("items %d, errors %d", items, errs)
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	errc := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			switch i % 4 {
			case 0:
				_, err = e.s.Profiles.List(t.Context(), nil)
			case 1:
				_, err = e.s.SSO.Get(t.Context())
			case 2:
				_, err = e.s.Domains.List(t.Context())
			case 3:
				_, err = e.s.Assignments.List(t.Context(), nil)
			}
			errc <- err
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Error(err)
		}
	}
	// Lists name the caller's account as customers/my_customer: no
	// customer id read (and no Directory scope) for them.
	if n := len(e.rec.requests("/admin/directory/v1/customers/")); n != 0 {
		t.Errorf("customer read %d times", n)
	}
}
