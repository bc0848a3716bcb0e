package workspace

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"golang.org/x/oauth2"

	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
)

// Option configures a Client. Options validate their arguments: NewClient
// returns the first error.
type Option func(*config) error

type config struct {
	credsJSON   []byte
	credsSource string // file name, for messages
	tokenSource oauth2.TokenSource
	subject     string
	scopes      []string
	endpoint    *url.URL
	httpClient  *http.Client
	noAuth      bool
	logger      *slog.Logger
	retry       retry.Options
	limiter     quota.Limiter

	serviceAccount string // keyless domain-wide delegation
	userAgent      string
	quotaProject   string
}

// WithCredentialsFile reads a service-account key or an authorized-user
// JSON file. The file is read once, by NewClient. Without any credentials
// option, NewClient uses Application Default Credentials.
func WithCredentialsFile(path string) Option {
	return func(c *config) error {
		if path == "" {
			return errors.New("workspace: WithCredentialsFile: empty path")
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("workspace: WithCredentialsFile: %w", err)
		}
		c.credsJSON, c.credsSource = data, path
		return nil
	}
}

// WithCredentialsJSON uses a service-account key or an authorized-user JSON
// document.
func WithCredentialsJSON(data []byte) Option {
	return func(c *config) error {
		if len(data) == 0 {
			return errors.New("workspace: WithCredentialsJSON: empty document")
		}
		c.credsJSON, c.credsSource = append([]byte(nil), data...), "JSON"
		return nil
	}
}

// WithTokenSource authenticates every call with ts. Domain-wide delegation
// is then the token source's business: Client.HTTPClient refuses subjects
// other than the default one. With WithServiceAccount, ts is instead the
// caller's own identity, used only to have IAM Credentials sign delegation
// JWTs, and every subject can be impersonated.
func WithTokenSource(ts oauth2.TokenSource) Option {
	return func(c *config) error {
		if ts == nil {
			return errors.New("workspace: WithTokenSource: nil token source")
		}
		c.tokenSource = ts
		return nil
	}
}

// WithServiceAccount acts as the service account email without a key
// (keyless domain-wide delegation). The caller's own credentials (those of
// WithCredentialsFile, WithCredentialsJSON or WithTokenSource, or else
// Application Default Credentials: a gcloud login, a VM's or Cloud Run's
// identity, workload identity federation) ask the IAM Credentials API to
// sign each delegation JWT (signJwt); the signed JWT is exchanged for a
// token at Google's token endpoint, one cached token per (subject, scope
// set), as with a key file. No service-account key is created or read.
//
// Set up once: grant the caller roles/iam.serviceAccountTokenCreator on the
// service account, enable the IAM Service Account Credentials API
// (iamcredentials.googleapis.com) in the caller's project, and authorize
// the service account's client id for the scopes in the Admin console
// (Security › API controls › Domain-wide delegation). The caller's token
// must allow the cloud-platform scope (auth.ScopeCloudPlatform).
//
// With WithEndpoint, signJwt and the token exchange go to the endpoint too
// (its /v1/projects/-/serviceAccounts/EMAIL:signJwt and /token).
func WithServiceAccount(email string) Option {
	return func(c *config) error {
		if !strings.Contains(email, "@") {
			return fmt.Errorf("workspace: WithServiceAccount: %q is not a service account e-mail", email)
		}
		c.serviceAccount = email
		return nil
	}
}

// WithUserAgent puts product (for example "migrator/1.2") at the start of
// the User-Agent header of every API request.
func WithUserAgent(product string) Option {
	return func(c *config) error {
		if strings.TrimSpace(product) == "" || strings.ContainsAny(product, "\r\n") {
			return fmt.Errorf("workspace: WithUserAgent: %q is not a product token", product)
		}
		c.userAgent = strings.TrimSpace(product)
		return nil
	}
}

