package workspacetest

import (
	"errors"
	"log/slog"
	"strings"
	"time"
)

// Option configures a Server. Options are applied in order by NewServer and
// NewUnstartedServer.
type Option func(*config)

type config struct {
	domain          string
	speed           float64
	tokenLifetime   time.Duration
	noAuth          bool
	faults          FaultPlan
	now             func() time.Time
	logger          *slog.Logger
	addr            string
	retryAfter      time.Duration
	processingDelay time.Duration
	transferPending time.Duration
	transferRunning time.Duration
	gmail           *GmailConfig
}

func defaultConfig() config {
	return config{
		domain:          "example.com",
		speed:           1,
		tokenLifetime:   time.Hour,
		now:             time.Now,
		logger:          slog.New(slog.DiscardHandler),
		processingDelay: 20 * time.Millisecond,
		transferPending: 2 * time.Second,
		transferRunning: 10 * time.Second,
	}
}

func (c *config) validate() error {
	switch {
	case c.domain == "" || strings.ContainsAny(c.domain, "@/ "):
		return errors.New("WithDomain: invalid domain " + c.domain)
	case !(c.speed > 0):
		return errors.New("WithSpeed: speed must be > 0")
	case c.tokenLifetime <= 0:
		return errors.New("WithTokenLifetime: lifetime must be > 0")
	case c.faults.Rate < 0 || c.faults.Rate > 1:
		return errors.New("WithFaults: Rate must be within [0, 1]")
	case c.now == nil:
		return errors.New("WithClock: nil clock")
	case c.logger == nil:
		return errors.New("WithLogger: nil logger")
	case c.processingDelay < 0 || c.transferPending < 0 || c.transferRunning < 0 || c.retryAfter < 0:
		return errors.New("negative delay")
	}
	for _, k := range c.faults.Kinds {
		if !k.valid() {
			return errors.New("WithFaults: unknown fault kind " + string(k))
		}
	}
	return nil
}

// WithDomain sets the customer's primary domain (default "example.com").
// Token subjects, seeded users and groups must be in it.
func WithDomain(domain string) Option { return func(c *config) { c.domain = strings.ToLower(domain) } }

// WithSpeed makes the server f times faster than Google: every rate limit
// and daily budget is multiplied by f and every delay (token lifetime,
// processing time, transfer progress, slow replies, Retry-After) divided by
// f. Speed 10 admits 100 requests a second where Google admits 10.
func WithSpeed(f float64) Option { return func(c *config) { c.speed = f } }

// WithTokenLifetime sets the lifetime of issued access tokens before speed
// scaling (default one hour, as Google).
func WithTokenLifetime(d time.Duration) Option { return func(c *config) { c.tokenLifetime = d } }

// WithoutAuth accepts requests that carry no Authorization header; they act
// as the default admin with every scope. Tokens that are sent are still
// checked.
func WithoutAuth() Option { return func(c *config) { c.noAuth = true } }

// WithFaults injects random faults following plan. See FaultPlan.
func WithFaults(plan FaultPlan) Option { return func(c *config) { c.faults = plan } }

// WithClock sets the server's clock (default time.Now). See also
// Server.SetTimeNowFunc.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithLogger logs each request at debug level to l (default: discard).
// Tokens are never logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithAddr makes the server listen on addr (host:port) instead of a random
// loopback port. NewServer panics if it cannot listen there.
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithRetryAfter adds a Retry-After header of d (before speed scaling,
// rounded up to whole seconds) to quota refusals. By default quota
// refusals carry no Retry-After, like Google's legacy admin APIs.
func WithRetryAfter(d time.Duration) Option { return func(c *config) { c.retryAfter = d } }

// WithProcessingDelay sets how long a group archive insert holds its group
// before speed scaling (default 20 ms). A second insert into the same group
// during that time is refused with UNSUPPORTED_PARALLEL_OPERATION.
func WithProcessingDelay(d time.Duration) Option {
	return func(c *config) { c.processingDelay = d }
}

// WithTransferTiming sets how long a data transfer stays "new" and then
// "inProgress" before it ends, before speed scaling (defaults 2 s and 10 s).
// Progress follows the server clock, so an injected clock drives it.
func WithTransferTiming(pending, running time.Duration) Option {
	return func(c *config) { c.transferPending, c.transferRunning = pending, running }
}

// WithGmailRegime selects Gmail's quota regime: the per-user units per
// minute and the per-method costs of projects created before 2026-05-01
// (GmailLegacyRegime, the default) or after (Gmail2026Regime). For finer
// control call SetGmailConfig after NewServer.
func WithGmailRegime(r GmailRegime) Option {
	return func(c *config) {
		if c.gmail == nil {
			c.gmail = &GmailConfig{}
		}
		c.gmail.Regime = r
	}
}
