package workspace_test

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var updateAPI = flag.Bool("update-api", false, "rewrite docs/api.txt from the packages")

// TestPublicAPI compares every exported declaration of the library
// packages (types, their exported fields and methods, functions, constants
// and variables, each with its signature or type) with docs/api.txt, so that a change to the public surface is
// a deliberate, reviewed edit of that file: run
//
//	go test -run TestPublicAPI -update-api .
//
// and read the diff. Programs, internal packages and tests are left out.
// It also fails on an exported declaration that spells out a type of an
// internal package; TestNoInternalTypesInAPI (api_types_test.go) checks
// the same through aliases and promoted methods, on the type-checked
// packages.
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
		// internal maps the file's import names of internal packages.
		internal := map[string]string{}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if !strings.Contains(ip, "/internal/") && !strings.HasPrefix(ip, "internal/") {
				continue
			}
			name := path.Base(ip)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			internal[name] = ip
		}
		add := func(s string, exprs ...ast.Node) {
			for _, e := range exprs {
				if e == nil || reflect.ValueOf(e).IsNil() {
					continue
				}
				ast.Inspect(e, func(n ast.Node) bool {
					sel, ok := n.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					if x, ok := sel.X.(*ast.Ident); ok && internal[x.Name] != "" {
						t.Errorf("%s: exported %s uses %s.%s from %s, which users cannot name", fset.Position(sel.Pos()), s, x.Name, sel.Sel.Name, internal[x.Name])
					}
					return true
				})
			}
			lines = append(lines, pkg+": "+s)
		}
		str := func(n ast.Node) string {
			var b strings.Builder
			if err := printer.Fprint(&b, fset, n); err != nil {
				t.Fatal(err)
			}
			return strings.Join(strings.Fields(b.String()), " ")
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				sig := d.Name.Name + strings.TrimPrefix(str(d.Type), "func")
				if d.Recv == nil {
					add("func "+sig, d.Type)
					continue
				}
				recv := d.Recv.List[0].Type
				if s, ok := recv.(*ast.StarExpr); ok {
					recv = s.X
				}
				switch ix := recv.(type) {
				case *ast.IndexExpr:
					recv = ix.X
				case *ast.IndexListExpr:
					recv = ix.X
				}
				if id, ok := recv.(*ast.Ident); ok && id.IsExported() {
					add("method "+id.Name+"."+sig, d.Type)
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						switch tt := s.Type.(type) {
						case *ast.StructType:
							add("type " + s.Name.Name + " struct")
							for _, fld := range tt.Fields.List {
								for _, n := range fld.Names {
									if n.IsExported() {
										add("field "+s.Name.Name+"."+n.Name+" "+str(fld.Type), fld.Type)
									}
								}
								if len(fld.Names) == 0 {
									add("embedded "+s.Name.Name+"."+str(fld.Type), fld.Type)
								}
							}
						case *ast.InterfaceType:
							add("type " + s.Name.Name + " interface")
							for _, m := range tt.Methods.List {
								for _, n := range m.Names {
									add("method "+s.Name.Name+"."+n.Name+strings.TrimPrefix(str(m.Type), "func"), m.Type)
								}
								if len(m.Names) == 0 {
									add("embedded "+s.Name.Name+"."+str(m.Type), m.Type)
								}
							}
						default:
							eq := " "
							if s.Assign.IsValid() {
								eq = " = "
							}
							add("type "+s.Name.Name+eq+str(s.Type), s.Type)
						}
					case *ast.ValueSpec:
						kind := "var"
						if d.Tok == token.CONST {
							kind = "const"
						}
						for _, n := range s.Names {
							if !n.IsExported() {
								continue
							}
							if s.Type != nil {
								add(kind+" "+n.Name+" "+str(s.Type), s.Type)
							} else {
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
