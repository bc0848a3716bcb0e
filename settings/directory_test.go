package settings_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/settings"
	"github.com/gwsadmin/workspace/workspacetest"
)

func TestCustomerGet(t *testing.T) {
	e := newEnv(t)
	e.srv.SetCustomer(workspacetest.CustomerInfo{
		AlternateEmail: "boss@elsewhere.org", Language: "it", PhoneNumber: "+390612345678",
		PostalAddress: &workspacetest.PostalAddress{OrganizationName: "Esempio SpA", CountryCode: "IT", Locality: "Roma"},
	})
	c, err := e.s.Customer.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c.Created.IsZero() {
		t.Error("creation time not parsed")
	}
	c.Created = c.Created.UTC().Truncate(0)
	want := &settings.Customer{
		ID: e.srv.CustomerID(), PrimaryDomain: e.srv.Domain(), Language: "it", OrganizationName: "Esempio SpA",
		CountryCode: "IT", AlternateEmail: "boss@elsewhere.org", PhoneNumber: "+390612345678", Created: c.Created,
		PostalAddress: &settings.PostalAddress{OrganizationName: "Esempio SpA", CountryCode: "IT", Locality: "Roma"}, ETag: c.ETag,
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("customer (-want +got):\n%s", diff)
	}
	// Wire: GET /admin/directory/v1/customers/my_customer through the generated client.
	got := e.rec.requests("/admin/directory/v1/customers/")
	if len(got) != 1 || got[0].Method != "GET" || got[0].Path != "/admin/directory/v1/customers/my_customer" {
		t.Errorf("requests: %+v", got)
	}
}

func TestCustomerUpdate(t *testing.T) {
	e := newEnv(t)
	e.srv.SetCustomer(workspacetest.CustomerInfo{Language: "en",
		PostalAddress: &workspacetest.PostalAddress{OrganizationName: "Old", CountryCode: "US", Locality: "Boston"}})
	c, err := e.s.Customer.Update(t.Context(), &settings.CustomerUpdate{
		// Sent as written: Google's language codes list Hebrew as "iw".
		Language: ptr("iw"), OrganizationName: ptr("New Name"), AlternateEmail: ptr("second@other.net"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Language != "iw" || c.OrganizationName != "New Name" || c.CountryCode != "US" || c.AlternateEmail != "second@other.net" {
		t.Errorf("after update: %+v", c)
	}
	info := e.srv.Customer()
	if info.PostalAddress.Locality != "Boston" {
		t.Errorf("the rest of the postal address was lost: %+v", info.PostalAddress)
	}
	// The PATCH carries only the changed fields, the address merged whole.
	patches := e.rec.requests("/admin/directory/v1/customers/my_customer")
	last := patches[len(patches)-1]
	if last.Method != "PATCH" {
		t.Fatalf("last request %s", last.Method)
	}
	var body map[string]any
	if err := json.Unmarshal(last.Body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"language": "iw", "alternateEmail": "second@other.net",
		"postalAddress": map[string]any{"organizationName": "New Name", "countryCode": "US", "locality": "Boston"}}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("PATCH body (-want +got):\n%s", diff)
	}
}

func TestCustomerUpdateRefusedLocally(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		u    *settings.CustomerUpdate
	}{
		{"nil", nil},
		{"bad language", &settings.CustomerUpdate{Language: ptr("english please")}},
		{"und language", &settings.CustomerUpdate{Language: ptr("und")}},
		{"one-letter language", &settings.CustomerUpdate{Language: ptr("e")}},
		{"numeric language", &settings.CustomerUpdate{Language: ptr("123")}},
		{"empty language", &settings.CustomerUpdate{Language: ptr(" ")}},
		{"bad country", &settings.CustomerUpdate{CountryCode: ptr("Italy")}},
		{"unknown country", &settings.CustomerUpdate{CountryCode: ptr("QQ")}},
		{"alternate in own domain", &settings.CustomerUpdate{AlternateEmail: ptr("x@" + e.srv.Domain())}},
		{"alternate not an address", &settings.CustomerUpdate{AlternateEmail: ptr("nobody")}},
		{"phone", &settings.CustomerUpdate{PhoneNumber: ptr("555-1234")}},
		{"empty org", &settings.CustomerUpdate{OrganizationName: ptr(" ")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.rec.count()
			_, err := e.s.Customer.Update(t.Context(), tc.u)
			if !errors.Is(err, workspace.ErrInvalidInput) {
				t.Fatalf("err = %v, want ErrInvalidInput", err)
			}
			var ie *workspace.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err %T is not a local InputError", err)
			}
			if n := e.rec.count() - before; n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func TestCustomerUpdateOrgNameNeedsCountry(t *testing.T) {
	e := newEnv(t) // the fake customer has no postal address yet
	_, err := e.s.Customer.Update(t.Context(), &settings.CustomerUpdate{OrganizationName: ptr("Acme")})
	if !errors.Is(err, workspace.ErrInvalidInput) {
		t.Fatalf("err = %v", err)
	}
	c, err := e.s.Customer.Update(t.Context(), &settings.CustomerUpdate{OrganizationName: ptr("Acme"), CountryCode: ptr("de")})
	if err != nil {
		t.Fatal(err)
	}
	if c.OrganizationName != "Acme" || c.CountryCode != "DE" {
		t.Errorf("%+v", c)
	}
}

func TestDomains(t *testing.T) {
	e := newEnv(t)
	e.srv.AddDomain("second.example.net", false)
	e.srv.AddDomainAlias("alias.example.com", e.srv.Domain())
	ds, err := e.s.Domains.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 {
		t.Fatalf("got %d domains", len(ds))
	}
	p, sec := ds[0], ds[1]
	if !p.Primary || !p.Verified || p.Name != e.srv.Domain() || p.Created.IsZero() || len(p.Aliases) != 1 ||
		p.Aliases[0].Name != "alias.example.com" || p.Aliases[0].Parent != e.srv.Domain() {
		t.Errorf("primary: %+v", p)
	}
	if sec.Primary || sec.Verified || sec.Name != "second.example.net" {
		t.Errorf("secondary: %+v", sec)
	}
	got, err := e.s.Domains.Get(t.Context(), "SECOND.example.net.")
	if err != nil || got.Name != "second.example.net" {
		t.Fatalf("Get: %+v, %v", got, err)
	}
	if _, err := e.s.Domains.Get(t.Context(), "nope.example.org"); !errors.Is(err, workspace.ErrNotFound) {
		t.Errorf("Get unknown: %v, want ErrNotFound", err)
	}
	ins, err := e.s.Domains.Insert(t.Context(), "third.example.org")
	if err != nil || ins.Verified || ins.Name != "third.example.org" {
		t.Fatalf("Insert: %+v, %v", ins, err)
	}
	if err := e.s.Domains.Delete(t.Context(), "third.example.org"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{e.srv.Domain(), "second.example.net"}, e.srv.Domains()); diff != "" {
		t.Error(diff)
	}
	before := e.rec.count()
	if err := e.s.Domains.Delete(t.Context(), e.srv.Domain()); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("deleting the primary: %v", err)
	}
	if _, err := e.s.Domains.Get(t.Context(), "not a domain"); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("bad name: %v", err)
	}
	if e.rec.count() != before {
		t.Error("refused input was sent")
	}
}
