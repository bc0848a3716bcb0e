package workspacetest

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Directory API customers and domains resources (admin/directory/v1), the
// replacements of the turned-down Admin Settings general and
// accountInformation feeds.

const (
	scopeDirectoryCustomer         = "https://www.googleapis.com/auth/admin.directory.customer"
	scopeDirectoryCustomerReadonly = "https://www.googleapis.com/auth/admin.directory.customer.readonly"
	scopeDirectoryDomain           = "https://www.googleapis.com/auth/admin.directory.domain"
	scopeDirectoryDomainReadonly   = "https://www.googleapis.com/auth/admin.directory.domain.readonly"
)

// CustomerInfo is the editable part of the fake customer, for SetCustomer
// and Customer. Field names follow the Directory API Customer resource.
type CustomerInfo struct {
	AlternateEmail string
	Language       string // e.g. "en"
	PhoneNumber    string // E.164, e.g. "+15551234567"
	PostalAddress  *PostalAddress
}

// PostalAddress is a customer's postal address.
type PostalAddress struct {
	OrganizationName string `json:"organizationName,omitempty"`
	ContactName      string `json:"contactName,omitempty"`
	AddressLine1     string `json:"addressLine1,omitempty"`
	AddressLine2     string `json:"addressLine2,omitempty"`
	AddressLine3     string `json:"addressLine3,omitempty"`
	Locality         string `json:"locality,omitempty"`
	Region           string `json:"region,omitempty"`
	PostalCode       string `json:"postalCode,omitempty"`
	CountryCode      string `json:"countryCode,omitempty"`
}

type customerState struct {
	info    CustomerInfo
	created time.Time
	domains []*domainRec // primary first
}

type domainRec struct {
	name     string
	verified bool
	created  time.Time
	aliases  []string
}

var customerStates = serverLocal[customerState]{newT: func(s *Server) *customerState {
	// newT may run with s.mu held: read the configured clock directly.
	created := s.cfg.now().UTC().Add(-365 * 24 * time.Hour).Truncate(time.Second)
	return &customerState{
		info:    CustomerInfo{Language: "en"},
		created: created,
		domains: []*domainRec{{name: s.cfg.domain, verified: true, created: created}},
	}
}}

func (s *Server) customer() *customerState { return customerStates.get(s) }

// SetCustomer replaces the editable fields of the fake customer. It panics
// when AlternateEmail is in one of the customer's domains.
func (s *Server) SetCustomer(info CustomerInfo) {
	c := s.customer()
	s.mu.Lock()
	defer s.mu.Unlock()
	if info.AlternateEmail != "" && c.ownsLocked(domainOf(info.AlternateEmail)) {
		panic("workspacetest: SetCustomer: alternateEmail must not be in the customer's domains")
	}
	if info.PostalAddress != nil {
		pa := *info.PostalAddress
		info.PostalAddress = &pa
	}
	c.info = info
}

// Customer returns the editable fields of the fake customer.
func (s *Server) Customer() CustomerInfo {
	c := s.customer()
	s.mu.Lock()
	defer s.mu.Unlock()
	info := c.info
	if info.PostalAddress != nil {
		pa := *info.PostalAddress
		info.PostalAddress = &pa
	}
	return info
}

// AddDomain adds a secondary domain to the customer (or updates the
// verified flag of a known one).
func (s *Server) AddDomain(name string, verified bool) {
	name = strings.ToLower(name)
	if name == "" || strings.ContainsAny(name, "@/ ") {
		panic("workspacetest: AddDomain: invalid domain " + name)
	}
	c := s.customer()
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := c.domainLocked(name); d != nil {
		d.verified = verified
		return
	}
	c.domains = append(c.domains, &domainRec{name: name, verified: verified, created: s.nowLocked()})
}

// AddDomainAlias adds an alias of a known domain. It panics when parent is
// not one of the customer's domains.
func (s *Server) AddDomainAlias(alias, parent string) {
	c := s.customer()
	s.mu.Lock()
	defer s.mu.Unlock()
	d := c.domainLocked(strings.ToLower(parent))
	if d == nil {
		panic("workspacetest: AddDomainAlias: unknown domain " + parent)
	}
	d.aliases = append(d.aliases, strings.ToLower(alias))
}

// Domains returns the customer's domain names, primary first.
func (s *Server) Domains() []string {
	c := s.customer()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(c.domains))
	for i, d := range c.domains {
		out[i] = d.name
	}
	return out
}

func (c *customerState) domainLocked(name string) *domainRec {
	for _, d := range c.domains {
		if d.name == name {
			return d
		}
	}
	return nil
}

