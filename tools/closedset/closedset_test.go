// SPDX-License-Identifier: GPL-3.0-only

package closedset_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/snapns/snapns/tools/closedset"
)

// testConfig is a closed set of the project's shape: a package of its own
// (example.com/m/privop), and allowed files of a package shared with code
// outside the closed set (example.com/m/launcher, example.com/m/resolve).
var testConfig = closedset.Config{
	Home: "example.com/m/privop",
	Allowed: []closedset.Place{
		{Pkg: "example.com/m/privop"},
		{Pkg: "example.com/m/launcher", File: "actions.go"},
		{Pkg: "example.com/m/launcher", File: "hooks.go", Tags: "snapnstest"},
		{Pkg: "example.com/m/tagged", File: "hooks.go", Tags: "snapnstest"},
		{Pkg: "example.com/m/resolve", File: "resolve.go"},
	},
	Checked: []closedset.Checked{
		{Pkg: "example.com/m/resolve", Name: "Openat2", Like: "golang.org/x/sys/unix.Openat2"},
	},
	Internal: []closedset.Internal{
		{Pkg: "example.com/m/launcher", Name: "bracket"},
		{Pkg: "example.com/m/launcher", Name: "T.raise"},
		{Pkg: "example.com/m/privop", Name: "encode"},
	},
	Tags: []string{"snapnstest"},
}

// A planted call: imports, the statements of a function body, and what
// the analyzer must say outside the closed set ("" when the call is
// harmless and must pass everywhere).
type planted struct {
	name    string
	imports string
	body    string
	want    string
}

