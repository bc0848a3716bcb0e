package workspacetest

import (
	"crypto/dsa" //lint:ignore SA1019 Google accepts DSA IdP certificates and SSO signing keys
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Cloud Identity API v1 inbound SSO: inboundSamlSsoProfiles (with their
// idpCredentials) and inboundSsoAssignments, the replacement of the Admin
// Settings SSO feeds. Mutations return a long-running Operation that is
// already done, with the resource (or Empty) in "response".
//
// Multi-party approval (SetMultiPartyApproval): the discovery document's
// descriptions of exactly five methods say that when the customer has
// enabled "Multi-party approval for sensitive actions" the Operation has
// "done": false, no response, and metadata "state":
// "awaiting-multi-party-approval": inboundSamlSsoProfiles.create and
// .patch, inboundSamlSsoProfiles.idpCredentials.add, and
// inboundOidcSsoProfiles.create and .patch (which this fake does not
// serve). The fake defers the three it serves after checking the request
// (a bad request is still refused), with metadata typed as the discovery
// document's Create/UpdateInboundSamlSsoProfileOperationMetadata and
// AddIdpCredentialOperationMetadata, and does not apply the change. Other
// mutations (deletes, assignments) say nothing of it and are applied.

const (
	scopeInboundSSO         = "https://www.googleapis.com/auth/cloud-identity.inboundsso"
	scopeInboundSSOReadonly = "https://www.googleapis.com/auth/cloud-identity.inboundsso.readonly"
	scopeCloudPlatform      = "https://www.googleapis.com/auth/cloud-platform"

	ciTypePrefix       = "type.googleapis.com/google.apps.cloudidentity.v1."
	maxIdpCredentials  = 2 // "Up to 2 credentials are allowed." (discovery)
	ciDefaultPageSize  = 10
	ciMaxPageSize      = 100
	ciTimestampLayout  = "2006-01-02T15:04:05.000000Z"
	ciStatusFailedPrec = "FAILED_PRECONDITION"
)

type ciState struct {
	seq         int
	profiles    []*ciProfile
	assignments []*ciAssignment
}

type ciProfile struct {
	ID          string
	DisplayName string
	IdpConfig   ciIdpConfig
	creds       []*ciCredential
}

type ciIdpConfig struct {
	EntityID               string `json:"entityId,omitempty"`
	SingleSignOnServiceURI string `json:"singleSignOnServiceUri,omitempty"`
	LogoutRedirectURI      string `json:"logoutRedirectUri,omitempty"`
	ChangePasswordURI      string `json:"changePasswordUri,omitempty"`
}

type ciCredential struct {
	id      string
	rsaBits int
	dsaBits int
	updated time.Time
}

type ciAssignment struct {
	ID   string
	body ciAssignmentJSON
}

type ciAssignmentJSON struct {
	Name          string `json:"name,omitempty"`
	Customer      string `json:"customer,omitempty"`
	TargetOrgUnit string `json:"targetOrgUnit,omitempty"`
	TargetGroup   string `json:"targetGroup,omitempty"`
	Rank          int64  `json:"rank,omitempty"`
	SsoMode       string `json:"ssoMode,omitempty"`
	SamlSsoInfo   *struct {
		InboundSamlSsoProfile string `json:"inboundSamlSsoProfile,omitempty"`
	} `json:"samlSsoInfo,omitempty"`
	OidcSsoInfo *struct {
		InboundOidcSsoProfile string `json:"inboundOidcSsoProfile,omitempty"`
	} `json:"oidcSsoInfo,omitempty"`
	SignInBehavior *struct {
		RedirectCondition string `json:"redirectCondition,omitempty"`
	} `json:"signInBehavior,omitempty"`
}

var ciStates = serverLocal[ciState]{newT: func(*Server) *ciState { return &ciState{} }}

func (s *Server) cloudIdentity() *ciState { return ciStates.get(s) }

// InboundSamlSsoProfiles returns the resource names of the Cloud Identity
// SAML SSO profiles, oldest first.
func (s *Server) InboundSamlSsoProfiles() []string {
	st := s.cloudIdentity()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(st.profiles))
	for i, p := range st.profiles {
		out[i] = "inboundSamlSsoProfiles/" + p.ID
	}
	return out
}

func (s *Server) registerCloudIdentity(mux *http.ServeMux) {
	rw := []string{scopeInboundSSO, scopeCloudPlatform}
	ro := []string{scopeInboundSSO, scopeInboundSSOReadonly, scopeCloudPlatform}
	add := func(pattern, method string, scopes []string, h http.HandlerFunc) {
		s.handle(mux, pattern, endpoint{api: "cloudidentity", method: method, scopes: scopes, adminOnly: true, h: h})
	}
	const p = "/v1/inboundSamlSsoProfiles"
	add("POST "+p, "inboundSamlSsoProfiles.create", rw, s.ciProfileCreate)
	add("GET "+p, "inboundSamlSsoProfiles.list", ro, s.ciProfileList)
	add("GET "+p+"/{id}", "inboundSamlSsoProfiles.get", ro, s.ciProfileGet)
	add("PATCH "+p+"/{id}", "inboundSamlSsoProfiles.patch", rw, s.ciProfilePatch)
	add("DELETE "+p+"/{id}", "inboundSamlSsoProfiles.delete", rw, s.ciProfileDelete)
	add("POST "+p+"/{id}/idpCredentials:add", "inboundSamlSsoProfiles.idpCredentials.add", rw, s.ciCredentialAdd)
	add("GET "+p+"/{id}/idpCredentials", "inboundSamlSsoProfiles.idpCredentials.list", ro, s.ciCredentialList)
	add("GET "+p+"/{id}/idpCredentials/{cred}", "inboundSamlSsoProfiles.idpCredentials.get", ro, s.ciCredentialGet)
	add("DELETE "+p+"/{id}/idpCredentials/{cred}", "inboundSamlSsoProfiles.idpCredentials.delete", rw, s.ciCredentialDelete)
	const a = "/v1/inboundSsoAssignments"
	add("POST "+a, "inboundSsoAssignments.create", rw, s.ciAssignmentCreate)
	add("GET "+a, "inboundSsoAssignments.list", ro, s.ciAssignmentList)
	add("GET "+a+"/{id}", "inboundSsoAssignments.get", ro, s.ciAssignmentGet)
	add("PATCH "+a+"/{id}", "inboundSsoAssignments.patch", rw, s.ciAssignmentPatch)
	add("DELETE "+a+"/{id}", "inboundSsoAssignments.delete", rw, s.ciAssignmentDelete)
}

// ciError writes a Cloud-style JSON error.
func ciError(w http.ResponseWriter, code int, status, msg string) {
	reason := map[int]string{400: "badRequest", 403: "forbidden", 404: "notFound", 409: "alreadyExists"}[code]
	writeGoogleError(w, googleError{Code: code, Status: status, Message: msg,
		Items: []errorItem{{Domain: "global", Reason: reason, Message: msg}}})
}

func ciInvalid(w http.ResponseWriter, msg string) {
	ciError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg)
}

