// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/tests/probe/report"
)

// Issue 11: after a base refresh every concurrent launch used to be told
// "should discard" by an unprivileged planner; the first rebuilt the
// namespace and the others were refused because they asked for a discard
// the launcher no longer saw a reason for. Each launch decides under the
// snap's lock from what it finds then: all of them run, in the one rebuilt
// namespace.
func TestConcurrentLaunchesAfterABaseRefreshAllSucceed(t *testing.T) {
	world(t)
	before := launch{}.mustRun(t)
	refresh(t, "core", "2")
	const n = 8
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Both installs, so that the setuid and the file-capability
			// launcher race each other for the lock.
			results[i] = launch{caps: i%2 == 1, args: []string{"read", "/base-marker"}}.run()
		}()
	}
	wg.Wait()
	rebuilt := nsID(t, "/run/snapd/ns/hello.mnt")
	if rebuilt == 0 || rebuilt == before.MountNSID {
		t.Fatalf("the namespace was not rebuilt: %d (was %d)", rebuilt, before.MountNSID)
	}
	for i, res := range results {
		if res.err != nil {
			t.Errorf("launch %d failed: %v\n%s", i, res.err, res.stderr)
			continue
		}
		if res.report.MountNSID != rebuilt {
			t.Errorf("launch %d ran in namespace %d, not the rebuilt %d", i, res.report.MountNSID, rebuilt)
		}
		if got := res.report.Read["/base-marker"]; got != "core 2\n" {
			t.Errorf("launch %d ran on base %q, want core 2", i, got)
		}
	}
}

// runAs runs l with exactly the given caller ids and returns its stderr and
// error; l.uid must be unset.
func runAs(l launch, uid, gid uint32) (string, error) {
	cmd := l.command()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{userUID}}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stderr.String(), err
}

// A caller whose uid or gid is (uid_t)-2 is refused before anything is
// created: no /run/snapd, no private /tmp, no namespace. (uid_t)-1 cannot
// be a process's id (setuid(-1) is EINVAL), so the launcher's unit test
// covers that one.
func TestInvalidCallerIDsAreRefusedBeforeAnythingIsCreated(t *testing.T) {
	const minus2 = ^uint32(1) // 4294967294
	for _, install := range []struct {
		name string
		caps bool
	}{{"setuid", false}, {"file-capabilities", true}} {
		for _, tc := range []struct {
			name     string
			uid, gid uint32
		}{
			{"uid", minus2, userUID},
			{"gid", userUID, minus2},
			{"both", minus2, minus2},
		} {
			t.Run(install.name+"/"+tc.name, func(t *testing.T) {
				world(t)
				stderr, err := runAs(launch{caps: install.caps}, tc.uid, tc.gid)
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					t.Fatalf("launch as %d:%d was not refused: %v\n%s", tc.uid, tc.gid, err, stderr)
				}
				lines := nonDebugLines(stderr)
				if len(lines) != 1 || !strings.HasPrefix(lines[0], "cannot ") || !strings.Contains(lines[0], "4294967294") {
					t.Fatalf("want one \"cannot ...\" line naming the id, got %q", lines)
				}
				nothingCreated(t)
			})
		}
	}
}

