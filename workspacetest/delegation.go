package workspacetest

import (
	"net/http"
	"slices"
	"strings"
)

// Domain-wide delegation as the Admin console grants it: Security › API
// controls › Domain-wide delegation lists, per OAuth client id, the scopes
// that client may ask for when it acts as a user of the domain (a JWT with
// "sub"). Google refuses the whole token request when any requested scope
// is outside that list, or the client id is not listed at all:
//
//	401 {"error": "unauthorized_client", "error_description": "Client is
//	unauthorized to retrieve access tokens using this method, or client not
//	authorized for any of the scopes requested."}
//
// (the text as quoted in googleapis/google-api-php-client#2214 and
// googleapis/google-auth-library-nodejs#1001; the 401 status in
// googleads/googleads-php-lib#367 and hlavki/g-suite-identity-sync#7).
//
// Subjects: a "sub" that is not a user of the domain gets invalid_grant
// "Invalid email or User ID" (SCRT-HQ/PSGSuite#267; the 400 status is
// RFC 6749's for invalid_grant, not seen in a quoted reply). A suspended
// user gets the same here: Google's reply for a suspended subject is not
// confirmed. Whether Google checks the delegation list before the subject
// is not known; the fake checks the list first.

// unauthorizedClientDesc is the error_description of Google's
// unauthorized_client refusal.
const unauthorizedClientDesc = "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."

// delegationState is the Admin console's domain-wide delegation list.
type delegationState struct {
	// grants maps a client id to its authorized scopes. A client id absent
	// from the map is unrestricted.
	grants map[string]map[string]bool
}

var delegationStates = serverLocal[delegationState]{newT: func(*Server) *delegationState {
	return &delegationState{grants: map[string]map[string]bool{}}
}}

func (s *Server) delegation() *delegationState { return delegationStates.get(s) }

// ServiceAccountClientID returns the client id (the "client_id" of
// [Server.ServiceAccountKey], the service account's unique id) that an
// administrator enters in the Admin console to grant it domain-wide
// delegation, and that [Server.SetDelegatedScopes] takes.
func (s *Server) ServiceAccountClientID() string { return serviceAccountID }

// SetDelegatedScopes replaces the scopes that clientID may ask for when it
// acts as a user of the domain, as an administrator does in the Admin
// console (Security › API controls › Domain-wide delegation). Until it is
// called for a client, that client may ask for any scope. With no scopes,
// the client is not authorized at all (as when it is missing from the
// console's list).
//
// A token request by the service account with a "sub" whose scope
// parameter holds any scope outside the list is refused with 401
// unauthorized_client, "Client is unauthorized to retrieve access tokens
// using this method, or client not authorized for any of the scopes
// requested.", as Google does: the whole request fails, not only the
// missing scope. Requests without "sub" (the service account acting as
// itself) are not affected. Tokens already issued stay valid, and tokens
// minted without the token endpoint ([Server.Client], [Server.IssueToken],
// [Server.CallerToken]) are not checked against the list.
func (s *Server) SetDelegatedScopes(clientID string, scopes ...string) {
	d := s.delegation()
	set := map[string]bool{}
	for _, sc := range scopes {
		set[strings.TrimSpace(sc)] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d.grants[clientID] = set
}

// DelegatedScopes returns the scopes SetDelegatedScopes authorized for
// clientID, sorted, and whether the client is restricted at all (false:
// every scope is allowed).
func (s *Server) DelegatedScopes(clientID string) (scopes []string, restricted bool) {
	d := s.delegation()
	s.mu.Lock()
	defer s.mu.Unlock()
	set, ok := d.grants[clientID]
	if !ok {
		return nil, false
	}
	for sc := range set {
		scopes = append(scopes, sc)
	}
	slices.Sort(scopes)
	return scopes, true
}

// ClearDelegatedScopes undoes [Server.SetDelegatedScopes] for clientID: the
// client may again ask for any scope.
func (s *Server) ClearDelegatedScopes(clientID string) {
	d := s.delegation()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(d.grants, clientID)
}

// delegationAllowsLocked reports whether clientID may get a delegated token
// for every one of scopes; s.mu must be held.
func (s *Server) delegationAllowsLocked(d *delegationState, clientID string, scopes []string) bool {
	set, ok := d.grants[clientID]
	if !ok {
		return true
	}
	for _, sc := range scopes {
		if !set[sc] {
			return false
		}
	}
	return true
}

// SuspendUser suspends a seeded user, as an administrator does in the
// Admin console: the token endpoint refuses delegated tokens for it
// (invalid_grant, "Invalid email or User ID"), tokens it already holds
// stop working (401), and the Directory shows "suspended": true. It panics
// if email is not a seeded user.
func (s *Server) SuspendUser(email string) { s.setSuspended(email, true) }

// UnsuspendUser undoes [Server.SuspendUser].
func (s *Server) UnsuspendUser(email string) { s.setSuspended(email, false) }

func (s *Server) setSuspended(email string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.usersByEmail[strings.ToLower(email)]
	if u == nil {
		panic("workspacetest: SuspendUser: unknown user " + email)
	}
	u.suspended = on
}

// subjectRefusal checks the "sub" of a delegated token request against the
// domain's users and the delegation list. It writes Google's refusal and
// returns false when the request must fail; s.mu must not be held.
func (s *Server) subjectRefusal(w http.ResponseWriter, subject string, scopes []string) bool {
	if domainOf(subject) != s.cfg.domain {
		writeOAuthError(w, http.StatusUnauthorized, "unauthorized_client", unauthorizedClientDesc)
		return false
	}
	d := s.delegation()
	s.mu.Lock()
	allowed := s.delegationAllowsLocked(d, serviceAccountID, scopes)
	u := s.usersByEmail[subject]
	s.mu.Unlock()
	if !allowed {
		writeOAuthError(w, http.StatusUnauthorized, "unauthorized_client", unauthorizedClientDesc)
		return false
	}
	if u == nil || u.suspended {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "Invalid email or User ID")
		return false
	}
	return true
}
