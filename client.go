package workspace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/internal/poll"
	"github.com/gwsadmin/workspace/internal/sendonce"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
)

// defaultBaseURLs are Google's hosts for each API.
var defaultBaseURLs = map[string]string{
	APIGroupsMigration: "https://groupsmigration.googleapis.com/",
	APIDataTransfer:    "https://admin.googleapis.com/",
	APIDirectory:       "https://admin.googleapis.com/",
	APIAudit:           "https://apps-apis.google.com/",
	APISettings:        "https://apps-apis.google.com/",
	APICloudIdentity:   "https://cloudidentity.googleapis.com/",
	APIGmail:           "https://gmail.googleapis.com/",
}

// Client is the core every API package is built on. It holds credentials,
// the transport chain (retry → quota → auth → base), the logger and the
// statistics. It is safe for concurrent use; make one per program and hand
// it to audit.New, datatransfer.New, settings.New and gmail.New.
type Client struct {
	cfg      config
	base     http.RoundTripper
	apiBase  http.RoundTripper // base plus the User-Agent and quota project headers
	pool     *auth.Pool
	limiter  quota.Limiter
	retryOpt *retry.Options
	settings *core.Settings // what API packages read through core.Of
	contact  *retry.Contact
	logger   *slog.Logger
	stats    *stats
	project  string
	allow    func(host string) bool

	quotaProject string // x-goog-user-project: WithQuotaProject, or the credentials' quota_project_id

	mu      sync.Mutex
	clients map[string]*http.Client
}

// NewClient builds a Client. Credentials come from WithCredentialsFile,
// WithCredentialsJSON or WithTokenSource; WithoutAuthentication sends none.
// With none of those, NewClient looks for Application Default Credentials
// (auth.FindDefaultCredentials: the GOOGLE_APPLICATION_CREDENTIALS file,
// gcloud's application_default_credentials.json, the metadata server on
// Google Cloud) and fails, saying where it looked, when there are none.
//
// Domain-wide delegation (WithSubject, or a subject per call) needs a
// service account: a key file (given, or found by Application Default
// Credentials), or WithServiceAccount, which acts as a service account
// without a key through the caller's own credentials. User and metadata
// server credentials act only as themselves.
func NewClient(ctx context.Context, opts ...Option) (*Client, error) {
	var cfg config
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("workspace: nil Option")
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	c := &Client{cfg: cfg, clients: make(map[string]*http.Client), stats: newStats(), contact: new(retry.Contact)}
	c.logger = cfg.logger
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.httpClient != nil && cfg.httpClient.Transport != nil {
		c.base = cfg.httpClient.Transport
	} else {
		c.base = defaultTransport()
	}
	ropt := cfg.retry
	c.retryOpt = &ropt

	creds := 0
	for _, set := range []bool{cfg.credsJSON != nil, cfg.tokenSource != nil, cfg.noAuth} {
		if set {
			creds++
		}
	}
	if creds > 1 {
		return nil, errors.New("workspace: use only one of WithCredentialsFile/JSON, WithTokenSource and WithoutAuthentication")
	}
	if cfg.noAuth && cfg.serviceAccount != "" {
		return nil, errors.New("workspace: WithServiceAccount needs the caller's credentials; WithoutAuthentication sends none")
	}
	c.quotaProject = cfg.quotaProject
	if err := c.setCredentials(ctx, &cfg); err != nil {
		return nil, err
	}
	if c.project == "" {
		c.project = "default"
	}

	c.limiter = cfg.limiter
	if c.limiter == nil {
		l, err := defaultLimiter()
		if err != nil {
			return nil, fmt.Errorf("workspace: default quota: %w", err)
		}
		c.limiter = l
	}
	var endpointHost string
	if cfg.endpoint != nil {
		endpointHost = cfg.endpoint.Host
	}
	c.allow = func(host string) bool {
		if endpointHost != "" {
			return host == endpointHost
		}
		return auth.GoogleHost(host)
	}
	c.apiBase = c.headers(c.base, c.quotaProject, c.allow)
	sleep := c.retryOpt.Sleep
	if sleep == nil {
		sleep = retry.SleepContext
	}
	rnd := c.retryOpt.Rand
	if rnd == nil {
		rnd = rand.Float64
	}
	c.settings = &core.Settings{BaseURL: c.baseURL, AllowsCredentials: c.allow, Logger: c.logger, Sleep: sleep, Rand: rnd}
	return c, nil
}