// WithQuotaProject bills and counts API calls to the Cloud project id
// (the x-goog-user-project header), which must have the APIs enabled and
// let the caller use them (serviceusage.services.use). It matters for user
// credentials: without it, Google charges the project of the OAuth client
// that issued the login (gcloud's own), where the Workspace APIs are not
// enabled. Authorized-user credentials with a quota_project_id (as gcloud
// writes them) use that project unless this option is given. The header
// goes to API requests and to IAM Credentials (WithServiceAccount), never
// to the token endpoint.
func WithQuotaProject(projectID string) Option {
	return func(c *config) error {
		if strings.TrimSpace(projectID) == "" || strings.ContainsAny(projectID, " \t\r\n") {
			return fmt.Errorf("workspace: WithQuotaProject: %q is not a project id", projectID)
		}
		c.quotaProject = projectID
		return nil
	}
}

// WithSubject sets the default user a service account impersonates
// (domain-wide delegation), usually an administrator.
func WithSubject(email string) Option {
	return func(c *config) error {
		if !strings.Contains(email, "@") {
			return fmt.Errorf("workspace: WithSubject: %q is not an email address", email)
		}
		c.subject = email
		return nil
	}
}

// WithScopes adds OAuth2 scopes to every token, on top of the scopes each
// API package asks for.
func WithScopes(scopes ...string) Option {
	return func(c *config) error {
		for _, s := range scopes {
			if s == "" {
				return errors.New("workspace: WithScopes: empty scope")
			}
		}
		c.scopes = append(c.scopes, scopes...)
		return nil
	}
}

// WithEndpoint sends every API's calls to baseURL instead of Google's hosts,
// each under its usual path (a workspacetest server, a proxy). Plain http is
// accepted only for loopback addresses.
func WithEndpoint(baseURL string) Option {
	return func(c *config) error {
		u, err := url.Parse(baseURL)
		if err != nil {
			return fmt.Errorf("workspace: WithEndpoint: %w", err)
		}
		if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return fmt.Errorf("workspace: WithEndpoint: %q is not an http(s) URL", baseURL)
		}
		if u.Scheme == "http" && !isLoopback(u.Hostname()) {
			return fmt.Errorf("workspace: WithEndpoint: plain http is refused for non-loopback host %q", u.Hostname())
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		u.RawQuery, u.Fragment = "", ""
		c.endpoint = u
		return nil
	}
}

// WithHTTPClient sends requests through hc's transport (the base of the
// chain) and reaches the token endpoint with it. The client is copied; its
// Jar and Timeout are kept, but redirects follow the library's own policy
// (at most 10, never plain http to a non-loopback host, credentials never
// to another host). No timeout is set for you: set one on hc or use
// contexts.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("workspace: WithHTTPClient: nil client")
		}
		cp := *hc
		c.httpClient = &cp
		return nil
	}
}

// WithoutAuthentication sends requests without credentials (tests, or a
// base client that authenticates by itself).
func WithoutAuthentication() Option {
	return func(c *config) error { c.noAuth = true; return nil }
}

// WithLogger logs retries and throttle waits to l. The default discards.
// Tokens, Authorization headers and message bodies are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("workspace: WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithRetry changes retry behaviour; fn edits a copy of the defaults.
//
//	workspace.WithRetry(func(o *retry.Options) {
//		o.Policies = map[string]retry.Policy{"gmail": p}
//	})
func WithRetry(fn func(*retry.Options)) Option {
	return func(c *config) error {
		if fn == nil {
			return errors.New("workspace: WithRetry: nil function")
		}
		fn(&c.retry)
		return c.retry.Validate()
	}
}

// WithQuota paces calls with l instead of the default in-memory limiter
// (quota.New() with the documented limits). quota.Unlimited() turns pacing
// off. Give several clients the same limiter, or limiters on one Redis
// store, to share a project's quota.
func WithQuota(l quota.Limiter) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("workspace: WithQuota: nil limiter")
		}
		c.limiter = l
		return nil
	}
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
