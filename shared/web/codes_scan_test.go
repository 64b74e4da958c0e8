package web_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const webPath = "github.com/atrium-cdn/atrium/shared/web"

// listedPackage is what `go list -json` says of a package.
type listedPackage struct {
	ImportPath, Dir, Export string
	GoFiles                 []string
	Module                  *struct{ Main bool }
	Error                   *struct{ Err string }
}

// TestNoProblemCodeOutsideRegistry type-checks every package of the module
// (its non-test files) and fails wherever a problem is built other than from
// the registry in codes.go: a string literal used as a Code, a conversion to
// Code, a web.Error or web.Problem built by hand, or web.Errorf (whose
// status is the caller's) called outside package web.
func TestNoProblemCodeOutsideRegistry(t *testing.T) {
	pkgs := listModule(t)
	exports := map[string]string{}
	for _, p := range pkgs {
		exports[p.ImportPath] = p.Export
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f) // #nosec G304 -- a path go list named
	})
	root := moduleRoot(t)
	checked := 0
	for _, p := range pkgs {
		if p.Module == nil || !p.Module.Main {
			continue
		}
		if p.Error != nil {
			t.Fatalf("%s: %s", p.ImportPath, p.Error.Err)
		}
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}}
		if _, err := (&types.Config{Importer: imp}).Check(p.ImportPath, fset, files, info); err != nil {
			t.Fatalf("type-check %s: %v", p.ImportPath, err)
		}
		checked++
		for _, v := range violations(fset, p.ImportPath, files, info) {
			rel, _ := filepath.Rel(root, v.file)
			t.Errorf("%s:%d: %s", filepath.ToSlash(rel), v.line, v.what)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d packages checked: the scan does not see the module", checked)
	}
}

type violation struct {
	file string
	line int
	what string
}

// violations finds the problems built outside the registry in one
// type-checked package.
func violations(fset *token.FileSet, pkg string, files []*ast.File, info *types.Info) []violation {
	var out []violation
	for _, f := range files {
		file := fset.Position(f.Pos()).Filename
		registry := pkg == webPath && filepath.Base(file) == "codes.go"
		add := func(n ast.Node, format string, args ...any) {
			out = append(out, violation{file, fset.Position(n.Pos()).Line, fmt.Sprintf(format, args...)})
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				// "" is no code (what CodeOf answers for an error without one).
				if !registry && n.Value != `""` && isWeb(info.Types[n].Type, "Code") {
					add(n, "code %s spelled out: declare it in shared/web/codes.go and use its constant", n.Value)
				}
			case *ast.CallExpr:
				if tv := info.Types[n.Fun]; tv.IsType() && isWeb(tv.Type, "Code") && !registry {
					add(n, "conversion to web.Code: a code is one of the registry's constants")
				}
				if fn, ok := calledFunc(info, n); ok && pkg != webPath && fn.Pkg() != nil &&
					fn.Pkg().Path() == webPath && fn.Name() == "Errorf" && fn.Type().(*types.Signature).Recv() == nil {
					add(n, "web.Errorf chooses its own status: use the registry's Code.New or Code.Errorf")
				}
			case *ast.CompositeLit:
				if pkg == webPath {
					break
				}
				for _, name := range []string{"Error", "Problem"} {
					if isWeb(info.Types[n].Type, name) {
						add(n, "web.%s built by hand: use the registry's constructors", name)
					}
				}
			}
			return true
		})
	}
	return out
}

// isWeb reports whether t is package web's named type name.
func isWeb(t types.Type, name string) bool {
	named, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	obj := named.Obj()
	return obj.Pkg() != nil && obj.Pkg().Path() == webPath && obj.Name() == name
}

func calledFunc(info *types.Info, call *ast.CallExpr) (*types.Func, bool) {
	var id *ast.Ident
	switch fun := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		id = fun
	case *ast.SelectorExpr:
		id = fun.Sel
	default:
		return nil, false
	}
	fn, ok := info.Uses[id].(*types.Func)
	return fn, ok
}

// listModule lists the module's packages and everything they import, with
// the compiler's export data for each.
func listModule(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-export", "-deps", "-json=ImportPath,Dir,Export,GoFiles,Module,Error", "./...")
	cmd.Dir = moduleRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("not inside the module")
	}
	return filepath.Dir(gomod)
}
