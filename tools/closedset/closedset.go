// SPDX-License-Identifier: GPL-3.0-only

// Package closedset is an analyzer that keeps the privileged launcher's
// state-changing calls inside its closed set of privileged actions. Run
// over every package the installed privileged binaries link (make vet does,
// for each architecture and for the snapnstest build), it refuses, outside
// the places its configuration allows (Project, config.go):
//
//   - every function and method of golang.org/x/sys/unix and syscall but
//     an allowlist of calls that only read or touch the launcher's own
//     descriptors, children and memory (rules.go); the raw Syscall family,
//     AllThreadsSyscall, exec and every id, mount, namespace, file and
//     capability call are refused with the rest. Some are allowed only
//     with arguments it can check at the call: opens with constant flags
//     that neither write, create, truncate nor append (a variable is
//     refused, with a request to make it a constant), ioctls that are nsfs
//     queries, sched_setaffinity of the calling thread, prlimit that only
//     reads the calling process's limit, fcntl of descriptor flags, writes
//     to descriptor 1 or 2, and no close of 0, 1 or 2 by number;
//   - in os, everything but what only reads (Open, OpenFile with the same
//     flag rule, Stat, ReadFile, ReadDir, Readlink, ...) and writes to
//     os.Stdout and os.Stderr: Chown, Chmod, Remove, Rename, Mkdir,
//     Symlink, WriteFile, Create, Truncate, Setenv, StartProcess, the
//     writing methods of *os.File and the rest, including whatever a later
//     Go adds;
//   - all of os/exec, net, log/syslog and plugin; signal.Ignore (it
//     survives execve into the app; Notify and Stop do not); reflection's
//     Value.Call;
//   - any such function used as a value (f := unix.Mount, a method value,
//     a method expression, an argument), and any conversion that hands a
//     value of a guarded type to an interface or a type parameter whose
//     methods include a refused one (an *os.File as an
//     interface{ Chmod(os.FileMode) error });
//   - //go:linkname, cgo and assembly, which reach the kernel around all of
//     this;
//   - a reference from outside the allowed files to what the allowed files
//     keep for themselves (Config.Internal: the seccomp loader privop calls
//     in the last step), and a call of a function of theirs that opens with its
//     caller's flags (Config.Checked: shared/resolve.Openat2) that would be
//     refused as a call of the function it stands for (unix.Openat2);
//   - a file whose build constraint names a tag make vet does not run the
//     analyzer with, so that no file of the launcher goes unchecked.
//
// _test.go files are not checked: no binary links them.
//
// The project's closed set (Project, config.go) is package launcher/privop,
// where every action is, and a few files and packages it needs beside it
// (SECURITY.md §4.3 lists them, generated from the configuration).
package closedset

