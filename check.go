package workspace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/oauth2"

	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/retry"
)

// APIScopes returns the scopes the API packages ask for on api with their
// default settings: the scopes to authorize for domain-wide delegation, and
// the ones CheckDelegation checks. It returns nil for an API the library
// does not know (see APIs). Each package's doc lists them per method group,
// with the read-only variants that its ReadOnlyScopes option uses instead
// for reads.
func APIScopes(api string) []string { return slices.Clone(apiScopes[api]) }

var apiScopes = map[string][]string{
	APIGroupsMigration: {auth.ScopeGroupsMigration},
	APIDataTransfer:    {auth.ScopeDataTransfer},
	APIDirectory:       {auth.ScopeDirectoryUserReadOnly, auth.ScopeDirectoryCustomer, auth.ScopeDirectoryDomain},
	APIAudit:           {auth.ScopeEmailAudit},
	APISettings:        {auth.ScopeAdminSettings},
	APICloudIdentity:   {auth.ScopeInboundSSO},
	APIGmail:           {auth.ScopeGmailModify, auth.ScopeGmailInsert, auth.ScopeGmailSend, auth.ScopeGmailLabels},
}

// DelegationReport is the outcome of CheckDelegation: for each scope,
// whether the token endpoint granted a token holding it alone.
type DelegationReport struct {
	// Subject is the user the tokens were asked for.
	Subject string
	// ServiceAccount is the service account's e-mail, when known.
	ServiceAccount string
	// ClientID is the service account's client id (its unique id), the
	// one to enter in the Admin console; "" when the credentials do not
	// say (keyless credentials without auth.Keyless.ClientID: read it in
	// Google Cloud console › IAM › Service accounts).
	ClientID string
	// Scopes has one entry per scope checked, in the order checked.
	Scopes []ScopeCheck
}

// ScopeCheck is the result for one scope: granted, refused, or (Unchecked)
// neither, when the token endpoint gave no answer about it.
type ScopeCheck struct {
	Scope   string
	Granted bool
	// Unchecked is true when the token endpoint could not be reached,
	// failed (5xx, timeout) or throttled the request: the scope may well
	// be authorized, and the Admin console is not where to look. Check
	// again later.
	Unchecked bool
	// Err is the token endpoint's refusal (an *auth.TokenError that keeps
	// Google's error and error_description), or for an unchecked scope
	// what went wrong; nil when granted.
	Err error
}

// OK reports whether every scope was granted.
func (r *DelegationReport) OK() bool {
	return !slices.ContainsFunc(r.Scopes, func(s ScopeCheck) bool { return !s.Granted })
}

// Missing returns the scopes the token endpoint refused.
func (r *DelegationReport) Missing() []string {
	var out []string
	for _, s := range r.Scopes {
		if !s.Granted && !s.Unchecked {
			out = append(out, s.Scope)
		}
	}
	return out
}

// Unchecked returns the scopes the token endpoint gave no answer about.
func (r *DelegationReport) Unchecked() []string {
	var out []string
	for _, s := range r.Scopes {
		if s.Unchecked {
			out = append(out, s.Scope)
		}
	}
	return out
}

// ScopeList returns every scope checked, comma-separated, as the Admin
// console's "OAuth scopes" field takes them: the whole list to authorize
// for the client id (editing an entry replaces its scopes).
func (r *DelegationReport) ScopeList() string {
	s := make([]string, len(r.Scopes))
	for i, sc := range r.Scopes {
		s[i] = sc.Scope
	}
	return strings.Join(s, ",")
}

// Remedy says what to do when scopes are missing: the client id and the
// scope list to paste into Admin console › Security › API controls ›
// Domain-wide delegation. It is "" when no scope was refused (unchecked
// scopes need another check, not the Admin console).
func (r *DelegationReport) Remedy() string {
	if len(r.Missing()) == 0 {
		return ""
	}
	id := r.ClientID
	if id == "" {
		id = "the client id (unique id) of " + r.ServiceAccount
	}
	return fmt.Sprintf("in Admin console › Security › API controls › Domain-wide delegation, add or edit client ID %s "+
		"with the OAuth scopes %s (missing: %s); changes can take a few minutes, sometimes hours, to apply",
		id, r.ScopeList(), strings.Join(r.Missing(), ","))
}

// ErrNoDelegation: CheckDelegation was given credentials that cannot act
// for other users (a user's refresh token, a caller's token source, none).
var ErrNoDelegation = errors.New("workspace: domain-wide delegation needs service-account credentials (a key file or keyless)")

// CheckDelegation asks the token endpoint, as subject ("" means the
// client's default subject), for one token per scope, each scope on its
// own, the way GAM's "check serviceaccount" does: Google refuses a whole
// token request when any of its scopes is not authorized, so only one
// scope at a time tells which are missing. apis are API names (APIGmail,
// APIDataTransfer...; none means all of APIs), whose scopes APIScopes
// gives. A refused scope is reported, not returned as an error, and so is a
// scope the token endpoint gave no answer about (ScopeCheck.Unchecked);
// the error is for a check that could not run (credentials that cannot
// delegate, a canceled context).
func (c *Client) CheckDelegation(ctx context.Context, subject string, apis ...string) (*DelegationReport, error) {
	if len(apis) == 0 {
		apis = APIs()
	}
	var scopes []string
	for _, api := range apis {
		sc, ok := apiScopes[api]
		if !ok {
			return nil, &InputError{Op: "workspace: CheckDelegation", Field: "api", Reason: fmt.Sprintf("unknown API %q", api)}
		}
		for _, s := range sc {
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	return c.CheckScopes(ctx, subject, scopes...)
}

// CheckScopes is CheckDelegation for a list of scopes (for example the
// read-only ones an API package's ReadOnlyScopes option asks for).
func (c *Client) CheckScopes(ctx context.Context, subject string, scopes ...string) (*DelegationReport, error) {
	if subject == "" {
		subject = c.cfg.subject
	}
	if subject == "" {
		return nil, &InputError{Op: "workspace: CheckDelegation", Field: "subject", Reason: "a user to act as is required (WithSubject or the subject argument)"}
	}
	if c.pool == nil || c.pool.TokenSource != nil ||
		(c.pool.Credentials != nil && c.pool.Credentials.Type() != auth.TypeServiceAccount) {
		return nil, ErrNoDelegation
	}
	r := &DelegationReport{Subject: subject}
	switch {
	case c.pool.Credentials != nil:
		r.ServiceAccount, r.ClientID = c.pool.Credentials.ClientEmail(), c.pool.Credentials.ClientID()
	case c.pool.Keyless != nil:
		r.ServiceAccount, r.ClientID = c.pool.Keyless.ServiceAccount, c.pool.Keyless.ClientID
	}
	for _, sc := range scopes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res := ScopeCheck{Scope: sc}
		src, err := c.pool.Source(subject, []string{sc})
		if err == nil {
			var tok *oauth2.Token
			// A cached token may predate a change in the Admin
			// console: drop it and ask the token endpoint again.
			if tok, err = src.Token(ctx); err == nil {
				src.Invalidate(tok)
				tok, err = src.Token(ctx)
			}
			if err == nil && tok.AccessToken == "" {
				err = errors.New("empty access token")
			}
		}
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			res.Err = err
			// Only the token endpoint's answer refuses a scope; a
			// failure to get one (no connection, 5xx, 429) says
			// nothing about the delegation.
			if c := retry.Classify("", nil, err).Class; c == retry.Transient || c == retry.Throttle {
				res.Unchecked = true
			}
		} else {
			res.Granted = true
		}
		r.Scopes = append(r.Scopes, res)
	}
	return r, nil
}
