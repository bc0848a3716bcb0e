// Package core carries what the API packages and the transport layers need
// from package workspace without making it public: the description of an
// outgoing call, and a handful of the client's settings.
//
// Package workspace registers itself with Register when it is initialised;
// API packages reach a *workspace.Client's settings with Of.
package core

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Call describes an outgoing request to the quota and retry layers: which
// API and method it is, what it costs and which keys its quota rules are
// scoped by. API and Method also select the method's repeat rule in
// package retry, which decides after which failures the call may be sent
// again (a write only after an answer that proves nothing was done).
// Requests without one are treated as an unknown call with the default
// retry policy, the rule of their HTTP method and no pacing.
type Call struct {
	API    string // one of workspace's API constants
	Method string // e.g. "archive.insert", "users.messages.get"
	Cost   int64  // quota units; 0 means the API's cost table (or 1)
	Domain string // Workspace domain, for per-domain budgets
	User   string // the user the call acts on, for per-user rates
	Group  string // the group archive, for per-group concurrency
}

type callKey struct{}

// WithCall returns a context carrying c for the transport chain.
func WithCall(ctx context.Context, c *Call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// CallFrom returns the Call attached by WithCall, or nil.
func CallFrom(ctx context.Context) *Call {
	c, _ := ctx.Value(callKey{}).(*Call)
	return c
}

// AttemptsHeader is set by the retry transport on a failed final response
// that took more than one attempt, and removed by the client's error layer,
// which reports the count in workspace.Error.Attempts.
const AttemptsHeader = "X-Workspace-Attempts"

// Settings are the parts of a workspace.Client the API packages use that
// are not part of its public API.
type Settings struct {
	// BaseURL returns the base URL of an API, ending in "/".
	BaseURL func(api string) string
	// AllowsCredentials reports whether a request to host may carry the
	// client's credentials (Google's hosts, or the WithEndpoint host).
	AllowsCredentials func(host string) bool
	// Logger is the client's logger (never nil).
	Logger *slog.Logger
	// Sleep waits d or until ctx ends: retry.Options.Sleep when the
	// client was given one (tests), else real time. Every wait an API
	// package makes between polls or attempts goes through it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for jitter: retry.Options.Rand when
	// the client was given one (tests), else math/rand/v2.
	Rand func() float64
}

var of func(client any) *Settings

// Register is called once by package workspace with the function that
// returns a *workspace.Client's Settings.
func Register(f func(client any) *Settings) { of = f }

// Of returns the Settings of client, a *workspace.Client.
func Of(client any) *Settings { return of(client) }

// legacyAPIs are the APIs whose documentation says that 503 means a quota
// was exceeded and 403 means bad input: the GData feeds and the Admin SDK
// APIs that share their limits page.
var legacyAPIs = map[string]bool{
	"groupsmigration": true,
	"datatransfer":    true,
	"audit":           true,
	"settings":        true,
}

// LegacyAPI reports whether api is one of the legacy APIs (see legacyAPIs).
func LegacyAPI(api string) bool { return legacyAPIs[api] }

// SettingsSource is implemented by the migration sinks of the API
// packages, so that the migration engine, which has no client, waits and
// draws jitter the way the sink's client does (retry.Options.Sleep and
// Rand when a test set them).
type SettingsSource interface {
	CoreSettings() *Settings
}

// CheckResponse returns nil for a response below 400 and a
// *workspace.Error for one above, reading (and replacing) its body; for
// responses that did not come through a client's error layer (the parts
// of a Gmail batch, an export file download). Package workspace sets it.
var CheckResponse func(api, method string, resp *http.Response) error

// Temporary reports whether a failed poll of a Wait may be tried again: a
// *workspace.Error whose Temporary() is true (throttling, a server
// failure that outlasted the retries) or a failure of the connection.
// Package workspace sets it.
var Temporary func(err error) bool