import (
	"go/ast"
	"go/build/constraint"
	"go/types"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// Place is where state-changing calls are allowed: a package, or one file
// of it.
type Place struct {
	Pkg  string // import path
	File string // base name of one of its files; "" for all of them
	// Tags, when set, is the exact build constraint the file must carry
	// (a file of test builds only): without it the file is not allowed.
	Tags string
	Why  string // what the place holds, for SECURITY.md
}

// Internal is a function or method ("Type.Method") declared in an allowed
// place that only allowed places may refer to.
type Internal struct {
	Pkg, Name string
}

// Checked is a function of an allowed place that code outside may call as
// it may call the guarded function Like (an import path and a name): with
// the same arguments, checked the same way. shared/resolve.Openat2 opens
// as unix.Openat2 does, where the kernel lacks openat2 too, so outside the
// closed set it takes only a how written at the call with read-only flags.
type Checked struct {
	Pkg, Name, Like string
}

// Config is a closed set.
type Config struct {
	// Home is where a refused call must go, named in every message.
	Home string
	// Binaries are the privileged binaries (go list patterns): every
	// package they link is checked, but the standard library's and
	// Trusted.
	Binaries []string
	Trusted  []string
	Allowed  []Place
	Internal []Internal
	Checked  []Checked
	// Tags are the build tags make vet runs the analyzer with besides
	// the architectures'.
	Tags []string
}

// Analyzer checks the project's closed set.
var Analyzer = New(Project)

// New returns an analyzer of the closed set c.
func New(c Config) *analysis.Analyzer {
	return &analysis.Analyzer{
		Name: "closedset",
		Doc:  "refuses state-changing calls outside the privileged launcher's closed set of actions",
		URL:  "https://github.com/snapns/snapns/tree/main/tools/closedset",
		Run:  func(pass *analysis.Pass) (any, error) { return nil, run(c, pass) },
	}
}

type checker struct {
	c        Config
	pass     *analysis.Pass
	internal map[types.Object]string
	checked  map[types.Object]string // a Checked function: its Like
}

func run(c Config, pass *analysis.Pass) error {
	if slices.Contains(c.Trusted, pass.Pkg.Path()) {
		return nil
	}
	k := &checker{c: c, pass: pass}
	k.checkConfig()
	k.internal = k.internalObjects()
	k.checked = k.checkedObjects()
	for _, f := range pass.Files {
		name := pass.Fset.File(f.FileStart).Name()
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		if k.allowed(f, name) {
			continue
		}
		k.checkFile(f)
	}
	k.checkOtherFiles()
	return nil
}

// allowed reports whether file f (named name) of the package is a place of
// the closed set.
func (k *checker) allowed(f *ast.File, name string) bool {
	for _, p := range k.c.Allowed {
		if p.Pkg != k.pass.Pkg.Path() || (p.File != "" && p.File != filepath.Base(name)) {
			continue
		}
		if p.Tags == "" {
			return true
		}
		if got := buildConstraint(f); got != p.Tags {
			k.pass.Reportf(f.Package, "%s is allowed only with the build constraint %q (test builds), not %q", filepath.Base(name), p.Tags, got)
			return false
		}
		return true
	}
	return false
}

// buildConstraint returns f's //go:build expression, "" if none.
func buildConstraint(f *ast.File) string {
	for _, cg := range f.Comments {
		if cg.Pos() >= f.Package {
			break
		}
		for _, c := range cg.List {
			if constraint.IsGoBuild(c.Text) {
				if e, err := constraint.Parse(c.Text); err == nil {
					return e.String()
				}
			}
		}
	}
	return ""
}

// checkConfig reports a place or an internal name of this package that no
// longer exists, so that the configuration cannot outlive a move.
func (k *checker) checkConfig() {
	if len(k.pass.Files) == 0 {
		return
	}
	pos := k.pass.Files[0].Package
	files := map[string]bool{}
	for _, f := range k.pass.Files {
		files[filepath.Base(k.pass.Fset.File(f.FileStart).Name())] = true
	}
	for _, f := range k.pass.IgnoredFiles {
		files[filepath.Base(f)] = true
	}
	for _, p := range k.c.Allowed {
		if p.Pkg == k.pass.Pkg.Path() && p.File != "" && !files[p.File] {
			k.pass.Reportf(pos, "closedset configuration: %s has no file %s", p.Pkg, p.File)
		}
	}
	for _, in := range k.c.Internal {
		if in.Pkg == k.pass.Pkg.Path() && lookup(k.pass.Pkg, in.Name) == nil {
			k.pass.Reportf(pos, "closedset configuration: %s declares no %s", in.Pkg, in.Name)
		}
	}
}

// lookup finds "Name" or "Type.Method" in pkg.
func lookup(pkg *types.Package, name string) types.Object {
	typ, method, isMethod := strings.Cut(name, ".")
	if !isMethod {
		if obj, ok := pkg.Scope().Lookup(name).(*types.Func); ok {
			return obj
		}
		return nil
	}
	tn, ok := pkg.Scope().Lookup(typ).(*types.TypeName)
	if !ok {
		return nil
	}
	obj, _, _ := types.LookupFieldOrMethod(tn.Type(), true, pkg, method)
	if fn, ok := obj.(*types.Func); ok {
		return fn
	}
	return nil
}

// internalObjects finds the internal names this package can see: its own
// and those of the packages it imports.
func (k *checker) internalObjects() map[types.Object]string {
	m := map[types.Object]string{}
	pkgs := map[string]*types.Package{k.pass.Pkg.Path(): k.pass.Pkg}
	for _, p := range k.pass.Pkg.Imports() {
		pkgs[p.Path()] = p
	}
	for _, in := range k.c.Internal {
		if p := pkgs[in.Pkg]; p != nil {
			if obj := lookup(p, in.Name); obj != nil {
				m[obj] = p.Name() + "." + in.Name
			}
		}
	}
	return m
}

// checkedObjects finds the Checked functions this package can see.
func (k *checker) checkedObjects() map[types.Object]string {
	m := map[types.Object]string{}
	pkgs := map[string]*types.Package{k.pass.Pkg.Path(): k.pass.Pkg}
	for _, p := range k.pass.Pkg.Imports() {
		pkgs[p.Path()] = p
	}
	for _, c := range k.c.Checked {
		if p := pkgs[c.Pkg]; p != nil {
			if obj := lookup(p, c.Name); obj != nil {
				m[obj] = c.Like
			}
		}
	}
	return m
}

// findPackage finds the package path among those this package imports,
// directly or not, as far as their export data names them.
func (k *checker) findPackage(path string) *types.Package {
	seen := map[*types.Package]bool{}
	var find func(p *types.Package) *types.Package
	find = func(p *types.Package) *types.Package {
		if p.Path() == path {
			return p
		}
		if seen[p] {
			return nil
		}
		seen[p] = true
		for _, q := range p.Imports() {
			if r := find(q); r != nil {
				return r
			}
		}
		return nil
	}
	return find(k.pass.Pkg)
}

// checkOtherFiles refuses assembly and C, and files left out by a build
// tag the analyzer is never run with.
func (k *checker) checkOtherFiles() {
	if len(k.pass.Files) == 0 {
		return
	}
	pos := k.pass.Files[0].Package
	for _, name := range k.pass.OtherFiles {
		k.pass.Reportf(pos, "%s: assembly, C or object files reach the kernel around every check: make it an action of %s", filepath.Base(name), k.c.Home)
	}
	for _, name := range k.pass.IgnoredFiles {
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		data, err := k.pass.ReadFile(name)
		if err != nil {
			continue
		}
		for _, tag := range k.unknownTags(data) {
			k.pass.Reportf(pos, "%s: its build tag %q is not one make vet runs closedset with, so the file is never checked: add the tag to the closedset configuration and make vet", filepath.Base(name), tag)
		}
	}
}

// knownTags are the tags of the configurations that exist: the Linux
// architectures and what the go command sets.
var knownTags = strings.Fields(`linux unix cgo gc gccgo amd64 arm64 arm 386 ppc64le ppc64 s390x riscv64
	mips mipsle mips64 mips64le loong64 wasm sparc64 android
	aix darwin dragonfly freebsd hurd illumos ios js nacl netbsd openbsd plan9 solaris wasip1 windows zos`)

// unknownTags lists the tags of a file's build constraint that no
// configuration of make vet sets.
func (k *checker) unknownTags(src []byte) []string {
	var unknown []string
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "package ") {
			break
		}
		if !constraint.IsGoBuild(line) {
			continue
		}
		e, err := constraint.Parse(line)
		if err != nil {
			continue
		}
		e.Eval(func(tag string) bool {
			if !slices.Contains(knownTags, tag) && !slices.Contains(k.c.Tags, tag) && !strings.HasPrefix(tag, "go1.") && !slices.Contains(unknown, tag) {
				unknown = append(unknown, tag)
			}
			return true
		})
	}
	return unknown
}