// writeOperation replies with a done Operation holding resp (typed as
// typeName) in "response".
func (st *ciState) writeOperation(w http.ResponseWriter, typeName string, resp map[string]any) {
	if resp == nil {
		resp = map[string]any{}
	}
	resp["@type"] = typeName
	writeJSON(w, http.StatusOK, map[string]any{"done": true, "response": resp})
}

// deferLocked answers the Operation of a mutation held for multi-party
// approval and reports true when the customer has it on; metadataType is
// the method's OperationMetadata schema. s.mu held.
func (s *Server) deferLocked(w http.ResponseWriter, metadataType string) bool {
	if !s.settings().multiParty {
		return false
	}
	writeJSON(w, http.StatusOK, map[string]any{"done": false, "metadata": map[string]any{
		"@type": ciTypePrefix + metadataType, "state": "awaiting-multi-party-approval",
	}})
	return true
}

// readJSON decodes the request body into v, answering 400 on failure.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		ciInvalid(w, "Invalid JSON payload received. "+err.Error())
		return false
	}
	return true
}

// ciCustomerOK checks a "customers/{id}" value; my_customer stands for
// the fake customer.
func (s *Server) ciCustomerOK(v string) bool {
	id, ok := strings.CutPrefix(v, "customers/")
	return ok && (id == s.customerID || id == "my_customer")
}

