package settings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	cloudidentity "google.golang.org/api/cloudidentity/v1"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/pager"
)

const (
	profilePrefix    = "inboundSamlSsoProfiles/"
	assignmentPrefix = "inboundSsoAssignments/"
)

// Profile is a Cloud Identity inbound SAML SSO profile: an identity
// provider that users can sign in with. It replaces the Admin Settings
// sso/general feed; several profiles can exist, and Assignments say who
// uses which.
type Profile struct {
	Name        string // "inboundSamlSsoProfiles/{id}", set by the API
	Customer    string // "customers/C0…", set by the API
	DisplayName string
	IdP         IdPConfig
	SP          SPConfig // Google's side, output only
}

// IdPConfig is the identity provider's side of a profile.
type IdPConfig struct {
	EntityID          string // required: the IdP's SAML entity ID
	SignOnURI         string // required, https: the SingleSignOnService URL
	LogoutURI         string // https: where users go when they sign out
	ChangePasswordURI string // https: where users change their password
}

// SPConfig is what to configure on the identity provider for Google.
type SPConfig struct {
	EntityID                    string
	AssertionConsumerServiceURI string
}

// ProfileUpdate lists the profile fields to change; nil fields are left
// as they are, and only the set ones go in the update mask.
type ProfileUpdate struct {
	DisplayName       *string
	EntityID          *string
	SignOnURI         *string
	LogoutURI         *string // "" clears it
	ChangePasswordURI *string // "" clears it
}

// Credential is an IdP signing certificate of a profile (only its key
// facts are returned by the API).
type Credential struct {
	Name    string // "inboundSamlSsoProfiles/{id}/idpCredentials/{cred}"
	Key     KeyInfo
	Updated time.Time
}

// ProfilesService manages inbound SAML SSO profiles and their IdP
// credentials. Every change is a long-running operation; the methods wait
// for it and return the result, or an *ApprovalPendingError when
// multi-party approval deferred it (a *PendingError for an operation not
// done in any other state: Cloud Identity offers no way to follow one).
type ProfilesService struct{ c *Client }

// Create adds a profile for the account. p.IdP.EntityID and
// p.IdP.SignOnURI are required; every URI must be https.
//
// API docs: https://cloud.google.com/identity/docs/reference/rest/v1/inboundSamlSsoProfiles/create
func (s *ProfilesService) Create(ctx context.Context, p *Profile) (*Profile, error) {
	const method = "inboundSamlSsoProfiles.create"
	op := "settings: " + method
	if p == nil {
		return nil, &workspace.InputError{Op: op, Field: "profile", Reason: "nil Profile"}
	}
	if err := checkIdP(op, &p.IdP); err != nil {
		return nil, err
	}
	ci, err := s.c.ciService(ctx, true)
	if err != nil {
		return nil, err
	}
	cust, err := s.c.customerName(ctx)
	if err != nil {
		return nil, err
	}
	body := &cloudidentity.InboundSamlSsoProfile{Customer: cust, DisplayName: p.DisplayName, IdpConfig: toIdP(&p.IdP)}
	o, err := ci.svc.InboundSamlSsoProfiles.Create(body).Context(s.c.withCall(ctx, workspace.APICloudIdentity, method)).Do()
	if err != nil {
		return nil, apiError(err)
	}
	var out cloudidentity.InboundSamlSsoProfile
	if err := s.c.wait(method, o, &out); err != nil {
		return nil, err
	}
	return fromProfile(&out), nil
}

// Get returns a profile by name ("inboundSamlSsoProfiles/{id}" or the
// bare id).
//
// API docs: https://cloud.google.com/identity/docs/reference/rest/v1/inboundSamlSsoProfiles/get
func (s *ProfilesService) Get(ctx context.Context, name string) (*Profile, error) {
	const method = "inboundSamlSsoProfiles.get"
	name, err := resourceName("settings: "+method, profilePrefix, name)
	if err != nil {
		return nil, err
	}
	ci, err := s.c.ciService(ctx, false)
	if err != nil {
		return nil, err
	}
	p, err := ci.svc.InboundSamlSsoProfiles.Get(name).Context(s.c.withCall(ctx, workspace.APICloudIdentity, method)).Do()
	if err != nil {
		return nil, apiError(err)
	}
	return fromProfile(p), nil
}