// checkFile checks one file outside the closed set.
func (k *checker) checkFile(f *ast.File) {
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, "//go:linkname") {
				k.pass.Reportf(c.Pos(), "//go:linkname reaches functions around every check: make it an action of %s", k.c.Home)
			}
		}
	}
	for _, imp := range f.Imports {
		if imp.Path.Value == `"C"` {
			k.pass.Reportf(imp.Pos(), "cgo reaches the kernel around every check: make it an action of %s", k.c.Home)
		}
	}
	var stack []ast.Node
	var sigs []*types.Signature // of the enclosing functions, for returns
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if _, ok := top.(*ast.FuncDecl); ok {
				sigs = sigs[:len(sigs)-1]
			} else if _, ok := top.(*ast.FuncLit); ok {
				sigs = sigs[:len(sigs)-1]
			}
			return true
		}
		stack = append(stack, n)
		switch n := n.(type) {
		case *ast.FuncDecl:
			sig, _ := k.pass.TypesInfo.Defs[n.Name].Type().(*types.Signature)
			sigs = append(sigs, sig)
		case *ast.FuncLit:
			sig, _ := k.pass.TypesInfo.TypeOf(n).(*types.Signature)
			sigs = append(sigs, sig)
		case *ast.Ident:
			k.checkIdent(n, stack)
		case *ast.ReturnStmt:
			if len(sigs) > 0 && sigs[len(sigs)-1] != nil {
				res := sigs[len(sigs)-1].Results()
				if res.Len() == len(n.Results) {
					for i, e := range n.Results {
						k.convert(e, res.At(i).Type())
					}
				}
			}
		case *ast.TypeAssertExpr:
			if n.Type != nil {
				k.checkAssertion(n.Type)
			}
		case *ast.TypeSwitchStmt:
			for _, c := range n.Body.List {
				for _, e := range c.(*ast.CaseClause).List {
					k.checkAssertion(e)
				}
			}
		default:
			k.checkConversions(n)
		}
		return true
	})
	k.checkInstances(f)
}