// setCredentials finds the credentials cfg names, or Application Default
// Credentials, and sets c.pool and c.project. Tokens are fetched lazily,
// per request; ctx is used only for the lookup.
func (c *Client) setCredentials(ctx context.Context, cfg *config) error {
	if cfg.noAuth {
		return nil
	}
	tokenClient := &http.Client{Transport: c.base}
	var (
		cr     *auth.Credentials
		ts     = cfg.tokenSource
		source = cfg.credsSource
	)
	switch {
	case cfg.credsJSON != nil:
		var err error
		if cr, err = auth.ParseCredentials(cfg.credsJSON); err != nil {
			return fmt.Errorf("workspace: credentials from %s: %w", source, err)
		}
	case ts == nil:
		// Application Default Credentials. Their token sources outlive
		// NewClient, so they get a context that does not end with ctx.
		scopes := []string{auth.ScopeCloudPlatform}
		if cfg.serviceAccount == "" && len(cfg.scopes) > 0 {
			scopes = slices.Clone(cfg.scopes)
		}
		dctx := context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, tokenClient)
		dc, err := findDefaultCredentials(dctx, scopes)
		if errors.Is(err, auth.ErrNoDefaultCredentials) {
			return fmt.Errorf("workspace: no credentials: use WithCredentialsFile, WithCredentialsJSON, WithTokenSource or WithoutAuthentication, or set up Application Default Credentials: %w", err)
		}
		if err != nil {
			return fmt.Errorf("workspace: Application Default Credentials: %w", err)
		}
		cr, ts, source = dc.Credentials, dc.TokenSource, dc.Source
		if cfg.subject != "" && cfg.serviceAccount == "" && (cr == nil || cr.Type() != auth.TypeServiceAccount) {
			return fmt.Errorf("workspace: WithSubject(%q): the Application Default Credentials from %s cannot impersonate users; use a service-account key, or WithServiceAccount for keyless domain-wide delegation", cfg.subject, source)
		}
	}
	if cr != nil {
		// The key or refresh token goes to token_uri: never in clear
		// text across a network.
		if tu, err := url.Parse(cr.TokenURL()); err != nil || (tu.Scheme != "https" && !(tu.Scheme == "http" && isLoopback(tu.Hostname()))) {
			return fmt.Errorf("workspace: credentials from %s: token_uri %q must be https (plain http only on loopback)", source, cr.TokenURL())
		}
		c.project = cr.ProjectID()
		if c.project == "" {
			c.project = cr.ClientEmail()
		}
	}
	// An authorized user's quota_project_id bills that user's own calls:
	// the API calls, or with WithServiceAccount only the signJwt calls
	// (the delegated token is another principal).
	ownQuota := c.quotaProject
	if ownQuota == "" && cr != nil {
		ownQuota = cr.QuotaProjectID()
	}
	if cfg.serviceAccount == "" {
		c.quotaProject = ownQuota
		if cr != nil {
			c.pool = &auth.Pool{Credentials: cr, HTTPClient: tokenClient}
		} else {
			c.pool = &auth.Pool{TokenSource: ts, HTTPClient: tokenClient}
		}
		return nil
	}

	// Keyless delegation: the credentials found above are the caller's
	// own, used only to have IAM Credentials sign delegation JWTs.
	callerPool := &auth.Pool{Credentials: cr, TokenSource: ts, HTTPClient: tokenClient}
	caller, err := callerPool.Source("", []string{auth.ScopeCloudPlatform})
	if err != nil {
		return fmt.Errorf("workspace: WithServiceAccount: %w", err)
	}
	k := &auth.Keyless{
		ServiceAccount: cfg.serviceAccount,
		Caller:         caller,
		IAMClient:      &http.Client{Transport: c.headers(c.base, ownQuota, func(string) bool { return true })},
	}
	if cfg.endpoint != nil {
		k.TokenURL = cfg.endpoint.String() + "token"
		k.IAMCredentialsURL = cfg.endpoint.String()
	}
	c.pool = &auth.Pool{Keyless: k, HTTPClient: tokenClient}
	c.project = serviceAccountProject(cfg.serviceAccount)
	return nil
}

