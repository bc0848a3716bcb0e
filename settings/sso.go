package settings

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gwsadmin/workspace"
)

// Admin Settings feeds served by this file.
const (
	feedSSO        = "sso/general"
	feedSigningKey = "sso/signingkey"
)

// SSOSettings are the domain-wide (legacy) SAML SSO settings: Admin
// Settings feed sso/general.
type SSOSettings struct {
	ID                string // the entry's <id>, kept across updates
	Enabled           bool   // enableSSO
	SignOnURI         string // samlSignonUri
	LogoutURI         string // samlLogoutUri
	ChangePasswordURI string // changePasswordUri
	// Whitelist is ssoWhitelist: the networks (CIDR) whose users sign in
	// with SSO; empty means everyone does.
	Whitelist               []netip.Prefix
	UseDomainSpecificIssuer bool // useDomainSpecificIssuer
	Updated                 time.Time
}

// SSOUpdate lists the SSO settings to change; nil fields are left as they
// are.
type SSOUpdate struct {
	Enabled *bool
	// SignOnURI, LogoutURI and ChangePasswordURI must be https; "" clears
	// one (SignOnURI is required while SSO is on).
	SignOnURI         *string
	LogoutURI         *string
	ChangePasswordURI *string
	// Whitelist holds network masks in CIDR notation ("10.0.0.0/8",
	// "2001:db8::/32"). nil leaves the list as it is; an empty, non-nil
	// slice clears it (everyone then uses SSO).
	Whitelist               []string
	UseDomainSpecificIssuer *bool
}

// SigningKey is the domain-wide SSO signing key as the sso/signingkey feed
// reports it.
type SigningKey struct {
	ID  string  // the entry's <id>
	Key KeyInfo // zero when no key is set or the API's answer was unreadable
	// Certificate is set when the API returned the certificate itself.
	Certificate *x509.Certificate
	Format      string            // the format property, when the API gives one
	Properties  map[string]string // every property as returned
	Updated     time.Time
}

// SSOService reads and changes the domain-wide SAML SSO settings and
// signing key (Admin Settings feeds sso/general and sso/signingkey).
//
// Google refuses changes to these feeds while multi-party approval is on
// for the account (error 1811): the methods then return a
// *MultiPartyApprovalError, and the Cloud Identity profiles (Client.Profiles
// and Client.Assignments) are the way to change SSO.
type SSOService struct{ c *Client }

// Get returns the SSO settings.
//
// API docs: https://developers.google.com/workspace/admin/admin-settings
func (s *SSOService) Get(ctx context.Context) (*SSOSettings, error) {
	e, err := s.c.legacyGet(ctx, "sso.general.get", feedSSO)
	if err != nil {
		return nil, err
	}
	return ssoFromEntry(e)
}