// checkIdent checks one identifier: a reference to a guarded function or
// to an internal name.
func (k *checker) checkIdent(id *ast.Ident, stack []ast.Node) {
	obj := k.pass.TypesInfo.Uses[id]
	fn, ok := obj.(*types.Func)
	if !ok {
		return
	}
	if name, ok := k.internal[fn]; ok {
		k.pass.Reportf(id.Pos(), "%s is internal to the closed set: call an action of %s", name, k.c.Home)
		return
	}
	like, checked := k.checked[fn]
	if fn.Pkg() == nil {
		return
	}
	if _, guarded := guardOf(fn.Pkg().Path()); !guarded && !checked {
		return
	}
	u := use{info: k.pass.TypesInfo, fn: fn}
	// Climb from the name to the call, if any: x.f(...), pkg.f(...),
	// (x.f)(...).
	var expr ast.Node = id
	i := len(stack) - 2
	if i >= 0 {
		if sel, ok := stack[i].(*ast.SelectorExpr); ok && sel.Sel == id {
			expr = sel
			if s := k.pass.TypesInfo.Selections[sel]; s != nil && s.Kind() == types.MethodVal {
				u.recv = sel.X
			}
			i--
		}
	}
	for i >= 0 {
		if p, ok := stack[i].(*ast.ParenExpr); ok {
			expr = p
			i--
			continue
		}
		break
	}
	if i >= 0 {
		if call, ok := stack[i].(*ast.CallExpr); ok && call.Fun == expr {
			u.call = call
		}
	}
	why := refusal(u)
	if checked {
		why = likeRefusal(u, like, k.findPackage(like[:strings.LastIndex(like, ".")]))
	}
	if why != "" {
		k.report(id, fn, why)
	}
}

func (k *checker) report(at ast.Node, fn *types.Func, why string) {
	k.pass.Reportf(at.Pos(), "%s %s: make it an action of %s", display(fn), why, k.c.Home)
}