var refused = []planted{
	// The calls the issue names.
	{"fchownat", "golang.org/x/sys/unix", `unix.Fchownat(unix.AT_FDCWD, "/etc/shadow", 1000, 1000, 0)`, `unix.Fchownat changes state: make it an action of example.com/m/privop`},
	{"syscall6-mount", "golang.org/x/sys/unix unsafe", `s := []byte("/\x00"); unix.Syscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(&s[0])), uintptr(unsafe.Pointer(&s[0])), 0, unix.MS_BIND, 0, 0)`, `unix.Syscall6 is a raw syscall, which can make any call`},
	{"mknodat", "golang.org/x/sys/unix", `unix.Mknodat(unix.AT_FDCWD, "/dev/x", unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3)))`, `unix.Mknodat changes state`},
	{"setgroups", "golang.org/x/sys/unix", `unix.Setgroups([]int{0})`, `unix.Setgroups changes state`},
	{"raw-setns", "golang.org/x/sys/unix", `unix.Syscall(unix.SYS_SETNS, 3, unix.CLONE_NEWNS, 0)`, `unix.Syscall is a raw syscall`},
	{"os-chown", "os", `os.Chown("/etc/passwd", 1000, 1000)`, `os.Chown changes state`},
	{"os-remove", "os", `os.Remove("/etc/passwd")`, `os.Remove changes state`},
	{"exec-command", "os/exec", `exec.Command("/bin/sh")`, `exec.Command changes state`},
	{"openat-creat", "golang.org/x/sys/unix", `unix.Openat(unix.AT_FDCWD, "/etc/x", unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)`, `unix.Openat is called with O_CREAT`},
	{"openat-variable-flags", "golang.org/x/sys/unix", `flags := unix.O_RDONLY; unix.Openat(unix.AT_FDCWD, "/etc/x", flags, 0)`, `unix.Openat is called with flags that are not a constant expression \(make them one at the call`},
	{"mount-as-value", "golang.org/x/sys/unix", `f := unix.Mount //!; f("a", "b", "", unix.MS_BIND, "")`, `unix.Mount changes state`},
	// More of each kind.
	{"mount", "golang.org/x/sys/unix", `unix.Mount("none", "/", "", unix.MS_REC|unix.MS_SHARED, "")`, `unix.Mount changes state`},
	{"setns", "golang.org/x/sys/unix", `unix.Setns(3, unix.CLONE_NEWNS)`, `unix.Setns changes state`},
	{"raw-syscall", "syscall", `syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 1, 0)`, `syscall.RawSyscall is a raw syscall`},
	{"all-threads", "syscall", `syscall.AllThreadsSyscall(syscall.SYS_SETUID, 0, 0, 0)`, `syscall.AllThreadsSyscall is a raw syscall`},
	{"syscall-exec", "syscall", `syscall.Exec("/bin/sh", nil, nil)`, `syscall.Exec changes state`},
	{"forkexec", "syscall", `syscall.ForkExec("/bin/sh", nil, nil)`, `syscall.ForkExec changes state`},
	{"setresuid", "syscall", `syscall.Setresuid(0, 0, 0)`, `syscall.Setresuid changes state`},
	{"kill", "golang.org/x/sys/unix", `unix.Kill(1, unix.SIGKILL)`, `unix.Kill changes state`},
	{"umask", "golang.org/x/sys/unix", `unix.Umask(0)`, `unix.Umask changes state`},
	{"open-wronly", "golang.org/x/sys/unix", `unix.Open("/proc/self/attr/exec", unix.O_WRONLY, 0)`, `unix.Open is called with O_WRONLY`},
	{"openat-tmpfile", "golang.org/x/sys/unix", `unix.Openat(3, ".", unix.O_TMPFILE|unix.O_RDWR, 0o600)`, `unix.Openat is called with O_RDWR\|O_TMPFILE`},
	{"openat-trunc", "golang.org/x/sys/unix", `unix.Openat(3, "x", unix.O_TRUNC, 0)`, `unix.Openat is called with O_TRUNC`},
	{"openat2-write", "golang.org/x/sys/unix", `unix.Openat2(3, "x", &unix.OpenHow{Flags: unix.O_APPEND | unix.O_WRONLY})`, `unix.Openat2 is called with O_WRONLY\|O_APPEND`},
	{"openat2-variable", "golang.org/x/sys/unix", `how := &unix.OpenHow{}; unix.Openat2(3, "x", how)`, `unix.Openat2 is called with an OpenHow that is not written at the call`},
	{"openat-as-value", "golang.org/x/sys/unix", `open := unix.Openat //!; open(3, "x", unix.O_RDONLY, 0)`, `unix.Openat is used as a value, whose arguments cannot be checked`},
	{"write-file-fd", "golang.org/x/sys/unix", `unix.Write(3, []byte("a 1:3 rwm"))`, `unix.Write is called on a descriptor other than 1 or 2`},
	{"close-stderr", "golang.org/x/sys/unix", `unix.Close(2)`, `unix.Close is called of a standard descriptor`},
	{"ioctl-other", "golang.org/x/sys/unix", `unix.IoctlRetInt(0, unix.TIOCSCTTY)`, `unix.IoctlRetInt is called with an argument other than the constants NS_GET_MNTNS_ID`},
	{"fcntl-lock", "golang.org/x/sys/unix", `unix.FcntlInt(3, unix.F_SETOWN, 1)`, `unix.FcntlInt is called with an argument other than the constants F_GETFD`},
	{"affinity-other", "golang.org/x/sys/unix", `var s unix.CPUSet; unix.SchedSetaffinity(1, &s)`, `unix.SchedSetaffinity is called on a pid other than 0`},
	{"prlimit-set", "golang.org/x/sys/unix", `r := unix.Rlimit{Cur: 1 << 20, Max: 1 << 20}; unix.Prlimit(0, unix.RLIMIT_MEMLOCK, &r, nil)`, `unix.Prlimit is called with a new limit`},
	{"prlimit-other", "golang.org/x/sys/unix", `var r unix.Rlimit; unix.Prlimit(1, unix.RLIMIT_MEMLOCK, nil, &r)`, `unix.Prlimit is called on a pid other than 0`},
	{"prctl", "golang.org/x/sys/unix", `unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0)`, `unix.Prctl changes state`},
	{"dup3-onto-stdin", "golang.org/x/sys/unix", `unix.Dup3(3, 0, 0)`, `unix.Dup3 changes state`},
	{"os-chmod", "os", `os.Chmod("/etc", 0o777)`, `os.Chmod changes state`},
	{"os-removeall", "os", `os.RemoveAll("/")`, `os.RemoveAll changes state`},
	{"os-rename", "os", `os.Rename("/a", "/b")`, `os.Rename changes state`},
	{"os-mkdirall", "os", `os.MkdirAll("/etc/x", 0o755)`, `os.MkdirAll changes state`},
	{"os-symlink", "os", `os.Symlink("/etc", "/tmp/x")`, `os.Symlink changes state`},
	{"os-writefile", "os", `os.WriteFile("/etc/x", nil, 0o644)`, `os.WriteFile changes state`},
	{"os-create", "os", `os.Create("/etc/x")`, `os.Create changes state`},
	{"os-openfile-write", "os", `os.OpenFile("/etc/x", os.O_WRONLY|os.O_CREATE, 0o644)`, `os.OpenFile is called with O_WRONLY\|O_CREATE`},
	{"os-setenv", "os", `os.Setenv("PATH", "/tmp")`, `os.Setenv changes state`},
	{"os-copyfs", "os", `os.CopyFS("/etc/x", nil)`, `os.CopyFS changes state`},
	{"os-startprocess", "os", `os.StartProcess("/bin/sh", nil, nil)`, `os.StartProcess changes state`},
	{"file-chmod", "os", `f, _ := os.Open("/etc"); f.Chmod(0o777)`, `\(\*os.File\).Chmod changes state`},
	{"file-write", "os", `f, _ := os.Open("/etc/x"); f.Write(nil)`, `\(\*os.File\).Write is called on a file other than os.Stdout or os.Stderr`},
	{"file-chown-method-value", "os", `f, _ := os.Open("/etc"); chown := f.Chown //!; chown(0, 0)`, `\(\*os.File\).Chown changes state`},
	{"file-truncate-method-expr", "os", `f, _ := os.Open("/etc/x"); (*os.File).Truncate(f, 0)`, `\(\*os.File\).Truncate changes state`},
	{"file-as-chmoder", "os", `f, _ := os.Open("/etc"); var c interface{ Chmod(os.FileMode) error } = f //!; c.Chmod(0o777)`, `\*os.File as interface\{Chmod\(os.FileMode\) error\} exposes \(\*os.File\).Chmod, which is refused \(changes state`},
	{"file-as-writer", "fmt os", `f, _ := os.Open("/etc/x"); fmt.Fprintln(f, "x")`, `\*os.File as io.Writer exposes \(\*os.File\).Write, which is refused \(on a file other than os.Stdout or os.Stderr`},
	{"signal-ignore", "os/signal syscall", `signal.Ignore(syscall.SIGHUP)`, `signal.Ignore changes state`},
	{"exec-cmd-run", "os/exec", `var c exec.Cmd; c.Start()`, `\(\*exec.Cmd\).Start changes state`},
	{"net-dial", "net", `net.Dial("unix", "/run/snapd.socket")`, `net.Dial changes state`},
	{"ioutil-writefile", "io/ioutil", `ioutil.WriteFile("/etc/x", nil, 0o644)`, `ioutil.WriteFile changes state`},
	{"reflect-call", "reflect golang.org/x/sys/unix", `reflect.ValueOf(unix.Getpid).Call(nil)`, `\(reflect.Value\).Call changes state`},
	{"process-kill", "os", `p, _ := os.FindProcess(1); p.Kill()`, `\(\*os.Process\).Kill changes state`},
	{"mount-as-argument", "golang.org/x/sys/unix", `call := func(f func(string, string, string, uintptr, string) error) { f("a", "b", "", 0, "") }; call(unix.Mount)`, `unix.Mount changes state`},
	{"chmoder-type-argument", "os", `f, _ := os.Open("/etc"); chmod(f)`, `\*os.File as interface\{Chmod\(os.FileMode\) error\} exposes \(\*os.File\).Chmod`},
	{"embedded-file", "os", `var e struct{ *os.File }; e.Chown(0, 0)`, `\(\*os.File\).Chown changes state`},
	{"asserted-back", "os", `f, _ := os.Open("/etc"); var x any = f; x.(interface{ Chmod(os.FileMode) error }).Chmod(0o777)`, `a type assertion to interface\{Chmod\(os.FileMode\) error\} can reach a refused method Chmod`},
	{"type-switch-writer", "io os", `f, _ := os.Open("/etc/x"); var x any = f; switch w := x.(type) { case io.Writer: w.Write(nil) }`, `a type assertion to io.Writer can reach a refused method Write`},
}