// List returns one page of the account's profiles. Pages hold at most 100
// profiles: Google reads a larger opts.PageSize as 100 (0 means the
// server's default; a negative size or one above 2³¹−1 is refused before
// any request); nil opts means the first page.
//
// API docs: https://cloud.google.com/identity/docs/reference/rest/v1/inboundSamlSsoProfiles/list
func (s *ProfilesService) List(ctx context.Context, opts *workspace.ListOptions) (*workspace.Page[*Profile], error) {
	const method = "inboundSamlSsoProfiles.list"
	if err := checkList("settings: "+method, opts); err != nil {
		return nil, err
	}
	ci, err := s.c.ciService(ctx, false)
	if err != nil {
		return nil, err
	}
	// customers/my_customer: the caller's own account, as Cloud
	// Identity documents for the list filter; no customer id read.
	const cust = myCustomerName
	call := page(ci.svc.InboundSamlSsoProfiles.List().Filter(`customer=="`+cust+`"`), opts)
	res, err := call.Context(s.c.withCall(ctx, workspace.APICloudIdentity, method)).Do()
	if err != nil {
		return nil, apiError(err)
	}
	page := &workspace.Page[*Profile]{NextPageToken: res.NextPageToken}
	for _, p := range res.InboundSamlSsoProfiles {
		page.Items = append(page.Items, fromProfile(p))
	}
	return page, nil
}

// All iterates over every profile of the account, page by page from the
// first (opts.PageToken is ignored; opts.PageSize sets the page size).
func (s *ProfilesService) All(ctx context.Context, opts *workspace.ListOptions) iter.Seq2[*Profile, error] {
	return all(ctx, opts, s.List)
}

// Update changes the fields set in u.
//
// API docs: https://cloud.google.com/identity/docs/reference/rest/v1/inboundSamlSsoProfiles/patch
func (s *ProfilesService) Update(ctx context.Context, name string, u *ProfileUpdate) (*Profile, error) {
	const method = "inboundSamlSsoProfiles.patch"
	op := "settings: " + method
	name, err := resourceName(op, profilePrefix, name)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, &workspace.InputError{Op: op, Field: "update", Reason: "nil ProfileUpdate"}
	}
	body := &cloudidentity.InboundSamlSsoProfile{IdpConfig: &cloudidentity.SamlIdpConfig{}}
	var mask []string
	set := func(field string, v *string, dst *string, check func(string) error) error {
		if v == nil {
			return nil
		}
		if err := check(*v); err != nil {
			return &workspace.InputError{Op: op, Field: field, Reason: err.Error()}
		}
		*dst = *v
		mask = append(mask, field)
		return nil
	}
	none := func(string) error { return nil }
	required := func(v string) error {
		if strings.TrimSpace(v) == "" {
			return errInvalid("required")
		}
		return nil
	}
	for _, f := range []struct {
		field string
		v     *string
		dst   *string
		check func(string) error
	}{
		{"displayName", u.DisplayName, &body.DisplayName, none},
		{"idpConfig.entityId", u.EntityID, &body.IdpConfig.EntityId, required},
		{"idpConfig.singleSignOnServiceUri", u.SignOnURI, &body.IdpConfig.SingleSignOnServiceUri, func(v string) error { return checkHTTPS(v, true) }},
		{"idpConfig.logoutRedirectUri", u.LogoutURI, &body.IdpConfig.LogoutRedirectUri, func(v string) error { return checkHTTPS(v, false) }},
		{"idpConfig.changePasswordUri", u.ChangePasswordURI, &body.IdpConfig.ChangePasswordUri, func(v string) error { return checkHTTPS(v, false) }},
	} {
		if err := set(f.field, f.v, f.dst, f.check); err != nil {
			return nil, err
		}
	}
	if len(mask) == 0 {
		return nil, &workspace.InputError{Op: op, Field: "update", Reason: "nothing to change"}
	}
	ci, err := s.c.ciService(ctx, true)
	if err != nil {
		return nil, err
	}
	o, err := ci.svc.InboundSamlSsoProfiles.Patch(name, body).UpdateMask(strings.Join(mask, ",")).
		Context(s.c.withCall(ctx, workspace.APICloudIdentity, method)).Do()
	if err != nil {
		return nil, apiError(err)
	}
	var out cloudidentity.InboundSamlSsoProfile
	if err := s.c.wait(method, o, &out); err != nil {
		return nil, err
	}
	if out.Name == "" { // an operation with an empty response: read it back
		return s.Get(ctx, name)
	}
	return fromProfile(&out), nil
}

// Delete removes a profile. The API refuses while an assignment still
// uses it.
//
// API docs: https://cloud.google.com/identity/docs/reference/rest/v1/inboundSamlSsoProfiles/delete
func (s *ProfilesService) Delete(ctx context.Context, name string) error {
	const method = "inboundSamlSsoProfiles.delete"
	name, err := resourceName("settings: "+method, profilePrefix, name)
	if err != nil {
		return err
	}
	ci, err := s.c.ciService(ctx, true)
	if err != nil {
		return err
	}
	o, err := ci.svc.InboundSamlSsoProfiles.Delete(name).Context(s.c.withCall(ctx, workspace.APICloudIdentity, method)).Do()
	if err != nil {
		return apiError(err)
	}
	return s.c.wait(method, o, nil)
}

