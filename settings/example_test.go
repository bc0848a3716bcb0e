package settings_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/settings"
	"github.com/gwsadmin/workspace/workspacetest"
)

// exampleClient points a client at a fake server. Against Google, build
// the workspace.Client with WithCredentialsFile and WithSubject instead of
// WithEndpoint.
func exampleClient(srv *workspacetest.Server) *settings.Client {
	c, err := workspace.NewClient(context.Background(),
		workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()),
		workspace.WithSubject(srv.AdminEmail()),
		workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		log.Fatal(err)
	}
	return settings.New(c, srv.Domain())
}

// Turn on domain-wide SSO for two office networks.
func ExampleSSOService_Update() {
	srv := workspacetest.NewServer()
	defer srv.Close()
	s := exampleClient(srv)
	ctx := context.Background()

	on, signOn := true, "https://idp.example.org/saml/sso"
	sso, err := s.SSO.Update(ctx, &settings.SSOUpdate{
		Enabled:   &on,
		SignOnURI: &signOn,
		Whitelist: []string{"203.0.113.0/24", "2001:db8:1::/48"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("SSO on:", sso.Enabled, "via", sso.SignOnURI)
	fmt.Println("networks:", sso.Whitelist)

	// A plain-http sign-in page is refused before anything is sent.
	bad := "http://idp.example.org/saml/sso"
	_, err = s.SSO.Update(ctx, &settings.SSOUpdate{SignOnURI: &bad})
	fmt.Println(errors.Is(err, workspace.ErrInvalidInput), err)
	// Output:
	// SSO on: true via https://idp.example.org/saml/sso
	// networks: [203.0.113.0/24 2001:db8:1::/48]
	// true settings: sso.general.update: invalid SignOnURI: must be an https URL, not http:
}

// With multi-party approval on, Google refuses legacy SSO changes; the
// error says where to go instead.
func ExampleMultiPartyApprovalError() {
	srv := workspacetest.NewServer()
	defer srv.Close()
	srv.SetMultiPartyApproval(true)
	s := exampleClient(srv)

	on := true
	_, err := s.SSO.Update(context.Background(), &settings.SSOUpdate{UseDomainSpecificIssuer: &on})
	fmt.Println(errors.Is(err, settings.ErrMultiPartyApproval))
	fmt.Println(err)
	// Output:
	// true
	// settings: sso/general: Google refuses legacy SSO changes while multi-party approval is on (error 1811); use the Cloud Identity inbound SAML SSO profiles instead (settings Client.Profiles and Client.Assignments)
}

// Wait, for at most two days, until a domain's MX records point at
// Google. The resolver here is a fixed answer; by default it is the
// system's DNS.
func ExampleClient_WaitMX() {
	srv := workspacetest.NewServer()
	defer srv.Close()
	s := exampleClient(srv)

	dns := settings.StaticResolver{srv.Domain(): {
		{Host: "aspmx.l.google.com.", Pref: 1, TTL: time.Hour},
		{Host: "alt1.aspmx.l.google.com.", Pref: 5, TTL: time.Hour},
	}}
	rep, err := s.WaitMX(context.Background(), &settings.MXOptions{
		Resolver:    dns,
		WaitOptions: workspace.WaitOptions{Timeout: 48 * time.Hour},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep)
	// Output:
	// example.com: 1 aspmx.l.google.com, 5 alt1.aspmx.l.google.com; points at Google; TTL 1h0m0s
}

// Check a logo before a person uploads it in the Admin console.
func ExampleCheckLogo() {
	// A 1×1 GIF.
	gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	rep, err := settings.CheckLogo(gif)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("can upload:", rep.OK())
	fmt.Println(rep)
	// Output:
	// can upload: true
	// gif 1×1, 43 bytes; warning: 1×1 pixels: 143×59 is recommended
}

// Read every setting of the domain at once.
func ExampleClient_Get() {
	srv := workspacetest.NewServer()
	defer srv.Close()
	srv.AddDomain("example.net", false)
	s := exampleClient(srv)

	st, err := s.Get(context.Background(), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("SSO on:", st.SSO.Enabled, "gateway mode:", st.Gateway.Mode)
	fmt.Println("language:", st.Customer.Language)
	for _, d := range st.Domains {
		fmt.Println("domain:", d.Name, "primary:", d.Primary, "verified:", d.Verified)
	}
	fmt.Println("profiles:", len(st.Profiles))
	// Output:
	// SSO on: false gateway mode: SMTP
	// language: en
	// domain: example.com primary: true verified: true
	// domain: example.net primary: false verified: false
	// profiles: 0
}

// Page through the SAML profiles by hand with List, or let All follow the
// page tokens.
func ExampleProfilesService_List() {
	srv := workspacetest.NewServer()
	defer srv.Close()
	s := exampleClient(srv)
	ctx := context.Background()
	for i := range 3 {
		_, err := s.Profiles.Create(ctx, &settings.Profile{DisplayName: fmt.Sprint("IdP ", i),
			IdP: settings.IdPConfig{EntityID: fmt.Sprint("https://idp", i, ".example.org/"), SignOnURI: "https://idp.example.org/sso"}})
		if err != nil {
			log.Fatal(err)
		}
	}

	opts := &workspace.ListOptions{PageSize: 2}
	for {
		page, err := s.Profiles.List(ctx, opts)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("page of", len(page.Items))
		if page.NextPageToken == "" {
			break
		}
		opts.PageToken = page.NextPageToken
	}

	for p, err := range s.Profiles.All(ctx, &workspace.ListOptions{PageSize: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(p.DisplayName)
	}
	// Output:
	// page of 2
	// page of 1
	// IdP 0
	// IdP 1
	// IdP 2
}
