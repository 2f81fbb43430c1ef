// SPDX-License-Identifier: GPL-3.0-only

package kernelsim

import (
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
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
		return true
	}
	if strings.Contains(t.Name(), "/") {
		t.Fatal("kernelsim.Simulate works from top-level tests only")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+Join(fs))
	out, err := cmd.CombinedOutput()
	t.Logf("on a kernel without %s:\n%s", Describe(fs), out)
	if err != nil {
		t.Fatalf("the test failed on a kernel without %s: %v", Describe(fs), err)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the test did not pass on a kernel without %s", Describe(fs))
	}
	return false
}