// Update changes the fields set in u. As the API's documentation asks, it
// reads the settings first and sends the full entry back with the same
// <id>. Every value is checked before anything is sent: URIs must be
// https, whitelist entries network masks in CIDR notation, and turning SSO
// on needs a sign-in URI.
//
// API docs: https://developers.google.com/workspace/admin/admin-settings
func (s *SSOService) Update(ctx context.Context, u *SSOUpdate) (*SSOSettings, error) {
	const method = "sso.general.update"
	op := "settings: " + method
	if u == nil {
		return nil, &workspace.InputError{Op: op, Field: "update", Reason: "nil SSOUpdate"}
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"SignOnURI", u.SignOnURI}, {"LogoutURI", u.LogoutURI}, {"ChangePasswordURI", u.ChangePasswordURI}} {
		if f.v != nil {
			if err := checkHTTPS(strings.TrimSpace(*f.v), false); err != nil {
				return nil, &workspace.InputError{Op: op, Field: f.name, Reason: err.Error()}
			}
		}
	}
	var whitelist string
	if u.Whitelist != nil {
		prefixes, err := ParseWhitelist(u.Whitelist)
		if err != nil {
			return nil, &workspace.InputError{Op: op, Field: "Whitelist", Reason: err.Error()}
		}
		whitelist = formatWhitelist(prefixes)
	}
	cur, err := s.c.legacyGet(ctx, "sso.general.get", feedSSO)
	if err != nil {
		return nil, err
	}
	if _, err := ssoFromEntry(cur); err != nil {
		return nil, err
	}
	next := cur.only(ssoProps...)
	setBool := func(name string, v *bool) {
		if v != nil {
			next.set(name, strconv.FormatBool(*v))
		}
	}
	setStr := func(name string, v *string) {
		if v != nil {
			next.set(name, strings.TrimSpace(*v))
		}
	}
	setBool("enableSSO", u.Enabled)
	setStr("samlSignonUri", u.SignOnURI)
	setStr("samlLogoutUri", u.LogoutURI)
	setStr("changePasswordUri", u.ChangePasswordURI)
	if u.Whitelist != nil {
		next.set("ssoWhitelist", whitelist)
	}
	setBool("useDomainSpecificIssuer", u.UseDomainSpecificIssuer)
	if on, _ := strconv.ParseBool(next.get("enableSSO")); on && next.get("samlSignonUri") == "" {
		return nil, &workspace.InputError{Op: op, Field: "SignOnURI", Reason: "required to turn SSO on"}
	}
	e, err := s.c.legacyPut(ctx, method, feedSSO, next)
	if err != nil {
		return nil, err
	}
	return ssoFromEntry(e)
}

// SigningKey returns the domain-wide SSO signing key's facts.
//
// API docs: https://developers.google.com/workspace/admin/admin-settings
func (s *SSOService) SigningKey(ctx context.Context) (*SigningKey, error) {
	e, err := s.c.legacyGet(ctx, "sso.signingkey.get", feedSigningKey)
	if err != nil {
		return nil, err
	}
	return signingKeyFromEntry(e), nil
}

// UpdateSigningKey uploads the identity provider's certificate: an X.509
// certificate in PEM or DER whose key is RSA or DSA (an EC or other key is
// refused before sending). It is sent base64-encoded (DER), as the API
// wants, in an entry that keeps the <id> read first.
//
// API docs: https://developers.google.com/workspace/admin/admin-settings
func (s *SSOService) UpdateSigningKey(ctx context.Context, cert []byte) (*SigningKey, error) {
	const method = "sso.signingkey.update"
	c, _, err := ParseCertificate(cert)
	if err != nil {
		return nil, &workspace.InputError{Op: "settings: " + method, Field: "cert", Reason: "unusable certificate", Err: err}
	}
	cur, err := s.c.legacyGet(ctx, "sso.signingkey.get", feedSigningKey)
	if err != nil {
		return nil, err
	}
	next := &entry{ID: cur.ID}
	next.set("signingKey", base64.StdEncoding.EncodeToString(c.Raw))
	e, err := s.c.legacyPut(ctx, method, feedSigningKey, next)
	if err != nil {
		return nil, err
	}
	return signingKeyFromEntry(e), nil
}

var ssoProps = []string{"enableSSO", "samlSignonUri", "samlLogoutUri", "changePasswordUri", "ssoWhitelist", "useDomainSpecificIssuer"}

// ParseWhitelist checks network masks in CIDR notation (IPv4 or IPv6).
// An address with host bits set ("10.1.2.3/8") is refused: it is not a
// network mask.
func ParseWhitelist(cidrs []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, errors.New("not a CIDR network mask: " + strconv.Quote(c))
		}
		if p.Masked() != p {
			return nil, errors.New(strconv.Quote(c) + " has host bits set; the network is " + p.Masked().String())
		}
		out = append(out, p)
	}
	return out, nil
}