// AddCredential adds an IdP signing certificate to a profile (at most two
// per profile). cert is an X.509 certificate in PEM or DER whose key is
// RSA or DSA; anything else is refused before sending. Under multi-party
// approval the result is an *ApprovalPendingError.
//
// API docs: https://cloud.google.com/identity/docs/reference/rest/v1/inboundSamlSsoProfiles.idpCredentials/add
func (s *ProfilesService) AddCredential(ctx context.Context, profile string, cert []byte) (*Credential, error) {
	const method = "inboundSamlSsoProfiles.idpCredentials.add"
	op := "settings: " + method
	profile, err := resourceName(op, profilePrefix, profile)
	if err != nil {
		return nil, err
	}
	c, _, err := ParseCertificate(cert)
	if err != nil {
		return nil, &workspace.InputError{Op: op, Field: "cert", Reason: "unusable certificate", Err: err}
	}
	ci, err := s.c.ciService(ctx, true)
	if err != nil {
		return nil, err
	}
	o, err := ci.svc.InboundSamlSsoProfiles.IdpCredentials.Add(profile, &cloudidentity.AddIdpCredentialRequest{PemData: certPEM(c)}).
		Context(s.c.withCall(ctx, workspace.APICloudIdentity, method)).Do()
	if err != nil {
		return nil, apiError(err)
	}
	var out cloudidentity.IdpCredential
	if err := s.c.wait(method, o, &out); err != nil {
		return nil, err
	}
	return fromCredential(&out), nil
}

// GetCredential returns one IdP credential by its full name.
//
// API docs: https://cloud.google.com/identity/docs/reference/rest/v1/inboundSamlSsoProfiles.idpCredentials/get
func (s *ProfilesService) GetCredential(ctx context.Context, name string) (*Credential, error) {
	const method = "inboundSamlSsoProfiles.idpCredentials.get"
	if err := checkCredentialName("settings: "+method, name); err != nil {
		return nil, err
	}
	ci, err := s.c.ciService(ctx, false)
	if err != nil {
		return nil, err
	}
	cr, err := ci.svc.InboundSamlSsoProfiles.IdpCredentials.Get(name).Context(s.c.withCall(ctx, workspace.APICloudIdentity, method)).Do()
	if err != nil {
		return nil, apiError(err)
	}
	return fromCredential(cr), nil
}

// ListCredentials returns one page of a profile's IdP credentials.
// opts.PageSize is 0 (the server's default) or more; Google documents no
// maximum (a profile has at most two credentials).
//
// API docs: https://cloud.google.com/identity/docs/reference/rest/v1/inboundSamlSsoProfiles.idpCredentials/list
func (s *ProfilesService) ListCredentials(ctx context.Context, profile string, opts *workspace.ListOptions) (*workspace.Page[*Credential], error) {
	const method = "inboundSamlSsoProfiles.idpCredentials.list"
	op := "settings: " + method
	profile, err := resourceName(op, profilePrefix, profile)
	if err != nil {
		return nil, err
	}
	if err := checkList(op, opts); err != nil {
		return nil, err
	}
	ci, err := s.c.ciService(ctx, false)
	if err != nil {
		return nil, err
	}
	call := page(ci.svc.InboundSamlSsoProfiles.IdpCredentials.List(profile), opts)
	res, err := call.Context(s.c.withCall(ctx, workspace.APICloudIdentity, method)).Do()
	if err != nil {
		return nil, apiError(err)
	}
	page := &workspace.Page[*Credential]{NextPageToken: res.NextPageToken}
	for _, cr := range res.IdpCredentials {
		page.Items = append(page.Items, fromCredential(cr))
	}
	return page, nil
}

// AllCredentials iterates over every IdP credential of a profile, page by
// page from the first (opts.PageToken is ignored).
func (s *ProfilesService) AllCredentials(ctx context.Context, profile string, opts *workspace.ListOptions) iter.Seq2[*Credential, error] {
	return all(ctx, opts, func(ctx context.Context, o *workspace.ListOptions) (*workspace.Page[*Credential], error) {
		return s.ListCredentials(ctx, profile, o)
	})
}

