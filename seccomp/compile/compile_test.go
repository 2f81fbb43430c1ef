// SPDX-License-Identifier: GPL-3.0-only

//go:build cgo

package compile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/seccomp/bpf"
	"github.com/snapns/snapns/seccomp/encode"
)

// The kernel judges the compiled programs: a child process (this test
// binary, re-executed with helperEnv set) loads them with bpf.Load, makes
// the probe syscalls and prints their errnos. A probe is chosen so that,
// when allowed, it fails harmlessly with something other than EPERM or
// EACCES (a bad fd, a NULL path) or does something harmless (raise its own
// nice value, make a socket), so the errno says what the filter decided.
const (
	helperEnv  = "SNAPNS_COMPILE_TEST_HELPER"
	filtersEnv = "SNAPNS_COMPILE_TEST_FILTERS" // programs to load, in order, separated by ":"
	probesEnv  = "SNAPNS_COMPILE_TEST_PROBES"  // "nr,a0,...,a5;..."
)

// runtimeProfile allows what the Go runtime (with or without -race) of the
// child needs between loading a filter and exiting. No probe below uses
// any of these syscalls.
const runtimeProfile = `
read
write
close
exit
exit_group
futex
mmap
munmap
mprotect
madvise
mremap
brk
rt_sigaction
rt_sigprocmask
rt_sigreturn
sigaltstack
clone
clone3
gettid
getpid
tgkill
tkill
nanosleep
clock_nanosleep
clock_gettime
sched_yield
sched_getaffinity
getrandom
epoll_create1
epoll_ctl
epoll_pwait
epoll_wait
pipe2
eventfd2
fcntl
fstat
newfstatat
openat
prlimit64
set_robust_list
rseq
restart_syscall
`

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "probe" {
		out, err := probeHelper()
		if err != nil {
			fmt.Printf("fail: %v\n", err)
			os.Exit(1)
		}
		fmt.Println("ok " + out)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func probeHelper() (string, error) {
	var progs [][]unix.SockFilter
	for _, path := range strings.Split(os.Getenv(filtersEnv), ":") {
		if path == "" {
			// An unrestricted profile: nothing to load.
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		prog, err := bpf.Parse(data)
		if err != nil {
			return "", err
		}
		progs = append(progs, prog)
	}
	var probes [][7]uintptr
	for _, spec := range strings.Split(os.Getenv(probesEnv), ";") {
		var p [7]uintptr
		for i, f := range strings.Split(spec, ",") {
			v, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return "", err
			}
			p[i] = uintptr(v)
		}
		probes = append(probes, p)
	}
	// no_new_privs is per thread: set it on the thread that loads.
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return "", err
	}
	for _, prog := range progs {
		if err := bpf.Load(prog); err != nil {
			return "", err
		}
	}
	errnos := make([]string, len(probes))
	for i, p := range probes {
		_, _, errno := unix.Syscall6(p[0], p[1], p[2], p[3], p[4], p[5], p[6])
		errnos[i] = strconv.Itoa(int(errno))
	}
	return strings.Join(errnos, " "), nil
}

type probe struct {
	name string
	nr   uintptr
	args []uintptr
}

// verdicts of the filter as seen through the probe's errno.
const (
	allowed  = "allowed"
	denied   = "denied (EPERM)"
	explicit = "denied explicitly (EACCES)"
)

func verdict(errno syscall.Errno) string {
	switch errno {
	case unix.EPERM:
		return denied
	case unix.EACCES:
		return explicit
	}
	return allowed
}