// serviceAccountProject returns the project of a service account e-mail
// (NAME@PROJECT.iam.gserviceaccount.com), or the e-mail itself.
func serviceAccountProject(email string) string {
	_, domain, _ := strings.Cut(email, "@")
	if p, ok := strings.CutSuffix(domain, ".iam.gserviceaccount.com"); ok && p != "" {
		return p
	}
	return email
}

// headers returns next, adding the User-Agent product and, to hosts that
// allow credentials, the quota project; next itself when neither is set.
func (c *Client) headers(next http.RoundTripper, quotaProject string, allow func(host string) bool) http.RoundTripper {
	if c.cfg.userAgent == "" && quotaProject == "" {
		return next
	}
	return &headerTransport{next: next, userAgent: c.cfg.userAgent, quotaProject: quotaProject, allow: allow}
}

// headerTransport sets the User-Agent and x-goog-user-project headers on
// a copy of each request.
type headerTransport struct {
	next         http.RoundTripper
	userAgent    string
	quotaProject string
	allow        func(host string) bool
}

func (h *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := new(http.Request)
	*r = *req
	r.Header = req.Header.Clone()
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	if h.userAgent != "" {
		ua := h.userAgent
		if cur := r.Header.Get("User-Agent"); cur != "" {
			ua += " " + cur
		}
		r.Header.Set("User-Agent", ua)
	}
	if h.quotaProject != "" && h.allow(req.URL.Host) {
		r.Header.Set("X-Goog-User-Project", h.quotaProject)
	}
	return h.next.RoundTrip(r)
}

// Subject returns the default impersonated user ("" when none was set).
func (c *Client) Subject() string { return c.cfg.subject }

// Project returns the developer project quotas are counted under: the
// credentials' project_id, their client e-mail, or "default".
func (c *Client) Project() string { return c.project }

// Limiter returns the quota limiter the client paces with.
func (c *Client) Limiter() quota.Limiter { return c.limiter }

// baseURL returns the base URL of api, ending in "/": Google's host for it,
// or the WithEndpoint URL.
func (c *Client) baseURL(api string) string {
	if c.cfg.endpoint != nil {
		return c.cfg.endpoint.String()
	}
	if u, ok := defaultBaseURLs[api]; ok {
		return u
	}
	return "https://www.googleapis.com/"
}

func init() {
	core.CheckResponse = checkResponse
	core.Temporary = func(err error) bool {
		var we *Error
		if errors.As(err, &we) {
			return we.Temporary()
		}
		return poll.Transport(err)
	}
	core.Register(func(client any) *core.Settings {
		return client.(*Client).settings
	})
}

// HTTPClient returns the *http.Client for calls acting as subject ("" means
// the default subject) with the given scopes added to the client's own.
// Clients are cached: the same (subject, scopes) gets the same client.
func (c *Client) HTTPClient(subject string, scopes ...string) (*http.Client, error) {
	if subject == "" {
		subject = c.cfg.subject
	}
	all := append(slices.Clone(c.cfg.scopes), scopes...)
	slices.Sort(all)
	all = slices.Compact(all)
	key := subject + "\x00" + strings.Join(all, " ")
	c.mu.Lock()
	defer c.mu.Unlock()
	if hc, ok := c.clients[key]; ok {
		return hc, nil
	}
	var authed http.RoundTripper = &redirectGuard{next: c.apiBase}
	if c.pool != nil {
		sub := subject
		single := c.pool.TokenSource != nil || (c.pool.Credentials != nil && c.pool.Credentials.Type() == auth.TypeAuthorizedUser)
		if single {
			// One identity: a caller's token source or a user's refresh
			// token cannot impersonate anyone else.
			if subject != "" && subject != c.cfg.subject {
				return nil, fmt.Errorf("workspace: cannot act as %q: only service-account credentials support domain-wide delegation", subject)
			}
			sub = ""
		}
		src, err := c.pool.Source(sub, all)
		if err != nil {
			return nil, fmt.Errorf("workspace: %w", err)
		}
		authed = &auth.Transport{Base: authed, Source: src, AllowHost: c.allow, Logger: c.logger}
	}
	rt := &retry.Transport{
		Next:     &quotaTransport{next: authed, logger: c.logger, limiter: c.limiter, project: c.project, stats: c.stats},
		Options:  c.retryOpt,
		Describe: describe,
		MaxAttempts: func(r *http.Request) int {
			if sendonce.From(r.Context()) {
				return 1
			}
			return 0
		},
		Logger:  c.logger,
		Observe: c.stats.observe,
		Contact: c.contact,
	}
	hc := &http.Client{Transport: &errorTransport{next: rt, stats: c.stats}, CheckRedirect: checkRedirect}
	if c.cfg.httpClient != nil {
		hc.Jar = c.cfg.httpClient.Jar
		hc.Timeout = c.cfg.httpClient.Timeout
	}
	c.clients[key] = hc
	return hc, nil
}

