// SPDX-License-Identifier: GPL-3.0-only

package closedset

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"strings"
)

// guard is what the analyzer knows of one package whose functions can
// change state.
type guard struct {
	// allowAll: everything not in rules is harmless, and rules lists
	// what is refused (reflect). Otherwise everything not in rules is
	// refused, and rules lists what is harmless: a function added to the
	// package by a later Go or x/sys is refused until someone looks.
	allowAll bool
	rules    map[string]rule
}

// rule is one function or method ("Name", "Type.Method", "Type.*").
// check, when set, looks at the use (its arguments, its receiver) and
// returns why it is refused, "" when it is harmless; a rule with a check
// refuses every use that is not a call, whose arguments it cannot see.
type rule struct {
	why   string
	check func(u use) string
}

// use is one reference to a guarded function.
type use struct {
	info *types.Info
	fn   *types.Func
	// consts is the package whose constants the checks compare with:
	// fn's, or for a Checked wrapper the package of the function it
	// stands for.
	consts *types.Package
	call   *ast.CallExpr // nil when fn is not called here
	recv   ast.Expr      // the receiver of a method call or conversion, nil if unknown
}

// arg returns the call's i-th argument.
func (u use) arg(i int) ast.Expr {
	if u.call == nil || i >= len(u.call.Args) {
		return nil
	}
	return u.call.Args[i]
}

// constArg returns the value of argument i if it is a constant expression.
func (u use) constArg(i int) (constant.Value, bool) {
	e := u.arg(i)
	if e == nil {
		return nil, false
	}
	tv, ok := u.info.Types[e]
	if !ok || tv.Value == nil {
		return nil, false
	}
	return tv.Value, true
}

// pkgConst returns the value of the callee's package's constant name.
func (u use) pkgConst(name string) (uint64, bool) {
	pkg := u.consts
	if pkg == nil {
		pkg = u.fn.Pkg()
	}
	c, ok := pkg.Scope().Lookup(name).(*types.Const)
	if !ok {
		return 0, false
	}
	v, ok := constant.Uint64Val(constant.ToInt(c.Val()))
	return v, ok
}

// readOnlyFlags refuses open flags that are not a constant or that ask for
// writing, creating or truncating.
func readOnlyFlags(u use, flags ast.Expr, what string) string {
	tv, ok := u.info.Types[flags]
	if !ok || tv.Value == nil {
		return "with " + what + " that are not a constant expression (make them one at the call, so that they can be checked)"
	}
	v, ok := constant.Uint64Val(constant.ToInt(tv.Value))
	if !ok {
		return "with " + what + " that are not a non-negative integer"
	}
	var bad []string
	for _, name := range []string{"O_WRONLY", "O_RDWR", "O_CREAT", "O_CREATE", "O_TRUNC", "O_APPEND", "O_TMPFILE"} {
		if m, ok := u.pkgConst(name); ok && m != 0 && v&m == m {
			bad = append(bad, name)
		}
	}
	if len(bad) > 0 {
		return "with " + strings.Join(bad, "|") + " (it opens for writing or creates)"
	}
	return ""
}

func openFlags(i int) func(u use) string {
	return func(u use) string { return readOnlyFlags(u, u.arg(i), "flags") }
}

// openHow wants Openat2's how written at the call, &unix.OpenHow{...},
// with constant read-only Flags.
func openHow(i int) func(u use) string {
	return func(u use) string {
		e := ast.Unparen(u.arg(i))
		if un, ok := e.(*ast.UnaryExpr); ok && un.Op == token.AND {
			e = ast.Unparen(un.X)
		}
		lit, ok := e.(*ast.CompositeLit)
		if !ok {
			return "with an OpenHow that is not written at the call (write &unix.OpenHow{Flags: ...} there, with constant flags, so that they can be checked)"
		}
		for _, elt := range lit.Elts {
			kv, ok := elt.(*ast.KeyValueExpr)
			if !ok {
				return "with an OpenHow literal without field names"
			}
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == "Flags" {
				return readOnlyFlags(u, kv.Value, "OpenHow flags")
			}
		}
		return "" // no Flags: O_RDONLY
	}
}

