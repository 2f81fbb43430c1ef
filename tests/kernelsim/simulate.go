// SPDX-License-Identifier: GPL-3.0-only

package kernelsim

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// childEnv carries the features to simulate to the test's own child.
const childEnv = "SNAPNS_KERNELSIM_CHILD"

// Simulate runs the calling top-level test again, in a child process of
// the test binary, on a kernel without fs; it returns false in the parent
// (which has then reported the child's result) and true in the child,
// where the rest of the test runs on its own goroutine's thread, locked and
// filtered, with the supervisor on another thread. Code the test runs on
// other goroutines sees the real kernel.
func Simulate(t *testing.T, fs ...Feature) bool {
	t.Helper()
	if want := os.Getenv(childEnv); want != "" {
		if want != Join(fs) {
			t.Fatalf("the child simulates %q, the test asks for %q", want, Join(fs))
		}
		runtime.LockOSThread() // never unlocked: the thread dies with the test
		listener, err := Install(fs, false)
		if err != nil {
			t.Fatal(err)
		}
		go (&Supervisor{Features: fs, Log: func(s string) { t.Log("kernelsim: " + s) }}).Serve(listener)
		if !Effective() {
			t.Skip("SKIPPING: the kernel simulation does not take effect here (under an emulator, the syscalls are the host's)")
		}
		return true
	}
	if strings.Contains(t.Name(), "/") {
		t.Fatal("kernelsim.Simulate works from top-level tests only")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+Join(fs))
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.ENOEXEC) {
		// make check runs the unit tests for 386 under qemu-user where
		// the kernel has no 32-bit emulation: a filter loaded there
		// would bind qemu's own host syscalls, not this architecture's.
		t.Skipf("SKIPPING: this kernel cannot execute %s binaries (the tests run under an emulator): the kernel simulation runs only natively", runtime.GOARCH)
	}
	t.Logf("on a kernel without %s:\n%s", Describe(fs), out)
	if strings.Contains(string(out), "--- SKIP: "+t.Name()) {
		t.Skipf("SKIPPING on a kernel without %s: the child skipped", Describe(fs))
	}
	if err != nil {
		t.Fatalf("the test failed on a kernel without %s: %v", Describe(fs), err)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the test did not pass on a kernel without %s", Describe(fs))
	}
	return false
}

// OnPrivateThread runs fn on a locked thread of its own in a private mount
// namespace, discarded afterwards; in a Simulate child (simulated), where
// the test's own thread is the simulated one, on that thread.
func OnPrivateThread(t *testing.T, simulated bool, fn func() error) {
	t.Helper()
	run := func() error {
		if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS); err != nil {
			return err
		}
		if err := unix.Mount("none", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return err
		}
		return fn()
	}
	if simulated {
		if err := run(); err != nil {
			t.Fatal(err)
		}
		return
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with its namespace
		errc <- run()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
