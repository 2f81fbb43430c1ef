// SPDX-License-Identifier: GPL-3.0-only

package planner_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/plan"
	"github.com/snapns/snapns/shared/stale"
)

const argv0 = "/usr/lib/snapd/snap-confine"

// getenv returns a getenv function over the given variables; a variable
// that is not listed is unset, which getenv reports as "".
func getenv(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

// fooEnv is the environment of `snap run foo.app`.
var fooEnv = map[string]string{"SNAP_INSTANCE_NAME": "foo"}

func mustParse(t *testing.T, env map[string]string, args ...string) *plan.Invocation {
	t.Helper()
	inv, err := plan.ParseCommandLine(append([]string{argv0}, args...), getenv(env))
	if err != nil {
		t.Fatalf("test setup: ParseCommandLine(%q): %v", args, err)
	}
	return inv
}

// unusedInstance is an instance that has no preserved namespace on any
// machine that runs these tests.
const unusedInstance = "snapns-unit-test-x"

func requireNotPreserved(t *testing.T, instance string) {
	t.Helper()
	path := filepath.Join(layout.NSDir, instance+".mnt")
	if _, err := os.Lstat(path); err == nil {
		t.Skipf("%s exists on this machine; this test needs it absent", path)
	}
}

func TestPlanOfClassicSnapDoesNoNamespaceWork(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"app", fooEnv, []string{"--classic", "snap.foo.app", "/bin/x"}},
		{"hook with instance key and base", map[string]string{"SNAP_INSTANCE_NAME": "foo_x", "SNAPD_DEBUG": "1"}, []string{"--classic", "--base", "core22", "snap.foo_x.hook.install", "/bin/x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := mustParse(t, tc.env, tc.args...)
			p, err := planner.Plan(inv)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if !p.Classic {
				t.Errorf("Plan: classic %v, want classic", p.Classic)
			}
			checkPlanMatches(t, p, inv)
			e, err := planner.Expect(p, 1000)
			if err != nil {
				t.Fatalf("Expect: %v", err)
			}
			if e.Namespace != planner.NamespaceNone || e.PerUser != planner.PerUserNone {
				t.Errorf("Expect = %+v, want no namespace work and no per-user layer", e)
			}
		})
	}
}

func TestPlanCreatesNamespaceWhenNoneIsPreserved(t *testing.T) {
	requireNotPreserved(t, unusedInstance)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"app", map[string]string{"SNAP_INSTANCE_NAME": unusedInstance}, []string{"snap." + unusedInstance + ".app", "/bin/x"}},
		{"hook with base and debug", map[string]string{"SNAP_INSTANCE_NAME": unusedInstance, "SNAPD_DEBUG": "1"}, []string{"--base", "core24", "snap." + unusedInstance + ".hook.configure", "/bin/x", "a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := mustParse(t, tc.env, tc.args...)
			p, err := planner.Plan(inv)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if p.Classic {
				t.Errorf("Plan: classic, want confined")
			}
			checkPlanMatches(t, p, inv)
			e, err := planner.Expect(p, 0)
			if err != nil {
				t.Fatalf("Expect: %v", err)
			}
			if e.Namespace != planner.NamespaceCreate || e.PerUser != planner.PerUserNone {
				t.Errorf("Expect = %+v, want create, and no per-user layer for root", e)
			}
		})
	}
}

func checkPlanMatches(t *testing.T, p *plan.Plan, inv *plan.Invocation) {
	t.Helper()
	if p.Instance != inv.Instance || p.Tag != inv.Tag || p.Base != inv.Base || p.Debug != inv.Debug || p.Classic != inv.Classic {
		t.Errorf("Plan = %+v does not match the invocation %+v", *p, *inv)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Plan returned an invalid plan: %v", err)
	}
}

func TestPlanRefusesInvalidInvocation(t *testing.T) {
	foo, err := naming.ParseInstance("foo")
	if err != nil {
		t.Fatal(err)
	}
	barApp, err := naming.ParseSecurityTag("snap.bar.app")
	if err != nil {
		t.Fatal(err)
	}
	fooApp, err := naming.ParseSecurityTag("snap.foo.app")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		inv  *plan.Invocation
	}{
		{"zero invocation", &plan.Invocation{}},
		{"tag of another instance", &plan.Invocation{Classic: true, Instance: foo, Tag: barApp, Base: "core", Executable: "/bin/x"}},
		{"bad base", &plan.Invocation{Classic: true, Instance: foo, Tag: fooApp, Base: "Core", Executable: "/bin/x"}},
		{"no base", &plan.Invocation{Classic: true, Instance: foo, Tag: fooApp, Executable: "/bin/x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := planner.Plan(tc.inv)
			if err == nil {
				t.Fatalf("Plan accepted %+v and returned %+v", *tc.inv, *p)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "cannot") || strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error %q is not one line starting with \"cannot\"", msg)
			}
		})
	}
}

