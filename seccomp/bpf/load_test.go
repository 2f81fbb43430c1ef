// SPDX-License-Identifier: GPL-3.0-only

package bpf_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/seccomp/bpf"
)

// A filter, once loaded, binds the whole process for good, so every test
// that loads one does it in a child: the test binary re-executes itself
// with helperEnv naming a helper below, and the helper prints one line
// ("ok ..." or "fail ...") that the parent checks.
const helperEnv = "SNAPNS_BPF_TEST_HELPER"

var helpers = map[string]func() error{
	"deny-uname":          helperDenyUname,
	"compiled-deny-uname": helperCompiledDenyUname,
	"check-uname-denied":  helperCheckUnameDenied,
	"no-privilege":        helperNoPrivilege,
}

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		helper, ok := helpers[name]
		if !ok {
			fmt.Printf("fail: no helper %q\n", name)
			os.Exit(1)
		}
		if err := helper(); err != nil {
			fmt.Printf("fail: %v\n", err)
			os.Exit(1)
		}
		fmt.Println("ok")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runHelper runs the named helper in a child and fails the test unless it
// reports success.
func runHelper(t *testing.T, name string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = helperEnviron(name)
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.ENOEXEC) {
		// make check runs the unit tests for 386 under qemu-user where
		// the kernel has no 32-bit emulation: a filter loaded there would
		// bind qemu's own host syscalls, not this architecture's.
		t.Skipf("SKIPPING: this kernel cannot execute %s binaries (the tests run under an emulator): the seccomp loader's helpers run only natively", runtime.GOARCH)
	}
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("helper %s: %v\n%s", name, err, out)
	}
}

// helperEnviron is this process's environment selecting helper name. It
// replaces any helperEnv already there: with duplicates, Go's Getenv
// returns the first.
func helperEnviron(name string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, helperEnv+"=") {
			env = append(env, kv)
		}
	}
	if os.Getenv("GORACE") == "" {
		// Under -race, a child would otherwise sleep a second at exit.
		env = append(env, "GORACE=atexit_sleep_ms=0")
	}
	return append(env, helperEnv+"="+name)
}

// denyUname is the smallest useful filter: uname(2) fails with EPERM,
// everything else is allowed (so the Go runtime keeps working). It skips
// the architecture check that every real profile starts with, which is
// fine for a test of the loader on one architecture.
func denyUname() []unix.SockFilter {
	return []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // A = seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: unix.SYS_UNAME},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
}

func allowAll() []unix.SockFilter {
	return []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
}

func setNoNewPrivs() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("cannot set no_new_privs: %w", err)
	}
	return nil
}

func uname() error {
	var u unix.Utsname
	return unix.Uname(&u)
}

// onOtherThread runs f on a thread other than the caller's (both
// goroutines are locked, so they cannot share one).
func onOtherThread(f func() error) error {
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		done <- f()
	}()
	return <-done
}

func helperDenyUname() error {
	// no_new_privs is per thread: set it and load from the same thread.
	runtime.LockOSThread()
	if err := setNoNewPrivs(); err != nil {
		return err
	}
	if err := uname(); err != nil {
		return fmt.Errorf("uname fails before the filter: %w", err)
	}
	if err := bpf.Load(denyUname()); err != nil {
		return err
	}
	if err := uname(); !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("uname after the filter: got %v, want EPERM", err)
	}
	if _, err := unix.Getcwd(make([]byte, 4096)); err != nil {
		return fmt.Errorf("getcwd after the filter: %w", err)
	}
	// This thread alone: the runtime's other threads, and so any other
	// goroutine, keep running unfiltered until the exec.
	if err := onOtherThread(func() error {
		if err := uname(); err != nil {
			return fmt.Errorf("uname on another thread: got %v, want no filter there", err)
		}
		return nil
	}); err != nil {
		return err
	}
	// The filter survives exec from the loading thread: the same binary,
	// exec'd with no filter of its own, still cannot call uname.
	env := helperEnviron("check-uname-denied")
	return fmt.Errorf("cannot exec: %w", syscall.Exec(os.Args[0], []string{os.Args[0], "-test.run=^$"}, env))
}