// probeKernel loads progs in order in a child and returns the errno of each
// probe there.
func probeKernel(t *testing.T, progs [][]unix.SockFilter, probes []probe) []syscall.Errno {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, prog := range progs {
		path := filepath.Join(dir, fmt.Sprintf("%d.bin", i))
		if err := os.WriteFile(path, encode.Program(prog), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	var specs []string
	for _, p := range probes {
		fields := []string{strconv.FormatUint(uint64(p.nr), 10)}
		for _, a := range p.args {
			fields = append(fields, strconv.FormatUint(uint64(a), 10))
		}
		specs = append(specs, strings.Join(fields, ","))
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		helperEnv+"=probe",
		filtersEnv+"="+strings.Join(paths, ":"),
		probesEnv+"="+strings.Join(specs, ";"))
	if os.Getenv("GORACE") == "" {
		// Under -race, a child would otherwise sleep a second at exit.
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	out, err := cmd.CombinedOutput()
	fields := strings.Fields(string(out))
	if err != nil || len(fields) != len(probes)+1 || fields[0] != "ok" {
		t.Fatalf("probe helper: %v\n%s", err, out)
	}
	errnos := make([]syscall.Errno, len(probes))
	for i, f := range fields[1:] {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("probe helper output %q: %v", out, err)
		}
		errnos[i] = syscall.Errno(n)
	}
	return errnos
}

// mustCompile compiles src into a .bin2 file and returns what the launcher
// reads from it: the programs in load order.
func mustCompile(t *testing.T, src string) bpf.Profile {
	t.Helper()
	var buf bytes.Buffer
	if err := Compile([]byte(src), &buf); err != nil {
		t.Fatalf("Compile: %v", err)
	}
	p, err := bpf.ParseBin2(buf.Bytes())
	if err != nil {
		t.Fatalf("Compile wrote what bpf.ParseBin2 refuses: %v", err)
	}
	return p
}

// mustCompileLegacy is mustCompile for the .bin file of snapd 2.57.
func mustCompileLegacy(t *testing.T, src string) bpf.Profile {
	t.Helper()
	var buf bytes.Buffer
	if err := CompileLegacy([]byte(src), &buf); err != nil {
		t.Fatalf("CompileLegacy: %v", err)
	}
	p, err := bpf.ParseBin(buf.Bytes())
	if err != nil {
		t.Fatalf("CompileLegacy wrote what bpf.ParseBin refuses: %v", err)
	}
	return p
}

// formats are the two files a profile compiles to, each read as the
// launcher reads it.
var formats = []struct {
	name    string
	compile func(*testing.T, string) bpf.Profile
}{
	{"bin2", mustCompile},
	{"legacy", mustCompileLegacy},
}

// Probes: each one is harmless whether it is allowed or not.
func probeUname() probe { return probe{"uname(NULL)", unix.SYS_UNAME, []uintptr{0}} }

func probeSetpriority(nice uintptr) probe {
	return probe{fmt.Sprintf("setpriority(PRIO_PROCESS, 0, %d)", nice), unix.SYS_SETPRIORITY, []uintptr{unix.PRIO_PROCESS, 0, nice}}
}

func probeIoctl(name string, req uintptr) probe {
	return probe{"ioctl(-1, " + name + ")", unix.SYS_IOCTL, []uintptr{^uintptr(0), req}}
}

func probeFchown(uid, gid uintptr) probe {
	return probe{fmt.Sprintf("fchown(-1, %#x, %#x)", uid, gid), unix.SYS_FCHOWN, []uintptr{^uintptr(0), uid, gid}}
}

func probeFchmodat(mode uintptr) probe {
	return probe{fmt.Sprintf("fchmodat(AT_FDCWD, NULL, %#o)", mode), unix.SYS_FCHMODAT, []uintptr{uintptr(atFdcwd), 0, mode}}
}

func probeMknodat(mode uintptr) probe {
	return probe{fmt.Sprintf("mknodat(AT_FDCWD, NULL, %#o)", mode), unix.SYS_MKNODAT, []uintptr{uintptr(atFdcwd), 0, mode, 0}}
}

func probeSocket(name string, domain, typ uintptr) probe {
	return probe{"socket(" + name + ")", unix.SYS_SOCKET, []uintptr{domain, typ, 0}}
}

func probeSetns(name string, nstype uintptr) probe {
	return probe{"setns(-1, " + name + ")", unix.SYS_SETNS, []uintptr{^uintptr(0), nstype}}
}

var atFdcwd = int64(unix.AT_FDCWD)

const upper32 = ^uintptr(0) &^ 0xffffffff

// TestCompiledProgramDecidesInTheKernel checks snapd's semantics of the
// profile format (the cases of snapd's own compiler tests) against the
// kernel's verdicts on the compiled programs, of both file formats.
func TestCompiledProgramDecidesInTheKernel(t *testing.T) {
	type check struct {
		probe probe
		want  string
	}
	for _, tc := range []struct {
		name   string
		src    string
		checks []check
	}{
		{"a syscall the profile does not list is denied with EPERM", "", []check{
			{probeUname(), denied},
		}},
		{"a listed syscall is allowed", "uname", []check{
			{probeUname(), allowed},
			{probeSetpriority(1), denied},
		}},
		{"a syscall libseccomp does not know is skipped", "not_a_syscall_anywhere\nuname", []check{
			{probeUname(), allowed},
		}},
		{"comparisons", "setpriority PRIO_PROCESS 0 >=5\nsetpriority PRIO_PROCESS 0 <2", []check{
			// Nice values only go up (an unprivileged child cannot lower them).
			{probeSetpriority(1), allowed},
			{probeSetpriority(2), denied},
			{probeSetpriority(4), denied},
			{probeSetpriority(5), allowed},
			{probeSetpriority(19), allowed},
		}},
		{"equal and not equal", "setns - CLONE_NEWNET\nioctl - !TIOCSTI", []check{
			{probeSetns("CLONE_NEWNET", unix.CLONE_NEWNET), allowed},
			{probeSetns("CLONE_NEWUSER", unix.CLONE_NEWUSER), denied},
			{probeIoctl("TIOCSTI", unix.TIOCSTI), denied},
			{probeIoctl("TIOCGWINSZ", unix.TIOCGWINSZ), allowed},
		}},
		{"socket domain and type", "socket AF_UNIX SOCK_STREAM\nsocket AF_NETLINK - NETLINK_ROUTE", []check{
			{probeSocket("AF_UNIX, SOCK_STREAM", unix.AF_UNIX, unix.SOCK_STREAM), allowed},
			{probeSocket("AF_UNIX, SOCK_DGRAM", unix.AF_UNIX, unix.SOCK_DGRAM), denied},
			{probeSocket("AF_INET, SOCK_STREAM", unix.AF_INET, unix.SOCK_STREAM), denied},
			{probe{"socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)", unix.SYS_SOCKET, []uintptr{unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE}}, allowed},
			{probe{"socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT)", unix.SYS_SOCKET, []uintptr{unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_AUDIT}}, denied},
		}},
		{"masked: the bits of the file type", "mknodat - - |S_IFIFO -", []check{
			{probeMknodat(unix.S_IFIFO | 0o644), allowed},
			{probeMknodat(unix.S_IFREG | 0o644), denied},
			{probeMknodat(unix.S_IFCHR | 0o644), denied},
		}},
		{"explicit denials win over allow rules", "ioctl\n~ioctl - TIOCSTI\n~ioctl - 4294967295|TIOCLINUX", []check{
			{probeIoctl("TIOCSTI", unix.TIOCSTI), explicit},
			{probeIoctl("TIOCLINUX", unix.TIOCLINUX), explicit},
			// CVE-2019-7303: the kernel looks at the lower 32 bits of the
			// request only; the masked rule does too, the plain one not.
			{probeIoctl("TIOCLINUX with upper bits set", upper32|unix.TIOCLINUX), explicit},
			{probeIoctl("TIOCSTI with upper bits set", upper32|unix.TIOCSTI), allowed},
			{probeIoctl("TIOCGWINSZ", unix.TIOCGWINSZ), allowed},
		}},
		{"setuid chmod is denied explicitly", "fchmodat\n~fchmodat - - |S_ISUID\n~fchmodat - - |S_ISGID", []check{
			{probeFchmodat(0o755), allowed},
			{probeFchmodat(0o4755), explicit},
			{probeFchmodat(0o2755), explicit},
			{probeFchmodat(0o6755), explicit},
		}},
		{"an allowed range with an explicitly denied part", "setpriority PRIO_PROCESS 0 >=5\n~setpriority PRIO_PROCESS 0 >=10", []check{
			{probeSetpriority(2), denied},
			{probeSetpriority(5), allowed},
			{probeSetpriority(10), explicit},
		}},
		// snap-confine loads the allow filter last, so the kernel runs it
		// first and keeps its EPERM on a tie with the deny filter's EACCES.
		{"an explicit denial of a syscall nothing allows is EPERM", "~uname", []check{
			{probeUname(), denied},
		}},
		{"ids: u:root, g:root and -1, whatever the upper half", "fchown - u:root g:root\nfchown - u:root -1\nfchown - -1 g:root", []check{
			{probeFchown(0, 0), allowed},
			{probeFchown(1000, 0), denied},
			{probeFchown(0, 1000), denied},
			{probeFchown(0, 0xffffffff), allowed},
			{probeFchown(0, ^uintptr(0)), allowed},
			{probeFchown(^uintptr(0), 0), allowed},
			{probeFchown(upper32, 0), allowed},
			{probeFchown(^uintptr(0), ^uintptr(0)), denied},
		}},
		{"complain allows and logs what is not listed; denials still apply", "@complain\nsetns\n~uname", []check{
			{probeUname(), explicit},
			{probeSetpriority(3), allowed},
			{probeSetns("CLONE_NEWNET", unix.CLONE_NEWNET), allowed},
		}},
		{"unrestricted allows everything, denials included", "@unrestricted\n~uname\n~setns", []check{
			{probeUname(), allowed},
			{probeSetns("CLONE_NEWNET", unix.CLONE_NEWNET), allowed},
			{probeFchown(1000, 1000), allowed},
		}},
	} {
		for _, format := range formats {
			t.Run(format.name+"/"+tc.name, func(t *testing.T) {
				p := format.compile(t, runtimeProfile+tc.src)
				var probes []probe
				for _, c := range tc.checks {
					probes = append(probes, c.probe)
				}
				errnos := probeKernel(t, p.Programs, probes)
				for i, c := range tc.checks {
					if got := verdict(errnos[i]); got != c.want {
						t.Errorf("%s: %s (errno %d), want %s", c.probe.name, got, errnos[i], c.want)
					}
					// The kernel also keeps runBPF, which the decision
					// tests rely on, honest.
					if runtime.GOARCH == "amd64" {
						if model := modelVerdict(t, p, c.probe); model != verdict(errnos[i]) {
							t.Errorf("%s: runBPF says %s, the kernel %s", c.probe.name, model, verdict(errnos[i]))
						}
					}
				}
			})
		}
	}
}

// modelVerdict is the verdict runFilters gives for pr on amd64.
func modelVerdict(t *testing.T, p bpf.Profile, pr probe) string {
	t.Helper()
	var args []uint64
	for _, a := range pr.args {
		args = append(args, uint64(a))
	}
	ret, err := runFilters(p.Programs, amd64Call(int(pr.nr), args...))
	if err != nil {
		t.Fatalf("%s: %v", pr.name, err)
	}
	switch ret {
	case decAllow, decLog:
		return allowed
	case decEPERM:
		return denied
	case decEACCES:
		return explicit
	}
	return fmt.Sprintf("return %#x", ret)
}

// TestMergedProgramDecidesAsTwoFilters checks merge.go's claim: one merged
// program gives every probe the same errno as snap-confine's two filters,
// the deny program loaded first and the allow program second.
func TestMergedProgramDecidesAsTwoFilters(t *testing.T) {
	probes := []probe{
		probeUname(),
		probeSetpriority(2), probeSetpriority(5), probeSetpriority(10),
		probeIoctl("TIOCSTI", unix.TIOCSTI), probeIoctl("TIOCLINUX", unix.TIOCLINUX),
		probeIoctl("TIOCSTI with upper bits set", upper32|unix.TIOCSTI), probeIoctl("TIOCGWINSZ", unix.TIOCGWINSZ),
		probeFchmodat(0o755), probeFchmodat(0o4755),
		probeFchown(0, 0), probeFchown(1000, 0),
		probeSetns("CLONE_NEWNET", unix.CLONE_NEWNET),
	}
	for _, tc := range []struct{ name, src string }{
		{"denials inside allowed syscalls", "ioctl\n~ioctl - TIOCSTI\n~ioctl - 4294967295|TIOCSTI\nfchmodat\n~fchmodat - - |S_ISUID\nfchown - u:root g:root"},
		{"denials outside allowed syscalls", "~uname\n~setns\nsetpriority PRIO_PROCESS 0 >=5\n~setpriority PRIO_PROCESS 0 >=10"},
		{"complain", "@complain\n~ioctl - TIOCSTI\n~uname\nfchmodat\n~fchmodat - - |S_ISUID\nsetpriority PRIO_PROCESS 0 >=5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseProfile([]byte(runtimeProfile + tc.src))
			if err != nil {
				t.Fatal(err)
			}
			f, err := compileFilters(p)
			if err != nil {
				t.Fatal(err)
			}
			if f.denials == 0 {
				t.Fatal("no denials: the case tests nothing")
			}
			allow, deny := f.allow, f.deny
			merged, err := merge(allow, deny)
			if err != nil {
				t.Fatal(err)
			}
			two := probeKernel(t, [][]unix.SockFilter{deny, allow}, probes)
			one := probeKernel(t, [][]unix.SockFilter{merged}, probes)
			for i := range probes {
				if one[i] != two[i] {
					t.Errorf("%s: merged program gives errno %d (%s), two filters %d (%s)", probes[i].name, one[i], verdict(one[i]), two[i], verdict(two[i]))
				}
			}
		})
	}
}

func TestCompile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		src     string
		wantErr string // empty: compiles
	}{
		{name: "empty profile", src: ""},
		{name: "comments only", src: "# nothing\n\n"},
		{name: "runtime profile", src: runtimeProfile},
		{name: "every argument form", src: "mbind 1 !2 <3 <=4 >5 >=6\nioctl - |1\nioctl - 4294967295|TIOCSTI\nfchown - u:root g:root\nchown - -1 -1"},
		{name: "syscalls of other architectures", src: "chown32\nsocketcall\narch_prctl\nnot_a_syscall"},
		{name: "denials only", src: "~uname\n~ioctl - TIOCSTI"},
		{name: "unrestricted", src: "@unrestricted\nuname"},
		{name: "complain", src: "@complain\nuname\n~setns"},
		{name: "unknown constant", src: "read\n\nsocket AF_UNIX\nsocket AF_NOPE\n", wantErr: `cannot parse seccomp profile: line 4: argument 0 "AF_NOPE": "AF_NOPE" is neither a decimal number nor a known constant`},
		{name: "too many arguments", src: "mbind 1 2 3 4 5 6 7", wantErr: "cannot parse seccomp profile: line 1: 7 arguments for mbind"},
		{name: "unknown directive", src: "@devmode", wantErr: `cannot parse seccomp profile: line 1: unknown directive "@devmode"`},
		{name: "unknown user", src: "fchown - u:no-such-user-here", wantErr: `cannot parse seccomp profile: line 1: argument 1 "u:no-such-user-here": cannot find user "no-such-user-here"`},
	} {
		for _, f := range []struct {
			name    string
			compile func([]byte, io.Writer) error
			parse   func([]byte) (bpf.Profile, error)
		}{
			{"Compile", Compile, bpf.ParseBin2},
			{"CompileLegacy", CompileLegacy, bpf.ParseBin},
		} {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				var buf bytes.Buffer
				err := f.compile([]byte(tc.src), &buf)
				if tc.wantErr != "" {
					if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
						t.Fatalf("%s: got error %v, want one line starting %q", f.name, err, tc.wantErr)
					}
					if buf.Len() != 0 {
						t.Fatalf("%s wrote %d bytes and failed", f.name, buf.Len())
					}
					return
				}
				if err != nil {
					t.Fatalf("%s: %v", f.name, err)
				}
				if _, err := f.parse(buf.Bytes()); err != nil {
					t.Fatalf("%s wrote what the launcher refuses: %v", f.name, err)
				}
			})
		}
	}
}

