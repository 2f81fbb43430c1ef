// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/snapns/snapns/policy"
)

// capWord is a set of capabilities as the hook prints it (64 bits, hex).
func capWord(caps []policy.Cap) uint64 {
	var w uint64
	for _, c := range caps {
		w |= 1 << uint(c)
	}
	return w
}

func capNames(w uint64) string {
	var n []string
	for c := policy.Cap(0); c < 64; c++ {
		if w&(1<<uint(c)) != 0 {
			n = append(n, "cap_"+c.String())
		}
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ",")
}

// TestEveryPrivilegedStepRaisesExactlyItsCapabilities runs lifeOfASnap
// with the launcher built with the test-only capability hook, in both
// install modes, and checks
// that while each privileged operation runs the kernel reports exactly the
// capabilities policy grants it effective, and nothing more.
func TestEveryPrivilegedStepRaisesExactlyItsCapabilities(t *testing.T) {
	for _, mode := range []struct{ name, dir string }{{"setuid", hookDir}, {"file-capabilities", hookCapsDir}} {
		t.Run(mode.name, func(t *testing.T) {
			seen := map[policy.Op]uint64{}
			hooks, broke := lifeOfASnap(t, mode.dir)
			if broke != "" {
				t.Fatal(broke)
			}
			for _, h := range hooks {
				// Raised on the operation's thread alone.
				if h.others != 0 {
					t.Errorf("%s: other threads hold %s", h.op, capNames(h.others))
				}
				want := capWord(raised(h.op, mode.name == "setuid")) & h.prm
				if h.eff != want {
					t.Errorf("%s: effective %s, policy grants %s", h.op, capNames(h.eff), capNames(want))
				}
				seen[h.op] = h.eff
			}
			var table []string
			for op, eff := range seen {
				table = append(table, fmt.Sprintf("  %-45s %s", op, capNames(eff)))
			}
			sort.Strings(table)
			t.Logf("%d privileged operations observed, effective capabilities while each ran:\n%s", len(seen), strings.Join(table, "\n"))
			// Every action but those of the parallel-instances feature
			// (TestParallelInstanceStepsRaiseExactlyTheirCapabilities),
			// those of older kernels (TestOldKernelStepsRaiseExactlyTheirCapabilities)
			// and the NVIDIA driver's (TestNvidiaActionsNeedEachOfTheirCapabilities).
			for op := range policy.Op(len(policy.Ops)) {
				if _, ok := seen[op]; !ok && !slices.Contains(parallelOps, op) && !slices.Contains(deviceOps, op) && !slices.Contains(nvidiaOps, op) && runsHere(op) && !op.OnlyBefore() {
					t.Errorf("%s was never observed", op)
				}
			}
		})
	}
}

// hookLine is what the test-only capability hook reports from inside one
// privileged operation.
type hookLine struct {
	op               policy.Op
	eff, prm, others uint64
}