// DeleteCredential removes an IdP credential by its full name.
//
// API docs: https://cloud.google.com/identity/docs/reference/rest/v1/inboundSamlSsoProfiles.idpCredentials/delete
func (s *ProfilesService) DeleteCredential(ctx context.Context, name string) error {
	const method = "inboundSamlSsoProfiles.idpCredentials.delete"
	if err := checkCredentialName("settings: "+method, name); err != nil {
		return err
	}
	ci, err := s.c.ciService(ctx, true)
	if err != nil {
		return err
	}
	o, err := ci.svc.InboundSamlSsoProfiles.IdpCredentials.Delete(name).Context(s.c.withCall(ctx, workspace.APICloudIdentity, method)).Do()
	if err != nil {
		return apiError(err)
	}
	return s.c.wait(method, o, nil)
}

// SSOMode is how an assignment's users sign in.
type SSOMode string

// SSO modes of an inbound SSO assignment.
const (
	SSOOff  SSOMode = "SSO_OFF"  // no SSO: Google passwords
	SAMLSSO SSOMode = "SAML_SSO" // the SAML profile in Assignment.SAMLProfile
	OIDCSSO SSOMode = "OIDC_SSO" // an OIDC profile (Assignment.OIDCProfile)
	// DomainWideSAML uses the domain-wide (legacy, sso/general) SAML
	// settings when they are on, and is SSO_OFF otherwise. Google says
	// support for domain-wide SAML may be removed.
	DomainWideSAML SSOMode = "DOMAIN_WIDE_SAML_IF_ENABLED"
)

// Assignment says how the users of one org unit or one group sign in.
// Exactly one of TargetOrgUnit and TargetGroup is set.
type Assignment struct {
	Name          string // "inboundSsoAssignments/{id}", set by the API
	Customer      string // set by the API
	TargetOrgUnit string // "orgUnits/{id}" (a bare id is accepted); Rank must be 0
	TargetGroup   string // "groups/{id}" (a bare id is accepted); Rank must be ≥ 1
	Rank          int64  // order among group assignments
	Mode          SSOMode
	SAMLProfile   string // with SAMLSSO: "inboundSamlSsoProfiles/{id}"
	OIDCProfile   string // with OIDCSSO: "inboundOidcSsoProfiles/{id}"
	// NeverRedirect sets signInBehavior.redirectCondition to NEVER: users
	// prompted for their identity are not sent to the IdP.
	NeverRedirect bool
}

// AssignmentUpdate lists the assignment fields to change (targets are
// immutable). Mode and its profile go together.
type AssignmentUpdate struct {
	Rank          *int64
	Mode          *SSOMode
	SAMLProfile   *string
	OIDCProfile   *string
	NeverRedirect *bool
}

// AssignmentsService manages inbound SSO assignments.
type AssignmentsService struct{ c *Client }

// Create assigns an SSO mode (and profile) to an org unit or a group.
//
// API docs: https://cloud.google.com/identity/docs/reference/rest/v1/inboundSsoAssignments/create
func (s *AssignmentsService) Create(ctx context.Context, a *Assignment) (*Assignment, error) {
	const method = "inboundSsoAssignments.create"
	op := "settings: " + method
	if a == nil {
		return nil, &workspace.InputError{Op: op, Field: "assignment", Reason: "nil Assignment"}
	}
	body, err := toAssignment(op, a)
	if err != nil {
		return nil, err
	}
	ci, err := s.c.ciService(ctx, true)
	if err != nil {
		return nil, err
	}
	if body.Customer, err = s.c.customerName(ctx); err != nil {
		return nil, err
	}
	o, err := ci.svc.InboundSsoAssignments.Create(body).Context(s.c.withCall(ctx, workspace.APICloudIdentity, method)).Do()
	if err != nil {
		return nil, apiError(err)
	}
	var out cloudidentity.InboundSsoAssignment
	if err := s.c.wait(method, o, &out); err != nil {
		return nil, err
	}
	return fromAssignment(&out), nil
}

// Get returns an assignment by name.
//
// API docs: https://cloud.google.com/identity/docs/reference/rest/v1/inboundSsoAssignments/get
func (s *AssignmentsService) Get(ctx context.Context, name string) (*Assignment, error) {
	const method = "inboundSsoAssignments.get"
	name, err := resourceName("settings: "+method, assignmentPrefix, name)
	if err != nil {
		return nil, err
	}
	ci, err := s.c.ciService(ctx, false)
	if err != nil {
		return nil, err
	}
	a, err := ci.svc.InboundSsoAssignments.Get(name).Context(s.c.withCall(ctx, workspace.APICloudIdentity, method)).Do()
	if err != nil {
		return nil, apiError(err)
	}
	return fromAssignment(a), nil
}

