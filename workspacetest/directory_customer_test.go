package workspacetest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gwsadmin/workspace/workspacetest"
	admin "google.golang.org/api/admin/directory/v1"
)

func directoryService(t *testing.T, s *workspacetest.Server) *admin.Service {
	t.Helper()
	svc, err := admin.NewService(context.Background(), clientOptions(s)...)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestCustomerGetUpdatePatch(t *testing.T) {
	s := newServer(t)
	svc := directoryService(t, s)
	c, err := svc.Customers.Get("my_customer").Do()
	if err != nil {
		t.Fatal(err)
	}
	if c.Id != s.CustomerID() || c.CustomerDomain != "example.com" || c.Language != "en" || c.Kind != "admin#directory#customer" {
		t.Errorf("customer %+v", c)
	}
	if _, err := time.Parse(time.RFC3339, c.CustomerCreationTime); err != nil {
		t.Errorf("customerCreationTime %q: %v", c.CustomerCreationTime, err)
	}
	if _, err := svc.Customers.Get(s.CustomerID()).Do(); err != nil {
		t.Errorf("get by id: %v", err)
	}

	up, err := svc.Customers.Update("my_customer", &admin.Customer{
		AlternateEmail: "boss@gmail.com", Language: "fr", PhoneNumber: "+33123456789",
		PostalAddress: &admin.CustomerPostalAddress{OrganizationName: "Exemple SA", CountryCode: "FR", Locality: "Paris"},
	}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if up.AlternateEmail != "boss@gmail.com" || up.PostalAddress.OrganizationName != "Exemple SA" || up.Language != "fr" {
		t.Errorf("update echo %+v", up)
	}
	// PATCH changes only what it sends.
	p, err := svc.Customers.Patch("my_customer", &admin.Customer{Language: "de"}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if p.Language != "de" || p.AlternateEmail != "boss@gmail.com" || p.PhoneNumber != "+33123456789" {
		t.Errorf("patch %+v", p)
	}
	if got := s.Customer(); got.PostalAddress == nil || got.PostalAddress.CountryCode != "FR" {
		t.Errorf("Customer() = %+v", got)
	}

	s.AddDomain("example.org", true)
	for _, tc := range []struct {
		name string
		c    *admin.Customer
	}{
		{"alternate in domain", &admin.Customer{AlternateEmail: "x@example.com"}},
		{"alternate in secondary domain", &admin.Customer{AlternateEmail: "x@example.org"}},
		{"bad phone", &admin.Customer{PhoneNumber: "555-1234"}},
		{"postal without country", &admin.Customer{PostalAddress: &admin.CustomerPostalAddress{OrganizationName: "X"}}},
	} {
		_, err := svc.Customers.Patch("my_customer", tc.c).Do()
		if ge := apiError(t, err); ge.Code != 400 || reason(ge) != "invalid" {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	_, err = svc.Customers.Get("C999other").Do()
	if ge := apiError(t, err); ge.Code != http.StatusForbidden {
		t.Errorf("other customer: %v", err)
	}
}

func TestDomainListGetInsertDelete(t *testing.T) {
	clk := &safeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := newServer(t, workspacetest.WithClock(clk.now))
	s.AddDomain("example.net", false)
	s.AddDomainAlias("example-alias.com", "example.com")
	svc := directoryService(t, s)

	list, err := svc.Domains.List("my_customer").Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Domains) != 2 || !list.Domains[0].IsPrimary || !list.Domains[0].Verified || list.Domains[1].Verified || list.Domains[1].IsPrimary {
		t.Fatalf("domains %+v", list.Domains)
	}
	if a := list.Domains[0].DomainAliases; len(a) != 1 || a[0].DomainAliasName != "example-alias.com" || a[0].ParentDomainName != "example.com" {
		t.Errorf("aliases %+v", a)
	}
	d, err := svc.Domains.Get("my_customer", "example.net").Do()
	if err != nil {
		t.Fatal(err)
	}
	if d.CreationTime != clk.now().UnixMilli() {
		t.Errorf("creationTime %d, want %d (ms)", d.CreationTime, clk.now().UnixMilli())
	}
	ins, err := svc.Domains.Insert(s.CustomerID(), &admin.Domains{DomainName: "new.example"}).Do()
	if err != nil || ins.DomainName != "new.example" || ins.Verified {
		t.Fatalf("insert %+v %v", ins, err)
	}
	_, err = svc.Domains.Insert("my_customer", &admin.Domains{DomainName: "new.example"}).Do()
	if ge := apiError(t, err); ge.Code != http.StatusConflict {
		t.Errorf("duplicate insert: %v", err)
	}
	if err := svc.Domains.Delete("my_customer", "new.example").Do(); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Domains.Get("my_customer", "new.example").Do()
	if ge := apiError(t, err); ge.Code != http.StatusNotFound {
		t.Errorf("get deleted: %v", err)
	}
	err = svc.Domains.Delete("my_customer", "example.com").Do()
	if ge := apiError(t, err); ge.Code != http.StatusBadRequest {
		t.Errorf("delete primary: %v", err)
	}
	if got := s.Domains(); len(got) != 2 || got[0] != "example.com" {
		t.Errorf("Domains() = %v", got)
	}
}
