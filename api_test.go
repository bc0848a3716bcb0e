package workspace_test

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var updateAPI = flag.Bool("update-api", false, "rewrite docs/api.txt from the packages")

// TestPublicAPI compares every exported name of the library packages
// (types, their exported fields and methods, functions, constants and
// variables) with docs/api.txt, so that a change to the public surface is
// a deliberate, reviewed edit of that file: run
//
//	go test -run TestPublicAPI -update-api .
//
// and read the diff. Programs, internal packages and tests are left out.
func TestPublicAPI(t *testing.T) {
	got := strings.Join(publicAPI(t), "\n") + "\n"
	const file = "docs/api.txt"
	if *updateAPI {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (create it with -update-api)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("public API differs from %s (-file +code); if the change is meant, run go test -run TestPublicAPI -update-api . and commit the file:\n%s", file, diff)
	}
}

func publicAPI(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	var lines []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != "." && (strings.HasPrefix(name, ".") || name == "internal" || name == "examples" || name == "benchmarks" || name == "testdata" || name == "cmd") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		pkg := path.Join("workspace", filepath.ToSlash(filepath.Dir(p)))
		add := func(s string) { lines = append(lines, pkg+": "+s) }
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				if d.Recv == nil {
					add("func " + d.Name.Name)
					continue
				}
				recv := d.Recv.List[0].Type
				if s, ok := recv.(*ast.StarExpr); ok {
					recv = s.X
				}
				if ix, ok := recv.(*ast.IndexExpr); ok {
					recv = ix.X
				}
				if id, ok := recv.(*ast.Ident); ok && id.IsExported() {
					add("method " + id.Name + "." + d.Name.Name)
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						add("type " + s.Name.Name)
						switch tt := s.Type.(type) {
						case *ast.StructType:
							for _, fld := range tt.Fields.List {
								for _, n := range fld.Names {
									if n.IsExported() {
										add("field " + s.Name.Name + "." + n.Name)
									}
								}
								if len(fld.Names) == 0 {
									add("embedded " + s.Name.Name + "." + types(fld.Type))
								}
							}
						case *ast.InterfaceType:
							for _, m := range tt.Methods.List {
								for _, n := range m.Names {
									add("method " + s.Name.Name + "." + n.Name)
								}
							}
						}
					case *ast.ValueSpec:
						kind := "var"
						if d.Tok == token.CONST {
							kind = "const"
						}
						for _, n := range s.Names {
							if n.IsExported() {
								add(kind + " " + n.Name)
							}
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(lines)
	return slices.Compact(lines)
}

// types names an embedded field's type.
func types(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.StarExpr:
		return "*" + types(x.X)
	case *ast.SelectorExpr:
		return types(x.X) + "." + x.Sel.Name
	}
	return "?"
}