func (s *Server) profileJSON(p *ciProfile) map[string]any {
	cfg := p.IdpConfig
	return map[string]any{
		"name":        "inboundSamlSsoProfiles/" + p.ID,
		"customer":    "customers/" + s.customerID,
		"displayName": p.DisplayName,
		"idpConfig":   cfg,
		"spConfig": map[string]string{
			"entityId":                    "https://accounts.google.com/samlrp/" + p.ID,
			"assertionConsumerServiceUri": "https://accounts.google.com/samlrp/acs?rpid=" + p.ID,
		},
	}
}

func validIdpConfig(c ciIdpConfig) string {
	switch {
	case c.EntityID == "":
		return "idpConfig.entityId is required"
	case c.SingleSignOnServiceURI == "":
		return "idpConfig.singleSignOnServiceUri is required"
	}
	if u, err := url.Parse(c.SingleSignOnServiceURI); err != nil || u.Scheme != "https" || u.Host == "" {
		return "idpConfig.singleSignOnServiceUri must be an HTTPS URL"
	}
	for _, v := range []string{c.LogoutRedirectURI, c.ChangePasswordURI} {
		if v != "" && !validHTTPURL(v) {
			return "invalid URL " + v
		}
	}
	return ""
}

func (st *ciState) profileLocked(id string) *ciProfile {
	for _, p := range st.profiles {
		if p.ID == id {
			return p
		}
	}
	return nil
}

func (s *Server) ciProfileCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Customer    string      `json:"customer"`
		DisplayName string      `json:"displayName"`
		IdpConfig   ciIdpConfig `json:"idpConfig"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if !s.ciCustomerOK(in.Customer) {
		ciInvalid(w, "customer must be customers/"+s.customerID)
		return
	}
	if msg := validIdpConfig(in.IdpConfig); msg != "" {
		ciInvalid(w, msg)
		return
	}
	st := s.cloudIdentity()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deferLocked(w, "CreateInboundSamlSsoProfileOperationMetadata") {
		return
	}
	st.seq++
	p := &ciProfile{ID: "0" + leftPad(strconv.Itoa(st.seq), 7) + "sso", DisplayName: in.DisplayName, IdpConfig: in.IdpConfig}
	st.profiles = append(st.profiles, p)
	st.writeOperation(w, ciTypePrefix+"InboundSamlSsoProfile", s.profileJSON(p))
}

// ciFilterCustomer reads a list filter of the form customer=="customers/X"
// (quotes optional). An empty filter means the caller's customer.
func (s *Server) ciFilterCustomer(w http.ResponseWriter, r *http.Request) bool {
	f := strings.TrimSpace(r.URL.Query().Get("filter"))
	if f == "" {
		return true
	}
	k, v, ok := strings.Cut(f, "==")
	if !ok || strings.TrimSpace(k) != "customer" {
		ciInvalid(w, "The only supported filter is customer==\"customers/{customer}\"")
		return false
	}
	v = strings.Trim(strings.TrimSpace(v), `"'`)
	if !strings.HasPrefix(v, "customers/") {
		ciInvalid(w, "Invalid filter: "+f)
		return false
	}
	if !s.ciCustomerOK(v) {
		ciError(w, http.StatusForbidden, "PERMISSION_DENIED", "The caller does not have permission")
		return false
	}
	return true
}

