package workspacetest_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gwsadmin/workspace/workspacetest"
	ci "google.golang.org/api/cloudidentity/v1"
)

// selfSigned makes a PEM certificate for key.
func selfSigned(t *testing.T, pub, priv any) string {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp.example.org"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func ciService(t *testing.T, s *workspacetest.Server) *ci.Service {
	t.Helper()
	svc, err := ci.NewService(context.Background(), clientOptions(s)...)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// opResponse decodes a done Operation's response into v.
func opResponse(t *testing.T, op *ci.Operation, v any) {
	t.Helper()
	if !op.Done || op.Error != nil {
		t.Fatalf("operation not done: %+v", op)
	}
	if err := json.Unmarshal(op.Response, v); err != nil {
		t.Fatal(err)
	}
}

func TestCloudIdentityProfilesAndCredentials(t *testing.T) {
	s := newServer(t)
	svc := ciService(t, s)
	cust := "customers/" + s.CustomerID()
	var names []string
	for _, n := range []string{"one", "two", "three"} {
		op, err := svc.InboundSamlSsoProfiles.Create(&ci.InboundSamlSsoProfile{
			Customer: cust, DisplayName: n,
			IdpConfig: &ci.SamlIdpConfig{EntityId: "https://idp.example.org/" + n, SingleSignOnServiceUri: "https://idp.example.org/sso"},
		}).Do()
		if err != nil {
			t.Fatal(err)
		}
		var p ci.InboundSamlSsoProfile
		opResponse(t, op, &p)
		if p.Name == "" || p.DisplayName != n || p.SpConfig == nil || p.SpConfig.EntityId == "" || p.Customer != cust {
			t.Fatalf("created %+v", p)
		}
		names = append(names, p.Name)
	}
	// Errors: missing entity id, plain-HTTP sign-in page, another customer.
	for _, p := range []*ci.InboundSamlSsoProfile{
		{Customer: cust, IdpConfig: &ci.SamlIdpConfig{SingleSignOnServiceUri: "https://idp/sso"}},
		{Customer: cust, IdpConfig: &ci.SamlIdpConfig{EntityId: "e", SingleSignOnServiceUri: "http://idp/sso"}},
		{Customer: "customers/Cother", IdpConfig: &ci.SamlIdpConfig{EntityId: "e", SingleSignOnServiceUri: "https://idp/sso"}},
	} {
		_, err := svc.InboundSamlSsoProfiles.Create(p).Do()
		if ge := apiError(t, err); ge.Code != http.StatusBadRequest {
			t.Errorf("create %+v: %v", p.IdpConfig, err)
		}
	}

	// List with filter and paging.
	var got []string
	tok := ""
	for {
		resp, err := svc.InboundSamlSsoProfiles.List().Filter(`customer=="` + cust + `"`).PageSize(2).PageToken(tok).Do()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range resp.InboundSamlSsoProfiles {
			got = append(got, p.Name)
		}
		if tok = resp.NextPageToken; tok == "" {
			break
		}
	}
	if len(got) != 3 || got[0] != names[0] || got[2] != names[2] {
		t.Errorf("list %v, want %v", got, names)
	}
	_, err := svc.InboundSamlSsoProfiles.List().Filter(`customer=="customers/Cother"`).Do()
	if ge := apiError(t, err); ge.Code != http.StatusForbidden {
		t.Errorf("other customer filter: %v", err)
	}

	// Patch with an update mask.
	op, err := svc.InboundSamlSsoProfiles.Patch(names[0], &ci.InboundSamlSsoProfile{
		DisplayName: "renamed", IdpConfig: &ci.SamlIdpConfig{LogoutRedirectUri: "https://idp.example.org/logout"},
	}).UpdateMask("displayName,idpConfig.logoutRedirectUri").Do()
	if err != nil {
		t.Fatal(err)
	}
	var pp ci.InboundSamlSsoProfile
	opResponse(t, op, &pp)
	if pp.DisplayName != "renamed" || pp.IdpConfig.LogoutRedirectUri == "" || pp.IdpConfig.EntityId != "https://idp.example.org/one" {
		t.Errorf("patched %+v %+v", pp, pp.IdpConfig)
	}
	_, err = svc.InboundSamlSsoProfiles.Patch(names[0], &ci.InboundSamlSsoProfile{DisplayName: "x"}).Do()
	if ge := apiError(t, err); ge.Code != 400 {
		t.Errorf("patch without mask: %v", err)
	}

	// Credentials: RSA and DSA-free world: RSA 2048 and 3072; a third is refused.
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 1024)
	var creds []string
	for _, k := range []*rsa.PrivateKey{k1, k2} {
		op, err := svc.InboundSamlSsoProfiles.IdpCredentials.Add(names[0], &ci.AddIdpCredentialRequest{PemData: selfSigned(t, &k.PublicKey, k)}).Do()
		if err != nil {
			t.Fatal(err)
		}
		var c ci.IdpCredential
		opResponse(t, op, &c)
		if c.RsaKeyInfo == nil || c.RsaKeyInfo.KeySize != int64(k.N.BitLen()) || c.UpdateTime == "" {
			t.Fatalf("credential %+v", c)
		}
		if _, err := time.Parse(time.RFC3339Nano, c.UpdateTime); err != nil {
			t.Errorf("updateTime %q: %v", c.UpdateTime, err)
		}
		creds = append(creds, c.Name)
	}
	_, err = svc.InboundSamlSsoProfiles.IdpCredentials.Add(names[0], &ci.AddIdpCredentialRequest{PemData: selfSigned(t, &k1.PublicKey, k1)}).Do()
	if ge := apiError(t, err); ge.Code != 400 {
		t.Errorf("third credential: %v", err)
	}
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, err = svc.InboundSamlSsoProfiles.IdpCredentials.Add(names[1], &ci.AddIdpCredentialRequest{PemData: selfSigned(t, &ek.PublicKey, ek)}).Do()
	if ge := apiError(t, err); ge.Code != 400 {
		t.Errorf("ECDSA credential: %v", err)
	}
	_, err = svc.InboundSamlSsoProfiles.IdpCredentials.Add(names[1], &ci.AddIdpCredentialRequest{PemData: "not pem"}).Do()
	if ge := apiError(t, err); ge.Code != 400 {
		t.Errorf("bad PEM: %v", err)
	}
	list, err := svc.InboundSamlSsoProfiles.IdpCredentials.List(names[0]).Do()
	if err != nil || len(list.IdpCredentials) != 2 {
		t.Fatalf("list credentials: %+v %v", list, err)
	}
	c, err := svc.InboundSamlSsoProfiles.IdpCredentials.Get(creds[1]).Do()
	if err != nil || c.RsaKeyInfo.KeySize != 1024 {
		t.Fatalf("get credential: %+v %v", c, err)
	}
	if _, err := svc.InboundSamlSsoProfiles.IdpCredentials.Delete(creds[1]).Do(); err != nil {
		t.Fatal(err)
	}
	_, err = svc.InboundSamlSsoProfiles.IdpCredentials.Get(creds[1]).Do()
	if ge := apiError(t, err); ge.Code != http.StatusNotFound {
		t.Errorf("get deleted credential: %v", err)
	}

	// Multi-party approval: add answers an operation awaiting approval.
	s.SetMultiPartyApproval(true)
	op, err = svc.InboundSamlSsoProfiles.IdpCredentials.Add(names[0], &ci.AddIdpCredentialRequest{PemData: selfSigned(t, &k2.PublicKey, k2)}).Do()
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]any
	_ = json.Unmarshal(op.Metadata, &md)
	if op.Done || op.Response != nil || md["state"] != "awaiting-multi-party-approval" {
		t.Errorf("MPA operation %+v metadata %v", op, md)
	}
	s.SetMultiPartyApproval(false)

	if _, err := svc.InboundSamlSsoProfiles.Delete(names[2]).Do(); err != nil {
		t.Fatal(err)
	}
	_, err = svc.InboundSamlSsoProfiles.Get(names[2]).Do()
	if ge := apiError(t, err); ge.Code != http.StatusNotFound {
		t.Errorf("get deleted profile: %v", err)
	}
	if got := s.InboundSamlSsoProfiles(); len(got) != 2 {
		t.Errorf("InboundSamlSsoProfiles() = %v", got)
	}
}

