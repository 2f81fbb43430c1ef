// SPDX-License-Identifier: GPL-3.0-only

package planner

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/snapns/snapns"

// ioPackages are the standard library's ways to reach the system: a
// package the planner runs imports none of them.
var ioPackages = map[string]bool{
	"os": true, "os/exec": true, "os/signal": true, "os/user": true, "syscall": true, "io/fs": true, "io/ioutil": true,
	"path/filepath": true, "net": true, "net/http": true, "log": true, "log/slog": true, "unsafe": true, "runtime": true,
	"time": true, "math/rand": true, "math/rand/v2": true, "crypto/rand": true, "plugin": true, "embed": true,
	"golang.org/x/sys/unix": true,
}

// fmtIO are fmt's functions that reach standard input and output.
var fmtIO = map[string]bool{"Print": true, "Printf": true, "Println": true, "Scan": true, "Scanf": true, "Scanln": true}

// TestPlannerDoesNoIO: the planner, and every package of this module it
// runs, reads nothing and changes nothing: no package that reaches the
// system is imported (fmt is, for its formatting alone), no print
// builtin, no fmt function on standard input or output. So Decide is a
// function of the facts it is given, and snap-ns and the launcher, giving
// it the same facts, get the same plan.
func TestPlannerDoesNoIO(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var visit func(path string)
	visit = func(path string) {
		if seen[path] {
			return
		}
		seen[path] = true
		dir := filepath.Join(root, strings.TrimPrefix(strings.TrimPrefix(path, module), "/"))
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("cannot read package %s: %v", path, err)
		}
		for _, name := range pkg.GoFiles {
			file := filepath.Join(dir, name)
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, problem := range ioUses(f) {
				t.Errorf("%s/%s: %s", path, name, problem)
			}
		}
		for _, imp := range pkg.Imports {
			if strings.HasPrefix(imp, module+"/") {
				visit(imp)
			}
		}
	}
	visit(module + "/planner")
	if len(seen) < 5 {
		t.Fatalf("only %d packages visited", len(seen))
	}
}

// ioUses lists what in f reaches the system.
func ioUses(f *ast.File) []string {
	var problems []string
	fmtName := ""
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if ioPackages[path] {
			problems = append(problems, "imports "+path)
		}
		if path == "fmt" {
			fmtName = "fmt"
			if imp.Name != nil {
				fmtName = imp.Name.Name
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		switch fun := call.Fun.(type) {
		case *ast.Ident:
			if fun.Name == "print" || fun.Name == "println" {
				problems = append(problems, "calls "+fun.Name)
			}
		case *ast.SelectorExpr:
			if x, ok := fun.X.(*ast.Ident); ok && x.Name == fmtName && fmtIO[fun.Sel.Name] {
				problems = append(problems, "calls fmt."+fun.Sel.Name)
			}
		}
		return true
	})
	return problems
}

// The rule catches what it is about.
func TestIOUses(t *testing.T) {
	for src, want := range map[string]int{
		`package p; import "os"; var _ = os.Getpid`:                        1,
		`package p; import u "golang.org/x/sys/unix"; var _ = u.Getpid`:    1,
		`package p; import f "fmt"; func g() { f.Println(); println() }`:   2,
		`package p; import "fmt"; var _ = fmt.Sprintf("%d", 1)`:            0,
		`package p; import ("strings"; "slices"); var _ = strings.ToUpper`: 0,
	} {
		f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := ioUses(f); len(got) != want {
			t.Errorf("%s: %v, want %d problems", src, got, want)
		}
	}
}