// ciPage cuts items by the pageSize and pageToken parameters.
func ciPage[T any](w http.ResponseWriter, r *http.Request, items []T) (page []T, next string, ok bool) {
	q := r.URL.Query()
	size := ciDefaultPageSize
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			ciInvalid(w, "Invalid pageSize "+v)
			return nil, "", false
		}
		if n > 0 {
			size = min(n, ciMaxPageSize)
		}
	}
	off := 0
	if t := q.Get("pageToken"); t != "" {
		n := -1
		for i := 0; i <= len(items); i++ {
			if pageToken(i) == t {
				n = i
				break
			}
		}
		if n < 0 {
			ciInvalid(w, "Invalid page token.")
			return nil, "", false
		}
		off = n
	}
	end := min(off+size, len(items))
	if end < len(items) {
		next = pageToken(end)
	}
	return items[off:end], next, true
}

func (s *Server) ciProfileList(w http.ResponseWriter, r *http.Request) {
	if !s.ciFilterCustomer(w, r) {
		return
	}
	st := s.cloudIdentity()
	s.mu.Lock()
	all := make([]map[string]any, len(st.profiles))
	for i, p := range st.profiles {
		all[i] = s.profileJSON(p)
	}
	s.mu.Unlock()
	page, next, ok := ciPage(w, r, all)
	if !ok {
		return
	}
	out := map[string]any{"inboundSamlSsoProfiles": page}
	if next != "" {
		out["nextPageToken"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

// ciProfileForLocked finds the path's profile or answers 404.
func (s *Server) ciProfileForLocked(w http.ResponseWriter, id string) *ciProfile {
	p := s.cloudIdentity().profileLocked(id)
	if p == nil {
		ciError(w, http.StatusNotFound, "NOT_FOUND", "InboundSamlSsoProfile inboundSamlSsoProfiles/"+id+" not found")
	}
	return p
}

func (s *Server) ciProfileGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.ciProfileForLocked(w, r.PathValue("id")); p != nil {
		writeJSON(w, http.StatusOK, s.profileJSON(p))
	}
}

func (s *Server) ciProfilePatch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		DisplayName string      `json:"displayName"`
		IdpConfig   ciIdpConfig `json:"idpConfig"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	mask := r.URL.Query().Get("updateMask")
	if mask == "" {
		ciInvalid(w, "updateMask is required")
		return
	}
	st := s.cloudIdentity()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.ciProfileForLocked(w, r.PathValue("id"))
	if p == nil {
		return
	}
	next := *p
	for _, f := range strings.Split(mask, ",") {
		switch strings.TrimSpace(f) {
		case "displayName", "display_name":
			next.DisplayName = in.DisplayName
		case "idpConfig", "idp_config":
			next.IdpConfig = in.IdpConfig
		case "idpConfig.entityId", "idp_config.entity_id":
			next.IdpConfig.EntityID = in.IdpConfig.EntityID
		case "idpConfig.singleSignOnServiceUri", "idp_config.single_sign_on_service_uri":
			next.IdpConfig.SingleSignOnServiceURI = in.IdpConfig.SingleSignOnServiceURI
		case "idpConfig.logoutRedirectUri", "idp_config.logout_redirect_uri":
			next.IdpConfig.LogoutRedirectURI = in.IdpConfig.LogoutRedirectURI
		case "idpConfig.changePasswordUri", "idp_config.change_password_uri":
			next.IdpConfig.ChangePasswordURI = in.IdpConfig.ChangePasswordURI
		default:
			ciInvalid(w, "Unsupported updateMask field: "+f)
			return
		}
	}
	if msg := validIdpConfig(next.IdpConfig); msg != "" {
		ciInvalid(w, msg)
		return
	}
	if s.deferLocked(w, "UpdateInboundSamlSsoProfileOperationMetadata") {
		return
	}
	p.DisplayName, p.IdpConfig = next.DisplayName, next.IdpConfig
	st.writeOperation(w, ciTypePrefix+"InboundSamlSsoProfile", s.profileJSON(p))
}

func (s *Server) ciProfileDelete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	st := s.cloudIdentity()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ciProfileForLocked(w, id) == nil {
		return
	}
	for _, a := range st.assignments {
		if a.body.SamlSsoInfo != nil && a.body.SamlSsoInfo.InboundSamlSsoProfile == "inboundSamlSsoProfiles/"+id {
			ciError(w, http.StatusBadRequest, ciStatusFailedPrec,
				"The profile is used by inboundSsoAssignments/"+a.ID+"; delete or change the assignment first")
			return
		}
	}
	for i, p := range st.profiles {
		if p.ID == id {
			st.profiles = append(st.profiles[:i], st.profiles[i+1:]...)
			break
		}
	}
	st.writeOperation(w, "type.googleapis.com/google.protobuf.Empty", nil)
}

func credJSON(profileID string, c *ciCredential) map[string]any {
	out := map[string]any{
		"name":       "inboundSamlSsoProfiles/" + profileID + "/idpCredentials/" + c.id,
		"updateTime": c.updated.UTC().Format(ciTimestampLayout),
	}
	if c.rsaBits > 0 {
		out["rsaKeyInfo"] = map[string]any{"keySize": c.rsaBits}
	}
	if c.dsaBits > 0 {
		out["dsaKeyInfo"] = map[string]any{"keySize": c.dsaBits}
	}
	return out
}

// ciCredentialAdd serves POST .../{id}/idpCredentials:add.
func (s *Server) ciCredentialAdd(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var in struct {
		PemData string `json:"pemData"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	block, _ := pem.Decode([]byte(in.PemData))
	if block == nil || block.Type != "CERTIFICATE" {
		ciInvalid(w, "pemData must be a PEM-encoded X.509 certificate")
		return
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		ciInvalid(w, "pemData: "+err.Error())
		return
	}
	c := &ciCredential{}
	switch k := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		c.rsaBits = k.N.BitLen()
	case *dsa.PublicKey:
		c.dsaBits = k.P.BitLen()
	default:
		ciInvalid(w, "the certificate's key must be RSA or DSA")
		return
	}
	st := s.cloudIdentity()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.ciProfileForLocked(w, id)
	if p == nil {
		return
	}
	if len(p.creds) >= maxIdpCredentials {
		ciError(w, http.StatusBadRequest, ciStatusFailedPrec, "Up to 2 credentials are allowed per profile")
		return
	}
	if s.deferLocked(w, "AddIdpCredentialOperationMetadata") {
		return
	}
	st.seq++
	c.id = "cred" + strconv.Itoa(st.seq)
	c.updated = s.nowLocked()
	p.creds = append(p.creds, c)
	st.writeOperation(w, ciTypePrefix+"IdpCredential", credJSON(p.ID, c))
}

