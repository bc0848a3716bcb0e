// Command domainsettings shows and changes a Google Workspace domain's
// settings through the APIs that still work: the live Admin Settings feeds
// (SSO, signing key, outbound gateway), Cloud Identity inbound SAML SSO
// profiles, the Directory API (customer and domains), an MX check by DNS
// and a logo check.
//
// With no flags it runs a demo against the built-in fake server: it prints
// the domain's settings, sets domain-wide SSO with a certificate generated
// at run time (and the same IdP as a Cloud Identity profile), points the
// outbound gateway at a smart host, runs the MX check against a local DNS
// answer that changes to Google's servers after one TTL, and checks a
// generated logo. Against Google Workspace:
//
//	go run ./examples/domainsettings -credentials sa.json -subject admin@example.com -domain example.com
//	go run ./examples/domainsettings -credentials sa.json -subject admin@example.com -domain example.com \
//		-sso-signon https://idp.example.com/sso -sso-cert idp.pem -sso-whitelist 203.0.113.0/24 -sso-enable \
//		-gateway smtp-out.example.com -gateway-tls -mx-wait 2h -logo logo.png
//
// Without change flags it only reads. Exit status: 0 when every step
// succeeded, 1 when one failed, 2 for bad flags.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/big"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/settings"
	"github.com/gwsadmin/workspace/workspacetest"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// config is what the flags ask for.
type config struct {
	domain        string
	ssoSignOn     string
	ssoLogout     string
	ssoCert       []byte
	ssoWhitelist  []string
	ssoEnable     bool
	gateway       string
	gatewayTLS    bool
	mxCheck       bool
	mxWait        time.Duration
	logo          []byte
	resolver      settings.Resolver
	mxSleep       func(context.Context, time.Duration) error
	profileFromSS bool // also create a Cloud Identity profile from the SSO settings
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("domainsettings", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		credentials  = fs.String("credentials", "", "service-account key (JSON) with domain-wide delegation")
		subject      = fs.String("subject", "", "super administrator to act as")
		endpoint     = fs.String("endpoint", "", "base URL of a compatible server instead of Google")
		redisAddr    = fs.String("redis", "", "share quotas with other processes through this Redis (host:port)")
		domain       = fs.String("domain", "", "the account's primary domain (required with -credentials or -endpoint)")
		ssoSignOn    = fs.String("sso-signon", "", "set the SSO sign-in page URL (https)")
		ssoLogout    = fs.String("sso-logout", "", "set the SSO sign-out page URL (https)")
		ssoCert      = fs.String("sso-cert", "", "upload this IdP certificate (PEM or DER, RSA or DSA key) as the SSO signing key")
		ssoWhitelist = fs.String("sso-whitelist", "", "comma-separated CIDR network masks whose users use SSO")
		ssoEnable    = fs.Bool("sso-enable", false, "turn domain-wide SSO on")
		gateway      = fs.String("gateway", "", "set the outbound gateway's smart host")
		gatewayTLS   = fs.Bool("gateway-tls", false, "with -gateway: use SMTP_TLS")
		mxCheck      = fs.Bool("mx", false, "check that the domain's MX records point at Google")
		mxWait       = fs.Duration("mx-wait", 0, "wait up to this long for the MX records to point at Google")
		logo         = fs.String("logo", "", "check this image against the Admin console's logo rules")
	)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "domainsettings: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg := config{domain: strings.ToLower(*domain), ssoSignOn: *ssoSignOn, ssoLogout: *ssoLogout, ssoEnable: *ssoEnable,
		gateway: *gateway, gatewayTLS: *gatewayTLS, mxCheck: *mxCheck || *mxWait > 0, mxWait: *mxWait}
	if *mxWait < 0 {
		fmt.Fprintln(stderr, "domainsettings: -mx-wait must not be negative")
		return 2
	}
	if *ssoWhitelist != "" {
		cfg.ssoWhitelist = strings.Split(*ssoWhitelist, ",")
	}
	for path, dst := range map[string]*[]byte{*ssoCert: &cfg.ssoCert, *logo: &cfg.logo} {
		if path == "" {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(stderr, "domainsettings:", err)
			return 2
		}
		*dst = b
	}

	demo := *credentials == "" && *endpoint == ""
	var opts []workspace.Option
	if demo {
		if *subject != "" || *domain != "" || *ssoSignOn != "" || *ssoCert != "" || *gateway != "" || *logo != "" || *ssoWhitelist != "" {
			fmt.Fprintln(stderr, "domainsettings: demo mode (no -credentials or -endpoint) makes its own changes; give -credentials to change your domain")
			return 2
		}
		srv, err := demoSetup(&cfg, stdout)
		if err != nil {
			fmt.Fprintln(stderr, "domainsettings:", err)
			return 1
		}
		defer srv.Close()
		opts = append(opts, workspace.WithEndpoint(srv.URL),
			workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()))
		if *redisAddr == "" {
			// The fake's limits are scaled ×100: do not pace to Google's.
			opts = append(opts, workspace.WithQuota(quota.Unlimited))
		}
	} else {
		if cfg.domain == "" {
			fmt.Fprintln(stderr, "domainsettings: -domain is required (the account's primary domain)")
			return 2
		}
		if *credentials != "" && *subject == "" {
			fmt.Fprintln(stderr, "domainsettings: -credentials needs -subject (a super administrator)")
			return 2
		}
		opts = append(opts, cli.Connect(*credentials, *subject, *endpoint)...)
		if *gatewayTLS && *gateway == "" {
			fmt.Fprintln(stderr, "domainsettings: -gateway-tls needs -gateway")
			return 2
		}
	}
	if *redisAddr != "" {
		lim, closeRedis, err := cli.Limiter(ctx, *redisAddr)
		if err != nil {
			fmt.Fprintln(stderr, "domainsettings:", err)
			return 1
		}
		defer closeRedis()
		opts = append(opts, workspace.WithQuota(lim))
	}
	core, err := workspace.NewClient(ctx, opts...)
	if err != nil {
		fmt.Fprintln(stderr, "domainsettings:", err)
		return 2
	}
	r := &runner{out: stdout}
	r.all(ctx, settings.New(core, cfg.domain), &cfg)
	return r.summary()
}