func formatWhitelist(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func ssoFromEntry(e *entry) (*SSOSettings, error) {
	out := &SSOSettings{ID: e.ID, Updated: e.Updated,
		SignOnURI: e.get("samlSignonUri"), LogoutURI: e.get("samlLogoutUri"), ChangePasswordURI: e.get("changePasswordUri")}
	out.Enabled, _ = strconv.ParseBool(strings.ToLower(e.get("enableSSO")))
	out.UseDomainSpecificIssuer, _ = strconv.ParseBool(strings.ToLower(e.get("useDomainSpecificIssuer")))
	if wl := strings.TrimSpace(e.get("ssoWhitelist")); wl != "" {
		for _, f := range strings.FieldsFunc(wl, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\t' }) {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				// An address without a mask is a single host.
				a, aerr := netip.ParseAddr(f)
				if aerr != nil {
					continue
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			out.Whitelist = append(out.Whitelist, p)
		}
	}
	return out, nil
}

func signingKeyFromEntry(e *entry) *SigningKey {
	out := &SigningKey{ID: e.ID, Updated: e.Updated, Properties: map[string]string{}, Format: e.get("format")}
	for _, p := range e.Props {
		out.Properties[p.Name] = p.Value
	}
	if v := strings.Join(strings.Fields(e.get("signingKey")), ""); v != "" {
		der, err := base64.StdEncoding.DecodeString(v)
		if err == nil {
			if c, ki, err := ParseCertificate(der); err == nil {
				out.Certificate, out.Key = c, ki
			} else if k, err := x509.ParsePKIXPublicKey(der); err == nil {
				out.Key, _ = keyInfo(k)
			}
		}
	}
	// The older answer: algorithm, modulus, exponent, format.
	if out.Key.Algorithm == "" && e.get("algorithm") != "" {
		out.Key.Algorithm = strings.ToUpper(e.get("algorithm"))
		if m := e.get("modulus"); m != "" {
			out.Key.Bits = bigLen(m)
		}
	}
	return out
}

// bigLen returns the bit length of a number given in base64 or hex.
func bigLen(s string) int {
	s = strings.Join(strings.Fields(s), "")
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return new(big.Int).SetBytes(b).BitLen()
	}
	if b, err := hex.DecodeString(s); err == nil {
		return new(big.Int).SetBytes(b).BitLen()
	}
	if n, ok := new(big.Int).SetString(s, 10); ok {
		return n.BitLen()
	}
	return 0
}

// ErrMultiPartyApproval matches a *MultiPartyApprovalError.
var ErrMultiPartyApproval = errors.New("settings: legacy SSO change refused under multi-party approval")

// MultiPartyApprovalError is Google's refusal (errorCode 1811,
// LegacyInboundSsoChangeNotAllowedWithMultiPartyApproval) of a change to
// the legacy SSO feeds while multi-party approval is on for the account.
// Use the Cloud Identity inbound SAML SSO profiles instead
// (Client.Profiles, Client.Assignments), which support approval.
type MultiPartyApprovalError struct {
	Feed string // "sso/general" or "sso/signingkey"
	Err  error  // the *workspace.Error from the API
}

// Error explains the refusal and names the Cloud Identity way instead.
func (e *MultiPartyApprovalError) Error() string {
	return "settings: " + e.Feed + ": Google refuses legacy SSO changes while multi-party approval is on (error 1811); " +
		"use the Cloud Identity inbound SAML SSO profiles instead (settings Client.Profiles and Client.Assignments)"
}

// Is matches ErrMultiPartyApproval.
func (e *MultiPartyApprovalError) Is(target error) bool { return target == ErrMultiPartyApproval }

// Unwrap returns the API's error.
func (e *MultiPartyApprovalError) Unwrap() error { return e.Err }

// multiPartyError turns a 1811 answer into a *MultiPartyApprovalError.
func multiPartyError(feed string, err error) error {
	var we *workspace.Error
	if errors.As(err, &we) && (we.GDataCode == 1811 || hasReason(we.Reasons, "LegacyInboundSsoChangeNotAllowedWithMultiPartyApproval")) {
		return &MultiPartyApprovalError{Feed: feed, Err: err}
	}
	return err
}

func hasReason(rs []string, r string) bool {
	for _, x := range rs {
		if strings.EqualFold(x, r) {
			return true
		}
	}
	return false
}