// Harmless everywhere: nothing is reported, inside the closed set or out.
var harmless = []planted{
	{"fstat", "golang.org/x/sys/unix", `var st unix.Stat_t; unix.Fstat(3, &st)`, ""},
	{"openat-readonly", "golang.org/x/sys/unix", `unix.Openat(3, "x", unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)`, ""},
	{"openat-path", "golang.org/x/sys/unix", `unix.Openat(3, "x", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)`, ""},
	{"openat-named-constant", "golang.org/x/sys/unix", `const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY; unix.Openat(3, "x", dirFlags, 0)`, ""},
	{"openat2-literal", "golang.org/x/sys/unix", `unix.Openat2(3, "x", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH})`, ""},
	{"os-open-readfile", "os", `os.Open("/etc/os-release"); os.ReadFile("/etc/os-release"); os.ReadDir("/")`, ""},
	{"os-openfile-readonly", "os", `os.OpenFile("/etc/x", os.O_RDONLY, 0)`, ""},
	{"write-stderr", "golang.org/x/sys/unix", `unix.Write(2, []byte("cannot launch\n"))`, ""},
	{"file-stderr", "fmt os", `os.Stderr.Write(nil); fmt.Fprintln(os.Stderr, "x"); os.Stdout.WriteString("x")`, ""},
	{"close", "golang.org/x/sys/unix", `fd := 3; unix.Close(fd)`, ""},
	{"ids", "golang.org/x/sys/unix", `unix.Getuid(); unix.Geteuid(); unix.Getgid(); unix.Gettid(); unix.Getgroups()`, ""},
	{"capget", "golang.org/x/sys/unix", `hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}; var d [2]unix.CapUserData; unix.Capget(&hdr, &d[0])`, ""},
	{"nsfs-query", "golang.org/x/sys/unix", `unix.IoctlGetUint64(3, unix.NS_GET_MNTNS_ID); unix.IoctlRetInt(3, unix.NS_GET_USERNS)`, ""},
	{"affinity-self", "golang.org/x/sys/unix", `var s unix.CPUSet; s.Set(0); unix.SchedGetaffinity(0, &s); unix.SchedSetaffinity(0, &s)`, ""},
	{"fcntl-cloexec", "golang.org/x/sys/unix", `unix.FcntlInt(3, unix.F_GETFD, 0); unix.FcntlInt(3, unix.F_SETFD, unix.FD_CLOEXEC)`, ""},
	{"signal-notify", "os os/signal syscall", `c := make(chan os.Signal, 1); signal.Notify(c, syscall.SIGTERM); signal.Stop(c)`, ""},
	{"file-as-reader", "bufio os", `f, _ := os.Open("/etc/x"); bufio.NewScanner(f)`, ""},
	{"asserted-reader", "io os", `f, _ := os.Open("/etc/x"); var x any = f; _ = x.(io.Reader)`, ""},
	{"errno", "golang.org/x/sys/unix", `_ = unix.ENOENT.Error(); var ws unix.WaitStatus; _ = ws.Exited()`, ""},
	{"prlimit-read", "golang.org/x/sys/unix", `var r unix.Rlimit; unix.Prlimit(0, unix.RLIMIT_MEMLOCK, nil, &r)`, ""},
	{"close-as-value", "golang.org/x/sys/unix", `defer unix.Close(3); f := unix.Getpid; f()`, ""},
}