// constIn wants argument i to be a constant equal to one of the callee's
// package's constants names.
func constIn(i int, names ...string) func(u use) string {
	return func(u use) string {
		v, ok := u.constArg(i)
		if ok {
			if x, ok := constant.Uint64Val(constant.ToInt(v)); ok {
				for _, n := range names {
					if m, ok := u.pkgConst(n); ok && m == x {
						return ""
					}
				}
			}
		}
		return "with an argument other than the constants " + strings.Join(names, ", ")
	}
}

// constInts wants argument i to be one of the integer constants vals.
func constInts(i int, what string, vals ...int64) func(u use) string {
	return func(u use) string {
		if v, ok := u.constArg(i); ok {
			if x, ok := constant.Int64Val(constant.ToInt(v)); ok {
				for _, want := range vals {
					if x == want {
						return ""
					}
				}
			}
		}
		return "on " + what
	}
}

// readLimit allows prlimit(0, resource, nil, &old): a read of the calling
// process's own limit.
func readLimit(u use) string {
	if v, ok := u.constArg(0); !ok || constant.Sign(v) != 0 {
		return "on a pid other than 0 (the calling process)"
	}
	if id, ok := ast.Unparen(u.arg(2)).(*ast.Ident); !ok || u.info.Uses[id] != types.Universe.Lookup("nil") {
		return "with a new limit (only prlimit(0, resource, nil, &old) reads)"
	}
	return ""
}

// notStdio refuses closing descriptor 0, 1 or 2 by number: the next open
// would get it, and a write meant for the caller's terminal would land in
// a file the launcher opened.
func notStdio(i int) func(u use) string {
	return func(u use) string {
		if v, ok := u.constArg(i); ok {
			if x, ok := constant.Int64Val(constant.ToInt(v)); ok && x >= 0 && x <= 2 {
				return "of a standard descriptor (the next open would take its number)"
			}
		}
		return ""
	}
}

// stdioReceiver allows writing to os.Stdout and os.Stderr only: the
// caller's own descriptors (the runtime opens /dev/null on any that are
// closed at start), which the launcher's messages go to.
func stdioReceiver(u use) string {
	if isStdio(u.info, u.recv) {
		return ""
	}
	return "on a file other than os.Stdout or os.Stderr"
}

func isStdio(info *types.Info, e ast.Expr) bool {
	var id *ast.Ident
	switch x := ast.Unparen(e).(type) {
	case *ast.Ident:
		id = x
	case *ast.SelectorExpr:
		id = x.Sel
	default:
		return false
	}
	v, ok := info.Uses[id].(*types.Var)
	return ok && v.Pkg() != nil && v.Pkg().Path() == "os" && (v.Name() == "Stdout" || v.Name() == "Stderr")
}

// harmless builds rules with no check from names.
func harmless(why string, names ...string) map[string]rule {
	m := map[string]rule{}
	for _, n := range names {
		m[n] = rule{why: why}
	}
	return m
}

