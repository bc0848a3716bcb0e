package workspace_test

import (
	"encoding/json"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestNoInternalTypesInAPI type-checks the library packages (from the
// compiler's export data) and fails when anything a user can reach (an
// exported function's signature, an exported type's exported fields, or
// any method in its method set, promoted ones included) mentions a type
// of an internal package, which users can neither name nor build.
// TestPublicAPI reads the source and sees only what is spelled out; this
// sees through aliases and embedding.
func TestNoInternalTypesInAPI(t *testing.T) {
	cmd := exec.Command("go", "list", "-export", "-json", "./...")
	cmd.Stderr = os.Stderr
	cmd.Env = goEnv
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	exports := map[string]string{}
	var libs []string
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath, Name, Export string
			Module                   *struct{ Path string }
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
		const mod = "github.com/gwsadmin/workspace"
		if p.Module != nil && p.Module.Path == mod && p.Name != "main" &&
			!strings.Contains(p.ImportPath, "/internal") && !strings.Contains(p.ImportPath, "/examples") &&
			!strings.Contains(p.ImportPath, "/benchmarks") {
			libs = append(libs, p.ImportPath)
		}
	}
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		return os.Open(exports[path])
	})
	for _, path := range libs {
		pkg, err := imp.Import(path)
		if err != nil {
			t.Fatalf("import %s: %v", path, err)
		}
		scope := pkg.Scope()
		for _, name := range scope.Names() {
			obj := scope.Lookup(name)
			if !obj.Exported() {
				continue
			}
			w := &apiWalker{t: t, where: path + "." + name, seen: map[types.Type]bool{}}
			w.walk(obj.Type())
			if tn, ok := obj.(*types.TypeName); ok {
				for _, typ := range []types.Type{tn.Type(), types.NewPointer(tn.Type())} {
					ms := types.NewMethodSet(typ)
					for i := range ms.Len() {
						if m := ms.At(i).Obj(); m.Exported() {
							w.where = path + "." + name + "." + m.Name()
							w.walk(m.Type())
						}
					}
				}
			}
		}
	}
}

type apiWalker struct {
	t     *testing.T
	where string
	seen  map[types.Type]bool
}

// walk reports internal named types reachable from typ through what a
// user sees: signatures, exported fields, element types.
func (w *apiWalker) walk(typ types.Type) {
	if w.seen[typ] {
		return
	}
	w.seen[typ] = true
	switch x := typ.(type) {
	case *types.Alias:
		w.walk(types.Unalias(x))
	case *types.Named:
		if p := x.Obj().Pkg(); p != nil && strings.Contains(p.Path(), "/internal/") {
			w.t.Errorf("%s exposes %s.%s from an internal package", w.where, p.Path(), x.Obj().Name())
			return
		}
		for i := range x.TypeArgs().Len() {
			w.walk(x.TypeArgs().At(i))
		}
		// Exported fields of an exported struct type are reached where
		// that type is walked as a scope object; an unexported named
		// type's exported fields and methods are reachable through it.
		if !x.Obj().Exported() {
			w.walk(x.Underlying())
			ms := types.NewMethodSet(types.NewPointer(x))
			for i := range ms.Len() {
				if m := ms.At(i).Obj(); m.Exported() {
					w.walk(m.Type())
				}
			}
		}
	case *types.Pointer:
		w.walk(x.Elem())
	case *types.Slice:
		w.walk(x.Elem())
	case *types.Array:
		w.walk(x.Elem())
	case *types.Map:
		w.walk(x.Key())
		w.walk(x.Elem())
	case *types.Chan:
		w.walk(x.Elem())
	case *types.Signature:
		for _, tup := range []*types.Tuple{x.Params(), x.Results()} {
			for i := range tup.Len() {
				w.walk(tup.At(i).Type())
			}
		}
	case *types.Struct:
		for i := range x.NumFields() {
			if f := x.Field(i); f.Exported() || f.Embedded() {
				w.walk(f.Type())
			}
		}
	case *types.Interface:
		for i := range x.NumMethods() {
			if m := x.Method(i); m.Exported() {
				w.walk(m.Type())
			}
		}
	}
}