// List returns one page of the account's assignments. Pages hold at most
// 100 assignments: Google reads a larger opts.PageSize as 100 (0 means
// the server's default; a negative size or one above 2³¹−1 is refused
// before any request); nil opts means the first page.
//
// API docs: https://cloud.google.com/identity/docs/reference/rest/v1/inboundSsoAssignments/list
func (s *AssignmentsService) List(ctx context.Context, opts *workspace.ListOptions) (*workspace.Page[*Assignment], error) {
	const method = "inboundSsoAssignments.list"
	if err := checkList("settings: "+method, opts); err != nil {
		return nil, err
	}
	ci, err := s.c.ciService(ctx, false)
	if err != nil {
		return nil, err
	}
	// customers/my_customer: the caller's own account, as Cloud
	// Identity documents for the list filter; no customer id read. The
	// assignments filter is written unquoted, as discovery's example for
	// this method is (customer==customers/C0123abc), unlike the profiles'.
	call := page(ci.svc.InboundSsoAssignments.List().Filter("customer=="+myCustomerName), opts)
	res, err := call.Context(s.c.withCall(ctx, workspace.APICloudIdentity, method)).Do()
	if err != nil {
		return nil, apiError(err)
	}
	page := &workspace.Page[*Assignment]{NextPageToken: res.NextPageToken}
	for _, a := range res.InboundSsoAssignments {
		page.Items = append(page.Items, fromAssignment(a))
	}
	return page, nil
}

// All iterates over every assignment of the account, page by page from
// the first (opts.PageToken is ignored; opts.PageSize sets the page size).
func (s *AssignmentsService) All(ctx context.Context, opts *workspace.ListOptions) iter.Seq2[*Assignment, error] {
	return all(ctx, opts, s.List)
}

// Update changes the fields set in u. It reads the assignment first to
// check the result against the API's rules before sending.
//
// API docs: https://cloud.google.com/identity/docs/reference/rest/v1/inboundSsoAssignments/patch
func (s *AssignmentsService) Update(ctx context.Context, name string, u *AssignmentUpdate) (*Assignment, error) {
	const method = "inboundSsoAssignments.patch"
	op := "settings: " + method
	name, err := resourceName(op, assignmentPrefix, name)
	if err != nil {
		return nil, err
	}
	if u == nil || (u.Rank == nil && u.Mode == nil && u.SAMLProfile == nil && u.OIDCProfile == nil && u.NeverRedirect == nil) {
		return nil, &workspace.InputError{Op: op, Field: "update", Reason: "nothing to change"}
	}
	cur, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	next := *cur
	var mask []string
	if u.Rank != nil {
		next.Rank = *u.Rank
		mask = append(mask, "rank")
	}
	if u.Mode != nil {
		next.Mode = *u.Mode
		next.SAMLProfile, next.OIDCProfile = "", ""
		mask = append(mask, "ssoMode", "samlSsoInfo", "oidcSsoInfo")
	}
	if u.SAMLProfile != nil {
		next.SAMLProfile = *u.SAMLProfile
		if u.Mode == nil {
			mask = append(mask, "samlSsoInfo")
		}
	}
	if u.OIDCProfile != nil {
		next.OIDCProfile = *u.OIDCProfile
		if u.Mode == nil {
			mask = append(mask, "oidcSsoInfo")
		}
	}
	if u.NeverRedirect != nil {
		next.NeverRedirect = *u.NeverRedirect
		mask = append(mask, "signInBehavior")
	}
	body, err := toAssignment(op, &next)
	if err != nil {
		return nil, err
	}
	body.TargetGroup, body.TargetOrgUnit = "", "" // immutable
	ci, err := s.c.ciService(ctx, true)
	if err != nil {
		return nil, err
	}
	o, err := ci.svc.InboundSsoAssignments.Patch(name, body).UpdateMask(strings.Join(mask, ",")).
		Context(s.c.withCall(ctx, workspace.APICloudIdentity, method)).Do()
	if err != nil {
		return nil, apiError(err)
	}
	var out cloudidentity.InboundSsoAssignment
	if err := s.c.wait(method, o, &out); err != nil {
		return nil, err
	}
	if out.Name == "" {
		return s.Get(ctx, name)
	}
	return fromAssignment(&out), nil
}

// Delete removes an assignment; its users fall back to the next rule
// (their parent org unit's assignment).
//
// API docs: https://cloud.google.com/identity/docs/reference/rest/v1/inboundSsoAssignments/delete
func (s *AssignmentsService) Delete(ctx context.Context, name string) error {
	const method = "inboundSsoAssignments.delete"
	name, err := resourceName("settings: "+method, assignmentPrefix, name)
	if err != nil {
		return err
	}
	ci, err := s.c.ciService(ctx, true)
	if err != nil {
		return err
	}
	o, err := ci.svc.InboundSsoAssignments.Delete(name).Context(s.c.withCall(ctx, workspace.APICloudIdentity, method)).Do()
	if err != nil {
		return apiError(err)
	}
	return s.c.wait(method, o, nil)
}

