package quota

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestNoStoreDependencies checks that the client and this package link
// neither Redis nor bbolt: shared stores live in packages of their own
// (quota/redisstore), which only programs that use them import. It fails,
// rather than skips, when go list cannot run.
func TestNoStoreDependencies(t *testing.T) {
	const mod = "github.com/gwsadmin/workspace"
	banned := []string{"github.com/redis/go-redis", "go.etcd.io/bbolt"}
	deps := func(pkg string) []string {
		t.Helper()
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("go list -deps %s: %v\n%s", pkg, err, ee.Stderr)
			}
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	for _, pkg := range []string{mod, mod + "/quota"} {
		list := deps(pkg)
		if len(list) == 0 {
			t.Fatalf("go list -deps %s listed nothing", pkg)
		}
		for _, d := range list {
			for _, b := range banned {
				if d == b || strings.HasPrefix(d, b+"/") {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
	// The check can see go-redis where it is imported.
	found := false
	for _, d := range deps(mod + "/quota/redisstore") {
		found = found || strings.HasPrefix(d, "github.com/redis/go-redis/")
	}
	if !found {
		t.Error("go list -deps quota/redisstore does not list go-redis: the check is blind")
	}
}
