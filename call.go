package workspace

import "context"

// API names, used in Call, errors, statistics, retry policies and quota
// rules.
const (
	APIGroupsMigration = "groupsmigration"
	APIDataTransfer    = "datatransfer"
	APIDirectory       = "directory"
	APIAudit           = "audit"
	APISettings        = "settings"
	APICloudIdentity   = "cloudidentity"
	APIGmail           = "gmail"
)

// APIs lists every API the library knows.
var APIs = []string{APIGroupsMigration, APIDataTransfer, APIDirectory, APIAudit, APISettings, APICloudIdentity, APIGmail}

// Call describes an outgoing request to the quota and retry layers: which
// API and method it is, what it costs and which keys its quota rules are
// scoped by. API and Method also select the method's row in
// retry.Methods, which decides after which failures the call may be sent
// again (a write only after an answer that proves nothing was done). API
// packages attach it to the request's context with [WithCall]; requests
// without one are treated as an unknown call with the default retry
// policy, the rule of their HTTP method and no pacing.
type Call struct {
	API    string // one of the API constants
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

// CallFromContext returns the Call attached by WithCall, or nil.
func CallFromContext(ctx context.Context) *Call {
	c, _ := ctx.Value(callKey{}).(*Call)
	return c
}