// toAssignment checks a against the rules the API documents and builds
// the request body.
func toAssignment(op string, a *Assignment) (*cloudidentity.InboundSsoAssignment, error) {
	body := &cloudidentity.InboundSsoAssignment{Rank: a.Rank, SsoMode: string(a.Mode)}
	ou, grp := strings.TrimSpace(a.TargetOrgUnit), strings.TrimSpace(a.TargetGroup)
	switch {
	case (ou == "") == (grp == ""):
		return nil, &workspace.InputError{Op: op, Field: "target", Reason: "set exactly one of TargetOrgUnit and TargetGroup"}
	case ou != "":
		if !strings.HasPrefix(ou, "orgUnits/") {
			ou = "orgUnits/" + strings.TrimPrefix(ou, "id:")
		}
		if a.Rank != 0 {
			return nil, &workspace.InputError{Op: op, Field: "Rank", Reason: "must be 0 for an org unit assignment"}
		}
		body.TargetOrgUnit = ou
	default:
		if !strings.HasPrefix(grp, "groups/") {
			grp = "groups/" + grp
		}
		if a.Rank < 1 {
			return nil, &workspace.InputError{Op: op, Field: "Rank", Reason: "must be 1 or more for a group assignment"}
		}
		body.TargetGroup = grp
	}
	if strings.ContainsAny(strings.TrimPrefix(strings.TrimPrefix(body.TargetOrgUnit+body.TargetGroup, "orgUnits/"), "groups/"), "/ ") {
		return nil, &workspace.InputError{Op: op, Field: "target", Reason: "want orgUnits/{id} or groups/{id}"}
	}
	switch a.Mode {
	case SSOOff, DomainWideSAML:
		if a.SAMLProfile != "" || a.OIDCProfile != "" {
			return nil, &workspace.InputError{Op: op, Field: "Mode", Reason: "a profile is set only with SAML_SSO or OIDC_SSO"}
		}
	case SAMLSSO:
		p, err := resourceName(op, profilePrefix, a.SAMLProfile)
		if err != nil {
			return nil, &workspace.InputError{Op: op, Field: "SAMLProfile", Reason: "SAML_SSO needs the profile's name"}
		}
		if a.OIDCProfile != "" {
			return nil, &workspace.InputError{Op: op, Field: "OIDCProfile", Reason: "not with SAML_SSO"}
		}
		body.SamlSsoInfo = &cloudidentity.SamlSsoInfo{InboundSamlSsoProfile: p}
	case OIDCSSO:
		if !strings.HasPrefix(a.OIDCProfile, "inboundOidcSsoProfiles/") {
			return nil, &workspace.InputError{Op: op, Field: "OIDCProfile", Reason: "OIDC_SSO needs inboundOidcSsoProfiles/{id}"}
		}
		if a.SAMLProfile != "" {
			return nil, &workspace.InputError{Op: op, Field: "SAMLProfile", Reason: "not with OIDC_SSO"}
		}
		body.OidcSsoInfo = &cloudidentity.OidcSsoInfo{InboundOidcSsoProfile: a.OIDCProfile}
	default:
		return nil, &workspace.InputError{Op: op, Field: "Mode", Reason: fmt.Sprintf("%q is not one of SSO_OFF, SAML_SSO, OIDC_SSO, DOMAIN_WIDE_SAML_IF_ENABLED", a.Mode)}
	}
	if a.NeverRedirect {
		body.SignInBehavior = &cloudidentity.SignInBehavior{RedirectCondition: "NEVER"}
	} else {
		body.SignInBehavior = &cloudidentity.SignInBehavior{}
	}
	return body, nil
}

func fromAssignment(a *cloudidentity.InboundSsoAssignment) *Assignment {
	out := &Assignment{Name: a.Name, Customer: a.Customer, TargetOrgUnit: a.TargetOrgUnit, TargetGroup: a.TargetGroup,
		Rank: a.Rank, Mode: SSOMode(a.SsoMode)}
	if a.SamlSsoInfo != nil {
		out.SAMLProfile = a.SamlSsoInfo.InboundSamlSsoProfile
	}
	if a.OidcSsoInfo != nil {
		out.OIDCProfile = a.OidcSsoInfo.InboundOidcSsoProfile
	}
	out.NeverRedirect = a.SignInBehavior != nil && a.SignInBehavior.RedirectCondition == "NEVER"
	return out
}

