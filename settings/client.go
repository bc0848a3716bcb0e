package settings

import (
	"context"
	"net/http"
	"strings"
	"sync"

	directory "google.golang.org/api/admin/directory/v1"
	cloudidentity "google.golang.org/api/cloudidentity/v1"
	"google.golang.org/api/option"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/internal/apierr"
	"github.com/gwsadmin/workspace/internal/core"
)

// Client gives one view of a domain's settings, each served by the API
// that still works for it: the live Admin Settings feeds (SSO, signing
// key, outbound gateway, email routing), the Cloud Identity API (inbound
// SAML SSO profiles and their assignments) and the Directory API (customer
// and domain facts). Make one with New; it is safe for concurrent use.
type Client struct {
	core   *workspace.Client
	domain string

	// SSO reads and changes the domain-wide (legacy) SAML SSO settings and
	// signing key: Admin Settings feeds sso/general and sso/signingkey.
	SSO *SSOService
	// Gateway reads and changes the outbound gateway (smart host):
	// Admin Settings feed email/gateway.
	Gateway *GatewayService
	// Routing adds email routes: Admin Settings feed emailrouting.
	Routing *RoutingService
	// Profiles manages Cloud Identity inbound SAML SSO profiles and their
	// IdP credentials, the replacement of the SSO feeds.
	Profiles *ProfilesService
	// Assignments manages Cloud Identity inbound SSO assignments: which
	// org units and groups sign in with which profile.
	Assignments *AssignmentsService
	// Customer reads and changes the account's facts on the Directory API
	// (language, organization name, country, alternate e-mail).
	Customer *CustomerService
	// Domains reads the account's domains on the Directory API.
	Domains *DomainsService

	// ReadOnlyScopes makes the read calls ask for the read-only scope of
	// their API where Google has one: cloud-identity.inboundsso.readonly
	// for Profiles and Assignments Get, List and All (and the credential
	// reads), admin.directory.customer.readonly for Customer.Get and the
	// customer id read by Profiles.Create and Assignments.Create,
	// admin.directory.domain.readonly for Domains.List and Get. The Admin
	// Settings feeds have no read-only scope. Set it before the first
	// call.
	ReadOnlyScopes bool

	svcMu sync.Mutex
	cis   map[string]*ciConn            // by scope
	dirs  map[string]*directory.Service // by scope

	custMu     sync.Mutex
	customerID string // "C0…", resolved once for Cloud Identity
}

// New returns a Client for domain (the primary domain of the Workspace
// account, e.g. "example.com") that sends its calls through c, acting as
// c's default subject, who must be a super administrator.
//
// Each call gets a token with only its method's scope, so a service
// account needs only the scopes of the services actually used; the
// package doc lists them.
func New(c *workspace.Client, domain string) *Client {
	s := &Client{core: c, domain: strings.ToLower(strings.TrimSuffix(strings.TrimSpace(domain), "."))}
	s.SSO = &SSOService{c: s}
	s.Gateway = &GatewayService{c: s}
	s.Routing = &RoutingService{c: s}
	s.Profiles = &ProfilesService{c: s}
	s.Assignments = &AssignmentsService{c: s}
	s.Customer = &CustomerService{c: s}
	s.Domains = &DomainsService{c: s}
	return s
}

// Domain returns the domain the Client works on.
func (c *Client) Domain() string { return c.domain }

// The scope of each API, each asked for on its own token (the package doc
// lists them for the administrator who delegates them). Read calls use
// the read-only variant when ReadOnlyScopes is set.
const (
	// legacyScope is the scope of SSO, Gateway and Routing (the Admin
	// Settings feeds, read or write).
	legacyScope = auth.ScopeAdminSettings
	// profilesScope is the scope of Profiles and Assignments, and
	// profilesReadOnlyScope that of their reads with ReadOnlyScopes.
	profilesScope         = auth.ScopeInboundSSO
	profilesReadOnlyScope = auth.ScopeInboundSSOReadOnly
	// customerScope is the scope of Customer (and of the customer id read
	// by Profiles.Create and Assignments.Create), customerReadOnlyScope
	// that of Customer.Get and the customer id read with ReadOnlyScopes.
	customerScope         = auth.ScopeDirectoryCustomer
	customerReadOnlyScope = auth.ScopeDirectoryCustomerReadOnly
	// domainsScope is the scope of Domains, domainsReadOnlyScope that of
	// Domains.List and Get with ReadOnlyScopes.
	domainsScope         = auth.ScopeDirectoryDomain
	domainsReadOnlyScope = auth.ScopeDirectoryDomainReadOnly
)

// ciConn is a Cloud Identity client over a token with one scope set.
type ciConn struct {
	hc  *http.Client
	svc *cloudidentity.Service
}

// legacyClient returns the HTTP client for the Admin Settings feeds.
func (c *Client) legacyClient() (*http.Client, error) {
	return c.core.HTTPClient("", legacyScope)
}

// pick returns ro for a read when ReadOnlyScopes is set, else rw.
func (c *Client) pick(write bool, rw, ro string) string {
	if !write && c.ReadOnlyScopes {
		return ro
	}
	return rw
}

// ciService returns the Cloud Identity client for a write or a read.
func (c *Client) ciService(ctx context.Context, write bool) (*ciConn, error) {
	scope := c.pick(write, profilesScope, profilesReadOnlyScope)
	c.svcMu.Lock()
	defer c.svcMu.Unlock()
	if cc := c.cis[scope]; cc != nil {
		return cc, nil
	}
	hc, err := c.core.HTTPClient("", scope)
	if err != nil {
		return nil, err
	}
	svc, err := cloudidentity.NewService(ctx, option.WithHTTPClient(hc),
		option.WithEndpoint(core.Of(c.core).BaseURL(workspace.APICloudIdentity)))
	if err != nil {
		return nil, err
	}
	if c.cis == nil {
		c.cis = make(map[string]*ciConn)
	}
	cc := &ciConn{hc: hc, svc: svc}
	c.cis[scope] = cc
	return cc, nil
}

// dirService returns the Directory client for the scope.
func (c *Client) dirService(ctx context.Context, scope string) (*directory.Service, error) {
	c.svcMu.Lock()
	defer c.svcMu.Unlock()
	if svc := c.dirs[scope]; svc != nil {
		return svc, nil
	}
	hc, err := c.core.HTTPClient("", scope)
	if err != nil {
		return nil, err
	}
	svc, err := directory.NewService(ctx, option.WithHTTPClient(hc),
		option.WithEndpoint(core.Of(c.core).BaseURL(workspace.APIDirectory)))
	if err != nil {
		return nil, err
	}
	if c.dirs == nil {
		c.dirs = make(map[string]*directory.Service)
	}
	c.dirs[scope] = svc
	return svc, nil
}

// withCall describes a call to the quota and retry layers.
func (c *Client) withCall(ctx context.Context, api, method string) context.Context {
	return core.WithCall(ctx, &core.Call{API: api, Method: method, Domain: c.domain, User: c.core.Subject()})
}

// apiError strips the *url.Error that net/http wraps around the core's
// *workspace.Error, so messages do not repeat the request URL.
func apiError(err error) error { return apierr.StripURL(err) }

// checkDomain refuses a Client made with an empty or malformed domain.
func (c *Client) checkDomain(op string) error {
	if c.domain == "" || strings.ContainsAny(c.domain, "/@ ?#") {
		return &workspace.InputError{Op: op, Field: "domain", Reason: "settings.New needs the account's primary domain, e.g. example.com"}
	}
	return nil
}
