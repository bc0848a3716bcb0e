package workspacetest

import (
	"net/http"
	"slices"
)

// Setup failures: refusals that every call to an API gets, whatever the
// request, until an administrator fixes the project or the domain.
//
// Shapes, from replies quoted in public issue threads (no Google page lists
// them in full):
//
//   - API not enabled: 403, status PERMISSION_DENIED, message "<API title>
//     has not been used in project <project> before or it is disabled.
//     Enable it by visiting <console URL> then retry. If you enabled this
//     API recently, wait a few minutes for the action to propagate to our
//     systems and retry.", errors[0] {domain "usageLimits", reason
//     "accessNotConfigured", extendedHelp "https://console.developers.google.com"}
//     (Gmail API, 2020: DSchau/gatsby-mail#35), and a google.rpc.ErrorInfo
//     detail {reason "SERVICE_DISABLED", domain "googleapis.com", metadata
//     service, consumer "projects/<project>", serviceTitle, containerInfo,
//     activationUrl} (2025: google-gemini/gemini-cli#1343; the reason and the
//     service/consumer keys are also in google.api.ErrorReason's reference).
//   - caller not allowed: 403, errors[0] {domain "global", reason
//     "forbidden", message "Not Authorized to access this resource/api"}
//     (Admin SDK: googleapis/google-api-nodejs-client#243,
//     googleworkspace/node-samples#27).
//   - scope not granted: 403, status PERMISSION_DENIED, message "Request had
//     insufficient authentication scopes.", errors[0] {domain "global",
//     reason "insufficientPermissions", message "Insufficient Permission"},
//     and an ErrorInfo detail {reason "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
//     domain "googleapis.com", metadata service, method} (Calendar API, 2025:
//     analogdotnow/Analog#296). The fake leaves out metadata "method": the
//     real RPC names of these APIs are not known here.
//
// The first and third are made by Google's API front end, the same for
// every API, so the fake writes them without the API's own decorations
// (Groups Migration adds no kind or responseCode to them). Whether that is
// so for Groups Migration in particular is not confirmed. The second comes
// from the API; Groups Migration adds no responseCode to it either, since
// its reference documents "AUTHORIZATION FAILURE" for 401 only.

// DenyKind is a setup failure that [Server.DenyAPI] makes an API answer.
type DenyKind string

// Setup failures.
const (
	// DenyAPINotEnabled answers as when the API is not enabled in the
	// caller's Cloud project: 403 "accessNotConfigured" (domain
	// "usageLimits"), status PERMISSION_DENIED, message "<API> has not been
	// used in project <project> before or it is disabled. ...", with a
	// google.rpc.ErrorInfo detail of reason "SERVICE_DISABLED".
	DenyAPINotEnabled DenyKind = "api-not-enabled"
	// DenyNotAuthorized answers as when the acting user may not use the API
	// (not an administrator, or one without the needed privilege, or
	// domain-wide delegation not granted to the client): 403 "forbidden",
	// "Not Authorized to access this resource/api".
	DenyNotAuthorized DenyKind = "not-authorized"
	// DenyScopeNotGranted answers as when the access token lacks the API's
	// scope: 403 "insufficientPermissions", status PERMISSION_DENIED,
	// "Request had insufficient authentication scopes.", with an ErrorInfo
	// detail of reason "ACCESS_TOKEN_SCOPE_INSUFFICIENT". It is the reply a
	// token issued without the scope gets anyway.
	DenyScopeNotGranted DenyKind = "scope-not-granted"
)

// apiService names the Google service behind each API key of the fake, as
// in the discovery documents (rootUrl host, title).
var apiService = map[string]struct{ name, title string }{
	"groupsmigration": {"groupsmigration.googleapis.com", "Groups Migration API"},
	"datatransfer":    {"admin.googleapis.com", "Admin SDK API"},
	"directory":       {"admin.googleapis.com", "Admin SDK API"},
	"gmail":           {"gmail.googleapis.com", "Gmail API"},
	"cloudidentity":   {"cloudidentity.googleapis.com", "Cloud Identity API"},
	iamAPI:            {"iamcredentials.googleapis.com", "IAM Service Account Credentials API"},
}