// lifeOfASnap runs launches down every path of a snap's life with the
// hooked launcher in dir (create with snap-update-ns and a preserved
// per-user layer and the seccomp load, join, another user's layer,
// inspection and a repaired lock file, discard after a refresh, classic),
// each with env added. It returns what the hook reported, and the first
// launch that failed ("" if none).
func lifeOfASnap(t *testing.T, dir string, env ...string) (hooks []hookLine, broke string) {
	world(t)
	installUpdateNS(t)
	enablePerUser(t)
	// A profile with filters to load, so that the load is seen.
	if err := installProfile("snap.hello.app", "deny-uname.bin2"); err != nil {
		t.Fatal(err)
	}
	// Another user's directory where root's /tmp/snap-private-tmp goes:
	// moved aside.
	asUID(t, userUID+1, func() error { return os.Mkdir("/tmp/snap-private-tmp", 0o700) })
	run := func(what string, l launch) {
		if broke != "" {
			return
		}
		l.program, l.env = dir+"/snap-confine", append(l.env, env...)
		res := l.run()
		if res.err != nil {
			broke = what + ": " + strings.Join(nonHookLines(res.stderr), " ")
		}
		// snap-update-ns runs fully as root, or fully as the caller.
		if len(l.args) > 0 && broke == "" {
			var r, e, s int
			log := res.report.Read["/mnt/snap-update-ns.log"]
			if i := strings.Index(log, "uids="); i < 0 {
				broke = what + ": snap-update-ns left no log"
			} else if fmt.Sscanf(log[i:], "uids=%d/%d/%d", &r, &e, &s); r != e || e != s {
				broke = fmt.Sprintf("%s: snap-update-ns ran with uids %d/%d/%d", what, r, e, s)
			}
		}
		for _, line := range strings.Split(res.stderr, "\n") {
			var h hookLine
			if _, err := fmt.Sscanf(line, "CAPHOOK op=%d eff=%x prm=%x others=%x", &h.op, &h.eff, &h.prm, &h.others); err == nil {
				hooks = append(hooks, h)
			}
		}
	}
	run("create", launch{uid: 1000})
	run("join", launch{uid: 1000})
	run("another user's layer", launch{uid: 1001, dir: "/", env: []string{"A=b"}})
	refresh(t, "core", "2")
	run("discard", launch{uid: 1000, args: []string{"read", "/mnt/snap-update-ns.log"}})
	// An info file without the launcher's facts (snapd's snap-confine
	// wrote it): the namespace is inspected. A lock file of root's with
	// the caller's group and a wrong mode (what a setuid launcher of an
	// older version, which made files with its caller's group, left when
	// it was killed before fixing it): it is repaired.
	if broke != "" {
		return hooks, broke
	}
	if err := os.WriteFile("/run/snapd/ns/snap.hello.info", []byte("base-snap-name=core\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown("/run/snapd/lock/hello.lock", 0, userUID); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod("/run/snapd/lock/hello.lock", 0o640); err != nil {
		t.Fatal(err)
	}
	run("inspect and repair", launch{uid: 1000})
	run("classic", launch{uid: 1000, flags: []string{"--classic"}})
	return hooks, broke
}

// TestEveryActionNeedsEachOfItsCapabilities withholds, in both install
// modes, each capability of each action in turn (the test-only hook lowers
// it right after the action raised it) and runs lifeOfASnap: some launch
// must fail. So policy grants no action a capability it does not use.
func TestEveryActionNeedsEachOfItsCapabilities(t *testing.T) {
	for _, mode := range []struct{ name, dir string }{{"setuid", hookDir}, {"file-capabilities", hookCapsDir}} {
		t.Run(mode.name, func(t *testing.T) {
			var table []string
			for op := range policy.Op(len(policy.Ops)) {
				if slices.Contains(parallelOps, op) {
					continue // TestParallelInstanceActionsNeedEachOfTheirCapabilities
				}
				if slices.Contains(deviceOps, op) {
					continue // TestDeviceCgroupActionsNeedEachOfTheirCapabilities
				}
				if !runsHere(op) || op.OnlyBefore() {
					// Where this kernel is older (make
					// test-kernels), lifeOfASnap does not run
					// every one of them either.
					continue // TestOldKernelActionsNeedEachOfTheirCapabilities
				}
				if slices.Contains(nvidiaOps, op) {
					continue // TestNvidiaActionsNeedEachOfTheirCapabilities
				}
				for _, c := range raised(op, mode.name == "setuid") {
					t.Run(fmt.Sprintf("op%d-%s", op, c), func(t *testing.T) {
						_, broke := lifeOfASnap(t, mode.dir, fmt.Sprintf("SNAPNS_TEST_WITHHOLD=%d:%d", op, c))
						if broke == "" {
							t.Errorf("%s works without cap_%s", op, c)
						}
						table = append(table, fmt.Sprintf("  %-42s without cap_%-16s %s", op, c, broke))
					})
				}
			}
			t.Logf("what breaks without each capability of each action:\n%s", strings.Join(table, "\n"))
		})
	}
}

// TestEveryCapabilityIsNeeded installs the test build of the launcher with
// file capabilities minus one, with the packaging check off, and runs the
// launches of a snap's life (create with snap-update-ns and a per-user
// layer and a cookie, join, discard after a refresh): without any one
// capability of policy.Required() something breaks.
func TestEveryCapabilityIsNeeded(t *testing.T) {
	dir := "/usr/lib/snapd-hook-minus"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	data, err := os.ReadFile(hookCapsDir + "/snap-confine")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/snap-confine", data, 0o755); err != nil {
		t.Fatal(err)
	}
	var table []string
	for _, missing := range policy.Required() {
		t.Run(missing.String(), func(t *testing.T) {
			world(t)
			installUpdateNS(t)
			enablePerUser(t)
			if err := os.MkdirAll("/var/lib/snapd/cookie", 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile("/var/lib/snapd/cookie/snap.hello", []byte("cookie"), 0o600); err != nil {
				t.Fatal(err)
			}
			var rest []string
			for _, c := range policy.Required() {
				if c != missing {
					rest = append(rest, "cap_"+c.String())
				}
			}
			if out, err := exec.Command("setcap", strings.Join(rest, ",")+"=p", dir+"/snap-confine").CombinedOutput(); err != nil {
				t.Fatalf("setcap: %v %s", err, out)
			}
			broke := ""
			step := func(what string, l launch) {
				if broke != "" {
					return
				}
				l.program, l.uid = dir+"/snap-confine", userUID
				l.env = append(l.env, "SNAPNS_TEST_SKIP_PACKAGING_CHECK=1")
				res := l.run()
				switch {
				case res.err != nil:
					broke = what + ": " + strings.Join(nonHookLines(res.stderr), " ")
				case !slices.Contains(res.report.Env, "SNAP_COOKIE=cookie"):
					broke = what + ": the app got no snap cookie"
				}
			}
			step("create", launch{})
			step("join", launch{})
			refresh(t, "core", "2")
			step("discard", launch{})
			if broke == "" {
				t.Fatalf("everything worked without cap_%s", missing)
			}
			table = append(table, fmt.Sprintf("  without cap_%-16s %s", missing, broke))
		})
	}
	t.Logf("what breaks without each capability:\n%s", strings.Join(table, "\n"))
}

func nonHookLines(s string) []string {
	var out []string
	for _, l := range nonDebugLines(s) {
		if !strings.HasPrefix(l, "CAPHOOK ") {
			out = append(out, l)
		}
	}
	return out
}
