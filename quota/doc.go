// Package quota paces calls to the Google Workspace admin APIs so that their
// quotas become invisible: each HTTP attempt waits until every rule that
// matches it admits it, daily budgets fail fast (or wait for the reset), and
// throttling by the server lowers the pace of the scope it blames.
//
// # Using it
//
// The core client calls Limiter.Acquire once per HTTP attempt and the
// returned Release with the attempt's Outcome. Build the default limiter,
// with every rule below, in memory:
//
//	lim, err := quota.New()
//
// Share quotas between processes through Redis with package
// [github.com/gwsadmin/workspace/quota/redisstore]:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	lim, err := quota.New(quota.WithStore(redisstore.New(rdb, "gws")))
//
// and hand the limiter to workspace.WithQuota. Options select the Gmail
// regime (WithGmailRegime), add or replace rules (WithRules, by Name), drop
// them (WithoutRules, WithoutDefaults), wait for a daily reset instead of
// failing (WithWaitForReset), narrow or turn off adaptation (WithAdaptive) and
// inject a clock (WithClock). RuleLimiter.Stats shows, per rule and scope
// key, the configured and effective rate, the time calls waited, the budget
// left today and the throttles the server sent.
//
// # Rules
//
// A Rule is data: an API, optional methods, a Scope (project, domain, user,
// group), a Kind and numbers. KindRate rules use GCRA (a token bucket in
// virtual time) with a small burst (a tenth of a second's worth by default),
// counting requests or, with CountUnits, cost units. KindDaily rules count
// per scope key and Pacific calendar day and reset at midnight
// America/Los_Angeles (23- and 25-hour days included; the offset comes
// from the US daylight-saving rule, so no time-zone database is needed).
// KindConcurrency rules cap the calls in flight per key.
//
// Admission is all-or-nothing: Acquire checks every matching rule under one
// lock (in memory) or in one Lua script (Redis); if any rule says wait, it
// takes nothing from any rule, waits for the longest delay (or for a slot to
// be released) and tries again. A call waiting on one rule therefore never
// holds another rule's tokens or slots, and a cancelled context leaves
// nothing behind.
//
// # Default rules and their sources
//
// The numbers come from docs/quotas.md and google-apis.md in the project's
// design documents, which cite Google's limits pages:
//
//   - groupsmigration: 10 requests/s per project ("per account");
//     500,000 requests/day per project; 1 concurrent call per group archive
//     ("no parallel inserts into the same group"). Groups Migration limits
//     page.
//   - datatransfer: 10 requests/s and 500,000 requests/day per project.
//     Same page.
//   - audit (Email Audit): 100 mailbox export requests/day per domain
//     (methods "export.create", "exports.create", "mailbox.create",
//     "mailboxDump.create"); 1,000 email monitor requests/day per domain
//     (methods "monitor.create", "monitor.delete", "monitors.create",
//     "monitors.delete"): Google's monitor page says 1,000, its limits page
//     1,500, and the lower one cannot be exceeded by following it; 1 upload
//     request/s per user, applied to the public key upload
//     ("publickey.create"), the API's only upload, since the limits page
//     names uploads only. Email Audit limits and monitor pages.
//   - gmail: 1,200,000 units/min per project; 15,000 units/min per user
//     (GmailLegacy, projects that used the API before 2026-05-01) or 6,000
//     (Gmail2026, projects created from 2026-05-01, which also get an
//     80,000,000 units/day per project budget: the billing threshold).
//     Costs per method follow Gmail's quota table for the selected regime
//     (GmailCost); a method missing from the table costs
//     UnknownGmailMethodCost. At most DefaultGmailUserConcurrency (10) calls
//     in flight per user: Google publishes no number for "Too many
//     concurrent requests for user"; 10 is this library's choice.
//   - directory, settings, cloudidentity: no limit is documented for our
//     use, so these are adaptive rules with a conservative start: 5
//     requests/s per project and 2 requests/s per user, growing while they
//     are the bottleneck and nothing is throttled.
//
// Project-scope rules blame the reasons "rateLimitExceeded" and
// "quotaExceeded", user-scope rules "userRateLimitExceeded"; a throttle
// without a known reason (a legacy API's 503) blames every rate rule of the
// call.
//
// # Adaptive mode
//
// A documented limit is a ceiling, not a promise: Google enforces lower
// limits on some users and projects (a mailbox under load, a quota cut in
// the Cloud console, other clients on the same project). By default
// (AdaptiveAll) every rate rule follows the server. When the server
// throttles a call the local rules admitted (403 rateLimitExceeded or
// userRateLimitExceeded, 429, a legacy API's 503), the scope the reason
// blames (see Rules: the user's, the project's, or every rate rule of the
// call) keeps its rate for about a second while it measures how much of
// its traffic the server accepts, then sets its rate to 97% of that
// estimate: it lands next to the real limit in one step, where a
// multiplicative cut undershoots or needs more throttles. It then recovers
// on a cubic curve of the time since the cut (as TCP CUBIC does): most of
// the way back to the estimate within seconds, flat near it for ten
// seconds, then probing beyond it ever faster (+1% after 15 s, +10% after
// 20 s, ×5 after about 45 s), up to the configured limit; a throttle while
// probing above the estimate goes straight back to it. Time only counts
// while the scope is the bottleneck. Throttles of calls sent before a cut,
// or within a second after it, are accounted for by the cut. A server
// Retry-After longer than a second pauses the blamed scope (up to 30 s);
// shorter ones ("1": the header counts whole seconds) only delay the
// throttled call's retry. WithAdaptive(AdaptiveUnknown) keeps documented
// rates as configured and adapts only the undocumented APIs' rules, which
// also grow beyond their conservative start (doubling every half second
// while they are the bottleneck and nothing is throttled, halving at the
// first throttle while the limit is measured; a per-user estimate is
// shared with the other users of the rule, so each does not pay for
// finding the same limit); AdaptiveOff turns adaptation off.
//
// Gmail's Batch sends in one HTTP batch only the calls the pace admits
// within a quarter of a second (RuleLimiter.AcquireWithin), so that a batch
// never reaches the server as a burst, and reports each call's answer.
//
// # Stores
//
// The in-memory store is the default and needs no set-up. The store of
// package [github.com/gwsadmin/workspace/quota/redisstore] keeps rates,
// daily counters and concurrency leases in Redis, one round trip per
// acquisition, so that several processes share one project's quotas; it
// is a package of its own so that programs that do not use it do not link
// the Redis client (this package does not import it). Adaptive state and
// Retry-After pauses stay per process: each process measures the server on
// its own answers and charges its calls to the shared state at its own
// adapted rate (see that package).
//
// # Release
//
// A Release returned by RuleLimiter.Acquire may be called more than once:
// only the first call releases concurrency slots. Use Do to release even
// when the call panics.
package quota
