package workspace

import "slices"

// API names, used in call descriptions, errors, statistics, retry policies and quota
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

var apis = []string{APIGroupsMigration, APIDataTransfer, APIDirectory, APIAudit, APISettings, APICloudIdentity, APIGmail}

// APIs returns the names of every API the library knows, in a fixed order.
func APIs() []string { return slices.Clone(apis) }