func (s *Server) ciCredentialList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p := s.ciProfileForLocked(w, r.PathValue("id"))
	var all []map[string]any
	if p != nil {
		for _, c := range p.creds {
			all = append(all, credJSON(p.ID, c))
		}
	}
	s.mu.Unlock()
	if p == nil {
		return
	}
	page, next, ok := ciPage(w, r, all)
	if !ok {
		return
	}
	out := map[string]any{"idpCredentials": page}
	if next != "" {
		out["nextPageToken"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) ciCredentialLocked(w http.ResponseWriter, r *http.Request) (*ciProfile, int) {
	p := s.ciProfileForLocked(w, r.PathValue("id"))
	if p == nil {
		return nil, -1
	}
	for i, c := range p.creds {
		if c.id == r.PathValue("cred") {
			return p, i
		}
	}
	ciError(w, http.StatusNotFound, "NOT_FOUND", "IdpCredential not found")
	return nil, -1
}

func (s *Server) ciCredentialGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, i := s.ciCredentialLocked(w, r); p != nil {
		writeJSON(w, http.StatusOK, credJSON(p.ID, p.creds[i]))
	}
}

func (s *Server) ciCredentialDelete(w http.ResponseWriter, r *http.Request) {
	st := s.cloudIdentity()
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, i := s.ciCredentialLocked(w, r); p != nil {
		p.creds = append(p.creds[:i], p.creds[i+1:]...)
		st.writeOperation(w, "type.googleapis.com/google.protobuf.Empty", nil)
	}
}