// display names fn as code does: unix.Mount, (*os.File).Chmod.
func display(fn *types.Func) string {
	sig, _ := fn.Type().(*types.Signature)
	if sig == nil || sig.Recv() == nil {
		return fn.Pkg().Name() + "." + fn.Name()
	}
	return "(" + types.TypeString(sig.Recv().Type(), func(p *types.Package) string { return p.Name() }) + ")." + fn.Name()
}

// checkConversions finds the places where a value is assigned to a
// variable, a parameter, a field or an element of an interface type.
func (k *checker) checkConversions(n ast.Node) {
	info := k.pass.TypesInfo
	switch n := n.(type) {
	case *ast.CallExpr:
		if tv, ok := info.Types[n.Fun]; ok && tv.IsType() {
			if len(n.Args) == 1 {
				k.convert(n.Args[0], tv.Type)
			}
			return
		}
		if tv, ok := info.Types[n.Fun]; ok && tv.IsBuiltin() {
			if id, ok := ast.Unparen(n.Fun).(*ast.Ident); ok && id.Name == "append" && len(n.Args) > 1 && !n.Ellipsis.IsValid() {
				if s, ok := info.TypeOf(n.Args[0]).Underlying().(*types.Slice); ok {
					for _, a := range n.Args[1:] {
						k.convert(a, s.Elem())
					}
				}
			}
			return
		}
		sig, ok := info.TypeOf(n.Fun).Underlying().(*types.Signature)
		if !ok {
			return
		}
		params := sig.Params()
		for i, a := range n.Args {
			var t types.Type
			switch {
			case sig.Variadic() && i >= params.Len()-1:
				last := params.At(params.Len() - 1).Type()
				if n.Ellipsis.IsValid() {
					t = last
				} else if s, ok := last.Underlying().(*types.Slice); ok {
					t = s.Elem()
				}
			case i < params.Len():
				t = params.At(i).Type()
			}
			k.convert(a, t)
		}
	case *ast.AssignStmt:
		if len(n.Lhs) == len(n.Rhs) {
			for i := range n.Lhs {
				k.convert(n.Rhs[i], info.TypeOf(n.Lhs[i]))
			}
		}
	case *ast.ValueSpec:
		if n.Type != nil && len(n.Values) == len(n.Names) {
			for _, v := range n.Values {
				k.convert(v, info.TypeOf(n.Type))
			}
		}
	case *ast.SendStmt:
		if c, ok := info.TypeOf(n.Chan).Underlying().(*types.Chan); ok {
			k.convert(n.Value, c.Elem())
		}
	case *ast.CompositeLit:
		t := info.TypeOf(n)
		if t == nil {
			return
		}
		switch u := t.Underlying().(type) {
		case *types.Struct:
			for i, e := range n.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if key, ok := kv.Key.(*ast.Ident); ok {
						if fld, ok := info.Uses[key].(*types.Var); ok {
							k.convert(kv.Value, fld.Type())
						}
					}
				} else if i < u.NumFields() {
					k.convert(e, u.Field(i).Type())
				}
			}
		case *types.Slice, *types.Array, *types.Map:
			var key, elem types.Type
			switch u := u.(type) {
			case *types.Slice:
				elem = u.Elem()
			case *types.Array:
				elem = u.Elem()
			case *types.Map:
				key, elem = u.Key(), u.Elem()
			}
			for _, e := range n.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if key != nil {
						k.convert(kv.Key, key)
					}
					e = kv.Value
				}
				k.convert(e, elem)
			}
		}
	}
}

// convert checks the value e given the type target: a concrete value that
// becomes an interface exposes its methods to calls the analyzer cannot
// follow, so none of the interface's methods may be a refused one.
func (k *checker) convert(e ast.Expr, target types.Type) {
	if e == nil || target == nil || !types.IsInterface(target) {
		return
	}
	src := k.pass.TypesInfo.TypeOf(e)
	if src == nil || types.IsInterface(src) {
		return
	}
	k.exposes(e, e, src, target)
}

