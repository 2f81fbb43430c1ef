// SPDX-License-Identifier: GPL-3.0-only

package main

import (
	"fmt"
	"go/ast"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"

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
	fmt.Fprintf(&b, "\nOnly those places may use (the capability bracket, the raw encoders and the last step's raw calls; a method is named Type.method) %s.\n", strings.Join(internal, "; "))
	return b.String()
}

// CallSiteTable lists the files of the privileged binaries, outside the
// closed set, that call its actions (the functions of its places that carry
// a "Safe:" argument), with the actions each calls, from the code as the
// compiler sees it for linux/amd64 without cgo.
func CallSiteTable(root string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	// The project's packages the binaries link, type-checked from
	// source against the export data of the others.
	list := exec.Command("go", append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, closedset.Project.Binaries...)...)
	list.Dir = abs
	env := append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	list.Env = env
	out, err := list.Output()
	if err != nil {
		return "", fmt.Errorf("cannot list the privileged binaries' packages: %w", err)
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
		return "", fmt.Errorf("cannot load the privileged binaries' packages: %w", err)
	}
	if packages.PrintErrors(pkgs) > 0 {
		return "", fmt.Errorf("cannot type-check the privileged binaries' packages")
	}
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