// writeModule writes a module example.com/m in a new directory, with
// golang.org/x/sys at the version the project uses (from the module cache:
// analysistest runs with GOPROXY=off).
func writeModule(t *testing.T, files map[string]string) string {
	return writeModuleAs(t, "example.com/m", files)
}

// writeModuleAs is writeModule for the module path module.
func writeModuleAs(t *testing.T, module string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	sum, err := os.ReadFile("../../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	var version string
	var sums []string
	sc := bufio.NewScanner(strings.NewReader(string(sum)))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "golang.org/x/sys" {
			version = strings.TrimSuffix(f[1], "/go.mod")
			sums = append(sums, sc.Text())
		}
	}
	files["go.mod"] = "module " + module + "\n\ngo 1.26.0\n\nrequire golang.org/x/sys " + version + "\n"
	files["go.sum"] = strings.Join(sums, "\n") + "\n"
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// source makes a file of package pkg with one function per planted call,
// with the call's expectation when want is true.
func source(pkg string, calls []planted, want bool) string {
	imports := map[string]bool{"os": true}
	for _, c := range calls {
		for _, imp := range strings.Fields(c.imports) {
			imports[imp] = true
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "// SPDX-License-Identifier: GPL-3.0-only\n\npackage %s\n\nimport (\n", pkg)
	for imp := range imports {
		fmt.Fprintf(&b, "\t%q\n", imp)
	}
	b.WriteString(")\n\n")
	b.WriteString("func chmod[T interface{ Chmod(os.FileMode) error }](t T) { t.Chmod(0o777) }\n\n")
	for i, c := range calls {
		fmt.Fprintf(&b, "// %s\nfunc f%d() {\n", c.name, i)
		// The want comment goes on the line of the first statement,
		// where the analyzer reports.
		for j, stmt := range strings.Split(c.body, "; ") {
			b.WriteString("\t" + strings.TrimSuffix(stmt, " //!"))
			if want && c.want != "" && j == wantLine(c) {
				fmt.Fprintf(&b, " // want `%s`", c.want)
			}
			b.WriteString("\n")
		}
		b.WriteString("}\n\n")
	}
	return b.String()
}

// wantLine is the statement of a planted body the diagnostic is on: the
// one marked //! (where the refused name is taken as a value), or the last.
func wantLine(c planted) int {
	stmts := strings.Split(c.body, "; ")
	for j, s := range stmts {
		if strings.HasSuffix(s, " //!") {
			return j
		}
	}
	return len(stmts) - 1
}

// TestPlantedCallsAreRefusedOutsideTheClosedSet plants each refused call in
// a package outside the closed set, where each is reported, and in the
// allowed package, where none is; the harmless calls pass in both.
func TestPlantedCallsAreRefusedOutsideTheClosedSet(t *testing.T) {
	all := append(append([]planted{}, refused...), harmless...)
	dir := writeModule(t, map[string]string{
		"planted/planted.go": source("planted", all, true),
		"privop/privop.go":   source("privop", all, false),
		"privop/encode.go":   "package privop\n\nfunc encode() {}\n",
	})
	results := analysistest.Run(t, dir, closedset.New(testConfig), "example.com/m/planted", "example.com/m/privop")
	for _, r := range results {
		if r.Action.Package.PkgPath == "example.com/m/planted" && len(r.Diagnostics) != len(refused) {
			t.Errorf("planted: %d diagnostics for %d refused calls", len(r.Diagnostics), len(refused))
		}
	}
}

// TestAllowedFilesOfASharedPackage: allowed files of a package shared with
// code outside the closed set. The same calls pass in the allowed file and
// are refused in the others; the allowed file's internal names are
// refused outside it, in its package and in others; a test-only allowed
// file needs its build constraint; a Checked wrapper of an allowed place
// (an openat2 fallback taking its caller's how) is judged at its callers
// as unix.Openat2.
func TestAllowedFilesOfASharedPackage(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"launcher/actions.go": `package launcher

import "golang.org/x/sys/unix"

type T struct{}

func (T) raise() {}

func bracket(fn func() error) error { return fn() }

func (t T) Mount() error {
	t.raise()
	return bracket(func() error { return unix.Mount("none", "/", "", unix.MS_REC|unix.MS_SLAVE, "") })
}
`,
		"launcher/other.go": `package launcher

import "golang.org/x/sys/unix"

func other(t T) error {
	t.Mount()
	t.raise() // want "launcher.T.raise is internal to the closed set: call an action of example.com/m/privop"
	return bracket(func() error { // want "launcher.bracket is internal to the closed set"
		return unix.Mount("none", "/", "", unix.MS_REC|unix.MS_SLAVE, "") // want "unix.Mount changes state"
	})
}
`,
		"launcher/hooks.go": `//go:build snapnstest

package launcher

import "os"

func init() { os.WriteFile("/tmp/x", nil, 0o644) }
`,
		"privop/privop.go": `package privop

func encode() {}

func Action() { encode() }
`,
		"caller/caller.go": `package caller

import (
	"example.com/m/privop"
	"example.com/m/resolve"
	"golang.org/x/sys/unix"
)

func f() { privop.Action() }

func g(how *unix.OpenHow) {
	resolve.Openat2(3, "x", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH}, 4)
	resolve.Openat2(3, "x", how, 4)                                                              // want "resolve.Openat2 is called with an OpenHow that is not written at the call"
	resolve.Openat2(3, "x", &unix.OpenHow{Flags: unix.O_WRONLY, Resolve: unix.RESOLVE_BENEATH}, 4) // want "resolve.Openat2 is called with O_WRONLY"
	open := resolve.Openat2                                                                        // want "resolve.Openat2 is used as a value"
	open(3, "x", how, 4)
}
`,
		"resolve/resolve.go": `package resolve

import "golang.org/x/sys/unix"

// Openat2 opens with its caller's how, as a fallback would.
func Openat2(dirfd int, path string, how *unix.OpenHow, procfd int) (int, error) {
	return unix.Openat2(dirfd, path, how)
}
`,
		"tagged/hooks.go": `package tagged // want "hooks.go is allowed only with the build constraint .snapnstest. [(]test builds[)], not ..$" "other.go: its build tag .othertag. is not one make vet runs closedset with"

import "os"

func init() { os.WriteFile("/tmp/x", nil, 0o644) } // want "os.WriteFile changes state"
`,
		"tagged/other.go": `//go:build othertag

package tagged

import "os"

func init() { os.Remove("/") }
`,
		"tagged/linkname.go": `package tagged

import _ "unsafe"

//go:linkname mount syscall.mount // want "//go:linkname reaches functions around every check"
func mount()
`,
	})
	// The package-level reports of package tagged land on the package
	// clause of its first file.
	analysistest.Run(t, dir, closedset.New(testConfig), "example.com/m/launcher", "example.com/m/privop", "example.com/m/caller", "example.com/m/tagged", "example.com/m/resolve")
}