// exposes reports the refused methods of src that the interface (or type
// parameter constraint) target would let code call; recv is the value
// converted, if known.
func (k *checker) exposes(at ast.Node, recv ast.Expr, src, target types.Type) {
	iface, ok := target.Underlying().(*types.Interface)
	if !ok {
		return
	}
	for i := range iface.NumMethods() {
		m := iface.Method(i)
		obj, _, _ := types.LookupFieldOrMethod(src, true, m.Pkg(), m.Name())
		fn, ok := obj.(*types.Func)
		if !ok || fn.Pkg() == nil {
			continue
		}
		if _, guarded := guardOf(fn.Pkg().Path()); !guarded {
			continue
		}
		// As if called on recv: the receiver rules apply, the
		// argument rules cannot.
		u := use{info: k.pass.TypesInfo, fn: fn, recv: recv, call: &ast.CallExpr{}}
		if why := refusal(u); why != "" {
			k.pass.Reportf(at.Pos(), "%s as %s exposes %s, which is refused (%s): make it an action of %s",
				types.TypeString(src, qualifier), types.TypeString(target, qualifier), display(fn), strings.TrimPrefix(why, "is called "), k.c.Home)
			return
		}
	}
}

func qualifier(p *types.Package) string { return p.Name() }

// assertedMethods are the refused methods of the guarded types that code
// gets as values (*os.File, *os.Process, *os.Root, *exec.Cmd,
// reflect.Value), by name: an interface value can hold any of them, so an
// assertion to an interface with one of these methods could call it.
var assertedMethods = []string{
	"Write", "WriteString", "WriteAt", "ReadFrom", "Chmod", "Chown", "Chdir", "Truncate", "Sync",
	"Kill", "Signal", "Run", "Start", "Output", "CombinedOutput", "Call", "CallSlice",
	"Create", "Mkdir", "MkdirAll", "Remove", "RemoveAll", "Rename", "Symlink", "Link", "Lchown", "Chtimes",
	"OpenFile", "WriteFile",
}

// checkAssertion refuses a type assertion, or a case of a type switch, to
// an interface with a method named like a refused one: converting a value
// to an interface with no such method is allowed (an *os.File as an
// io.Reader), so asserting it back must not be.
func (k *checker) checkAssertion(e ast.Expr) {
	t := k.pass.TypesInfo.TypeOf(e)
	if t == nil {
		return
	}
	iface, ok := t.Underlying().(*types.Interface)
	if !ok {
		return
	}
	for i := range iface.NumMethods() {
		if m := iface.Method(i); slices.Contains(assertedMethods, m.Name()) {
			k.pass.Reportf(e.Pos(), "a type assertion to %s can reach a refused method %s (of an *os.File, say): make it an action of %s",
				types.TypeString(t, qualifier), m.Name(), k.c.Home)
			return
		}
	}
}

// checkInstances checks the type arguments of generic functions and types
// against their constraints: a type parameter is an interface too.
func (k *checker) checkInstances(f *ast.File) {
	for id, inst := range k.pass.TypesInfo.Instances {
		if id.Pos() < f.FileStart || id.Pos() > f.FileEnd {
			continue
		}
		var tparams *types.TypeParamList
		switch obj := k.pass.TypesInfo.Uses[id].(type) {
		case *types.Func:
			if sig, ok := obj.Origin().Type().(*types.Signature); ok {
				tparams = sig.TypeParams()
			}
		case *types.TypeName:
			if named, ok := obj.Type().(*types.Named); ok {
				tparams = named.Origin().TypeParams()
			}
		}
		for i := 0; tparams != nil && i < inst.TypeArgs.Len() && i < tparams.Len(); i++ {
			arg := inst.TypeArgs.At(i)
			if !types.IsInterface(arg) {
				k.exposes(id, nil, arg, tparams.At(i).Constraint())
			}
		}
	}
}