func checkIdP(op string, c *IdPConfig) error {
	if strings.TrimSpace(c.EntityID) == "" {
		return &workspace.InputError{Op: op, Field: "IdP.EntityID", Reason: "required"}
	}
	if err := checkHTTPS(c.SignOnURI, true); err != nil {
		return &workspace.InputError{Op: op, Field: "IdP.SignOnURI", Reason: err.Error()}
	}
	if err := checkHTTPS(c.LogoutURI, false); err != nil {
		return &workspace.InputError{Op: op, Field: "IdP.LogoutURI", Reason: err.Error()}
	}
	if err := checkHTTPS(c.ChangePasswordURI, false); err != nil {
		return &workspace.InputError{Op: op, Field: "IdP.ChangePasswordURI", Reason: err.Error()}
	}
	return nil
}

// checkHTTPS accepts an absolute https URL with a host (or "" when not
// required).
func checkHTTPS(v string, required bool) error {
	if v == "" {
		if required {
			return errInvalid("required")
		}
		return nil
	}
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return errInvalid("not a URL")
	case !strings.EqualFold(u.Scheme, "https"):
		return errInvalid("must be an https URL, not " + strings.ToLower(u.Scheme) + ":")
	case u.Host == "" || u.Hostname() == "":
		return errInvalid("the URL has no host")
	case u.User != nil:
		return errInvalid("the URL must not carry a user name or password")
	}
	return nil
}

func toIdP(c *IdPConfig) *cloudidentity.SamlIdpConfig {
	return &cloudidentity.SamlIdpConfig{EntityId: c.EntityID, SingleSignOnServiceUri: c.SignOnURI,
		LogoutRedirectUri: c.LogoutURI, ChangePasswordUri: c.ChangePasswordURI}
}

func fromProfile(p *cloudidentity.InboundSamlSsoProfile) *Profile {
	out := &Profile{Name: p.Name, Customer: p.Customer, DisplayName: p.DisplayName}
	if c := p.IdpConfig; c != nil {
		out.IdP = IdPConfig{EntityID: c.EntityId, SignOnURI: c.SingleSignOnServiceUri,
			LogoutURI: c.LogoutRedirectUri, ChangePasswordURI: c.ChangePasswordUri}
	}
	if c := p.SpConfig; c != nil {
		out.SP = SPConfig{EntityID: c.EntityId, AssertionConsumerServiceURI: c.AssertionConsumerServiceUri}
	}
	return out
}

func fromCredential(c *cloudidentity.IdpCredential) *Credential {
	out := &Credential{Name: c.Name}
	out.Updated, _ = time.Parse(time.RFC3339Nano, c.UpdateTime)
	switch {
	case c.RsaKeyInfo != nil:
		out.Key = KeyInfo{Algorithm: "RSA", Bits: int(c.RsaKeyInfo.KeySize)}
	case c.DsaKeyInfo != nil:
		out.Key = KeyInfo{Algorithm: "DSA", Bits: int(c.DsaKeyInfo.KeySize)}
	}
	return out
}

// resourceName accepts "prefix{id}" or a bare id.
func resourceName(op, prefix, name string) (string, error) {
	name = strings.TrimSpace(name)
	id := strings.TrimPrefix(name, prefix)
	if id == "" || strings.ContainsAny(id, "/?# ") {
		return "", &workspace.InputError{Op: op, Field: "name", Reason: fmt.Sprintf("want %s{id}, got %q", prefix, name)}
	}
	return prefix + id, nil
}

func checkCredentialName(op, name string) error {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0]+"/" != profilePrefix || parts[1] == "" || parts[2] != "idpCredentials" || parts[3] == "" {
		return &workspace.InputError{Op: op, Field: "name", Reason: fmt.Sprintf("want inboundSamlSsoProfiles/{id}/idpCredentials/{cred}, got %q", name)}
	}
	return nil
}

// checkList refuses, before any request, a page size that is not an int32
// of 0 or more (0 is the server's default). Larger sizes are sent: the
// discovery document says Cloud Identity reads a profiles or assignments
// page size above 100 as 100, and gives credentials no maximum.
func checkList(op string, o *workspace.ListOptions) error {
	if o == nil || (o.PageSize >= 0 && o.PageSize <= math.MaxInt32) {
		return nil
	}
	return &workspace.InputError{Op: op, Field: "PageSize", Reason: fmt.Sprintf("%d is outside 0–%d, the int32 the API takes (0 for the server's default)", o.PageSize, math.MaxInt32)}
}

// pageCall is a generated list call's paging setters.
type pageCall[C any] interface {
	PageSize(int64) C
	PageToken(string) C
}

// page sets opts' paging (nil means the server's defaults) on a list call.
func page[C pageCall[C]](call C, opts *workspace.ListOptions) C {
	if opts != nil {
		if opts.PageSize > 0 {
			call.PageSize(opts.PageSize)
		}
		if opts.PageToken != "" {
			call.PageToken(opts.PageToken)
		}
	}
	return call
}