// runWithin runs l and kills it if it has not finished after d: a launcher
// blocked on a FIFO would otherwise hang the suite.
func runWithin(t *testing.T, l launch, d time.Duration) result {
	t.Helper()
	cmd := l.command()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(d, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	if !timer.Stop() {
		t.Fatalf("the launch hung for %s and was killed\nstderr:\n%s", d, stderr.String())
	}
	res := result{stderr: stderr.String(), err: err}
	if err == nil {
		var r report.Report
		if jerr := json.Unmarshal(stdout.Bytes(), &r); jerr != nil {
			res.err = jerr
		} else {
			res.report = &r
		}
	}
	return res
}

// The launcher and the planner (snap-ns explain) read the info files,
// system-params and the namespace files. A FIFO at any of them used to hang
// the planner's blocking read forever; now each is opened
// O_NONBLOCK|O_NOFOLLOW: both treat an unusable info file as none (the
// launcher then inspects the namespace) and refuse a system-params or a
// namespace file with one line.
func TestAFIFOWhereThePlannerReadsNeverHangsIt(t *testing.T) {
	fifoAt := func(t *testing.T, path string) {
		t.Helper()
		os.Remove(path)
		if err := unix.Mkfifo(path, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("snap-info-file", func(t *testing.T) {
		world(t)
		before := launch{}.mustRun(t)
		fifoAt(t, "/run/snapd/ns/snap.hello.info")
		for _, uid := range []int{0, userUID} {
			x := snapNSExplain(t, uid, "snap.hello.app")
			ignored := len(x.Ignored) == 1 && x.Ignored[0].File == "/run/snapd/ns/snap.hello.info" && strings.Contains(x.Ignored[0].Reason, "not a regular file")
			// Root reads the mount table as the launcher would; a
			// user's snap-ns cannot, and says the launcher will.
			inspected := (uid == 0 && strings.HasSuffix(x.Namespace.Reason, "(inspected)")) || (uid != 0 && x.Verdict == "inspect")
			if !ignored || !inspected {
				t.Errorf("uid %d: snap-ns explain does not say why it ignores the info file: %s %+v %+v", uid, x.Verdict, x.Namespace, x.Ignored)
			}
			res := runWithin(t, launch{uid: uid, debug: true}, 20*time.Second)
			if res.err != nil {
				t.Fatalf("uid %d: launch failed: %v\n%s", uid, res.err, res.stderr)
			}
			if !strings.Contains(res.stderr, "(inspected)") {
				t.Errorf("uid %d: the launcher did not inspect the namespace:\n%s", uid, res.stderr)
			}
			if uid == 0 && res.report.MountNSID != before.MountNSID {
				t.Errorf("the fresh namespace was not kept")
			}
		}
	})
	t.Run("per-user-info-file", func(t *testing.T) {
		world(t)
		enablePerUser(t)
		launch{uid: userUID}.mustRun(t)
		fifoAt(t, "/run/snapd/ns/snap.hello.1000.info")
		if x := snapNSExplain(t, userUID, "snap.hello.app"); x.PerUser.Action != "create" {
			t.Errorf("snap-ns explain does not expect a new layer: %+v", x.PerUser)
		}
		before := nsID(t, "/run/snapd/ns/hello.1000.mnt")
		res := runWithin(t, launch{uid: userUID, debug: true}, 20*time.Second)
		if res.err != nil {
			t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
		}
		if res.report.MountNSID == before {
			t.Errorf("the layer whose info file is a FIFO was joined")
		}
	})
	t.Run("system-params", func(t *testing.T) {
		world(t)
		launch{}.mustRun(t)
		fifoAt(t, "/var/lib/snapd/system-params")
		for _, debug := range []bool{true, false} {
			res := runWithin(t, launch{debug: debug}, 20*time.Second)
			lines := nonDebugLines(res.stderr)
			if res.err == nil || len(lines) != 1 || !strings.HasPrefix(lines[0], "cannot ") || !strings.Contains(lines[0], "/var/lib/snapd/system-params") {
				t.Errorf("debug %v: want one \"cannot ...\" line naming system-params, got %v %q", debug, res.err, lines)
			}
		}
		if out, status := snapNSRunStatus(t, userUID, "explain", "snap.hello.app"); status != 1 || !strings.Contains(out, "/var/lib/snapd/system-params") {
			t.Errorf("snap-ns explain: status %d, %q", status, out)
		}
	})
	t.Run("namespace-file", func(t *testing.T) {
		world(t)
		if err := os.MkdirAll("/run/snapd/ns", 0o755); err != nil {
			t.Fatal(err)
		}
		fifoAt(t, "/run/snapd/ns/hello.mnt")
		res := runWithin(t, launch{debug: true}, 20*time.Second)
		lines := nonDebugLines(res.stderr)
		if res.err == nil || len(lines) != 1 || lines[0] != "cannot use /run/snapd/ns/hello.mnt: not a regular file nor a preserved namespace" {
			t.Errorf("want the launcher's own refusal, got %v %q", res.err, lines)
		}
	})
}