// TestStaleConfigurationIsReported: a moved file or a renamed internal
// name is reported, so that the table cannot outlive a move.
func TestStaleConfigurationIsReported(t *testing.T) {
	c := closedset.Config{
		Home:     "example.com/m/privop",
		Allowed:  []closedset.Place{{Pkg: "example.com/m/launcher", File: "actions.go"}, {Pkg: "example.com/m/launcher", File: "gone.go"}},
		Internal: []closedset.Internal{{Pkg: "example.com/m/launcher", Name: "T.raise"}, {Pkg: "example.com/m/launcher", Name: "gone"}},
	}
	dir := writeModule(t, map[string]string{
		"launcher/actions.go": `package launcher // want "closedset configuration: example.com/m/launcher has no file gone.go" "closedset configuration: example.com/m/launcher declares no gone"

type T struct{}

func (T) raise() {}

func bracket(fn func() error) error { return fn() }
`,
	})
	analysistest.Run(t, dir, closedset.New(c), "example.com/m/launcher")
}

// TestProjectConfiguration: every place and internal name of the project's
// closed set exists.
func TestProjectConfiguration(t *testing.T) {
	for _, p := range closedset.Project.Allowed {
		dir := filepath.Join("../..", strings.TrimPrefix(p.Pkg, "github.com/snapns/snapns/"))
		if p.File != "" {
			dir = filepath.Join(dir, p.File)
		}
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s: %v", p.Pkg, err)
		}
		if p.Why == "" {
			t.Errorf("%s %s: no reason", p.Pkg, p.File)
		}
	}
}

