package workspacetest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// IAM Service Account Credentials API (iamcredentials v1), the one method
// keyless domain-wide delegation needs: projects.serviceAccounts.signJwt.
//
//	POST /v1/projects/-/serviceAccounts/{ACCOUNT_EMAIL_OR_UNIQUEID}:signJwt
//	{"payload": "<JSON claim set>", "delegates": [...]}
//	→ 200 {"keyId": "...", "signedJwt": "<header>.<payload>.<signature>"}
//
// From the discovery document (iamcredentials-api.json): the method takes
// the cloud-platform scope; the project must be the "-" wildcard; the
// payload must be a serialized JSON object, and an "exp" claim, if any, an
// integer timestamp not in the past and no more than 12 hours ahead; the
// JWT is signed with a system-managed key of the service account, named
// by keyId and by the "kid" of the generated header.
//
// The caller (the token's principal) needs roles/iam.serviceAccountTokenCreator
// on the service account ([Server.GrantTokenCreator]). Without it IAM
// answers 403 PERMISSION_DENIED "Permission 'iam.serviceAccounts.signJwt'
// denied on resource (or it may not exist)." with a google.rpc.ErrorInfo
// {reason IAM_PERMISSION_DENIED, domain iam.googleapis.com, metadata
// permission}: the shape quoted for the sibling permission
// iam.serviceAccounts.getAccessToken in google-github-actions/auth#340 and
// for signBlob in gronxb/hot-updater#291; for signJwt it is inferred.
//
// The texts of the 400 INVALID_ARGUMENT replies (bad payload, project not
// "-", exp out of range) are the fake's own: Google's are not known here.
// Delegation chains ("delegates") are not supported and answer 400.

const (
	iamAPI = "iamcredentials"
	// systemKeyID names the system-managed key signJwt signs with. The
	// fake signs with the same RSA key as the key file (so a test needs
	// one key only), under another key id, as Google's system-managed and
	// user-managed keys have different ids.
	systemKeyID = "9a8b7c6d5e4f30211203f4e5d6c7b8a998877665"

	// permSignJwt is the permission signJwt checks; the role
	// roles/iam.serviceAccountTokenCreator grants it.
	permSignJwt = "iam.serviceAccounts.signJwt"
)

// iamState is the IAM policy of the server's service account and the state
// of its user-managed key.
type iamState struct {
	// creators maps a service account email to the principals holding
	// roles/iam.serviceAccountTokenCreator on it.
	creators map[string]map[string]bool
	// keyDeleted: the user-managed key of ServiceAccountKey was deleted.
	keyDeleted bool
}

var iamStates = serverLocal[iamState]{newT: func(*Server) *iamState {
	return &iamState{creators: map[string]map[string]bool{}}
}}

func (s *Server) iam() *iamState { return iamStates.get(s) }

// principalName strips an IAM member prefix ("user:", "serviceAccount:")
// and lower-cases the email.
func principalName(p string) string {
	for _, pre := range []string{"user:", "serviceAccount:", "group:"} {
		if rest, ok := strings.CutPrefix(p, pre); ok {
			p = rest
			break
		}
	}
	return strings.ToLower(strings.TrimSpace(p))
}

// GrantTokenCreator grants principal (an email, or an IAM member such as
// "user:ops@example.com" or "serviceAccount:vm@p.iam.gserviceaccount.com")
// roles/iam.serviceAccountTokenCreator on serviceAccount, which must be
// [Server.ServiceAccountEmail] (the fake's only service account), so that
// principal may call signJwt for it. It panics on another service account.
func (s *Server) GrantTokenCreator(principal, serviceAccount string) {
	s.setTokenCreator(principal, serviceAccount, true)
}

// RevokeTokenCreator undoes [Server.GrantTokenCreator]: signJwt by
// principal answers 403 PERMISSION_DENIED again.
func (s *Server) RevokeTokenCreator(principal, serviceAccount string) {
	s.setTokenCreator(principal, serviceAccount, false)
}

func (s *Server) setTokenCreator(principal, serviceAccount string, on bool) {
	sa := strings.ToLower(serviceAccount)
	if sa != s.ServiceAccountEmail() {
		panic("workspacetest: GrantTokenCreator: unknown service account " + serviceAccount)
	}
	st := s.iam()
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.creators[sa] == nil {
		st.creators[sa] = map[string]bool{}
	}
	if on {
		st.creators[sa][principalName(principal)] = true
	} else {
		delete(st.creators[sa], principalName(principal))
	}
}

// CallerToken returns a fresh access token for principal (any email: a
// gcloud user, a VM's service account, a federated identity), holding the
// cloud-platform scope, as Application Default Credentials would obtain
// for it. It is what a client presents to signJwt. The principal need not
// be a user of the domain, and the token does not act as one.
func (s *Server) CallerToken(principal string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, _ := s.mintLocked(principalName(principal), serviceAccountProject, []string{scopeCloudPlatform})
	return tok
}

// DeleteServiceAccountKey deletes the user-managed key of
// [Server.ServiceAccountKey], as an administrator does in the Cloud
// console (or as an organization that forbids keys has none): JWTs signed
// with it are refused with 400 invalid_grant "Invalid JWT Signature." (the
// reply quoted for a deleted key in crossplane-contrib/provider-jet-gcp#56),
// while JWTs from signJwt (the system-managed key) still work.
func (s *Server) DeleteServiceAccountKey() {
	st := s.iam()
	s.mu.Lock()
	defer s.mu.Unlock()
	st.keyDeleted = true
}