var ssoModes = map[string]bool{"SSO_OFF": true, "SAML_SSO": true, "OIDC_SSO": true, "DOMAIN_WIDE_SAML_IF_ENABLED": true}

// validAssignmentLocked checks an assignment; s.mu held.
func (s *Server) validAssignmentLocked(a *ciAssignmentJSON) string {
	st := s.cloudIdentity()
	switch {
	case (a.TargetOrgUnit == "") == (a.TargetGroup == ""):
		return "exactly one of targetOrgUnit and targetGroup must be set"
	case a.TargetOrgUnit != "" && !strings.HasPrefix(a.TargetOrgUnit, "orgUnits/"):
		return "targetOrgUnit must be of the form orgUnits/{org_unit}"
	case a.TargetGroup != "" && !strings.HasPrefix(a.TargetGroup, "groups/"):
		return "targetGroup must be of the form groups/{group}"
	case a.TargetOrgUnit != "" && a.Rank != 0:
		return "rank must be zero for assignments with targetOrgUnit"
	case a.TargetGroup != "" && a.Rank < 1:
		return "rank must be >= 1 for assignments with targetGroup"
	case !ssoModes[a.SsoMode]:
		return "ssoMode must be one of SSO_OFF, SAML_SSO, OIDC_SSO, DOMAIN_WIDE_SAML_IF_ENABLED"
	case (a.SsoMode == "SAML_SSO") != (a.SamlSsoInfo != nil):
		return "samlSsoInfo must be set if and only if ssoMode is SAML_SSO"
	case (a.SsoMode == "OIDC_SSO") != (a.OidcSsoInfo != nil):
		return "oidcSsoInfo must be set if and only if ssoMode is OIDC_SSO"
	case a.SignInBehavior != nil && a.SignInBehavior.RedirectCondition != "" &&
		a.SignInBehavior.RedirectCondition != "NEVER" && a.SignInBehavior.RedirectCondition != "REDIRECT_CONDITION_UNSPECIFIED":
		return "signInBehavior.redirectCondition must be NEVER"
	}
	if a.SamlSsoInfo != nil {
		id, ok := strings.CutPrefix(a.SamlSsoInfo.InboundSamlSsoProfile, "inboundSamlSsoProfiles/")
		if !ok || st.profileLocked(id) == nil {
			return "samlSsoInfo.inboundSamlSsoProfile names no existing profile"
		}
	}
	return ""
}

func (s *Server) ciAssignmentCreate(w http.ResponseWriter, r *http.Request) {
	var in ciAssignmentJSON
	if !readJSON(w, r, &in) {
		return
	}
	if !s.ciCustomerOK(in.Customer) {
		ciInvalid(w, "customer must be customers/"+s.customerID)
		return
	}
	st := s.cloudIdentity()
	s.mu.Lock()
	defer s.mu.Unlock()
	if msg := s.validAssignmentLocked(&in); msg != "" {
		ciInvalid(w, msg)
		return
	}
	for _, a := range st.assignments {
		if a.body.TargetOrgUnit == in.TargetOrgUnit && a.body.TargetGroup == in.TargetGroup {
			ciError(w, http.StatusConflict, "ALREADY_EXISTS", "An assignment for this target already exists: inboundSsoAssignments/"+a.ID)
			return
		}
	}
	st.seq++
	a := &ciAssignment{ID: "0" + leftPad(strconv.Itoa(st.seq), 7) + "asg", body: in}
	a.body.Customer = "customers/" + s.customerID
	a.body.Name = "inboundSsoAssignments/" + a.ID
	st.assignments = append(st.assignments, a)
	st.writeOperation(w, ciTypePrefix+"InboundSsoAssignment", assignmentMap(a))
}