func describe(req *http.Request) (string, string) {
	if call := core.CallFrom(req.Context()); call != nil {
		return call.API, call.Method
	}
	return "", ""
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("workspace: stopped after 10 redirects")
	}
	if req.URL.Scheme == "http" && !isLoopback(req.URL.Hostname()) {
		return fmt.Errorf("workspace: refusing redirect to plain http host %q", req.URL.Hostname())
	}
	if req.URL.Host != via[0].URL.Host {
		req.Header.Del("Authorization")
	}
	return nil
}

// redirectGuard sits below the auth layer: a request that an http.Client
// redirect sent to another host loses its Authorization header, whoever
// added it.
type redirectGuard struct{ next http.RoundTripper }

func (g *redirectGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Response != nil && req.Header.Get("Authorization") != "" {
		orig := req.Response.Request
		for orig != nil && orig.Response != nil {
			orig = orig.Response.Request
		}
		if orig != nil && orig.URL.Host != req.URL.Host {
			r2 := req.Clone(req.Context())
			r2.Header.Del("Authorization")
			req = r2
		}
	}
	return g.next.RoundTrip(req)
}

// quotaTransport asks the limiter before each attempt and reports how the
// attempt went.
type quotaTransport struct {
	next    http.RoundTripper
	logger  *slog.Logger
	limiter quota.Limiter
	project string
	stats   *stats
}

func (q *quotaTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	call := core.CallFrom(req.Context())
	if call == nil {
		return q.next.RoundTrip(req)
	}
	qr := quota.Request{API: call.API, Method: call.Method, Cost: call.Cost,
		Project: q.project, Domain: call.Domain, User: call.User, Group: call.Group}
	start := nanotime()
	release, err := q.acquire(req, call, &qr)
	if waited := nanotime() - start; waited > 1000 {
		q.stats.quotaWait(call.API, waited)
		// Waits over a second are worth telling at Info: a run that seems
		// stuck is often only paced.
		level := slog.LevelDebug
		if waited > int64(time.Second) {
			level = slog.LevelInfo
		}
		if waited > int64(50*time.Millisecond) && q.logger.Enabled(req.Context(), level) {
			q.logger.LogAttrs(req.Context(), level, "workspace: paced by quota",
				slog.String("api", call.API), slog.String("method", call.Method),
				slog.Duration("wait", time.Duration(waited)))
		}
	}
	if err != nil {
		return nil, err
	}
	var out quota.Outcome
	// Deferred so that a panic below still gives the slot back.
	defer func() { release(out) }()
	resp, err := q.next.RoundTrip(req)
	if err != nil {
		out.Err = err
	} else if resp.StatusCode >= 400 {
		d := retry.Classify(call.API, resp, nil)
		if d.Class == retry.Throttle {
			out.Throttled = true
			out.RetryAfter = d.RetryAfter
			out.Reason = d.Reason
		}
	}
	return resp, err
}

// longQuotaWait is the wait after which the quota layer says, before
// waiting on, that a call is held.
const longQuotaWait = time.Second

// acquire asks the limiter for qr. With a limiter that can say it would
// make the call wait (quota.RuleLimiter), a wait longer than
// longQuotaWait is logged at Info before it starts, so a run that seems
// stuck says why while it waits, not after.
func (q *quotaTransport) acquire(req *http.Request, call *core.Call, qr *quota.Request) (quota.Release, error) {
	ctx := req.Context()
	w, ok := q.limiter.(interface {
		AcquireWithin(context.Context, *quota.Request, time.Duration) (quota.Release, time.Duration, error)
	})
	if !ok || !q.logger.Enabled(ctx, slog.LevelInfo) {
		return q.limiter.Acquire(ctx, qr)
	}
	release, _, err := w.AcquireWithin(ctx, qr, longQuotaWait)
	if err != nil || release != nil {
		return release, err
	}
	q.logger.LogAttrs(ctx, slog.LevelInfo, "workspace: waiting for quota",
		slog.String("api", call.API), slog.String("method", call.Method), slog.Duration("waited", longQuotaWait))
	return q.limiter.Acquire(ctx, qr)
}