func TestExplainNamesInstanceAndDecision(t *testing.T) {
	requireNotPreserved(t, unusedInstance)
	nsFile := layout.NSDir + "/" + unusedInstance + ".mnt"
	create, err := planner.Plan(mustParse(t, map[string]string{"SNAP_INSTANCE_NAME": unusedInstance}, "--base", "core22", "snap."+unusedInstance+".app", "/bin/x"))
	if err != nil {
		t.Fatal(err)
	}
	classic, err := planner.Plan(mustParse(t, map[string]string{"SNAP_INSTANCE_NAME": unusedInstance}, "--classic", "snap."+unusedInstance+".app", "/bin/x"))
	if err != nil {
		t.Fatal(err)
	}
	createExp := planner.Expectation{Namespace: planner.NamespaceCreate, PerUser: planner.PerUserNone}
	joinExp := planner.Expectation{Namespace: planner.NamespaceJoin, Staleness: stale.Decision{Vote: stale.Keep, Reason: "built from base core22 as now"},
		PerUser: planner.PerUserJoin, PerUserReason: "on top of the current one"}
	discardExp := planner.Expectation{Namespace: planner.NamespaceJoin, Staleness: stale.Decision{Vote: stale.Should, Reason: "base refreshed"},
		PerUser: planner.PerUserCreate, PerUserReason: "a new layer"}
	classicExp := planner.Expectation{Namespace: planner.NamespaceNone, PerUser: planner.PerUserNone}
	for _, tc := range []struct {
		name  string
		p     *plan.Plan
		e     planner.Expectation
		wants []string
	}{
		{"create", create, createExp, []string{unusedInstance, "snap." + unusedInstance + ".app", "core22", "create", nsFile, "launcher decides", "snap-update-ns." + unusedInstance, "expected device cgroup: "}},
		{"join", create, joinExp, []string{unusedInstance, "join", nsFile, "built from base core22 as now", "per-user layer: join"}},
		{"discard", create, discardExp, []string{"discard (should)", nsFile, "base refreshed", "then create", "per-user layer: create"}},
		{"classic", classic, classicExp, []string{unusedInstance, "classic", "core"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := planner.Explain(tc.p, tc.e)
			for _, w := range tc.wants {
				if !strings.Contains(text, w) {
					t.Errorf("Explain does not mention %q:\n%s", w, text)
				}
			}
			if !strings.HasSuffix(text, "\n") {
				t.Errorf("Explain does not end its last line: %q", text)
			}
			lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
			if len(lines) < 2 {
				t.Errorf("Explain has %d lines, want one for the names and one per decision: %q", len(lines), text)
			}
			for i, l := range lines {
				if strings.TrimSpace(l) == "" {
					t.Errorf("Explain line %d is empty: %q", i+1, text)
				}
			}
		})
	}
	t.Run("decisions differ", func(t *testing.T) {
		if planner.Explain(create, createExp) == planner.Explain(create, joinExp) {
			t.Errorf("Explain says the same for create and join:\n%s", planner.Explain(create, createExp))
		}
		if strings.Contains(planner.Explain(classic, classicExp), nsFile) {
			t.Errorf("Explain of a classic plan mentions the preserved namespace:\n%s", planner.Explain(classic, classicExp))
		}
	})
}

func TestLauncherArgvCarriesPlanAndTarget(t *testing.T) {
	requireNotPreserved(t, unusedInstance)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"confined", map[string]string{"SNAP_INSTANCE_NAME": unusedInstance}, []string{"snap." + unusedInstance + ".app", "/usr/lib/snapd/snap-exec", "foo.app", "--classic", "", "a\nb", "end"}},
		{"classic hook with debug", map[string]string{"SNAP_INSTANCE_NAME": "foo_x", "SNAPD_DEBUG": "1"}, []string{"--classic", "--base", "core24", "snap.foo_x.hook.install", "/usr/lib/snapd/snap-exec", "--hook=install"}},
		{"no target arguments", fooEnv, []string{"--classic", "snap.foo.app", "/bin/true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := mustParse(t, tc.env, tc.args...)
			p, err := planner.Plan(inv)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			target := inv.Target()
			targetCopy := slices.Clone(target)
			argv, err := planner.LauncherArgv(p, target)
			if err != nil {
				t.Fatalf("LauncherArgv: %v", err)
			}
			if len(argv) != 2+len(target) {
				t.Fatalf("LauncherArgv = %q, want snap-launch, the plan and %d target arguments", argv, len(target))
			}
			if argv[0] != "snap-launch" {
				t.Errorf("argv[0] = %q, want %q", argv[0], "snap-launch")
			}
			decoded, err := plan.Decode([]byte(argv[1]))
			if err != nil {
				t.Fatalf("argv[1] %q does not decode: %v", argv[1], err)
			}
			if *decoded != *p {
				t.Errorf("argv[1] decodes to %+v, want %+v", *decoded, *p)
			}
			if !slices.Equal(argv[2:], target) {
				t.Errorf("target in argv = %q, want %q", argv[2:], target)
			}
			argv[2] = "changed"
			if !slices.Equal(target, targetCopy) {
				t.Errorf("the launcher argv shares storage with the target: target is now %q", target)
			}
		})
	}
}

func TestLauncherArgvRefusesInvalidPlan(t *testing.T) {
	foo, err := naming.ParseInstance("foo")
	if err != nil {
		t.Fatal(err)
	}
	barApp, err := naming.ParseSecurityTag("snap.bar.app")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    *plan.Plan
	}{
		{"zero plan", &plan.Plan{}},
		{"tag of another instance", &plan.Plan{Instance: foo, Tag: barApp, Base: "core"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			argv, err := planner.LauncherArgv(tc.p, []string{"/bin/true"})
			if err == nil {
				t.Fatalf("LauncherArgv accepted %+v: %q", *tc.p, argv)
			}
			if argv != nil {
				t.Errorf("LauncherArgv returned an argv with its error: %q", argv)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "cannot") || strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error %q is not one line starting with \"cannot\"", msg)
			}
		})
	}
}

func TestLauncherPathIsNextToTheProgram(t *testing.T) {
	path, err := planner.LauncherPath()
	if err != nil {
		t.Fatalf("LauncherPath: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(self), "snap-launch"); path != want {
		t.Errorf("LauncherPath = %q, want %q", path, want)
	}
}