func TestCloudIdentityAssignments(t *testing.T) {
	s := newServer(t)
	svc := ciService(t, s)
	cust := "customers/" + s.CustomerID()
	op, err := svc.InboundSamlSsoProfiles.Create(&ci.InboundSamlSsoProfile{
		Customer: cust, IdpConfig: &ci.SamlIdpConfig{EntityId: "e", SingleSignOnServiceUri: "https://idp.example.org/sso"},
	}).Do()
	if err != nil {
		t.Fatal(err)
	}
	var prof ci.InboundSamlSsoProfile
	opResponse(t, op, &prof)

	op, err = svc.InboundSsoAssignments.Create(&ci.InboundSsoAssignment{
		Customer: cust, TargetOrgUnit: "orgUnits/03ph8a2z1", SsoMode: "SAML_SSO",
		SamlSsoInfo: &ci.SamlSsoInfo{InboundSamlSsoProfile: prof.Name},
	}).Do()
	if err != nil {
		t.Fatal(err)
	}
	var a ci.InboundSsoAssignment
	opResponse(t, op, &a)
	if a.Name == "" || a.SamlSsoInfo.InboundSamlSsoProfile != prof.Name || a.Customer != cust {
		t.Fatalf("assignment %+v", a)
	}
	op, err = svc.InboundSsoAssignments.Create(&ci.InboundSsoAssignment{
		Customer: cust, TargetGroup: "groups/01abc", Rank: 1, SsoMode: "SSO_OFF",
	}).Do()
	if err != nil {
		t.Fatal(err)
	}
	var g ci.InboundSsoAssignment
	opResponse(t, op, &g)

	for name, bad := range map[string]*ci.InboundSsoAssignment{
		"both targets":      {Customer: cust, TargetOrgUnit: "orgUnits/x", TargetGroup: "groups/y", SsoMode: "SSO_OFF"},
		"group rank 0":      {Customer: cust, TargetGroup: "groups/z", SsoMode: "SSO_OFF"},
		"org unit rank":     {Customer: cust, TargetOrgUnit: "orgUnits/z", Rank: 2, SsoMode: "SSO_OFF"},
		"saml without info": {Customer: cust, TargetOrgUnit: "orgUnits/z", SsoMode: "SAML_SSO"},
		"unknown profile": {Customer: cust, TargetOrgUnit: "orgUnits/z", SsoMode: "SAML_SSO",
			SamlSsoInfo: &ci.SamlSsoInfo{InboundSamlSsoProfile: "inboundSamlSsoProfiles/nope"}},
		"bad mode": {Customer: cust, TargetOrgUnit: "orgUnits/z", SsoMode: "MAGIC"},
	} {
		_, err := svc.InboundSsoAssignments.Create(bad).Do()
		if ge := apiError(t, err); ge.Code != 400 {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err = svc.InboundSsoAssignments.Create(&ci.InboundSsoAssignment{Customer: cust, TargetOrgUnit: "orgUnits/03ph8a2z1", SsoMode: "SSO_OFF"}).Do()
	if ge := apiError(t, err); ge.Code != http.StatusConflict {
		t.Errorf("duplicate target: %v", err)
	}

	list, err := svc.InboundSsoAssignments.List().Filter("customer==" + cust).Do()
	if err != nil || len(list.InboundSsoAssignments) != 2 {
		t.Fatalf("list %+v %v", list, err)
	}
	// The profile is in use: it cannot be deleted.
	_, err = svc.InboundSamlSsoProfiles.Delete(prof.Name).Do()
	if ge := apiError(t, err); ge.Code != 400 {
		t.Errorf("delete profile in use: %v", err)
	}
	op, err = svc.InboundSsoAssignments.Patch(a.Name, &ci.InboundSsoAssignment{SsoMode: "SSO_OFF"}).UpdateMask("ssoMode,samlSsoInfo").Do()
	if err != nil {
		t.Fatal(err)
	}
	var pa ci.InboundSsoAssignment
	opResponse(t, op, &pa)
	if pa.SsoMode != "SSO_OFF" || pa.SamlSsoInfo != nil || pa.TargetOrgUnit != "orgUnits/03ph8a2z1" {
		t.Errorf("patched %+v", pa)
	}
	_, err = svc.InboundSsoAssignments.Patch(a.Name, &ci.InboundSsoAssignment{TargetOrgUnit: "orgUnits/other"}).UpdateMask("targetOrgUnit").Do()
	if ge := apiError(t, err); ge.Code != 400 {
		t.Errorf("patch immutable: %v", err)
	}
	if _, err := svc.InboundSamlSsoProfiles.Delete(prof.Name).Do(); err != nil {
		t.Errorf("delete profile no longer in use: %v", err)
	}
	if _, err := svc.InboundSsoAssignments.Delete(g.Name).Do(); err != nil {
		t.Fatal(err)
	}
	_, err = svc.InboundSsoAssignments.Get(g.Name).Do()
	if ge := apiError(t, err); ge.Code != http.StatusNotFound {
		t.Errorf("get deleted: %v", err)
	}
	// A token without the inbound SSO scope is refused.
	tok := s.IssueToken(s.AdminEmail(), "https://www.googleapis.com/auth/admin.directory.user")
	req, _ := http.NewRequest("GET", s.URL+"/v1/inboundSsoAssignments", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("wrong scope: %d", resp.StatusCode)
	}
}

// TestCloudIdentityMultiPartyApprovalDefers shows that, under multi-party
// approval, exactly the methods whose discovery descriptions say so
// (inboundSamlSsoProfiles.create, .patch and idpCredentials.add) answer
// an Operation with "done": false, no response and metadata "state":
// "awaiting-multi-party-approval", and change nothing; that a bad request
// is still refused; and that the other mutations are applied.
func TestCloudIdentityMultiPartyApprovalDefers(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	svc := ciService(t, s)
	cust := "customers/" + s.CustomerID()
	idp := &ci.SamlIdpConfig{EntityId: "https://idp.example.org/e", SingleSignOnServiceUri: "https://idp.example.org/sso"}
	op, err := svc.InboundSamlSsoProfiles.Create(&ci.InboundSamlSsoProfile{Customer: cust, DisplayName: "before", IdpConfig: idp}).Do()
	if err != nil {
		t.Fatal(err)
	}
	var p ci.InboundSamlSsoProfile
	opResponse(t, op, &p)
	key, _ := rsa.GenerateKey(rand.Reader, 1024)
	pemData := selfSigned(t, &key.PublicKey, key)

	s.SetMultiPartyApproval(true)
	type deferred struct {
		Done        bool
		HasResponse bool
		Metadata    map[string]any
	}
	want := func(typ string) deferred {
		return deferred{Metadata: map[string]any{
			"@type": "type.googleapis.com/google.apps.cloudidentity.v1." + typ,
			"state": "awaiting-multi-party-approval",
		}}
	}
	tests := []struct {
		name string
		call func() (*ci.Operation, error)
		want deferred
	}{
		{"inboundSamlSsoProfiles.create", func() (*ci.Operation, error) {
			return svc.InboundSamlSsoProfiles.Create(&ci.InboundSamlSsoProfile{Customer: cust, DisplayName: "new", IdpConfig: idp}).Do()
		}, want("CreateInboundSamlSsoProfileOperationMetadata")},
		{"inboundSamlSsoProfiles.patch", func() (*ci.Operation, error) {
			return svc.InboundSamlSsoProfiles.Patch(p.Name, &ci.InboundSamlSsoProfile{DisplayName: "after"}).UpdateMask("displayName").Do()
		}, want("UpdateInboundSamlSsoProfileOperationMetadata")},
		{"inboundSamlSsoProfiles.idpCredentials.add", func() (*ci.Operation, error) {
			return svc.InboundSamlSsoProfiles.IdpCredentials.Add(p.Name, &ci.AddIdpCredentialRequest{PemData: pemData}).Do()
		}, want("AddIdpCredentialOperationMetadata")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, err := tt.call()
			if err != nil {
				t.Fatal(err)
			}
			got := deferred{Done: op.Done, HasResponse: op.Response != nil}
			if len(op.Metadata) > 0 {
				if err := json.Unmarshal(op.Metadata, &got.Metadata); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("operation (-want +got):\n%s", diff)
			}
		})
	}
	// Nothing was applied.
	if diff := cmp.Diff([]string{p.Name}, s.InboundSamlSsoProfiles()); diff != "" {
		t.Errorf("profiles after deferred create (-want +got):\n%s", diff)
	}
	if got, err := svc.InboundSamlSsoProfiles.Get(p.Name).Do(); err != nil || got.DisplayName != "before" {
		t.Errorf("profile after deferred patch: %+v %v", got, err)
	}
	if list, err := svc.InboundSamlSsoProfiles.IdpCredentials.List(p.Name).Do(); err != nil || len(list.IdpCredentials) != 0 {
		t.Errorf("credentials after deferred add: %+v %v", list, err)
	}
	// A bad request is refused, not deferred.
	_, err = svc.InboundSamlSsoProfiles.Create(&ci.InboundSamlSsoProfile{Customer: cust, IdpConfig: &ci.SamlIdpConfig{EntityId: "e"}}).Do()
	if ge := apiError(t, err); ge.Code != http.StatusBadRequest {
		t.Errorf("invalid create under approval: %v", err)
	}
	// Methods the discovery document does not name are applied at once.
	op, err = svc.InboundSsoAssignments.Create(&ci.InboundSsoAssignment{
		Customer: cust, TargetOrgUnit: "orgUnits/03ph8a2z1", SsoMode: "SAML_SSO",
		SamlSsoInfo: &ci.SamlSsoInfo{InboundSamlSsoProfile: p.Name},
	}).Do()
	if err != nil || !op.Done || op.Response == nil {
		t.Errorf("assignment create under approval: %+v %v", op, err)
	}

	s.SetMultiPartyApproval(false)
	op, err = svc.InboundSamlSsoProfiles.Patch(p.Name, &ci.InboundSamlSsoProfile{DisplayName: "after"}).UpdateMask("displayName").Do()
	if err != nil {
		t.Fatal(err)
	}
	opResponse(t, op, &p)
	if p.DisplayName != "after" {
		t.Errorf("patch after approval turned off: %+v", p)
	}
}
