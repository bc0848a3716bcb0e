package settings

import (
	"context"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"golang.org/x/text/language"
	directory "google.golang.org/api/admin/directory/v1"

	"github.com/gwsadmin/workspace"
)

// myCustomer is the Directory API's alias for the caller's own account.
const myCustomer = "my_customer"

// Customer is the Workspace account as the Directory API customers
// resource describes it. It replaces the turned-down Admin Settings feeds
// general/defaultLanguage, general/organizationName,
// accountInformation/countryCode, accountInformation/adminSecondaryEmail
// and accountInformation/creationTime.
type Customer struct {
	ID               string    // "C0…", the customer id
	PrimaryDomain    string    // customerDomain
	Language         string    // language tag, e.g. "en" or "pt-BR"
	OrganizationName string    // postalAddress.organizationName
	CountryCode      string    // postalAddress.countryCode, ISO 3166-1 alpha-2
	AlternateEmail   string    // the secondary (alternate) admin e-mail, outside the account's domains
	PhoneNumber      string    // E.164
	Created          time.Time // customerCreationTime
	PostalAddress    *PostalAddress
	ETag             string
}

// PostalAddress is the customer's postal address.
type PostalAddress struct {
	OrganizationName string
	ContactName      string
	AddressLine1     string
	AddressLine2     string
	AddressLine3     string
	Locality         string
	Region           string
	PostalCode       string
	CountryCode      string // required by the API whenever an address is sent
}

// CustomerUpdate lists the customer fields to change; nil fields are left
// as they are. OrganizationName and CountryCode are merged into the
// current postal address (read first), because the API takes the address
// as one object; PostalAddress, when set, replaces it (and the two fields
// above are then applied on top of it).
type CustomerUpdate struct {
	// Language is a BCP 47 (RFC 3066 successor) tag such as "en", "fr" or
	// "zh-TW"; it is checked for form and sent as written (Google's list of
	// language codes includes deprecated tags such as "iw" and "in").
	Language         *string
	OrganizationName *string
	CountryCode      *string // ISO 3166-1 alpha-2, e.g. "IT"
	AlternateEmail   *string // "" clears it; must not be in the account's domains
	PhoneNumber      *string // E.164, e.g. "+390612345678"; "" clears it
	PostalAddress    *PostalAddress
}

// CustomerService reads and changes the customer on the Directory API.
type CustomerService struct{ c *Client }

// Get returns the customer.
//
// API docs: https://developers.google.com/workspace/admin/directory/reference/rest/v1/customers/get
func (s *CustomerService) Get(ctx context.Context) (*Customer, error) {
	dir, err := s.c.dirService(ctx, s.c.pick(false, customerScope, customerReadOnlyScope))
	if err != nil {
		return nil, err
	}
	cu, err := dir.Customers.Get(myCustomer).Context(s.c.withCall(ctx, workspace.APIDirectory, "customers.get")).Do()
	if err != nil {
		return nil, apiError(err)
	}
	return fromCustomer(cu), nil
}

