// SPDX-License-Identifier: GPL-3.0-only

package main

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/tools/closedset"
)

const module = "github.com/snapns/snapns/"

// placeName is a place of the closed set as a path of the tree.
func placeName(p closedset.Place) string {
	if p.File == "" {
		return "`" + strings.TrimPrefix(p.Pkg, module) + "/` (every file)"
	}
	return "`" + strings.TrimPrefix(p.Pkg, module) + "/" + p.File + "`"
}

// ClosedSetTable lists the places where the privileged binaries may make
// state-changing calls, and the names only those places may use.
func ClosedSetTable(c closedset.Config) string {
	var b strings.Builder
	b.WriteString("| place | what it holds |\n| --- | --- |\n")
	for _, p := range c.Allowed {
		why := p.Why
		if p.Tags != "" {
			why += fmt.Sprintf(" (only with the build constraint `%s`)", p.Tags)
		}
		fmt.Fprintf(&b, "| %s | %s |\n", placeName(p), why)
	}
	var pkgs []string
	names := map[string][]string{}
	for _, in := range c.Internal {
		if _, ok := names[in.Pkg]; !ok {
			pkgs = append(pkgs, in.Pkg)
		}
		names[in.Pkg] = append(names[in.Pkg], "`"+in.Name+"`")
	}
	var internal []string
	for _, p := range pkgs {
		internal = append(internal, "in `"+strings.TrimPrefix(p, module)+"` "+strings.Join(names[p], ", "))
	}
	fmt.Fprintf(&b, "\nOnly those places may use (what privop's last step calls; a method is named Type.Method) %s; the compiler keeps privop's unexported names (the capability bracket, the raw encoders, the last step's raw calls) in it.\n", strings.Join(internal, "; "))
	return b.String()
}

// loadPrivileged loads the project's packages the privileged binaries
// link, type-checked from source against the export data of the others,
// as the compiler sees them for linux/amd64 without cgo; abs is the
// module's directory.
func loadPrivileged(abs string) ([]*packages.Package, error) {
	list := exec.Command("go", append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, closedset.Project.Binaries...)...)
	list.Dir = abs
	env := append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	list.Env = env
	out, err := list.Output()
	if err != nil {
		return nil, fmt.Errorf("cannot list the privileged binaries' packages: %w", err)
	}
	var patterns []string
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, module) {
			patterns = append(patterns, p)
		}
	}
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo,
		Dir:  abs,
		Env:  env,
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, fmt.Errorf("cannot load the privileged binaries' packages: %w", err)
	}
	if packages.PrintErrors(pkgs) > 0 {
		return nil, fmt.Errorf("cannot type-check the privileged binaries' packages")
	}
	return pkgs, nil
}

// CallSiteTable lists the files of the privileged binaries (pkgs,
// loadPrivileged's, below the module's directory abs), outside the closed
// set, that call its actions (the functions of its places that carry a
// "Safe:" argument), with the actions each calls.
func CallSiteTable(abs string, pkgs []*packages.Package) (string, error) {
	allowed := func(pkg, file string) bool {
		for _, p := range closedset.Project.Allowed {
			if p.Pkg == pkg && (p.File == "" || p.File == filepath.Base(file)) && p.Tags == "" {
				return true
			}
		}
		return false
	}
	// The actions: every function of a place with a "Safe:" argument.
	actions := map[types.Object]string{}
	for _, p := range pkgs {
		for i, f := range p.Syntax {
			if !allowed(p.PkgPath, p.CompiledGoFiles[i]) {
				continue
			}
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok && fd.Doc != nil && strings.Contains(fd.Doc.Text(), "Safe:") {
					actions[p.TypesInfo.Defs[fd.Name]] = fd.Name.Name
				}
			}
		}
	}
	type site struct {
		file    string
		actions []string
	}
	var sites []site
	for _, p := range pkgs {
		for i, f := range p.Syntax {
			name := p.CompiledGoFiles[i]
			if allowed(p.PkgPath, name) || strings.HasSuffix(name, "_test.go") {
				continue
			}
			var called []string
			ast.Inspect(f, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok {
					if a, ok := actions[p.TypesInfo.Uses[id]]; ok && !slices.Contains(called, a) {
						called = append(called, a)
					}
				}
				return true
			})
			if len(called) > 0 {
				rel, err := filepath.Rel(abs, name)
				if err != nil {
					return "", err
				}
				slices.Sort(called)
				sites = append(sites, site{rel, called})
			}
		}
	}
	slices.SortFunc(sites, func(a, b site) int { return strings.Compare(a.file, b.file) })
	var b strings.Builder
	b.WriteString("| file | the actions it calls |\n| --- | --- |\n")
	for _, s := range sites {
		fmt.Fprintf(&b, "| `%s` | `%s` |\n", s.file, strings.Join(s.actions, "`, `"))
	}
	return b.String(), nil
}

// CheckActionNames checks that every action has one name: each Op of
// policy (OpX, by its constant's name in pkgs) has Spec.Name X, and
// launcher/privop a function or method X with a "Safe:" argument, and
// every function of privop that brackets an Op is the Op's own.
func CheckActionNames(pkgs []*packages.Package) error {
	var pol, privop *packages.Package
	for _, p := range pkgs {
		switch p.PkgPath {
		case module + "policy":
			pol = p
		case module + "launcher/privop":
			privop = p
		}
	}
	if pol == nil || privop == nil {
		return fmt.Errorf("the privileged binaries link no policy or no launcher/privop")
	}
	opType := pol.Types.Scope().Lookup("Op")
	ops := map[string]string{} // "OpX" -> "X"
	for _, name := range pol.Types.Scope().Names() {
		c, ok := pol.Types.Scope().Lookup(name).(*types.Const)
		if !ok || !c.Exported() || opType == nil || !types.Identical(c.Type(), opType.Type()) {
			continue
		}
		v, ok := constant.Int64Val(c.Val())
		if !ok || v < 0 || int(v) >= len(policy.Ops) {
			return fmt.Errorf("policy.%s is not an index of policy.Ops", name)
		}
		want := strings.TrimPrefix(name, "Op")
		if got := policy.Ops[v].Name; got != want {
			return fmt.Errorf("policy.%s is named %q in policy.Ops, not %q", name, got, want)
		}
		ops[name] = want
	}
	if len(ops) != len(policy.Ops) {
		return fmt.Errorf("policy has %d Op constants for %d actions", len(ops), len(policy.Ops))
	}
	actions := map[string]bool{}
	for _, f := range privop.Syntax {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil || strings.HasPrefix(fd.Name.Name, "bracket") {
				continue
			}
			if fd.Doc != nil && strings.Contains(fd.Doc.Text(), "Safe:") {
				actions[fd.Name.Name] = true
			}
			var err error
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 || err != nil {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || !strings.HasPrefix(sel.Sel.Name, "bracket") {
					return true
				}
				op, ok := call.Args[0].(*ast.SelectorExpr)
				if !ok || ops[op.Sel.Name] == "" {
					err = fmt.Errorf("privop's %s brackets something other than a policy.Op constant", fd.Name.Name)
				} else if ops[op.Sel.Name] != fd.Name.Name {
					err = fmt.Errorf("privop's %s runs policy.%s: an action has its Op's name", fd.Name.Name, op.Sel.Name)
				}
				return true
			})
			if err != nil {
				return err
			}
		}
	}
	for op, name := range ops {
		if !actions[name] {
			return fmt.Errorf("launcher/privop has no action %s (policy.%s) with a \"Safe:\" argument", name, op)
		}
	}
	return nil
}