// TestProjectRefusesPlantedCallsInEveryLinkedPackage runs the project's own
// closed set (Project) over a stand-in of every package of this module
// that the privileged binaries link, as go list names them: each gets a
// file with state-changing calls (a chown, a mount, an exec), which is
// refused everywhere but in launcher/privop and launcher/nodump, the two
// places that are whole packages; and in a package with an allowed file,
// only that file may make them.
func TestProjectRefusesPlantedCallsInEveryLinkedPackage(t *testing.T) {
	const module = "github.com/snapns/snapns"
	list := exec.Command("go", append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}} {{.Name}}{{end}}"}, closedset.Project.Binaries...)...)
	list.Dir = "../.."
	list.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := list.Output()
	if err != nil {
		t.Fatalf("cannot list the privileged binaries' packages: %v", err)
	}
	whole := map[string]bool{}
	for _, p := range closedset.Project.Allowed {
		if p.File == "" {
			whole[p.Pkg] = true
		}
	}
	if len(whole) != 2 || !whole[module+"/launcher/privop"] || !whole[module+"/launcher/nodump"] {
		t.Fatalf("the packages allowed whole are %v, want launcher/privop and launcher/nodump", whole)
	}
	files := map[string]string{}
	var pkgs, linked []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		path, name, _ := strings.Cut(sc.Text(), " ")
		dir, ok := strings.CutPrefix(path, module+"/")
		if !ok {
			continue
		}
		pkgs = append(pkgs, path)
		want := "// want `os.Chown changes state: make it an action of launcher/privop`"
		mount, exec := "// want `unix.Mount changes state`", "// want `syscall.Exec changes state`"
		if whole[path] {
			want, mount, exec = "", "", ""
		} else {
			linked = append(linked, dir)
		}
		files[dir+"/planted.go"] = fmt.Sprintf(`package %s

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func planted() {
	os.Chown("/etc/passwd", 1000, 1000) %s
	unix.Mount("none", "/", "", unix.MS_REC|unix.MS_SHARED, "") %s
	syscall.Exec("/bin/sh", nil, nil) %s
}
`, name, want, mount, exec)
		// An allowed file of the package, with what the rest of the
		// project's configuration says it declares: the same calls
		// pass there.
		for _, p := range closedset.Project.Allowed {
			if p.Pkg != path || p.File == "" {
				continue
			}
			if p.Tags != "" {
				// A file of test builds, which this run leaves out.
				files[dir+"/"+p.File] = fmt.Sprintf("//go:build %s\n\npackage %s\n", p.Tags, name)
				continue
			}
			decls := ""
			for _, in := range closedset.Project.Internal {
				if in.Pkg == path {
					decls += declaration(in.Name)
				}
			}
			for _, c := range closedset.Project.Checked {
				if c.Pkg == path {
					decls += fmt.Sprintf("\nfunc %s(dirfd int, path string, how *unix.OpenHow, procfd int) (int, error) { return unix.Openat2(dirfd, path, how) }\n", c.Name)
				}
			}
			files[dir+"/"+p.File] = fmt.Sprintf(`package %s

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func allowed() {
	os.Chown("/etc/passwd", 1000, 1000)
	unix.Mount("none", "/", "", unix.MS_REC|unix.MS_SHARED, "")
	syscall.Exec("/bin/sh", nil, nil)
}
%s`, name, decls)
		}
	}
	if len(linked) < 10 {
		t.Fatalf("only %d packages of the module are linked outside the closed set: %v", len(linked), linked)
	}
	dir := writeModuleAs(t, module, files)
	analysistest.Run(t, dir, closedset.New(closedset.Project), pkgs...)
	t.Logf("a chown, a mount and an exec are refused in each of the %d other packages the privileged binaries link: %s", len(linked), strings.Join(linked, ", "))
}

// declaration declares the function or method name ("Type.Method").
func declaration(name string) string {
	if typ, method, ok := strings.Cut(name, "."); ok {
		return fmt.Sprintf("\ntype %s struct{}\n\nfunc (*%s) %s() {}\n", typ, typ, method)
	}
	return fmt.Sprintf("\nfunc %s() {}\n", name)
}