func assignmentMap(a *ciAssignment) map[string]any {
	b, _ := json.Marshal(a.body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func (s *Server) ciAssignmentLocked(w http.ResponseWriter, id string) *ciAssignment {
	for _, a := range s.cloudIdentity().assignments {
		if a.ID == id {
			return a
		}
	}
	ciError(w, http.StatusNotFound, "NOT_FOUND", "InboundSsoAssignment inboundSsoAssignments/"+id+" not found")
	return nil
}

func (s *Server) ciAssignmentList(w http.ResponseWriter, r *http.Request) {
	if !s.ciFilterCustomer(w, r) {
		return
	}
	st := s.cloudIdentity()
	s.mu.Lock()
	all := make([]map[string]any, len(st.assignments))
	for i, a := range st.assignments {
		all[i] = assignmentMap(a)
	}
	s.mu.Unlock()
	page, next, ok := ciPage(w, r, all)
	if !ok {
		return
	}
	out := map[string]any{"inboundSsoAssignments": page}
	if next != "" {
		out["nextPageToken"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) ciAssignmentGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.ciAssignmentLocked(w, r.PathValue("id")); a != nil {
		writeJSON(w, http.StatusOK, assignmentMap(a))
	}
}

func (s *Server) ciAssignmentPatch(w http.ResponseWriter, r *http.Request) {
	var in ciAssignmentJSON
	if !readJSON(w, r, &in) {
		return
	}
	mask := r.URL.Query().Get("updateMask")
	if mask == "" {
		ciInvalid(w, "updateMask is required")
		return
	}
	st := s.cloudIdentity()
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ciAssignmentLocked(w, r.PathValue("id"))
	if a == nil {
		return
	}
	next := a.body
	for _, f := range strings.Split(mask, ",") {
		switch strings.TrimSpace(f) {
		case "rank":
			next.Rank = in.Rank
		case "ssoMode", "sso_mode":
			next.SsoMode = in.SsoMode
		case "samlSsoInfo", "saml_sso_info", "samlSsoInfo.inboundSamlSsoProfile":
			next.SamlSsoInfo = in.SamlSsoInfo
		case "oidcSsoInfo", "oidc_sso_info":
			next.OidcSsoInfo = in.OidcSsoInfo
		case "signInBehavior", "sign_in_behavior", "signInBehavior.redirectCondition":
			next.SignInBehavior = in.SignInBehavior
		case "targetOrgUnit", "targetGroup", "customer", "target_org_unit", "target_group":
			ciInvalid(w, f+" is immutable")
			return
		default:
			ciInvalid(w, "Unsupported updateMask field: "+f)
			return
		}
	}
	if msg := s.validAssignmentLocked(&next); msg != "" {
		ciInvalid(w, msg)
		return
	}
	a.body = next
	st.writeOperation(w, ciTypePrefix+"InboundSsoAssignment", assignmentMap(a))
}

func (s *Server) ciAssignmentDelete(w http.ResponseWriter, r *http.Request) {
	st := s.cloudIdentity()
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.ciAssignmentLocked(w, r.PathValue("id"))
	if a == nil {
		return
	}
	for i, x := range st.assignments {
		if x == a {
			st.assignments = append(st.assignments[:i], st.assignments[i+1:]...)
			break
		}
	}
	st.writeOperation(w, "type.googleapis.com/google.protobuf.Empty", nil)
}
