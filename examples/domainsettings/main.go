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
// Without change flags it only reads. The reads run in parallel, and each
// part of the settings is shown as read, as not available (the server has
// no such setting), or as failed with the reason; a part never shows a
// made-up zero. A change touches only what its flags name: -gateway keeps
// the gateway's TLS setting unless -gateway-tls (or -gateway-tls=false) is
// given. Every flag, the endpoint and the credentials are checked before
// the first call. -v logs the client's retries, waits and token
// refreshes; a wait of more than a few seconds is always announced on
// stderr.
//
// Exit status: 0 when every step succeeded, 1 when one failed (a part
// that could not be read included), 2 for bad usage, with nothing sent.
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
	"net"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/examples/internal/cli"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
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
	gatewayTLS    *bool // nil: keep the gateway's TLS setting
	mxCheck       bool
	mxWait        time.Duration
	logo          []byte
	resolver      settings.Resolver
	sleep         func(ctx context.Context, d time.Duration) error // the demo's: skips the MX waits
	profileFromSS bool                                             // also create a Cloud Identity profile from the SSO settings
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("domainsettings", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		credentials  = fs.String("credentials", "", "service-account key (JSON) with domain-wide delegation")
		subject      = fs.String("subject", "", "super administrator to act as")
		endpoint     = fs.String("endpoint", "", "base URL of a compatible server instead of Google")
		redisAddr    = fs.String("redis", "", "share quotas with other processes through this Redis (host:port)")
		verbose      = fs.Bool("v", false, "log the client's retries, waits and token refreshes")
		domain       = fs.String("domain", "", "the account's primary domain (required with -credentials or -endpoint)")
		ssoSignOn    = fs.String("sso-signon", "", "set the SSO sign-in page URL (https)")
		ssoLogout    = fs.String("sso-logout", "", "set the SSO sign-out page URL (https)")
		ssoCert      = fs.String("sso-cert", "", "upload this IdP certificate (PEM or DER, RSA or DSA key) as the SSO signing key")
		ssoWhitelist = fs.String("sso-whitelist", "", "comma-separated CIDR network masks whose users use SSO")
		ssoEnable    = fs.Bool("sso-enable", false, "turn domain-wide SSO on")
		gateway      = fs.String("gateway", "", "set the outbound gateway's smart host (its TLS setting is kept unless -gateway-tls is given)")
		gatewayTLS   = fs.Bool("gateway-tls", false, "-gateway-tls turns the gateway's SMTP_TLS on, -gateway-tls=false off; not given: kept as it is")
		mxCheck      = fs.Bool("mx", false, "check that the domain's MX records point at Google")
		mxWait       = fs.Duration("mx-wait", 0, "wait up to this long for the MX records to point at Google")
		logo         = fs.String("logo", "", "check this image against the Admin console's logo rules")
	)
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	usage := func(format string, a ...any) int { return cli.Usage(stderr, "domainsettings", format, a...) }
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg := config{domain: strings.ToLower(*domain), ssoSignOn: *ssoSignOn, ssoLogout: *ssoLogout, ssoEnable: *ssoEnable,
		gateway: *gateway, mxCheck: *mxCheck || *mxWait > 0, mxWait: *mxWait}
	if set["gateway-tls"] {
		cfg.gatewayTLS = gatewayTLS
	}
	demo := *credentials == "" && *endpoint == ""
	if demo {
		var given []string
		for name := range set {
			if name != "v" && name != "redis" {
				given = append(given, "-"+name)
			}
		}
		if len(given) > 0 {
			slices.Sort(given)
			return usage("%s: demo mode (no -credentials or -endpoint) makes its own changes; give -credentials or -endpoint to read or change your domain", strings.Join(given, ", "))
		}
	} else {
		// Every flag is checked before the first call.
		if err := cli.CheckConnection(*credentials, *subject, *endpoint); err != nil {
			return usage("%v", err)
		}
		if cfg.domain == "" {
			return usage("-domain is required (the account's primary domain)")
		}
		if *mxWait < 0 {
			return usage("-mx-wait must not be negative")
		}
		for _, u := range []struct{ name, v string }{{"sso-signon", *ssoSignOn}, {"sso-logout", *ssoLogout}} {
			if u.v == "" {
				continue
			}
			if pu, err := url.Parse(u.v); err != nil || pu.Scheme != "https" || pu.Host == "" {
				return usage("-%s %q: want an https URL", u.name, u.v)
			}
		}
		if *ssoWhitelist != "" {
			for _, n := range strings.Split(*ssoWhitelist, ",") {
				n = strings.TrimSpace(n)
				if _, _, err := net.ParseCIDR(n); err != nil {
					return usage("-sso-whitelist: %q is not a CIDR network mask (like 203.0.113.0/24)", n)
				}
				cfg.ssoWhitelist = append(cfg.ssoWhitelist, n)
			}
		}
		if h := *gateway; h != "" && (strings.ContainsAny(h, ":/ @") || strings.HasPrefix(h, ".")) {
			return usage("-gateway %q: want a host name or an IPv4 address, without scheme or port", h)
		}
		for path, dst := range map[string]*[]byte{*ssoCert: &cfg.ssoCert, *logo: &cfg.logo} {
			if path == "" {
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return usage("%v", err)
			}
			*dst = b
		}
		if cfg.ssoCert != nil {
			der := cfg.ssoCert
			if blk, _ := pem.Decode(der); blk != nil {
				der = blk.Bytes
			}
			if _, err := x509.ParseCertificate(der); err != nil {
				return usage("-sso-cert %s: not a PEM or DER certificate: %v", *ssoCert, err)
			}
		}
	}

	var opts []workspace.Option
	var lim quota.Limiter
	if demo {
		srv, err := demoSetup(&cfg, stdout)
		if err != nil {
			return cli.Failed(stderr, "domainsettings", err)
		}
		defer srv.Close()
		opts = append(opts, workspace.WithEndpoint(srv.URL),
			workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()))
		// The fake's limits are scaled ×100: do not pace to Google's.
		lim = quota.Unlimited()
		// The client's waits (WaitMX's among them) go through the
		// demo's sleep.
		opts = append(opts, workspace.WithRetry(func(o *retry.Options) { o.Sleep = cfg.sleep }))
	} else {
		opts = append(opts, cli.Connect(*credentials, *subject, *endpoint)...)
	}
	if *redisAddr != "" || lim == nil {
		// Google's documented limits, in memory or shared through Redis.
		l, closeRedis, err := cli.Limiter(ctx, *redisAddr)
		if err != nil {
			return cli.Failed(stderr, "domainsettings", err)
		}
		defer closeRedis()
		lim = l
	}
	core, err := workspace.NewClient(ctx, append(cli.ClientOptions(stderr, *verbose, lim), opts...)...)
	if err != nil {
		return usage("%v", err)
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

// step runs f as the step name and prints how it went.
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
	fmt.Fprintf(r.out, "Settings of %s:\n", s.Domain())
	if r.read(ctx, s, "read", allParts).unreadable(allParts) {
		// A wrong endpoint, a network down, credentials refused
		// everywhere: the changes would fail the same way.
		fmt.Fprintln(r.out, "no part of the settings could be read; no change attempted")
		return
	}
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
			// Only what was asked changes: the TLS setting is kept
			// unless -gateway-tls was given (Update reads the gateway
			// first and sends back what it does not change).
			u := &settings.GatewayUpdate{SmartHost: &cfg.gateway}
			if cfg.gatewayTLS != nil {
				mode := settings.SMTP
				if *cfg.gatewayTLS {
					mode = settings.SMTPTLS
				}
				u.Mode = &mode
			}
			g, err := s.Gateway.Update(ctx, u)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("smart host %s (%s)", g.SmartHost, g.Mode), nil
		})
	} else if cfg.gatewayTLS != nil {
		r.step("outbound gateway TLS", func() (string, error) {
			mode := settings.SMTP
			if *cfg.gatewayTLS {
				mode = settings.SMTPTLS
			}
			g, err := s.Gateway.Update(ctx, &settings.GatewayUpdate{Mode: &mode})
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("smart host %s (%s)", g.SmartHost, g.Mode), nil
		})
	}
	if cfg.mxCheck {
		r.step("MX records point at Google", func() (string, error) {
			o := &settings.MXOptions{Resolver: cfg.resolver, Progress: func(rep *settings.MXReport, err error) {
				switch {
				case err != nil:
					fmt.Fprintf(r.out, "  lookup failed: %v\n", err)
				case !rep.PointsAtGoogle:
					fmt.Fprintf(r.out, "  not yet: %s\n", rep)
				}
			}}
			var rep *settings.MXReport
			var err error
			if cfg.mxWait > 0 {
				o.Timeout = cfg.mxWait
				rep, err = s.WaitMX(ctx, o)
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
		cfg.ssoEnable || cfg.gateway != "" || cfg.gatewayTLS != nil; changed {
		fmt.Fprintf(r.out, "Settings of %s after the changes:\n", s.Domain())
		r.read(ctx, s, "read back", []string{partSSO, partSigningKey, partGateway, partProfiles, partAssignments})
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
	tls := true
	cfg.gatewayTLS = &tls
	cfg.mxCheck, cfg.mxWait = true, time.Hour

	// The domain's MX records still point at the old provider for the
	// first two lookups (TTL 5 minutes), then at Google.
	cfg.resolver = &propagating{domain: srv.Domain(), after: 2,
		before: []settings.MX{{Host: "mx.oldprovider.example.", Pref: 10, TTL: 5 * time.Minute}},
		now: []settings.MX{
			{Host: "smtp.google.com.", Pref: 1, TTL: time.Hour},
		}}
	// WaitMX's pauses (a TTL: minutes) are skipped with a line saying so;
	// shorter waits (the retry layer's) are made, through cli.Sleep when a
	// test set it.
	cfg.sleep = func(ctx context.Context, d time.Duration) error {
		if d >= time.Minute {
			fmt.Fprintf(out, "  (demo: skipping a %s wait)\n", d)
			return ctx.Err()
		}
		if cli.Sleep != nil {
			return cli.Sleep(ctx, d)
		}
		return retry.SleepContext(ctx, d)
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
