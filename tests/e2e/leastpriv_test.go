package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
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

// TestEveryPrivilegedStepRaisesExactlyItsCapabilities runs launches down
// every path (create with snap-update-ns and a preserved per-user layer,
// join, inspection, a repaired lock file, discard after a refresh, the
// seccomp load) with the launcher built
// with the test-only capability hook, in both install modes, and checks
// that while each privileged operation runs the kernel reports exactly the
// capabilities policy grants it effective, and nothing more.
func TestEveryPrivilegedStepRaisesExactlyItsCapabilities(t *testing.T) {
	for _, mode := range []struct{ name, dir string }{{"setuid", hookDir}, {"file-capabilities", hookCapsDir}} {
		t.Run(mode.name, func(t *testing.T) {
			world(t)
			installUpdateNS(t)
			enablePerUser(t)
			// A profile with filters to load, so that the load is seen.
			if err := installProfile("snap.hello.app", "deny-uname.bin2"); err != nil {
				t.Fatal(err)
			}
			seen := map[policy.Op]uint64{}
			run := func(l launch) {
				l.program = mode.dir + "/snap-confine"
				res := l.run()
				if res.err != nil {
					t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
				}
				for _, line := range strings.Split(res.stderr, "\n") {
					var op int
					var eff, prm string
					var others uint64
					if _, err := fmt.Sscanf(line, "CAPHOOK op=%d eff=%s prm=%s others=%x", &op, &eff, &prm, &others); err != nil {
						continue
					}
					// Raised on the operation's thread alone.
					if others != 0 {
						t.Errorf("%s: other threads hold %s", policy.Op(op), capNames(others))
					}
					got, _ := strconv.ParseUint(eff, 16, 64)
					permitted, _ := strconv.ParseUint(prm, 16, 64)
					want := capWord(policy.Op(op).Raised(mode.name == "setuid")) & permitted
					if got != want {
						t.Errorf("%s: effective %s, policy grants %s", policy.Op(op), capNames(got), capNames(want))
					}
					seen[policy.Op(op)] = got
				}
			}
			run(launch{uid: 1000})                                 // create, per-user create, seccomp
			run(launch{uid: 1000})                                 // join both
			run(launch{uid: 1001, dir: "/", env: []string{"A=b"}}) // another user's layer
			// An info file without the launcher's facts (snapd's
			// snap-confine wrote it): the namespace is inspected. A
			// lock file of root's with a wrong mode (a launcher of the
			// other install killed before fixing it): it is repaired.
			if err := os.WriteFile("/run/snapd/ns/snap.hello.info", []byte("base-snap-name=core\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod("/run/snapd/lock/hello.lock", 0o640); err != nil {
				t.Fatal(err)
			}
			run(launch{uid: 1000})
			refresh(t, "core", "2")
			run(launch{uid: 1000})                               // discard and rebuild
			run(launch{uid: 1000, flags: []string{"--classic"}}) // classic
			var table []string
			for op, eff := range seen {
				table = append(table, fmt.Sprintf("  %-45s %s", op, capNames(eff)))
			}
			sort.Strings(table)
			t.Logf("%d privileged operations observed, effective capabilities while each ran:\n%s", len(seen), strings.Join(table, "\n"))
			// Every action but those of the parallel-instances feature
			// (TestParallelInstanceStepsRaiseExactlyTheirCapabilities).
			for op := range policy.Op(len(policy.Ops)) {
				if _, ok := seen[op]; !ok && !slices.Contains(parallelOps, op) {
					t.Errorf("%s was never observed", op)
				}
			}
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
	for _, name := range []string{"snap-confine", "snap-launch"} {
		data, err := os.ReadFile(hookCapsDir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir+"/"+name, data, 0o755); err != nil {
			t.Fatal(err)
		}
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
			if out, err := exec.Command("setcap", strings.Join(rest, ",")+"=p", dir+"/snap-launch").CombinedOutput(); err != nil {
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
