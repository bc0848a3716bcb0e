package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/oauth2"
)

// delegationPage is where an administrator grants a client id its scopes.
const delegationPage = "Admin console › Security › API controls › Domain-wide delegation"

// remedyHint is what a Source knows about its credentials, to name the
// fix when a token is refused.
type remedyHint struct {
	serviceAccount string   // the service account's e-mail, "" for none
	clientID       string   // its client id, when known
	keyID          string   // the private key id of a key file
	scopes         []string // the scopes asked for, sorted
	keyless        bool     // tokens come through IAM signJwt
	user           bool     // authorized-user credentials
}

// remedy returns the likely cause of err and its fix, or "".
func (h remedyHint) remedy(subject string, err error) string {
	var se *SignJWTError
	if errors.As(err, &se) {
		return h.signRemedy(se)
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil || re.Response.StatusCode >= 500 || re.Response.StatusCode == http.StatusTooManyRequests {
		return ""
	}
	desc := strings.ToLower(re.ErrorDescription)
	switch re.ErrorCode {
	case "unauthorized_client":
		if subject == "" {
			return "cause: the client is not authorized to get tokens this way or for these scopes"
		}
		return fmt.Sprintf("cause: the scopes %s are not authorized for %s in %s; fix: add them there (the whole request fails when any one is missing)",
			strings.Join(h.scopes, ","), h.client(), delegationPage)
	case "invalid_grant":
		switch {
		case strings.Contains(desc, "invalid email or user id"):
			return fmt.Sprintf("cause: the subject %q is not a user of the domain, or is suspended; fix: check the address, or restore the user in Admin console › Directory › Users", subject)
		case strings.Contains(desc, "invalid jwt signature"):
			if h.keyless {
				return "cause: the signature was not accepted; the service account's Google-managed key may have just been rotated: try again"
			}
			k := "the service account key"
			if h.keyID != "" {
				k += " (private_key_id " + h.keyID + ")"
			}
			return "cause: " + k + " was deleted or rotated; fix: create a new key for " + h.serviceAccount + ", or use keyless delegation (workspace.WithServiceAccount)"
		case h.user && (strings.Contains(desc, "expired") || strings.Contains(desc, "revoked")):
			return "cause: the refresh token expired or was revoked; fix: sign in again (gcloud auth application-default login)"
		case strings.Contains(desc, "iat and exp") || strings.Contains(desc, "timeframe") || strings.Contains(desc, "clock"):
			return "cause: clock skew: this machine's clock differs from Google's by more than a few minutes; fix: synchronise it (NTP)"
		}
	case "invalid_client":
		if h.user {
			return "cause: the OAuth client of these credentials was deleted or its secret changed; fix: sign in again with a valid client"
		}
		return fmt.Sprintf("cause: the service account %s was not found or is disabled; fix: check it in Google Cloud console › IAM & Admin › Service accounts", h.serviceAccount)
	case "invalid_scope":
		return fmt.Sprintf("cause: one of the scopes %s is not a valid OAuth scope; fix: check its spelling against the API's documentation", strings.Join(h.scopes, ","))
	case "admin_policy_enforced":
		return "cause: the Workspace administrator blocks this app for these scopes; fix: trust the app in Admin console › Security › API controls › App access control"
	case "access_denied":
		return "cause: access was denied (an organization policy or an administrator restricts this app); fix: ask an administrator to allow the app in Admin console › Security › API controls"
	}
	return ""
}

// client names the service account's client id for the Admin console.
func (h remedyHint) client() string {
	if h.clientID != "" {
		return "client id " + h.clientID
	}
	if h.serviceAccount != "" {
		return "the client id of service account " + h.serviceAccount + " (its Unique ID in Google Cloud console › IAM & Admin › Service accounts)"
	}
	return "this client id"
}

// signRemedy words the fix for a signJwt refusal.
func (h remedyHint) signRemedy(se *SignJWTError) string {
	sa := se.ServiceAccount
	msg := strings.ToLower(se.Err.Message + " " + se.Err.Body)
	switch se.Err.Code {
	case http.StatusForbidden:
		if strings.Contains(msg, "has not been used in project") || strings.Contains(msg, "it is disabled") || strings.Contains(msg, "service_disabled") {
			return "cause: the IAM Service Account Credentials API (iamcredentials.googleapis.com) is not enabled in the caller's project; fix: enable it (gcloud services enable iamcredentials.googleapis.com)"
		}
		return fmt.Sprintf("cause: the caller lacks roles/iam.serviceAccountTokenCreator on the service account %s, or the IAM Service Account Credentials API (iamcredentials.googleapis.com) is not enabled in its project; fix: gcloud iam service-accounts add-iam-policy-binding %s --member=CALLER --role=roles/iam.serviceAccountTokenCreator", sa, sa)
	case http.StatusNotFound:
		return fmt.Sprintf("cause: the service account %s does not exist; fix: check the e-mail given to WithServiceAccount", sa)
	case http.StatusUnauthorized:
		return "cause: the caller's own credentials were refused; fix: sign in again (gcloud auth application-default login) or check the caller's token source"
	}
	return ""
}