// Update changes the fields set in u and returns the customer as the API
// then reports it. Every value is checked before anything is sent.
//
// API docs: https://developers.google.com/workspace/admin/directory/reference/rest/v1/customers/patch
func (s *CustomerService) Update(ctx context.Context, u *CustomerUpdate) (*Customer, error) {
	const op = "settings: customers.patch"
	if u == nil {
		return nil, &workspace.InputError{Op: op, Field: "update", Reason: "nil CustomerUpdate"}
	}
	body := &directory.Customer{}
	if u.Language != nil {
		tag := strings.TrimSpace(*u.Language)
		if err := checkLanguage(tag); err != nil {
			return nil, &workspace.InputError{Op: op, Field: "Language", Reason: "not a valid language tag", Err: err}
		}
		body.Language = tag
	}
	if u.AlternateEmail != nil {
		v := strings.TrimSpace(*u.AlternateEmail)
		if v == "" {
			body.NullFields = append(body.NullFields, "AlternateEmail")
		} else {
			if err := s.c.checkAlternateEmail(v); err != nil {
				return nil, &workspace.InputError{Op: op, Field: "AlternateEmail", Reason: err.Error()}
			}
			body.AlternateEmail = v
		}
	}
	if u.PhoneNumber != nil {
		v := strings.TrimSpace(*u.PhoneNumber)
		if v == "" {
			body.NullFields = append(body.NullFields, "PhoneNumber")
		} else if !e164.MatchString(v) {
			return nil, &workspace.InputError{Op: op, Field: "PhoneNumber", Reason: "must be in E.164 format, e.g. +15551234567"}
		} else {
			body.PhoneNumber = v
		}
	}
	if u.CountryCode != nil {
		if err := checkCountry(*u.CountryCode); err != nil {
			return nil, &workspace.InputError{Op: op, Field: "CountryCode", Reason: err.Error()}
		}
	}
	if u.PostalAddress != nil && u.CountryCode == nil {
		if err := checkCountry(u.PostalAddress.CountryCode); err != nil {
			return nil, &workspace.InputError{Op: op, Field: "PostalAddress.CountryCode", Reason: err.Error()}
		}
	}
	if u.OrganizationName != nil && strings.TrimSpace(*u.OrganizationName) == "" {
		return nil, &workspace.InputError{Op: op, Field: "OrganizationName", Reason: "empty (the API then shows the primary domain)"}
	}
	dir, err := s.c.dirService(ctx, customerScope)
	if err != nil {
		return nil, err
	}
	if u.PostalAddress != nil || u.OrganizationName != nil || u.CountryCode != nil {
		var pa PostalAddress
		if u.PostalAddress != nil {
			pa = *u.PostalAddress
		} else {
			cur, err := s.Get(ctx)
			if err != nil {
				return nil, err
			}
			if cur.PostalAddress != nil {
				pa = *cur.PostalAddress
			}
		}
		if u.OrganizationName != nil {
			pa.OrganizationName = strings.TrimSpace(*u.OrganizationName)
		}
		if u.CountryCode != nil {
			pa.CountryCode = strings.ToUpper(strings.TrimSpace(*u.CountryCode))
		}
		if err := checkCountry(pa.CountryCode); err != nil {
			return nil, &workspace.InputError{Op: op, Field: "CountryCode",
				Reason: "the postal address needs a country code: set CountryCode too (" + err.Error() + ")"}
		}
		body.PostalAddress = toPostal(&pa)
	}
	cu, err := dir.Customers.Patch(myCustomer, body).Context(s.c.withCall(ctx, workspace.APIDirectory, "customers.patch")).Do()
	if err != nil {
		return nil, apiError(err)
	}
	return fromCustomer(cu), nil
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// checkLanguage checks that tag is a well-formed language tag (BCP 47,
// which obsoletes the RFC 3066 the Admin Settings docs cite) with a
// language subtag; "und" and private-use-only tags are refused. The tag is
// sent as the caller wrote it: Google's own list of language codes uses
// deprecated tags such as "iw" (Hebrew) and "in" (Indonesian), which a
// canonicalizing parser would rewrite.
func checkLanguage(tag string) error {
	t, err := language.Parse(tag)
	if err != nil {
		return err
	}
	if t == language.Und {
		return errInvalid("undetermined language")
	}
	if base, conf := t.Base(); conf == language.No || base.String() == "und" {
		return errInvalid("no language subtag")
	}
	return nil
}

type errInvalid string

func (e errInvalid) Error() string { return string(e) }

func checkCountry(v string) error {
	v = strings.TrimSpace(v)
	if len(v) != 2 {
		return errInvalid("want an ISO 3166-1 alpha-2 code such as US or IT")
	}
	r, err := language.ParseRegion(v)
	if err != nil || !r.IsCountry() {
		return errInvalid("unknown country code " + v)
	}
	return nil
}

// checkAlternateEmail checks an address and that it is outside the
// account's primary domain (the API refuses one inside).
func (c *Client) checkAlternateEmail(v string) error {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || !strings.Contains(v, "@") {
		return errInvalid("not an e-mail address")
	}
	dom := strings.ToLower(v[strings.LastIndexByte(v, '@')+1:])
	if dom == c.domain {
		return errInvalid("must not be in the account's domain " + c.domain)
	}
	return nil
}

func toPostal(p *PostalAddress) *directory.CustomerPostalAddress {
	return &directory.CustomerPostalAddress{
		OrganizationName: p.OrganizationName, ContactName: p.ContactName,
		AddressLine1: p.AddressLine1, AddressLine2: p.AddressLine2, AddressLine3: p.AddressLine3,
		Locality: p.Locality, Region: p.Region, PostalCode: p.PostalCode, CountryCode: p.CountryCode,
	}
}

func fromCustomer(c *directory.Customer) *Customer {
	out := &Customer{ID: c.Id, PrimaryDomain: c.CustomerDomain, Language: c.Language,
		AlternateEmail: c.AlternateEmail, PhoneNumber: c.PhoneNumber, ETag: c.Etag}
	out.Created, _ = time.Parse(time.RFC3339Nano, c.CustomerCreationTime)
	if p := c.PostalAddress; p != nil {
		out.PostalAddress = &PostalAddress{
			OrganizationName: p.OrganizationName, ContactName: p.ContactName,
			AddressLine1: p.AddressLine1, AddressLine2: p.AddressLine2, AddressLine3: p.AddressLine3,
			Locality: p.Locality, Region: p.Region, PostalCode: p.PostalCode, CountryCode: p.CountryCode,
		}
		out.OrganizationName = p.OrganizationName
		out.CountryCode = p.CountryCode
	}
	return out
}

// Domain is one of the account's domains (Directory API domains
// resource), replacing the turned-down accountInformation/isVerified and
// verification feeds.
type Domain struct {
	Name     string
	Verified bool
	Primary  bool
	Created  time.Time
	Aliases  []DomainAlias
}

// DomainAlias is an alias of a domain.
type DomainAlias struct {
	Name     string
	Parent   string
	Verified bool
	Created  time.Time
}

// DomainsService reads and manages the account's domains.
type DomainsService struct{ c *Client }

// List returns every domain of the account, the primary one included. The
// API returns them all in one answer (it has no paging).
//
// API docs: https://developers.google.com/workspace/admin/directory/reference/rest/v1/domains/list
func (s *DomainsService) List(ctx context.Context) ([]*Domain, error) {
	dir, err := s.c.dirService(ctx, s.c.pick(false, domainsScope, domainsReadOnlyScope))
	if err != nil {
		return nil, err
	}
	res, err := dir.Domains.List(myCustomer).Context(s.c.withCall(ctx, workspace.APIDirectory, "domains.list")).Do()
	if err != nil {
		return nil, apiError(err)
	}
	out := make([]*Domain, 0, len(res.Domains))
	for _, d := range res.Domains {
		out = append(out, fromDomain(d))
	}
	return out, nil
}

// Get returns one domain; errors.Is(err, workspace.ErrNotFound) when the
// account has no such domain.
//
// API docs: https://developers.google.com/workspace/admin/directory/reference/rest/v1/domains/get
func (s *DomainsService) Get(ctx context.Context, name string) (*Domain, error) {
	name, err := checkDomainName("settings: domains.get", name)
	if err != nil {
		return nil, err
	}
	dir, err := s.c.dirService(ctx, s.c.pick(false, domainsScope, domainsReadOnlyScope))
	if err != nil {
		return nil, err
	}
	d, err := dir.Domains.Get(myCustomer, name).Context(s.c.withCall(ctx, workspace.APIDirectory, "domains.get")).Do()
	if err != nil {
		return nil, apiError(err)
	}
	return fromDomain(d), nil
}

// Insert adds a secondary domain. It starts unverified: verification is
// done by the domain's owner in the Admin console (there is no API to
// trigger it).
//
// API docs: https://developers.google.com/workspace/admin/directory/reference/rest/v1/domains/insert
func (s *DomainsService) Insert(ctx context.Context, name string) (*Domain, error) {
	name, err := checkDomainName("settings: domains.insert", name)
	if err != nil {
		return nil, err
	}
	dir, err := s.c.dirService(ctx, domainsScope)
	if err != nil {
		return nil, err
	}
	d, err := dir.Domains.Insert(myCustomer, &directory.Domains{DomainName: name}).
		Context(s.c.withCall(ctx, workspace.APIDirectory, "domains.insert")).Do()
	if err != nil {
		return nil, apiError(err)
	}
	return fromDomain(d), nil
}

// Delete removes a secondary domain. The primary domain cannot be deleted.
//
// API docs: https://developers.google.com/workspace/admin/directory/reference/rest/v1/domains/delete
func (s *DomainsService) Delete(ctx context.Context, name string) error {
	name, err := checkDomainName("settings: domains.delete", name)
	if err != nil {
		return err
	}
	if name == s.c.domain {
		return &workspace.InputError{Op: "settings: domains.delete", Field: "name", Reason: "the primary domain cannot be deleted"}
	}
	dir, err := s.c.dirService(ctx, domainsScope)
	if err != nil {
		return err
	}
	err = dir.Domains.Delete(myCustomer, name).Context(s.c.withCall(ctx, workspace.APIDirectory, "domains.delete")).Do()
	return apiError(err)
}

func checkDomainName(op, name string) (string, error) {
	n := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
	if !validHostname(n) || !strings.Contains(n, ".") {
		return "", &workspace.InputError{Op: op, Field: "name", Reason: "not a domain name: " + name}
	}
	return n, nil
}

// validHostname reports whether h is a DNS host name (letters, digits,
// hyphens; labels of 1–63 characters; at most 253 in all).
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			ch := l[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				return false
			}
		}
	}
	return true
}

func fromDomain(d *directory.Domains) *Domain {
	out := &Domain{Name: d.DomainName, Verified: d.Verified, Primary: d.IsPrimary, Created: msTime(d.CreationTime)}
	for _, a := range d.DomainAliases {
		out.Aliases = append(out.Aliases, DomainAlias{Name: a.DomainAliasName, Parent: a.ParentDomainName,
			Verified: a.Verified, Created: msTime(a.CreationTime)})
	}
	return out
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