func (c *customerState) ownsLocked(domain string) bool {
	for _, d := range c.domains {
		if d.name == domain || slices.Contains(d.aliases, domain) {
			return true
		}
	}
	return false
}

func (s *Server) registerDirectoryCustomer(mux *http.ServeMux) {
	cs := []string{scopeDirectoryCustomer, scopeDirectoryCustomerReadonly}
	cw := []string{scopeDirectoryCustomer}
	ds := []string{scopeDirectoryDomain, scopeDirectoryDomainReadonly}
	dw := []string{scopeDirectoryDomain}
	add := func(pattern, method string, scopes []string, h http.HandlerFunc) {
		s.handle(mux, pattern, endpoint{api: "directory", method: method, scopes: scopes, adminOnly: true, h: h})
	}
	const c = "/admin/directory/v1/customers/{customerKey}"
	add("GET "+c, "customers.get", cs, s.customerGet)
	add("PUT "+c, "customers.update", cw, s.customerUpdate(false))
	add("PATCH "+c, "customers.patch", cw, s.customerUpdate(true))
	const d = "/admin/directory/v1/customer/{customer}/domains"
	add("GET "+d, "domains.list", ds, s.domainList)
	add("POST "+d, "domains.insert", dw, s.domainInsert)
	add("GET "+d+"/{domainName}", "domains.get", ds, s.domainGet)
	add("DELETE "+d+"/{domainName}", "domains.delete", dw, s.domainDelete)
}

// knownCustomer checks a customerKey/customer path value.
func (s *Server) knownCustomer(w http.ResponseWriter, key string) bool {
	if key == "my_customer" || key == s.customerID {
		return true
	}
	writeError(w, http.StatusForbidden, "forbidden", "Not Authorized to access this resource/api")
	return false
}

// customerJSONLocked renders the Customer resource; s.mu held.
func (s *Server) customerJSONLocked() map[string]any {
	c := s.customer()
	out := map[string]any{
		"kind":                 "admin#directory#customer",
		"id":                   s.customerID,
		"etag":                 `"` + s.customerID + "/" + strconv.FormatInt(c.created.Unix(), 10) + `"`,
		"customerDomain":       s.cfg.domain,
		"customerCreationTime": c.created.Format("2006-01-02T15:04:05.000Z"),
		"language":             c.info.Language,
	}
	if c.info.AlternateEmail != "" {
		out["alternateEmail"] = c.info.AlternateEmail
	}
	if c.info.PhoneNumber != "" {
		out["phoneNumber"] = c.info.PhoneNumber
	}
	if c.info.PostalAddress != nil {
		out["postalAddress"] = c.info.PostalAddress
	}
	return out
}

func (s *Server) customerGet(w http.ResponseWriter, r *http.Request) {
	if !s.knownCustomer(w, r.PathValue("customerKey")) {
		return
	}
	s.mu.Lock()
	body := s.customerJSONLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// customerUpdate serves PUT (patch false: omitted fields are cleared) and
// PATCH (only the fields sent change). Read-only fields are ignored, as
// Google does, except that customerDomain may not change.
func (s *Server) customerUpdate(patch bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.knownCustomer(w, r.PathValue("customerKey")) {
			return
		}
		raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var fields map[string]json.RawMessage
		if err == nil {
			err = json.Unmarshal(raw, &fields)
		}
		var in struct {
			AlternateEmail string         `json:"alternateEmail"`
			Language       string         `json:"language"`
			PhoneNumber    string         `json:"phoneNumber"`
			CustomerDomain string         `json:"customerDomain"`
			PostalAddress  *PostalAddress `json:"postalAddress"`
		}
		if err == nil {
			err = json.Unmarshal(raw, &in)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "parseError", "Parse Error")
			return
		}
		invalid := func(field, msg string) {
			writeGoogleError(w, googleError{Code: http.StatusBadRequest, Message: msg,
				Items: []errorItem{{Domain: "global", Reason: "invalid", Message: msg, Location: field, LocationType: "parameter"}}})
		}
		c := s.customer()
		s.mu.Lock()
		defer s.mu.Unlock()
		next := c.info
		has := func(k string) bool { _, ok := fields[k]; return ok || !patch }
		if has("alternateEmail") {
			next.AlternateEmail = in.AlternateEmail
		}
		if has("language") {
			next.Language = in.Language
		}
		if has("phoneNumber") {
			next.PhoneNumber = in.PhoneNumber
		}
		if has("postalAddress") {
			next.PostalAddress = in.PostalAddress
		}
		switch {
		case in.CustomerDomain != "" && !strings.EqualFold(in.CustomerDomain, s.cfg.domain):
			invalid("customerDomain", "Invalid Input: customerDomain cannot be changed by this API")
			return
		case next.AlternateEmail != "" && !validEmail(next.AlternateEmail):
			invalid("alternateEmail", "Invalid Input: alternateEmail")
			return
		case next.AlternateEmail != "" && c.ownsLocked(domainOf(next.AlternateEmail)):
			invalid("alternateEmail", "Invalid Input: alternateEmail must not be in the customer's domain")
			return
		case next.PhoneNumber != "" && !e164.MatchString(next.PhoneNumber):
			invalid("phoneNumber", "Invalid Input: phoneNumber must be in E.164 format")
			return
		case next.Language != "" && !validLanguage(next.Language):
			invalid("language", "Invalid Input: language")
			return
		case next.PostalAddress != nil && !validCountry(next.PostalAddress.CountryCode):
			invalid("postalAddress.countryCode", "Invalid Input: postalAddress.countryCode is required (ISO 3166-1 alpha-2)")
			return
		}
		if next.Language == "" {
			next.Language = "en"
		}
		c.info = next
		writeJSON(w, http.StatusOK, s.customerJSONLocked())
	}
}

