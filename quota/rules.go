package quota

import (
	"fmt"
	"slices"
	"time"
)

// Kind is what a Rule limits.
type Kind int

const (
	// KindRate limits requests (or cost units) per period, per scope key.
	KindRate Kind = iota + 1
	// KindDaily is a budget of requests (or cost units) per scope key and
	// Pacific-time day; it resets at midnight America/Los_Angeles.
	KindDaily
	// KindConcurrency caps the number of calls in flight per scope key.
	KindConcurrency
)

func (k Kind) String() string {
	switch k {
	case KindRate:
		return "rate"
	case KindDaily:
		return "daily"
	case KindConcurrency:
		return "concurrency"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Scope says which field of a Request a Rule is counted under.
type Scope int

const (
	// PerProject counts under Request.Project. An empty Project is one
	// unnamed project, so project rules always apply.
	PerProject Scope = iota + 1
	// PerDomain counts under Request.Domain; calls without a domain are not
	// subject to the rule.
	PerDomain
	// PerUser counts under Request.User; calls without a user are not subject
	// to the rule.
	PerUser
	// PerGroup counts under Request.Group; calls without a group are not
	// subject to the rule.
	PerGroup
)

func (s Scope) String() string {
	switch s {
	case PerProject:
		return "project"
	case PerDomain:
		return "domain"
	case PerUser:
		return "user"
	case PerGroup:
		return "group"
	}
	return fmt.Sprintf("Scope(%d)", int(s))
}

// key returns the scope key of r and whether the rule applies at all.
func (s Scope) key(r *Request) (string, bool) {
	switch s {
	case PerProject:
		return r.Project, true
	case PerDomain:
		return r.Domain, r.Domain != ""
	case PerUser:
		return r.User, r.User != ""
	case PerGroup:
		return r.Group, r.Group != ""
	}
	return "", false
}

// Rule is one limit, declared as data. Build rules with Rate, Daily and
// Concurrent and refine them with the chainable methods (ForMethods, Units,
// Adaptive, ...). A Rule applies to every Request whose API equals Rule.API,
// whose Method is in Methods (or any method when Methods is empty) and which
// has a non-empty key for the rule's Scope (project rules always apply).
type Rule struct {
	// Name identifies the rule in errors, Stats and overrides, e.g.
	// "groupsmigration.project.rate". WithRules replaces a rule by Name.
	Name string
	// API is the Request.API the rule applies to.
	API string
	// Methods restricts the rule to these Request.Method values; empty means
	// every method of the API.
	Methods []string
	// Scope is the Request field the rule is counted under.
	Scope Scope
	// Kind is what the rule limits.
	Kind Kind
	// Limit is, for KindRate, the number of requests (or units) per Per; for
	// KindDaily the size of the daily budget; for KindConcurrency the number
	// of calls in flight per key. For an adaptive rule whose real limit is
	// unknown it is the conservative starting rate.
	Limit float64
	// Per is the period of a KindRate limit (time.Second, time.Minute).
	Per time.Duration
	// CountUnits makes KindRate and KindDaily rules count the Request's cost
	// (Gmail quota units) instead of 1 per request.
	CountUnits bool
	// Burst is how many requests (or units) a KindRate rule lets through at
	// once after an idle period. Zero means a tenth of a second's worth of
	// the rate, at least 1 (for an Unknown rule, of the rate in force, which
	// grows from Limit). A single request costing more than Burst is
	// admitted when the bucket is full.
	Burst float64
	// AdaptiveRate makes a KindRate rule follow server throttling even
	// under WithAdaptive(AdaptiveUnknown): its effective rate drops to what
	// the server accepts when it throttles calls the rule admitted, and
	// grows back while calls succeed. Under the default, AdaptiveAll,
	// every rate rule adapts. See the package documentation.
	AdaptiveRate bool
	// Unknown marks an adaptive rule whose real limit is not published: the
	// rule starts at Limit, grows (slow start) while it is the bottleneck and
	// nothing is throttled, and has no ceiling unless MaxLimit is set. The
	// users' scopes of a PerUser Unknown rule share the limit one of them
	// measures: a user's scope whose own estimate is higher takes it. A
	// documented adaptive rule never goes above Limit.
	Unknown bool
	// MaxLimit caps an Unknown adaptive rule, in the same units as Limit;
	// zero means no cap.
	MaxLimit float64
	// MinLimit is the floor of an adaptive rule, in the same units as Limit;
	// zero means 1/20 of Limit.
	MinLimit float64
	// Reasons lists the server reasons (e.g. "userRateLimitExceeded") that
	// blame this rule for a throttle. A throttle whose reason no matching
	// rule lists blames every rate rule of the call.
	Reasons []string
	// LeaseTTL is how long a KindConcurrency slot held in a shared store
	// survives without being refreshed (the holder refreshes it while the
	// call runs), so that a crashed worker cannot block a key forever. Zero
	// means 30 seconds. The in-memory store holds slots until Release.
	LeaseTTL time.Duration
	// Source documents where the number comes from.
	Source string
}

// Rate returns a rule allowing limit requests per period per scope key.
func Rate(name, api string, scope Scope, limit float64, per time.Duration) Rule {
	return Rule{Name: name, API: api, Scope: scope, Kind: KindRate, Limit: limit, Per: per}
}

// Daily returns a rule allowing limit requests per scope key and Pacific day.
func Daily(name, api string, scope Scope, limit int64) Rule {
	return Rule{Name: name, API: api, Scope: scope, Kind: KindDaily, Limit: float64(limit)}
}

// Concurrent returns a rule allowing n calls in flight per scope key.
func Concurrent(name, api string, scope Scope, n int) Rule {
	return Rule{Name: name, API: api, Scope: scope, Kind: KindConcurrency, Limit: float64(n)}
}

// ForMethods returns a copy of r that applies only to the given methods.
func (r Rule) ForMethods(methods ...string) Rule {
	r.Methods = slices.Clone(methods)
	return r
}

// Units returns a copy of r that counts cost units instead of requests.
func (r Rule) Units() Rule {
	r.CountUnits = true
	return r
}

// Adaptive returns a copy of r whose rate follows server throttling in
// every AdaptiveMode but AdaptiveOff. When unknown is true the limit is not
// published and Limit is only a start.
func (r Rule) Adaptive(unknown bool) Rule {
	r.AdaptiveRate = true
	r.Unknown = unknown
	return r
}

// Blames returns a copy of r that the given server reasons are blamed on.
func (r Rule) Blames(reasons ...string) Rule {
	r.Reasons = slices.Clone(reasons)
	return r
}

// WithBurst returns a copy of r with the given burst.
func (r Rule) WithBurst(burst float64) Rule {
	r.Burst = burst
	return r
}

// From returns a copy of r documenting its source.
func (r Rule) From(source string) Rule {
	r.Source = source
	return r
}

func (r *Rule) validate() error {
	if r.Name == "" || r.API == "" {
		return fmt.Errorf("quota: rule %q: Name and API are required", r.Name)
	}
	if r.Scope < PerProject || r.Scope > PerGroup {
		return fmt.Errorf("quota: rule %q: bad scope %v", r.Name, r.Scope)
	}
	if !(r.Limit > 0) {
		return fmt.Errorf("quota: rule %q: Limit must be positive", r.Name)
	}
	switch r.Kind {
	case KindRate:
		if r.Per <= 0 {
			return fmt.Errorf("quota: rule %q: Per must be positive", r.Name)
		}
	case KindDaily, KindConcurrency:
	default:
		return fmt.Errorf("quota: rule %q: bad kind %v", r.Name, r.Kind)
	}
	return nil
}

// perSecond converts a rate rule's Limit (in units per Per) to units per second.
func (r *Rule) perSecond(v float64) float64 {
	return v * float64(time.Second) / float64(r.Per)
}

// GmailRegime selects which Gmail quota table applies to the project.
type GmailRegime int

const (
	// GmailLegacy is the regime of projects that used the Gmail API before
	// 2026-05-01: 15,000 units per user per minute and the older per-method
	// costs. It is the default.
	GmailLegacy GmailRegime = iota
	// Gmail2026 is the regime of projects created on or after 2026-05-01:
	// 6,000 units per user per minute, higher costs for reads
	// (messages.get 20, threads.get 40, ...) and an 80,000,000 units/day
	// billing threshold per project.
	Gmail2026
)

func (g GmailRegime) String() string {
	if g == Gmail2026 {
		return "Gmail2026"
	}
	return "GmailLegacy"
}

// DefaultGmailUserConcurrency is the default cap on concurrent Gmail calls per
// user. Google publishes no number; "Too many concurrent requests for user"
// (429) is seen by tools running a few dozen parallel calls per user, and 10
// keeps well clear of it.
const DefaultGmailUserConcurrency = 10

// UnknownGmailMethodCost is the cost charged for a Gmail method missing from
// the cost table (and not given a Request.Cost).
const UnknownGmailMethodCost = 10

// GmailCost returns the quota-unit cost of a Gmail method (discovery id
// without the "gmail." prefix, e.g. "users.messages.get") in the given regime,
// and whether the method is in the table.
func GmailCost(regime GmailRegime, method string) (int64, bool) {
	if regime == Gmail2026 {
		if c, ok := gmailCosts2026[method]; ok {
			return c, true
		}
	}
	c, ok := gmailCostsLegacy[method]
	return c, ok
}

// gmailCostsLegacy is the per-method table of projects before 2026-05-01
// (google-apis.md §5.1, legacy column).
var gmailCostsLegacy = map[string]int64{
	"users.drafts.create":                       10,
	"users.drafts.delete":                       10,
	"users.drafts.get":                          5,
	"users.drafts.list":                         5,
	"users.drafts.send":                         100,
	"users.drafts.update":                       15,
	"users.getProfile":                          1,
	"users.history.list":                        2,
	"users.labels.create":                       5,
	"users.labels.delete":                       5,
	"users.labels.update":                       5,
	"users.labels.patch":                        5,
	"users.labels.get":                          1,
	"users.labels.list":                         1,
	"users.messages.attachments.get":            5,
	"users.messages.batchDelete":                50,
	"users.messages.batchModify":                50,
	"users.messages.delete":                     10,
	"users.messages.get":                        5,
	"users.messages.import":                     25,
	"users.messages.insert":                     25,
	"users.messages.list":                       5,
	"users.messages.modify":                     5,
	"users.messages.send":                       100,
	"users.messages.trash":                      5,
	"users.messages.untrash":                    5,
	"users.settings.delegates.create":           100,
	"users.settings.delegates.delete":           5,
	"users.settings.delegates.get":              1,
	"users.settings.delegates.list":             1,
	"users.settings.filters.create":             5,
	"users.settings.filters.delete":             5,
	"users.settings.filters.get":                1,
	"users.settings.filters.list":               1,
	"users.settings.forwardingAddresses.create": 100,
	"users.settings.forwardingAddresses.delete": 5,
	"users.settings.forwardingAddresses.get":    1,
	"users.settings.forwardingAddresses.list":   1,
	"users.settings.getAutoForwarding":          1,
	"users.settings.getImap":                    1,
	"users.settings.getPop":                     1,
	"users.settings.getVacation":                1,
	"users.settings.sendAs.create":              100,
	"users.settings.sendAs.delete":              5,
	"users.settings.sendAs.get":                 1,
	"users.settings.sendAs.list":                1,
	"users.settings.sendAs.update":              100,
	"users.settings.sendAs.patch":               100,
	"users.settings.sendAs.verify":              100,
	"users.settings.updateAutoForwarding":       5,
	"users.settings.updateImap":                 5,
	"users.settings.updatePop":                  100,
	"users.settings.updateVacation":             5,
	"users.stop":                                50,
	"users.threads.delete":                      20,
	"users.threads.get":                         10,
	"users.threads.list":                        10,
	"users.threads.modify":                      10,
	"users.threads.trash":                       10,
	"users.threads.untrash":                     10,
	"users.watch":                               100,
}

// gmailCosts2026 lists the methods whose cost changed for projects created on
// or after 2026-05-01 (google-apis.md §5.1, new column); other methods cost
// the same as in the legacy table. threads.untrash is unconfirmed and kept at
// 10.
var gmailCosts2026 = map[string]int64{
	"users.drafts.get":               20,
	"users.messages.attachments.get": 20,
	"users.messages.get":             20,
	"users.messages.trash":           20,
	"users.threads.get":              40,
	"users.threads.trash":            20,
}

// Scope reasons used by Google's Gmail and Admin APIs.
var (
	projectReasons = []string{"rateLimitExceeded", "quotaExceeded"}
	userReasons    = []string{"userRateLimitExceeded"}
)

// DefaultRules returns the rules New uses when given no WithRules/WithoutRules
// options, for the given Gmail regime. Each rule's Source says where the
// number comes from; the package documentation lists them.
func DefaultRules(regime GmailRegime) []Rule {
	gmailUser := 15000.0
	if regime == Gmail2026 {
		gmailUser = 6000
	}
	rules := []Rule{
		// Groups Migration API.
		Rate("groupsmigration.project.rate", "groupsmigration", PerProject, 10, time.Second).
			Blames(projectReasons...).From("10 requests/s per account: Groups Migration limits page (quotas.md)"),
		Daily("groupsmigration.project.daily", "groupsmigration", PerProject, 500000).
			From("500,000 requests/day: Groups Migration limits page (quotas.md)"),
		Concurrent("groupsmigration.group.concurrent", "groupsmigration", PerGroup, 1).
			From("no parallel inserts into one group archive: Groups Migration limits page (quotas.md)"),

		// Data Transfer API.
		Rate("datatransfer.project.rate", "datatransfer", PerProject, 10, time.Second).
			Blames(projectReasons...).From("10 requests/s per account: Data Transfer limits (quotas.md)"),
		Daily("datatransfer.project.daily", "datatransfer", PerProject, 500000).
			From("500,000 requests/day: Data Transfer limits (quotas.md)"),

		// Email Audit API.
		Daily("audit.domain.exports.daily", "audit", PerDomain, 100).ForMethods(auditExportCreate...).
			From("100 mailbox export requests/day per domain: Email Audit limits (quotas.md)"),
		Daily("audit.domain.monitors.daily", "audit", PerDomain, 1000).ForMethods(auditMonitorWrite...).
			From("1,000 email monitor create/delete requests/day per domain: the monitor page's figure, the lower of the two Google gives (the limits page says 1,500; docs/quotas.md)"),
		Rate("audit.user.upload.rate", "audit", PerUser, 1, time.Second).ForMethods(auditUpload...).
			Blames(userReasons...).From("1 upload request/s per user whatever the thread count: Email Audit limits page, which names uploads only; the public key is the API's only upload (docs/quotas.md)"),

		// Gmail API.
		Rate("gmail.project.rate", "gmail", PerProject, 1200000, time.Minute).Units().
			Blames(projectReasons...).From("1,200,000 units/min per project: Gmail usage limits (google-apis.md §5.1)"),
		Rate("gmail.user.rate", "gmail", PerUser, gmailUser, time.Minute).Units().
			Blames(userReasons...).From("15,000 units/min per user (legacy) or 6,000 (projects from 2026-05-01): Gmail usage limits (google-apis.md §5.1)"),
		Concurrent("gmail.user.concurrent", "gmail", PerUser, DefaultGmailUserConcurrency).
			From("not published: a cap against 429 'Too many concurrent requests for user' (anchors.md §10.3)"),
	}
	if regime == Gmail2026 {
		rules = append(rules, Daily("gmail.project.daily", "gmail", PerProject, 80000000).Units().
			From("80,000,000 units/day per project, the 2026 billing threshold (google-apis.md §5.1)"))
	}
	// APIs whose limits this library has no published number for: adaptive
	// with a conservative start.
	for _, api := range []string{"directory", "settings", "cloudidentity"} {
		rules = append(rules,
			Rate(api+".project.rate", api, PerProject, 5, time.Second).Adaptive(true).
				Blames(projectReasons...).From("not published here: adaptive, starts at 5 requests/s per project"),
			Rate(api+".user.rate", api, PerUser, 2, time.Second).Adaptive(true).
				Blames(userReasons...).From("not published here: adaptive, starts at 2 requests/s per user"),
		)
	}
	return rules
}

// Method names of the Email Audit API that the daily budgets count. Several
// spellings are accepted so that the API package can name calls naturally.
var (
	auditExportCreate = []string{"export.create", "exports.create", "mailbox.create", "mailboxDump.create"}
	auditMonitorWrite = []string{"monitor.create", "monitor.delete", "monitors.create", "monitors.delete"}
	auditUpload       = []string{"publickey.create", "publickey.upload", "key.upload"}
)
