package datatransfer

import (
	"slices"
	"testing"

	"github.com/gwsadmin/workspace"
)

// TestScopesAreTheAPIDefaults: the scopes each service asks for are the
// ones workspace.APIScopes lists for its API, as the package doc says.
func TestScopesAreTheAPIDefaults(t *testing.T) {
	for _, tt := range []struct {
		api    string
		scopes []string
	}{
		{workspace.APIGroupsMigration, archiveScopes},
		{workspace.APIDataTransfer, transferScopes},
		{workspace.APIDirectory, usersScopes},
	} {
		for _, s := range tt.scopes {
			if !slices.Contains(workspace.APIScopes(tt.api), s) {
				t.Errorf("%s: %s is not among workspace.APIScopes %v", tt.api, s, workspace.APIScopes(tt.api))
			}
		}
	}
}
