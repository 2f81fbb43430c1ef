// SPDX-License-Identifier: GPL-3.0-only

package planner_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/cmdline"
	"github.com/snapns/snapns/shared/layout"
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

func mustParse(t *testing.T, env map[string]string, args ...string) *cmdline.Invocation {
	t.Helper()
	inv, err := cmdline.ParseCommandLine(append([]string{argv0}, args...), getenv(env))
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

func TestExpectOfClassicSnapIsNoNamespaceWork(t *testing.T) {
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
			e, err := planner.Expect(inv, 1000)
			if err != nil {
				t.Fatalf("Expect: %v", err)
			}
			if e.Namespace != planner.NamespaceNone || e.PerUser != planner.PerUserNone {
				t.Errorf("Expect = %+v, want no namespace work and no per-user layer", e)
			}
		})
	}
}

func TestExpectCreatesNamespaceWhenNoneIsPreserved(t *testing.T) {
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
			e, err := planner.Expect(inv, 0)
			if err != nil {
				t.Fatalf("Expect: %v", err)
			}
			if e.Namespace != planner.NamespaceCreate || e.PerUser != planner.PerUserNone {
				t.Errorf("Expect = %+v, want create, and no per-user layer for root", e)
			}
		})
	}
}

func TestExplainNamesInstanceAndDecision(t *testing.T) {
	requireNotPreserved(t, unusedInstance)
	nsFile := layout.NSDir + "/" + unusedInstance + ".mnt"
	create := mustParse(t, map[string]string{"SNAP_INSTANCE_NAME": unusedInstance}, "--base", "core22", "snap."+unusedInstance+".app", "/bin/x")
	classic := mustParse(t, map[string]string{"SNAP_INSTANCE_NAME": unusedInstance}, "--classic", "snap."+unusedInstance+".app", "/bin/x")
	createExp := planner.Expectation{Namespace: planner.NamespaceCreate, PerUser: planner.PerUserNone}
	joinExp := planner.Expectation{Namespace: planner.NamespaceJoin, Staleness: stale.Decision{Vote: stale.Keep, Reason: "built from base core22 as now"},
		PerUser: planner.PerUserJoin, PerUserReason: "on top of the current one"}
	discardExp := planner.Expectation{Namespace: planner.NamespaceJoin, Staleness: stale.Decision{Vote: stale.Should, Reason: "base refreshed"},
		PerUser: planner.PerUserCreate, PerUserReason: "a new layer"}
	classicExp := planner.Expectation{Namespace: planner.NamespaceNone, PerUser: planner.PerUserNone}
	for _, tc := range []struct {
		name  string
		inv   *cmdline.Invocation
		e     planner.Expectation
		wants []string
	}{
		{"create", create, createExp, []string{unusedInstance, "snap." + unusedInstance + ".app", "core22", "create", nsFile, "launcher decides", "snap-update-ns." + unusedInstance, "expected device cgroup: "}},
		{"join", create, joinExp, []string{unusedInstance, "join", nsFile, "built from base core22 as now", "per-user layer: join"}},
		{"discard", create, discardExp, []string{"discard (should)", nsFile, "base refreshed", "then create", "per-user layer: create"}},
		{"classic", classic, classicExp, []string{unusedInstance, "classic", "core"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := planner.Explain(tc.inv, tc.e)
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
			t.Errorf("Explain of a classic launch mentions the preserved namespace:\n%s", planner.Explain(classic, classicExp))
		}
	})
}
