package settings

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gwsadmin/workspace"
)

const (
	feedGateway = "email/gateway"
	feedRouting = "emailrouting"
)

// SMTPMode is how mail goes to the outbound gateway.
type SMTPMode string

// SMTP modes of the outbound gateway.
const (
	SMTP    SMTPMode = "SMTP"     // plain SMTP (the default)
	SMTPTLS SMTPMode = "SMTP_TLS" // SMTP with TLS
)

// Gateway is the outbound gateway: a smart host all outgoing mail goes
// through (Admin Settings feed email/gateway).
type Gateway struct {
	ID        string // the entry's <id>, kept across updates
	SmartHost string // host name or IP address; "" when none
	Mode      SMTPMode
	Updated   time.Time
}

// GatewayUpdate lists the gateway fields to change; nil fields are left
// as they are.
type GatewayUpdate struct {
	SmartHost *string // host name or IP address, no port; "" removes the gateway
	Mode      *SMTPMode
}

// GatewayService reads and changes the outbound gateway.
type GatewayService struct{ c *Client }

// Get returns the outbound gateway.
//
// API docs: https://developers.google.com/workspace/admin/admin-settings
func (s *GatewayService) Get(ctx context.Context) (*Gateway, error) {
	e, err := s.c.legacyGet(ctx, "email.gateway.get", feedGateway)
	if err != nil {
		return nil, err
	}
	return gatewayFromEntry(e), nil
}

// Update changes the fields set in u: it reads the gateway first and
// sends the full entry back with the same <id>.
//
// API docs: https://developers.google.com/workspace/admin/admin-settings
func (s *GatewayService) Update(ctx context.Context, u *GatewayUpdate) (*Gateway, error) {
	const method = "email.gateway.update"
	op := "settings: " + method
	if u == nil || (u.SmartHost == nil && u.Mode == nil) {
		return nil, &workspace.InputError{Op: op, Field: "update", Reason: "nothing to change"}
	}
	if u.SmartHost != nil {
		if h := strings.TrimSpace(*u.SmartHost); h != "" && !validHost(h) {
			return nil, &workspace.InputError{Op: op, Field: "SmartHost", Reason: "want a host name or an IP address (no port, no scheme): " + strconv.Quote(h)}
		}
	}
	if u.Mode != nil && *u.Mode != SMTP && *u.Mode != SMTPTLS {
		return nil, &workspace.InputError{Op: op, Field: "Mode", Reason: "want SMTP or SMTP_TLS, got " + strconv.Quote(string(*u.Mode))}
	}
	cur, err := s.c.legacyGet(ctx, "email.gateway.get", feedGateway)
	if err != nil {
		return nil, err
	}
	next := cur.only("smartHost", "smtpMode")
	if u.SmartHost != nil {
		next.set("smartHost", strings.TrimSuffix(strings.TrimSpace(*u.SmartHost), "."))
	}
	if u.Mode != nil {
		next.set("smtpMode", string(*u.Mode))
	}
	if next.get("smtpMode") == "" {
		next.set("smtpMode", string(SMTP))
	}
	e, err := s.c.legacyPut(ctx, method, feedGateway, next)
	if err != nil {
		return nil, err
	}
	return gatewayFromEntry(e), nil
}

func gatewayFromEntry(e *entry) *Gateway {
	g := &Gateway{ID: e.ID, Updated: e.Updated, SmartHost: e.get("smartHost"), Mode: SMTPMode(e.get("smtpMode"))}
	if g.Mode == "" {
		g.Mode = SMTP
	}
	return g
}

// AccountHandling says which accounts an email route applies to.
type AccountHandling string

// Account handling of an email route.
const (
	AllAccounts         AccountHandling = "allAccounts"
	ProvisionedAccounts AccountHandling = "provisionedAccounts"
	UnknownAccounts     AccountHandling = "unknownAccounts"
)

// Route is an email route (Admin Settings feed emailrouting): mail for
// the domain's accounts is also (or instead) delivered to Destination.
type Route struct {
	ID                  string // the entry's <id> in the answer
	Destination         string // routeDestination: host name or IP address
	RewriteTo           bool   // routeRewriteTo: rewrite the recipient to the destination
	Enabled             bool   // routeEnabled
	BounceNotifications bool   // bounceNotifications
	AccountHandling     AccountHandling
	Updated             time.Time
}

// RoutingService adds email routes. The feed only takes new routes
// (POST); it has no read or delete.
type RoutingService struct{ c *Client }

// Create adds an email route. An empty AccountHandling means AllAccounts.
// Every boolean is sent as given.
//
// API docs: https://developers.google.com/workspace/admin/admin-settings
func (s *RoutingService) Create(ctx context.Context, r *Route) (*Route, error) {
	const method = "emailrouting.create"
	op := "settings: " + method
	if r == nil {
		return nil, &workspace.InputError{Op: op, Field: "route", Reason: "nil Route"}
	}
	dest := strings.TrimSuffix(strings.TrimSpace(r.Destination), ".")
	if !validHost(dest) {
		return nil, &workspace.InputError{Op: op, Field: "Destination", Reason: "want a host name or an IP address: " + strconv.Quote(r.Destination)}
	}
	ah := r.AccountHandling
	if ah == "" {
		ah = AllAccounts
	}
	if ah != AllAccounts && ah != ProvisionedAccounts && ah != UnknownAccounts {
		return nil, &workspace.InputError{Op: op, Field: "AccountHandling", Reason: "want allAccounts, provisionedAccounts or unknownAccounts"}
	}
	e := &entry{}
	e.set("routeDestination", dest)
	e.set("routeRewriteTo", strconv.FormatBool(r.RewriteTo))
	e.set("routeEnabled", strconv.FormatBool(r.Enabled))
	e.set("bounceNotifications", strconv.FormatBool(r.BounceNotifications))
	e.set("accountHandling", string(ah))
	out, err := s.c.legacyPost(ctx, method, feedRouting, e)
	if err != nil {
		return nil, err
	}
	res := &Route{ID: out.ID, Updated: out.Updated, Destination: out.get("routeDestination"),
		AccountHandling: AccountHandling(out.get("accountHandling"))}
	res.RewriteTo, _ = strconv.ParseBool(strings.ToLower(out.get("routeRewriteTo")))
	res.Enabled, _ = strconv.ParseBool(strings.ToLower(out.get("routeEnabled")))
	res.BounceNotifications, _ = strconv.ParseBool(strings.ToLower(out.get("bounceNotifications")))
	if res.Destination == "" { // an answer without the properties: echo the request
		res = &Route{ID: out.ID, Updated: out.Updated, Destination: dest, RewriteTo: r.RewriteTo,
			Enabled: r.Enabled, BounceNotifications: r.BounceNotifications, AccountHandling: ah}
	}
	return res, nil
}

// validHost accepts a DNS host name or an IP address.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return true
	}
	return validHostname(strings.TrimSuffix(h, ".")) && strings.Trim(h, "0123456789.") != ""
}
