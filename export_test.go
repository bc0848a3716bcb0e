package workspace

import (
	"context"
	"testing"

	"github.com/gwsadmin/workspace/auth"
)

// SetFindDefaultCredentials replaces the Application Default Credentials
// lookup for the rest of test t.
func SetFindDefaultCredentials(t testing.TB, f func(context.Context, []string) (*auth.DefaultCredentials, error)) {
	old := findDefaultCredentials
	findDefaultCredentials = f
	t.Cleanup(func() { findDefaultCredentials = old })
}