// keyIDAccepted reports whether the token endpoint accepts a JWT header kid.
func (s *Server) keyIDAccepted(kid string) bool {
	st := s.iam()
	s.mu.Lock()
	deleted := st.keyDeleted
	s.mu.Unlock()
	switch kid {
	case systemKeyID:
		return true
	case serviceAccountKeyID, "":
		return !deleted
	}
	return false
}

// IAMCredentialsURL returns the base URL a client should use for the IAM
// Service Account Credentials API: the server's URL, since signJwt is
// served under its real path (/v1/projects/-/serviceAccounts/...:signJwt).
// With google.golang.org/api/iamcredentials/v1 pass
// option.WithEndpoint(IAMCredentialsURL()+"/").
func (s *Server) IAMCredentialsURL() string { return s.URL }

func (s *Server) registerIAMCredentials(mux *http.ServeMux) {
	s.handle(mux, "POST /v1/projects/{project}/serviceAccounts/{account}", endpoint{
		api: iamAPI, method: "projects.serviceAccounts.signJwt",
		scopes: []string{scopeCloudPlatform},
		h:      s.iamSignJwt,
	})
}

// iamError writes an IAM (One Platform) JSON error.
func iamError(w http.ResponseWriter, code int, status, msg string, details ...any) {
	writeGoogleError(w, googleError{Code: code, Status: status, Message: msg, Details: details})
}

func (s *Server) iamSignJwt(w http.ResponseWriter, r *http.Request) {
	account, ok := strings.CutSuffix(r.PathValue("account"), ":signJwt")
	if !ok {
		writeError(w, http.StatusNotFound, "notFound",
			errorf("workspacetest: no fake endpoint for %s %s", r.Method, r.URL.Path))
		return
	}
	if r.PathValue("project") != "-" {
		iamError(w, http.StatusBadRequest, "INVALID_ARGUMENT",
			"The project in the resource name must be the wildcard '-'.")
		return
	}
	sa := strings.ToLower(account)
	if sa == serviceAccountID {
		sa = s.ServiceAccountEmail()
	}
	principal := callerFrom(r).Subject
	st := s.iam()
	s.mu.Lock()
	allowed := st.creators[sa][principal]
	s.mu.Unlock()
	if sa != s.ServiceAccountEmail() || !allowed {
		iamError(w, http.StatusForbidden, "PERMISSION_DENIED",
			"Permission '"+permSignJwt+"' denied on resource (or it may not exist).",
			map[string]any{
				"@type":    "type.googleapis.com/google.rpc.ErrorInfo",
				"reason":   "IAM_PERMISSION_DENIED",
				"domain":   "iam.googleapis.com",
				"metadata": map[string]string{"permission": permSignJwt},
			})
		return
	}
	var req struct {
		Delegates []string `json:"delegates"`
		Payload   string   `json:"payload"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		iamError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	if len(req.Delegates) > 0 {
		iamError(w, http.StatusBadRequest, "INVALID_ARGUMENT",
			"workspacetest: delegation chains (delegates) are not supported by the fake.")
		return
	}
	var claims map[string]any
	if req.Payload == "" || json.Unmarshal([]byte(req.Payload), &claims) != nil || claims == nil {
		iamError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "The payload must be a serialized JSON object containing a JWT claim set.")
		return
	}
	if exp, ok := claims["exp"]; ok {
		f, isNum := exp.(float64)
		now := float64(s.now().Unix())
		if !isNum || f != float64(int64(f)) || f < now || f > now+12*3600 {
			iamError(w, http.StatusBadRequest, "INVALID_ARGUMENT",
				"The exp claim must be an integer timestamp that is not in the past and no more than 12 hours in the future.")
			return
		}
	}
	jwt, err := signJWT(systemKeyID, []byte(req.Payload))
	if err != nil {
		iamError(w, http.StatusInternalServerError, "INTERNAL", "workspacetest: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"keyId": systemKeyID, "signedJwt": jwt})
}

// signJWT signs payload, as is, with the server's RSA key (RS256).
func signJWT(kid string, payload []byte) (string, error) {
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": kid, "typ": "JWT"})
	in := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(nil, signingKey(), crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// isGoogleHost reports whether GoogleTransport sends host to the server.
func isGoogleHost(host string) bool {
	host = strings.ToLower(host)
	return strings.HasSuffix(host, ".googleapis.com") || host == "accounts.google.com" || host == "apps-apis.google.com"
}

// GoogleTransport returns a transport that sends every request for one of
// Google's API hosts (*.googleapis.com, accounts.google.com,
// apps-apis.google.com) to the server instead, keeping its path and query,
// and passes other requests to base (http.DefaultTransport when nil). It
// is for Google libraries whose endpoints cannot be changed, such as
// google.golang.org/api/impersonate and cloud.google.com/go/auth's
// impersonate (signJwt at iamcredentials.googleapis.com, then
// oauth2.googleapis.com/token): wrap the transport that carries the
// caller's credentials with it. The token endpoint accepts Google's token
// URIs as JWT audiences.
func (s *Server) GoogleTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	u, err := url.Parse(s.URL)
	if err != nil || s.URL == "" {
		panic("workspacetest: GoogleTransport called before Start")
	}
	return &googleHostsTransport{target: u, base: base}
}

type googleHostsTransport struct {
	target *url.URL
	base   http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *googleHostsTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !isGoogleHost(r.URL.Hostname()) {
		return t.base.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host, r2.Host = t.target.Scheme, t.target.Host, t.target.Host
	return t.base.RoundTrip(r2)
}