// errorTransport is the outermost layer: it turns the final error answer
// into an *Error, so every API package, hand-written or generated, returns
// the same error type.
type errorTransport struct {
	next  http.RoundTripper
	stats *stats
}

func (e *errorTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !isLoopback(req.URL.Hostname()) {
		return nil, fmt.Errorf("workspace: refusing plain http to non-loopback host %q", req.URL.Hostname())
	}
	api, method := describe(req)
	e.stats.request(api)
	var rep retry.Report
	resp, err := e.next.RoundTrip(req.WithContext(retry.WithReport(req.Context(), &rep)))
	if err != nil {
		e.stats.failure(api)
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		if errors.Is(err, quota.ErrBudgetExhausted) {
			return nil, quotaError(api, method, err)
		}
		return nil, transportError(api, method, err, &rep)
	}
	if resp.StatusCode < 400 {
		return resp, nil
	}
	e.stats.failure(api)
	d := retry.Classify(api, resp, nil)
	attempts, _ := strconv.Atoi(resp.Header.Get(core.AttemptsHeader))
	resp.Header.Del(core.AttemptsHeader)
	ae := newError(api, method, d, resp, max(attempts, rep.Attempts, 1))
	ae.OutcomeUnknown, ae.MayHaveHappenedTwice = rep.OutcomeUnknown, rep.Twice
	resp.Body.Close()
	return nil, ae
}

// transportError words a failure without an HTTP answer. A token that
// could not be had, a host that could not be reached, a call whose outcome
// is unknown, and a failure that outlasted the retries become an *Error
// that says so; any other failure (one attempt, nothing to add) is
// returned as it came.
func transportError(api, method string, err error, rep *retry.Report) error {
	d := rep.Last
	if rep.Attempts == 0 {
		d = retry.Classify(api, nil, err)
	}
	e := &Error{API: api, Method: method, Attempts: max(rep.Attempts, 1), Err: err, class: d.Class,
		OutcomeUnknown: rep.OutcomeUnknown, MayHaveHappenedTwice: rep.Twice}
	var te *auth.TokenError
	switch {
	case errors.As(err, &te):
		e.Message = "cannot obtain a token"
		switch d.Class {
		case retry.Transient, retry.Throttle:
			e.Message = "cannot obtain a token (the token endpoint failed, not the credentials)"
		case retry.Canceled:
			e.class = retry.Auth
		}
		if d.Connect && rep.Host != "" {
			e.Message = "cannot obtain a token: cannot connect to the token endpoint " + rep.Host
		}
	case d.Connect && rep.GiveUp == "unreachable":
		e.Message = fmt.Sprintf("cannot connect to %s; nothing has answered this client yet, so it stopped after %d quick tries (check the endpoint and the network)", rep.Host, rep.Attempts)
	case d.Connect && rep.Attempts > 1:
		e.Message = "cannot connect to " + rep.Host
	case rep.OutcomeUnknown:
		e.Message = "no answer"
		if d.Ambiguous {
			e.Message = "connection lost after the request was sent"
		}
	case rep.Attempts > 1:
		e.Message = "no answer"
	default:
		return err
	}
	return e
}

// findDefaultCredentials is the Application Default Credentials lookup;
// tests replace it.
var findDefaultCredentials = auth.FindDefaultCredentials

// defaultLimiter builds the limiter used when WithQuota is not given.
func defaultLimiter() (quota.Limiter, error) { return quota.New() }

// connectTimeout bounds each TCP connect of the default transport: a host
// that drops packets fails within seconds (and the retry layer gives up
// on an unreachable host after a few tries), not after net/http's 30 s a
// try.
const connectTimeout = 10 * time.Second

// responseHeaderTimeout bounds the wait for an answer once a request is
// written: a server that takes the connection and never answers fails
// (and is retried like any timeout) instead of holding the call forever.
// Google's slowest answers (a large upload's, a full batch's) come within
// seconds; two minutes leaves room for a slow link.
const responseHeaderTimeout = 2 * time.Minute

// defaultTransport is http.DefaultTransport with a shorter connect
// timeout and a bound on the wait for an answer.
func defaultTransport() http.RoundTripper {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	t = t.Clone()
	t.DialContext = (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = responseHeaderTimeout
	return t
}