// runner runs the steps and remembers how each went.
type runner struct {
	out     io.Writer
	results []result
}

type result struct {
	name, detail string
	err          error
}

func (r *runner) step(name string, f func() (string, error)) bool {
	detail, err := f()
	r.results = append(r.results, result{name, detail, err})
	if err != nil {
		fmt.Fprintf(r.out, "✗ %s: %v\n", name, err)
		return false
	}
	fmt.Fprintf(r.out, "✓ %s: %s\n", name, detail)
	return true
}

func (r *runner) summary() int {
	failed := 0
	fmt.Fprintln(r.out, "\nSummary:")
	for _, res := range r.results {
		mark := "ok    "
		if res.err != nil {
			mark = "FAILED"
			failed++
		}
		fmt.Fprintf(r.out, "  %s %s\n", mark, res.name)
	}
	fmt.Fprintf(r.out, "%d steps, %d succeeded, %d failed.\n", len(r.results), len(r.results)-failed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

func (r *runner) all(ctx context.Context, s *settings.Client, cfg *config) {
	st, err := s.Get(ctx, nil)
	fmt.Fprintf(r.out, "Settings of %s:\n", s.Domain())
	printSettings(r.out, st)
	r.step("read settings", func() (string, error) {
		if err != nil {
			return "", err
		}
		return "every part read", nil
	})

	if cfg.ssoCert != nil {
		r.step("upload SSO signing key", func() (string, error) {
			k, err := s.SSO.UpdateSigningKey(ctx, cfg.ssoCert)
			if err != nil {
				return "", explain(err)
			}
			return k.Key.String(), nil
		})
	}
	if cfg.ssoSignOn != "" || cfg.ssoLogout != "" || cfg.ssoWhitelist != nil || cfg.ssoEnable {
		r.step("set domain-wide SSO", func() (string, error) {
			u := &settings.SSOUpdate{Whitelist: cfg.ssoWhitelist}
			if cfg.ssoSignOn != "" {
				u.SignOnURI = &cfg.ssoSignOn
			}
			if cfg.ssoLogout != "" {
				u.LogoutURI = &cfg.ssoLogout
			}
			if cfg.ssoEnable {
				u.Enabled = &cfg.ssoEnable
			}
			sso, err := s.SSO.Update(ctx, u)
			if err != nil {
				return "", explain(err)
			}
			return fmt.Sprintf("enabled=%v sign-in=%s networks=%v (entry id kept: %s)", sso.Enabled, sso.SignOnURI, sso.Whitelist, sso.ID), nil
		})
	}
	if cfg.profileFromSS && cfg.ssoCert != nil {
		r.step("Cloud Identity SAML profile", func() (string, error) {
			p, err := s.Profiles.Create(ctx, &settings.Profile{DisplayName: "Demo IdP",
				IdP: settings.IdPConfig{EntityID: "https://idp.demo.example/", SignOnURI: cfg.ssoSignOn, LogoutURI: cfg.ssoLogout}})
			if err != nil {
				return "", err
			}
			c, err := s.Profiles.AddCredential(ctx, p.Name, cfg.ssoCert)
			if err != nil {
				return "", err
			}
			a, err := s.Assignments.Create(ctx, &settings.Assignment{TargetOrgUnit: "orgUnits/demo-sales", Mode: settings.SAMLSSO, SAMLProfile: p.Name})
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s with %s, assigned to %s; Google's ACS URL %s", p.Name, c.Key, a.TargetOrgUnit, p.SP.AssertionConsumerServiceURI), nil
		})
	}
	if cfg.gateway != "" {
		r.step("outbound gateway", func() (string, error) {
			mode := settings.SMTP
			if cfg.gatewayTLS {
				mode = settings.SMTPTLS
			}
			g, err := s.Gateway.Update(ctx, &settings.GatewayUpdate{SmartHost: &cfg.gateway, Mode: &mode})
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("smart host %s (%s)", g.SmartHost, g.Mode), nil
		})
	}
	if cfg.mxCheck {
		r.step("MX records point at Google", func() (string, error) {
			o := &settings.MXOptions{Resolver: cfg.resolver, Sleep: cfg.mxSleep, Progress: func(rep *settings.MXReport) {
				fmt.Fprintf(r.out, "  not yet: %s; checking again after the TTL\n", rep)
			}}
			var rep *settings.MXReport
			var err error
			if cfg.mxWait > 0 {
				wctx, cancel := context.WithTimeout(ctx, cfg.mxWait)
				defer cancel()
				rep, err = s.WaitMX(wctx, o)
			} else {
				rep, err = s.CheckMX(ctx, o)
			}
			if err != nil {
				if rep != nil {
					return "", fmt.Errorf("%s: %w", rep, err)
				}
				return "", err
			}
			if !rep.PointsAtGoogle {
				return "", errors.New(rep.String())
			}
			return fmt.Sprintf("%s (after %d lookups)", rep, rep.Checks), nil
		})
	}
	if changed := cfg.ssoCert != nil || cfg.ssoSignOn != "" || cfg.ssoLogout != "" || cfg.ssoWhitelist != nil ||
		cfg.ssoEnable || cfg.gateway != ""; changed {
		st, err := s.Get(ctx, &settings.GetOptions{SkipDirectory: true})
		fmt.Fprintf(r.out, "Settings of %s after the changes:\n", s.Domain())
		printSettings(r.out, st)
		r.step("read back", func() (string, error) {
			if err != nil {
				return "", err
			}
			return "changes visible", nil
		})
	}
	if cfg.logo != nil {
		r.step("logo check", func() (string, error) {
			rep, err := settings.CheckLogo(cfg.logo)
			if err != nil {
				return "", err
			}
			if !rep.OK() {
				return "", errors.New(rep.String())
			}
			return rep.String(), nil
		})
	}
}

// explain adds the way out to a 1811 refusal.
func explain(err error) error {
	if errors.Is(err, settings.ErrMultiPartyApproval) {
		return fmt.Errorf("%w\n  (multi-party approval is on: create a Cloud Identity SAML profile instead)", err)
	}
	return err
}

func printSettings(w io.Writer, st *settings.Settings) {
	if st.SSO != nil {
		fmt.Fprintf(w, "  SSO (legacy, domain-wide): enabled=%v sign-in=%q sign-out=%q networks=%v domain-specific issuer=%v\n",
			st.SSO.Enabled, st.SSO.SignOnURI, st.SSO.LogoutURI, st.SSO.Whitelist, st.SSO.UseDomainSpecificIssuer)
	}
	if k := st.SigningKey; k != nil {
		desc := k.Key.String()
		if k.Key.Algorithm == "" && k.Properties["signingKey"] == "" {
			desc = "(none)"
		} else if k.Certificate != nil {
			desc += ", certificate for " + k.Certificate.Subject.CommonName + ", expires " + k.Certificate.NotAfter.Format(time.DateOnly)
		}
		fmt.Fprintf(w, "  SSO signing key: %s\n", desc)
	}
	if st.Gateway != nil {
		host := st.Gateway.SmartHost
		if host == "" {
			host = "(none)"
		}
		fmt.Fprintf(w, "  Outbound gateway: %s (%s)\n", host, st.Gateway.Mode)
	}
	fmt.Fprintf(w, "  Cloud Identity SAML profiles: %d, SSO assignments: %d\n", len(st.Profiles), len(st.Assignments))
	for _, p := range st.Profiles {
		fmt.Fprintf(w, "    %s %q sign-in %s\n", p.Name, p.DisplayName, p.IdP.SignOnURI)
	}
	if c := st.Customer; c != nil {
		fmt.Fprintf(w, "  Customer %s: organization %q, country %s, language %s, alternate e-mail %q, created %s\n",
			c.ID, c.OrganizationName, c.CountryCode, c.Language, c.AlternateEmail, c.Created.Format(time.DateOnly))
	}
	for _, d := range st.Domains {
		fmt.Fprintf(w, "  Domain %s: primary=%v verified=%v", d.Name, d.Primary, d.Verified)
		for _, a := range d.Aliases {
			fmt.Fprintf(w, " alias %s", a.Name)
		}
		fmt.Fprintln(w)
	}
	for part, err := range st.Errors {
		fmt.Fprintf(w, "  %s: could not read: %v\n", part, err)
	}
}

// demoSetup starts the fake, seeds it, and fills cfg with the demo's
// changes: a generated IdP certificate, a smart host, a DNS answer that
// moves to Google after one TTL, and a generated logo.
func demoSetup(cfg *config, out io.Writer) (*workspacetest.Server, error) {
	srv := workspacetest.NewServer(workspacetest.WithSpeed(100))
	srv.SetCustomer(workspacetest.CustomerInfo{Language: "it", AlternateEmail: "it-lead@partner.example.net",
		PostalAddress: &workspacetest.PostalAddress{OrganizationName: "Esempio S.r.l.", CountryCode: "IT", Locality: "Milano"}})
	srv.AddDomain("esempio.example.org", true)
	srv.AddDomainAlias("mail.example.com", srv.Domain())
	fmt.Fprintf(out, "Demo: fake Google Workspace at %s (domain %s).\n\n", srv.URL, srv.Domain())

	cert, err := demoCert()
	if err != nil {
		srv.Close()
		return nil, err
	}
	cfg.domain = srv.Domain()
	cfg.ssoCert = cert
	cfg.ssoSignOn = "https://idp.demo.example/saml/sso"
	cfg.ssoLogout = "https://idp.demo.example/saml/logout"
	cfg.ssoWhitelist = []string{"203.0.113.0/24", "2001:db8:10::/48"}
	cfg.ssoEnable = true
	cfg.profileFromSS = true
	cfg.gateway = "smtp-relay.demo.example"
	cfg.gatewayTLS = true
	cfg.mxCheck, cfg.mxWait = true, time.Hour

	// The domain's MX records still point at the old provider for the
	// first two lookups (TTL 5 minutes), then at Google.
	cfg.resolver = &propagating{domain: srv.Domain(), after: 2,
		before: []settings.MX{{Host: "mx.oldprovider.example.", Pref: 10, TTL: 5 * time.Minute}},
		now: []settings.MX{
			{Host: "smtp.google.com.", Pref: 1, TTL: time.Hour},
		}}
	cfg.mxSleep = func(ctx context.Context, d time.Duration) error {
		fmt.Fprintf(out, "  (demo: skipping a %s wait)\n", d)
		return ctx.Err()
	}
	cfg.logo = demoLogo()
	return srv, nil
}

// propagating is a resolver double whose answer changes after a number of
// lookups, like a DNS change that becomes visible once the TTL runs out.
type propagating struct {
	mu          sync.Mutex
	domain      string
	after, seen int
	before, now []settings.MX
}

func (p *propagating) LookupMX(ctx context.Context, domain string) ([]settings.MX, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if domain != p.domain {
		return nil, nil
	}
	p.seen++
	if p.seen <= p.after {
		return p.before, nil
	}
	return p.now, nil
}

// demoCert makes a self-signed IdP certificate with a 2048-bit RSA key.
func demoCert() ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "idp.demo.example"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(3, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// demoLogo draws a 143×59 PNG.
func demoLogo() []byte {
	m := image.NewPaletted(image.Rect(0, 0, settings.LogoWidth, settings.LogoHeight),
		color.Palette{color.White, color.RGBA{26, 115, 232, 255}})
	for y := 15; y < 44; y++ {
		for x := 20; x < 123; x++ {
			m.SetColorIndex(x, y, 1)
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, m)
	return b.Bytes()
}
