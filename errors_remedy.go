package workspace

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// setupCause is why a 403 refused a call that was otherwise well formed.
type setupCause int

const (
	causeNone              setupCause = iota
	causeAPIDisabled                  // the API is not enabled in the Cloud project
	causeScope                        // the token lacks the scope the method needs
	causeNotAuthorized                // the acting user may not use the API
	causeDelegationDenied             // Gmail: the token's user is not the mailbox owner
	causeDomainNotEligible            // the domain's edition or settings do not allow the API
)

// setupCause reads the cause of a 403 from the parsed answer: Google's
// front end says accessNotConfigured / SERVICE_DISABLED for a disabled API
// and insufficientPermissions / ACCESS_TOKEN_SCOPE_INSUFFICIENT for a
// missing scope; the Admin SDK says "Not Authorized to access this
// resource/api" for a caller who is not an administrator, Groups Migration
// "AUTHORIZATION FAILURE", the legacy GData feeds "You are not authorized
// to access this API" (in an AppsForYourDomainErrors reason, plain text or
// an HTML page) or "Domain cannot use ..." for a domain whose edition does
// not include the API, and Cloud-style APIs status PERMISSION_DENIED. A body
// that says the message itself was bad (Groups Migration's INVALID MESSAGE
// FAILURE) has no set-up cause.
func (e *Error) setupCause() setupCause {
	if e.StatusCode != http.StatusForbidden || e.hasReason("INVALID MESSAGE FAILURE") {
		return causeNone
	}
	msg := strings.ToLower(e.Message)
	switch {
	case e.hasReason("accessNotConfigured") || e.hasReason("SERVICE_DISABLED") ||
		strings.Contains(msg, "has not been used in project") || strings.Contains(msg, "it is disabled"):
		return causeAPIDisabled
	case e.hasReason("insufficientPermissions") || e.hasReason("ACCESS_TOKEN_SCOPE_INSUFFICIENT") ||
		strings.Contains(msg, "insufficient authentication scopes"):
		return causeScope
	case strings.Contains(msg, "not authorized") || e.hasReason("AUTHORIZATION FAILURE") ||
		strings.Contains(strings.ToLower(string(e.Body)), "not authorized") ||
		e.Status == "PERMISSION_DENIED" || strings.Contains(msg, "does not have permission"):
		return causeNotAuthorized
	case strings.Contains(msg, "domain cannot use") || strings.Contains(strings.ToLower(string(e.Body)), "domain cannot use"):
		return causeDomainNotEligible
	case strings.Contains(msg, "delegation denied"):
		return causeDelegationDenied
	}
	return causeNone
}

func (e *Error) hasReason(r string) bool {
	return slices.ContainsFunc(e.Reasons, func(x string) bool { return strings.EqualFold(x, r) })
}

// remedy words the cause of a set-up refusal and its fix.
func (e *Error) remedy() string {
	switch e.setupCause() {
	case causeAPIDisabled:
		s := "cause: the API is not enabled in the Cloud project of the credentials; fix: enable it"
		if u := activationURL(e.Body, e.Message); u != "" {
			s += " at " + u
		} else {
			s += " in Google Cloud console › APIs & Services › Library"
		}
		return s + ", wait a few minutes, then retry"
	case causeScope:
		return "cause: the access token lacks the OAuth scope this method needs; fix: authorize the scope listed in the package documentation " +
			"for the service account's client id in Admin console › Security › API controls › Domain-wide delegation " +
			"(workspace.CheckDelegation lists what is missing), or sign in again with it for user credentials"
	case causeDelegationDenied:
		return "cause: the token belongs to another user than the mailbox named; fix: act as the mailbox owner " +
			"(service-account credentials impersonate each user), or name the token's own mailbox"
	case causeDomainNotEligible:
		return "cause: the domain may not use this API (its Google Workspace edition does not include it, or it is turned off for the domain); " +
			"fix: check the edition and the API's setting in the Admin console"
	case causeNotAuthorized:
		return "cause: the acting user is not allowed to use this API (not an administrator, or without the needed admin privilege); " +
			"fix: act as a super administrator (WithSubject), or give the user an admin role with this privilege in Admin console › Account › Admin roles"
	}
	return ""
}

// activationURL finds the link Google sends to enable a disabled API: the
// activationUrl of the google.rpc.ErrorInfo detail, else the URL the
// message names after "visiting".
func activationURL(body []byte, msg string) string {
	var doc struct {
		Error struct {
			Details []struct {
				Metadata map[string]string `json:"metadata"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &doc) == nil {
		for _, d := range doc.Error.Details {
			if u := d.Metadata["activationUrl"]; strings.HasPrefix(u, "https://") {
				return u
			}
		}
	}
	if _, rest, ok := strings.Cut(msg, "visiting "); ok {
		if u, _, _ := strings.Cut(rest, " "); strings.HasPrefix(u, "https://") {
			return strings.TrimRight(u, ".,")
		}
	}
	return ""
}