// DenyAPI makes every later call to api ("groupsmigration", "datatransfer",
// "directory", "gmail", "cloudidentity", "iamcredentials": signJwt, the
// keyless path's first step) that presents a valid token fail
// with the given setup failure, until [Server.AllowAPI]. Requests with a
// missing or expired token still get 401 first. Denied calls use no quota
// and draw no fault; Stats counts them as rejected under the reply's
// reason. Calling DenyAPI again replaces the kind.
//
// It panics on an unknown kind, an unknown api, and the legacy GData feeds
// ("audit", "adminsettings") and the token endpoint, whose replies to
// these failures are not known.
func (s *Server) DenyAPI(api string, kind DenyKind) {
	if !slices.Contains([]DenyKind{DenyAPINotEnabled, DenyNotAuthorized, DenyScopeNotGranted}, kind) {
		panic("workspacetest: DenyAPI: unknown kind " + string(kind))
	}
	if _, ok := apiService[api]; !ok {
		panic("workspacetest: DenyAPI: no setup failures for api " + api)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[api] = kind
}

// AllowAPI undoes [Server.DenyAPI]: api answers normally again.
func (s *Server) AllowAPI(api string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, api)
}

// refuseDenied writes the setup failure DenyAPI set for ep's API, if any,
// and reports whether it did.
func (s *Server) refuseDenied(w http.ResponseWriter, ep *endpoint, c *caller) bool {
	s.mu.Lock()
	kind, ok := s.denied[ep.api]
	s.mu.Unlock()
	if !ok {
		return false
	}
	switch kind {
	case DenyAPINotEnabled:
		writeStyled(w, ep, apiNotEnabled(ep.api, c.Project))
	case DenyNotAuthorized:
		writeStyled(w, ep, notAuthorized())
	case DenyScopeNotGranted:
		writeStyled(w, ep, scopeInsufficient(ep.api))
	}
	return true
}

// apiNotEnabled is the front end's reply when api is not enabled in
// project.
func apiNotEnabled(api, project string) googleError {
	svc := apiService[api]
	activation := "https://console.developers.google.com/apis/api/" + svc.name + "/overview?project=" + project
	msg := svc.title + " has not been used in project " + project + " before or it is disabled. Enable it by visiting " +
		activation + " then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry."
	return googleError{
		Code:    http.StatusForbidden,
		Message: msg,
		Status:  "PERMISSION_DENIED",
		Items: []errorItem{{
			Message: msg, Domain: "usageLimits", Reason: "accessNotConfigured",
			ExtendedHelp: "https://console.developers.google.com",
		}},
		Details: []any{map[string]any{
			"@type":  "type.googleapis.com/google.rpc.ErrorInfo",
			"reason": "SERVICE_DISABLED",
			"domain": "googleapis.com",
			"metadata": map[string]string{
				"service":       svc.name,
				"serviceTitle":  svc.title,
				"consumer":      "projects/" + project,
				"containerInfo": project,
				"activationUrl": activation,
			},
		}},
		FrontEnd: true,
	}
}

// notAuthorized is the Admin SDK's reply to a caller who may not use it.
func notAuthorized() googleError {
	return googleError{
		Code:  http.StatusForbidden,
		Items: []errorItem{{Message: "Not Authorized to access this resource/api", Domain: "global", Reason: "forbidden"}},
	}
}

// scopeInsufficient is the front end's reply to a token without any of
// the scopes api accepts.
func scopeInsufficient(api string) googleError {
	ge := googleError{
		Code:     http.StatusForbidden,
		Message:  "Request had insufficient authentication scopes.",
		Status:   "PERMISSION_DENIED",
		Items:    []errorItem{{Message: "Insufficient Permission", Domain: "global", Reason: "insufficientPermissions"}},
		FrontEnd: true,
	}
	if svc, ok := apiService[api]; ok {
		ge.Details = []any{map[string]any{
			"@type":    "type.googleapis.com/google.rpc.ErrorInfo",
			"reason":   "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
			"domain":   "googleapis.com",
			"metadata": map[string]string{"service": svc.name},
		}}
	}
	return ge
}