func helperCheckUnameDenied() error {
	if err := uname(); !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("uname after exec: got %v, want EPERM", err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	for _, want := range []string{"NoNewPrivs:\t1\n", "Seccomp:\t2\n"} {
		if !strings.Contains(string(status), want) {
			return fmt.Errorf("/proc/self/status lacks %q after exec", want)
		}
	}
	return nil
}

// testdata/deny-uname.amd64.bin is what cmd/snap-seccomp (libseccomp's
// seccomp_export_bpf underneath) wrote for testdata/deny-uname.src, so this
// reads the real on-disk format rather than Encode's.
//
//go:generate go run ../../cmd/snap-seccomp compile --legacy testdata/deny-uname.src testdata/deny-uname.amd64.bin
func helperCompiledDenyUname() error {
	data, err := os.ReadFile("testdata/deny-uname.amd64.bin")
	if err != nil {
		return err
	}
	prog, err := bpf.Parse(data)
	if err != nil {
		return err
	}
	runtime.LockOSThread()
	if err := setNoNewPrivs(); err != nil {
		return err
	}
	if err := bpf.Load(prog); err != nil {
		return err
	}
	if err := uname(); !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("uname after the filter: got %v, want EPERM", err)
	}
	if pid := unix.Getpid(); pid != os.Getpid() || pid <= 0 {
		return fmt.Errorf("getpid after the filter: got %d", pid)
	}
	// Not in the profile either, so also denied.
	if _, err := unix.Getcwd(make([]byte, 4096)); !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("getcwd after the filter: got %v, want EPERM", err)
	}
	return nil
}

// helperNoPrivilege drops CAP_SYS_ADMIN from the loading thread (as root or
// not) and leaves no_new_privs unset: the kernel must refuse the filter.
func helperNoPrivilege() error {
	runtime.LockOSThread()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("cannot get capabilities: %w", err)
	}
	data[0].Effective &^= 1 << unix.CAP_SYS_ADMIN
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("cannot drop CAP_SYS_ADMIN: %w", err)
	}
	if err := bpf.Load(denyUname()); !errors.Is(err, unix.EACCES) {
		return fmt.Errorf("a load without no_new_privs or CAP_SYS_ADMIN: got %v, want EACCES", err)
	}
	if err := uname(); err != nil {
		return fmt.Errorf("a refused filter was applied: uname: %w", err)
	}
	return nil
}

func TestLoadedFilterBindsItsThreadAndSurvivesExec(t *testing.T) {
	runHelper(t, "deny-uname")
}

func TestLoadedCompiledFilterDeniesWhatItsProfileLacks(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("testdata/deny-uname.amd64.bin is a program for amd64")
	}
	runHelper(t, "compiled-deny-uname")
}

func TestLoadWithoutNoNewPrivsOrCapSysAdminIsRefused(t *testing.T) {
	runHelper(t, "no-privilege")
}

// These never reach the kernel, so they run in the test process itself.
func TestLoadRefusesProgramsTheKernelCannotTake(t *testing.T) {
	for _, tc := range []struct {
		name string
		prog []unix.SockFilter
		want string
	}{
		{"nil", nil, "cannot load seccomp filter: 0 instructions (want 1 to 4096)"},
		{"empty", []unix.SockFilter{}, "cannot load seccomp filter: 0 instructions (want 1 to 4096)"},
		{"too long", make([]unix.SockFilter, 4097), "cannot load seccomp filter: 4097 instructions (want 1 to 4096)"},
		// 65537 would wrap to Len 1 if the length were not checked.
		{"length that wraps uint16", make([]unix.SockFilter, 65537), "cannot load seccomp filter: 65537 instructions (want 1 to 4096)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := bpf.NewFilter(tc.prog); err == nil || err.Error() != tc.want {
				t.Fatalf("NewFilter: got %v, want %q", err, tc.want)
			}
		})
	}
}