func merge(ms ...map[string]rule) map[string]rule {
	out := map[string]rule{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// sysRules are the harmless calls of golang.org/x/sys/unix and syscall:
// everything else there is refused, the raw Syscall family first (it can
// make any call).
var sysRules = merge(
	harmless("makes no syscall",
		"BytePtrFromString", "ByteSliceFromString", "BytePtrToString", "ByteSliceToString",
		"StringBytePtr", "StringByteSlice", "SlicePtrFromStrings", "StringSlicePtr",
		"Major", "Minor", "Mkdev", "ParseDirent", "ErrnoName", "SignalName", "SignalNum",
		"NsecToTimespec", "NsecToTimeval", "TimespecToNsec", "TimevalToNsec",
		"Getpagesize", "Getenv", "Environ",
		"Errno.*", "Signal.*", "WaitStatus.*", "CPUSet.*", "Timespec.*", "Timeval.*"),
	harmless("reads the auxiliary vector the runtime kept", "Auxv"),
	harmless("only reads",
		"Fstat", "Fstatat", "Stat", "Lstat", "Statx", "Statfs", "Fstatfs",
		"Readlink", "Readlinkat", "Getdents", "ReadDirent", "Read", "Pread", "Readv", "Preadv",
		"Getwd", "Getcwd", "Uname", "Sysinfo", "Getrandom", "Capget", "Getrlimit", "Getrusage",
		"Getxattr", "Lgetxattr", "Fgetxattr", "Listxattr", "Llistxattr", "Flistxattr",
		"Access", "Faccessat", "Faccessat2", "SchedGetaffinity",
		"Gettimeofday", "ClockGettime", "Time"),
	harmless("reads the calling process's ids",
		"Getpid", "Getppid", "Getpgrp", "Getpgid", "Getsid", "Gettid",
		"Getuid", "Geteuid", "Getgid", "Getegid", "Getgroups", "Getresuid", "Getresgid"),
	harmless("acts on the launcher's own descriptors, children or time only",
		"Seek", "Pipe", "Pipe2", "Poll", "Ppoll", "Wait4", "Exit", "Nanosleep", "SetNonblock"),
	harmless("a descriptor that refers to a process: waiting on it; signalling through it (pidfd_send_signal) is refused", "PidfdOpen"),
	harmless("a lock needs no privilege beyond the descriptor (which only an action opens where it is root's) and changes no data", "Flock"),
	map[string]rule{
		"Close":   {why: "closes one of the launcher's own descriptors", check: notStdio(0)},
		"Open":    {why: "only opens, with constant read-only flags", check: openFlags(1)},
		"Openat":  {why: "only opens, with constant read-only flags", check: openFlags(2)},
		"Openat2": {why: "only opens, with constant read-only flags", check: openHow(2)},
		"Write":   {why: "writes to the caller's standard output or error, descriptor 1 or 2 by number", check: constInts(0, "a descriptor other than 1 or 2 (the caller's standard output and error)", 1, 2)},
		"FcntlInt": {why: "reads or sets the launcher's own descriptor flags, or duplicates one close-on-exec",
			check: constIn(1, "F_GETFD", "F_GETFL", "F_SETFD", "F_DUPFD_CLOEXEC")},
		"IoctlGetUint64": {why: "nsfs queries, which only read", check: constIn(1, nsQueries...)},
		"IoctlRetInt":    {why: "nsfs queries, which only read (NS_GET_USERNS and NS_GET_PARENT return a new descriptor)", check: constIn(1, nsQueries...)},
		"IoctlGetInt":    {why: "nsfs queries, which only read", check: constIn(1, nsQueries...)},
		"Prlimit":        {why: "reads the calling process's limit (pid 0, no new limit)", check: readLimit},
		// sched_setaffinity needs no privilege for the calling thread
		// and cannot leave its cpuset; for another process it can
		// (euid 0 may move anyone's), so only pid 0 is harmless.
		"SchedSetaffinity": {why: "pins the calling thread (pid 0) to CPUs of its own cpuset, which needs no privilege", check: constInts(0, "a pid other than 0 (the calling thread)", 0)},
	},
)

var nsQueries = []string{"NS_GET_MNTNS_ID", "NS_GET_USERNS", "NS_GET_PARENT", "NS_GET_NSTYPE", "NS_GET_OWNER_UID"}

// guards are the packages whose functions can change state. A package not
// here reaches the kernel only through them (the rest of the standard
// library writes only through an io.Writer, and a descriptor the launcher
// can write to comes from a refused open), or changes only the process's
// own memory (runtime, runtime/debug, sync, ...).
var guards = map[string]guard{
	"golang.org/x/sys/unix": {rules: sysRules},
	"syscall":               {rules: sysRules},
	"os": {rules: merge(
		harmless("reads the environment, ids or process facts",
			"Getenv", "LookupEnv", "Environ", "ExpandEnv", "Expand", "Getpid", "Getppid",
			"Getuid", "Geteuid", "Getgid", "Getegid", "Getgroups", "Getpagesize", "Getwd",
			"Hostname", "Executable", "TempDir", "UserHomeDir", "UserCacheDir", "UserConfigDir"),
		harmless("only reads", "Stat", "Lstat", "ReadFile", "ReadDir", "Readlink", "Open", "DirFS", "SameFile", "OpenRoot"),
		harmless("makes no syscall, or acts on the launcher's own descriptors and children",
			"NewFile", "Exit", "IsExist", "IsNotExist", "IsPermission", "IsTimeout", "NewSyscallError", "FindProcess", "Pipe",
			"File.Close", "File.Fd", "File.Name", "File.Read", "File.ReadAt", "File.ReadDir", "File.Readdir",
			"File.Readdirnames", "File.Seek", "File.Stat", "File.WriteTo", "File.SetDeadline",
			"File.SetReadDeadline", "File.SetWriteDeadline",
			"Process.Wait", "Process.Release", "ProcessState.*", "LinkError.*", "SyscallError.*",
			"Root.Open", "Root.OpenRoot", "Root.Stat", "Root.Lstat", "Root.Readlink", "Root.ReadFile", "Root.Close", "Root.Name", "Root.FS"),
		map[string]rule{
			"OpenFile":         {why: "only opens, with constant read-only flags", check: openFlags(1)},
			"File.Write":       {why: "writes to the caller's standard output or error", check: stdioReceiver},
			"File.WriteString": {why: "writes to the caller's standard output or error", check: stdioReceiver},
			"File.WriteAt":     {why: "writes to the caller's standard output or error", check: stdioReceiver},
			"File.ReadFrom":    {why: "writes to the caller's standard output or error", check: stdioReceiver},
		},
	)},
	// Every function and method of these is refused.
	"os/exec":    {},
	"log/syslog": {},
	"plugin":     {},
	"net":        {},
	// Notify and Stop only change the runtime's handling of a signal,
	// which execve resets; Ignore survives execve into the app.
	"os/signal": {rules: harmless("changes only how this process's runtime handles a signal, which execve resets",
		"Notify", "NotifyContext", "Stop", "Reset", "Ignored")},
	"io/ioutil": {rules: harmless("only reads, or makes no syscall", "ReadAll", "ReadFile", "ReadDir", "NopCloser")},
	// A call through reflection cannot be checked.
	"reflect": {allowAll: true, rules: map[string]rule{
		"Value.Call":      {why: "calls a function the analyzer cannot see"},
		"Value.CallSlice": {why: "calls a function the analyzer cannot see"},
	}},
}

// guardOf returns the guard of the package path, net/... included.
func guardOf(path string) (guard, bool) {
	if g, ok := guards[path]; ok {
		return g, true
	}
	if strings.HasPrefix(path, "net/") {
		return guard{}, true
	}
	return guard{}, false
}

// ruleName is fn's name in the rules: "Name", or "Type.Method".
func ruleName(fn *types.Func) (name, wildcard string) {
	sig, _ := fn.Type().(*types.Signature)
	if sig == nil || sig.Recv() == nil {
		return fn.Name(), ""
	}
	t := sig.Recv().Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	tname := "?"
	switch t := t.(type) {
	case *types.Named:
		tname = t.Obj().Name()
	case *types.Alias:
		tname = t.Obj().Name()
	}
	return tname + "." + fn.Name(), tname + ".*"
}

// refusal returns why u is refused, "" when it is harmless.
func refusal(u use) string {
	if u.fn.Pkg() == nil {
		return ""
	}
	g, ok := guardOf(u.fn.Pkg().Path())
	if !ok {
		return ""
	}
	name, wildcard := ruleName(u.fn)
	r, listed := g.rules[name]
	if !listed && wildcard != "" {
		r, listed = g.rules[wildcard]
	}
	return judge(u, g, r, listed)
}

// likeRefusal judges u, a call of a Checked wrapper, as a call of the
// guarded function like ("golang.org/x/sys/unix.Openat2"), whose package
// is consts.
func likeRefusal(u use, like string, consts *types.Package) string {
	i := strings.LastIndex(like, ".")
	g, ok := guardOf(like[:i])
	if !ok || consts == nil {
		return "cannot be checked (closedset configuration: no guarded " + like + ")"
	}
	r, listed := g.rules[like[i+1:]]
	u.consts = consts
	return judge(u, g, r, listed)
}

func judge(u use, g guard, r rule, listed bool) string {
	if g.allowAll {
		if listed {
			return "changes state"
		}
		return ""
	}
	if !listed {
		if strings.HasPrefix(u.fn.Name(), "Syscall") || strings.HasPrefix(u.fn.Name(), "RawSyscall") || u.fn.Name() == "AllThreadsSyscall" {
			return "is a raw syscall, which can make any call"
		}
		return "changes state"
	}
	if r.check == nil {
		return ""
	}
	if u.call == nil {
		return "is used as a value, whose arguments cannot be checked"
	}
	if why := r.check(u); why != "" {
		return "is called " + why
	}
	return ""
}
