package workspace_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// layers gives each package of the module its layer (docs/design.md):
// a package may import only packages of lower layers. Packages under
// internal/ are layer 0 unless listed; programs (examples, benchmarks,
// commands) may import anything and are not listed.
var layers = map[string]int{
	"auth":         0,
	"quota":        0,
	"mailsource":   0,
	"retry":        1,
	"":             2, // the root package: the client and its transport chain
	"migrate":      3,
	"audit":        4,
	"datatransfer": 4,
	"gmail":        4,
	"settings":     4,
	// Add-ons: optional stores in packages of their own, so that
	// programs that do not use them do not link their dependencies.
	"gmail/boltstore":  5,
	"quota/redisstore": 1,
	// Test support, for this module's tests and its users'.
	"mailsource/mailgen": 1,
}

// TestImportArrows fails when a package imports one of its own layer or
// above, or when workspacetest (the fake Google, which must stay
// independent of the client it judges) imports any package of the client.
func TestImportArrows(t *testing.T) {
	const mod = "github.com/gwsadmin/workspace"
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Env = goEnv
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p struct {
			ImportPath string
			Name       string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, mod), "/")
		if p.Name == "main" || strings.HasPrefix(rel, "examples/") || strings.HasPrefix(rel, "benchmarks/") {
			continue
		}
		seen++
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			dep := strings.TrimPrefix(strings.TrimPrefix(imp, mod), "/")
			if rel == "workspacetest" {
				t.Errorf("workspacetest imports %s: the fake must not share code with the client it judges", imp)
				continue
			}
			if isInternal(dep) && !isInternal(rel) {
				continue // internal plumbing sits below every layer
			}
			from, ok := layers[rel]
			if !ok {
				if isInternal(rel) {
					from = 0
				} else {
					t.Errorf("package %q has no layer: add it to layers and docs/design.md", rel)
					continue
				}
			}
			to, ok := layers[dep]
			if !ok && isInternal(dep) {
				to = -1
			}
			if to >= from {
				t.Errorf("%s (layer %d) imports %s (layer %d): arrows must point down", nameOf(rel), from, nameOf(dep), to)
			}
		}
	}
	if seen < 10 {
		t.Fatalf("only %d packages listed", seen)
	}
}

func isInternal(rel string) bool {
	return strings.HasPrefix(rel, "internal/") || strings.Contains(rel, "/internal/")
}

func nameOf(rel string) string {
	if rel == "" {
		return "workspace"
	}
	return rel
}