func TestUnrestrictedIsABareHeaderWithTheFlag(t *testing.T) {
	src := "@unrestricted\nuname\n~setns\n"
	var buf bytes.Buffer
	if err := Compile([]byte(src), &buf); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, bpf.Bin2HeaderSize)
	copy(want, "SC\x01\x01")
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("Compile: got % x, want % x", buf.Bytes(), want)
	}
}

func TestLegacyUnrestrictedIsSnapdsText(t *testing.T) {
	var buf bytes.Buffer
	if err := CompileLegacy([]byte("@unrestricted\nuname\n~setns\n"), &buf); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "@unrestricted\n" {
		t.Fatalf("CompileLegacy: got %q", buf.String())
	}
}

// TestProfileWithoutDenialsHasADenyProgram: snap-confine refuses a .bin2
// file with an empty deny program unless it is unrestricted, so the deny
// program is there, and allows everything of the profile's architectures.
func TestProfileWithoutDenialsHasADenyProgram(t *testing.T) {
	src := runtimeProfile + "uname\nsetns - CLONE_NEWNET\n"
	p, err := parseProfile([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	f, err := compileFilters(p)
	if err != nil {
		t.Fatal(err)
	}
	got := mustCompile(t, src)
	if !reflect.DeepEqual(got.Programs, [][]unix.SockFilter{f.deny, f.allow}) {
		t.Fatal("Compile differs from the deny and allow programs")
	}
	if len(f.deny) == 0 || f.denials != 0 {
		t.Fatalf("deny program of %d instructions, %d denials", len(f.deny), f.denials)
	}
	for _, insn := range f.deny {
		if isReturn(insn) && insn.K != retAllow && insn.K != retKill {
			t.Errorf("the deny program of a profile without denials returns %#x", insn.K)
		}
	}
	// The legacy program is the allow program alone, as snapd 2.57 wrote.
	if legacy := mustCompileLegacy(t, src); !reflect.DeepEqual(legacy.Programs, [][]unix.SockFilter{f.allow}) {
		t.Fatal("CompileLegacy differs from the allow program")
	}
}

func TestCompileIsDeterministic(t *testing.T) {
	src := runtimeProfile + "@complain\nioctl\n~ioctl - TIOCSTI\nfchown - u:root g:root\n"
	for _, format := range formats {
		first := format.compile(t, src)
		for range 3 {
			if again := format.compile(t, src); !reflect.DeepEqual(again, first) {
				t.Fatalf("%s: two compilations of one profile differ", format.name)
			}
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestCompileReportsWriteErrors(t *testing.T) {
	for _, src := range []string{"uname", "@unrestricted"} {
		if err := Compile([]byte(src), failingWriter{}); err == nil || err.Error() != "cannot write seccomp program: disk full" {
			t.Errorf("Compile %q: got %v", src, err)
		}
		if err := CompileLegacy([]byte(src), failingWriter{}); err == nil || err.Error() != "cannot write seccomp program: disk full" {
			t.Errorf("CompileLegacy %q: got %v", src, err)
		}
	}
}