var languageTag = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

func validLanguage(v string) bool { return languageTag.MatchString(v) }

func validCountry(v string) bool {
	return len(v) == 2 && strings.ToUpper(v) == v && strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
}

func (s *Server) domainJSON(d *domainRec) map[string]any {
	aliases := make([]map[string]any, 0, len(d.aliases))
	for _, a := range d.aliases {
		aliases = append(aliases, map[string]any{
			"kind": "admin#directory#domainAlias", "domainAliasName": a, "parentDomainName": d.name,
			"verified": d.verified, "creationTime": strconv.FormatInt(d.created.UnixMilli(), 10),
		})
	}
	out := map[string]any{
		"kind":         "admin#directory#domain",
		"etag":         `"` + d.name + `"`,
		"domainName":   d.name,
		"verified":     d.verified,
		"isPrimary":    d.name == s.cfg.domain,
		"creationTime": strconv.FormatInt(d.created.UnixMilli(), 10),
	}
	if len(aliases) > 0 {
		out["domainAliases"] = aliases
	}
	return out
}

func (s *Server) domainList(w http.ResponseWriter, r *http.Request) {
	if !s.knownCustomer(w, r.PathValue("customer")) {
		return
	}
	c := s.customer()
	s.mu.Lock()
	list := make([]map[string]any, len(c.domains))
	for i, d := range c.domains {
		list[i] = s.domainJSON(d)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"kind": "admin#directory#domains", "etag": `"domains"`, "domains": list})
}

func (s *Server) domainGet(w http.ResponseWriter, r *http.Request) {
	if !s.knownCustomer(w, r.PathValue("customer")) {
		return
	}
	c := s.customer()
	s.mu.Lock()
	d := c.domainLocked(strings.ToLower(r.PathValue("domainName")))
	var body map[string]any
	if d != nil {
		body = s.domainJSON(d)
	}
	s.mu.Unlock()
	if d == nil {
		writeError(w, http.StatusNotFound, "notFound", "Domain not found.")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) domainInsert(w http.ResponseWriter, r *http.Request) {
	if !s.knownCustomer(w, r.PathValue("customer")) {
		return
	}
	var in struct {
		DomainName string `json:"domainName"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	name := strings.ToLower(strings.TrimSpace(in.DomainName))
	if name == "" || !strings.Contains(name, ".") || strings.ContainsAny(name, "@/ ") {
		writeError(w, http.StatusBadRequest, "invalid", "Invalid Input: domainName")
		return
	}
	c := s.customer()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ownsLocked(name) {
		writeError(w, http.StatusConflict, "duplicate", "Entity already exists.")
		return
	}
	d := &domainRec{name: name, created: s.nowLocked()}
	c.domains = append(c.domains, d)
	writeJSON(w, http.StatusOK, s.domainJSON(d))
}

func (s *Server) domainDelete(w http.ResponseWriter, r *http.Request) {
	if !s.knownCustomer(w, r.PathValue("customer")) {
		return
	}
	name := strings.ToLower(r.PathValue("domainName"))
	c := s.customer()
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(c.domains, func(d *domainRec) bool { return d.name == name })
	switch {
	case i < 0:
		writeError(w, http.StatusNotFound, "notFound", "Domain not found.")
	case name == s.cfg.domain:
		writeError(w, http.StatusBadRequest, "invalid", "Cannot delete the primary domain.")
	default:
		c.domains = slices.Delete(c.domains, i, i+1)
		w.WriteHeader(http.StatusNoContent)
	}
}
