package settings

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	directory "google.golang.org/api/admin/directory/v1"
	cloudidentity "google.golang.org/api/cloudidentity/v1"
	"google.golang.org/api/option"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/internal/apierr"
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

	once    sync.Once
	initErr error
	legacy  *http.Client
	ci      *cloudidentity.Service
	ciHTTP  *http.Client
	dir     *directory.Service

	sleepFn func(context.Context, time.Duration) error // nil: a real timer

	custMu     sync.Mutex
	customerID string // "C0…", resolved once for Cloud Identity
}

// New returns a Client for domain (the primary domain of the Workspace
// account, e.g. "example.com") that sends its calls through c, acting as
// c's default subject, who must be a super administrator.
//
// Each API gets its own token with only the scopes it needs, so a service
// account needs only the scopes of the APIs actually used: the Admin
// Settings scope ([auth.ScopeAdminSettings]) for SSO, Gateway and Routing,
// [auth.ScopeInboundSSO] for Profiles and Assignments, and
// [auth.ScopeDirectoryCustomer] and [auth.ScopeDirectoryDomain] for
// Customer and Domains (Profiles and Assignments also read the customer's
// id once).
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

// services builds the HTTP clients and Google's generated clients on first
// use.
func (c *Client) services(ctx context.Context) error {
	c.once.Do(func() {
		var err error
		if c.legacy, err = c.core.HTTPClient("", auth.ScopeAdminSettings); err != nil {
			c.initErr = err
			return
		}
		if c.ciHTTP, err = c.core.HTTPClient("", auth.ScopeInboundSSO); err != nil {
			c.initErr = err
			return
		}
		c.ci, err = cloudidentity.NewService(ctx, option.WithHTTPClient(c.ciHTTP),
			option.WithEndpoint(c.core.BaseURL(workspace.APICloudIdentity)))
		if err != nil {
			c.initErr = err
			return
		}
		dirHTTP, err := c.core.HTTPClient("", auth.ScopeDirectoryCustomer, auth.ScopeDirectoryDomain)
		if err != nil {
			c.initErr = err
			return
		}
		c.dir, c.initErr = directory.NewService(ctx, option.WithHTTPClient(dirHTTP),
			option.WithEndpoint(c.core.BaseURL(workspace.APIDirectory)))
	})
	return c.initErr
}

// withCall describes a call to the quota and retry layers.
func (c *Client) withCall(ctx context.Context, api, method string) context.Context {
	return workspace.WithCall(ctx, &workspace.Call{API: api, Method: method, Domain: c.domain, User: c.core.Subject()})
}

// apiError strips the *url.Error that net/http wraps around the core's
// *workspace.Error, so messages do not repeat the request URL.
func apiError(err error) error { return apierr.StripURL(err) }

// checkDomain refuses a Client made with an empty or malformed domain.
func (c *Client) checkDomain(op string) error {
	if c.domain == "" || strings.ContainsAny(c.domain, "/@ ?#") {
		return workspace.InvalidInput(op, "domain", "settings.New needs the account's primary domain, e.g. example.com")
	}
	return nil
}