// all runs the list method from the first page (opts.PageToken is
// ignored) until the last, with opts' page size.
func all[T any](ctx context.Context, opts *workspace.ListOptions, list func(context.Context, *workspace.ListOptions) (*workspace.Page[*T], error)) iter.Seq2[*T, error] {
	var o workspace.ListOptions
	if opts != nil {
		o.PageSize = opts.PageSize
	}
	return pager.All(ctx, "", func(ctx context.Context, token string) ([]*T, string, error) {
		o.PageToken = token
		p, err := list(ctx, &o)
		if err != nil {
			return nil, "", err
		}
		return p.Items, p.NextPageToken, nil
	})
}

// myCustomerName names the caller's own account in Cloud Identity list
// filters.
const myCustomerName = "customers/my_customer"

// customerName returns "customers/{id}" for the account, read once from
// the Directory API (Cloud Identity's resources name the real id:
// "customers/C0123abc"). Only the creates need it.
func (c *Client) customerName(ctx context.Context) (string, error) {
	c.custMu.Lock()
	defer c.custMu.Unlock()
	if c.customerID == "" {
		cu, err := c.Customer.Get(ctx)
		if err != nil {
			return "", fmt.Errorf("settings: reading the customer id for Cloud Identity: %w", err)
		}
		c.customerID = cu.ID
	}
	return "customers/" + c.customerID, nil
}

// ErrApprovalPending matches an *ApprovalPendingError.
var ErrApprovalPending = errors.New("settings: awaiting multi-party approval")

// ApprovalPendingError says that Google accepted a change but deferred it
// until another administrator approves it (multi-party approval for
// sensitive actions). The change is made once approved; nothing needs to
// be sent again.
type ApprovalPendingError struct {
	Method    string // e.g. "inboundSamlSsoProfiles.idpCredentials.add"
	Operation string // the operation's name, when the API gave one
	State     string // "awaiting-multi-party-approval"
}

// Error says the change waits for another administrator.
func (e *ApprovalPendingError) Error() string {
	s := "settings: " + e.Method + ": accepted but awaiting multi-party approval by another administrator"
	if e.Operation != "" {
		s += " (operation " + e.Operation + ")"
	}
	return s
}

// Is matches ErrApprovalPending.
func (e *ApprovalPendingError) Is(target error) bool { return target == ErrApprovalPending }

// PendingError says that Google accepted a change and answered with an
// operation that is not done, in a state other than awaiting approval.
// Cloud Identity documents no way to follow such an operation, so the
// change may still take effect: read the resource later (Get or List)
// before sending it again.
type PendingError struct {
	Method    string // e.g. "inboundSamlSsoProfiles.create"
	Operation string // the operation's name, when the API gave one
	State     string // the operation metadata's state, when it had one
}

// Error says the change was accepted but is not known to be done.
func (e *PendingError) Error() string {
	s := "settings: " + e.Method + ": accepted, but the operation is not done"
	if e.State != "" {
		s += " (state " + strconv.Quote(e.State) + ")"
	}
	if e.Operation != "" {
		s += " (operation " + e.Operation + ")"
	}
	return s + " and Cloud Identity offers no way to follow it; read the resource later before sending the change again"
}

// wait reads the operation a change returned and decodes its response
// into out (nil to ignore it). Cloud Identity has no method to read an
// operation again: its discovery document lists none, and the methods that
// return one document a "done": false operation only for a change deferred
// by multi-party approval. So an operation is never polled: one that is
// done with an error is a *workspace.OperationError; one that is not done
// is returned as an *ApprovalPendingError, or, in any other state, a
// *PendingError that says the change was accepted and may still happen.
func (c *Client) wait(method string, o *cloudidentity.Operation, out any) error {
	var meta struct {
		State string `json:"state"`
	}
	if len(o.Metadata) > 0 {
		_ = json.Unmarshal(o.Metadata, &meta)
	}
	if o.Done {
		if o.Error != nil {
			return &workspace.OperationError{API: workspace.APICloudIdentity, Operation: method, ID: o.Name,
				Status: meta.State, Code: int(o.Error.Code), Message: o.Error.Message}
		}
		if out != nil && len(o.Response) > 0 {
			if err := json.Unmarshal(o.Response, out); err != nil {
				return fmt.Errorf("settings: %s: decoding the operation's response: %w", method, err)
			}
		}
		return nil
	}
	if strings.Contains(strings.ToLower(meta.State), "approval") {
		return &ApprovalPendingError{Method: method, Operation: o.Name, State: meta.State}
	}
	return &PendingError{Method: method, Operation: o.Name, State: meta.State}
}
