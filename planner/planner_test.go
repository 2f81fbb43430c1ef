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

// The cases below mirror snapd's cmd/snap-confine/snap-confine-args-test.c
// and the checks of sc_init_invocation (snap-confine-invocation.c).

const argv0 = "/usr/lib/snapd/snap-confine"

// getenv returns a getenv function over the given variables; a variable
// that is not listed is unset, which getenv reports as "".
func getenv(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

// fooEnv is the environment of `snap run foo.app`.
var fooEnv = map[string]string{"SNAP_INSTANCE_NAME": "foo"}

// want is the part of an Invocation a case checks.
type want struct {
	version    bool
	classic    bool
	base       string
	instance   string
	tag        string
	executable string
	args       []string
	debug      bool
}

func checkInvocation(t *testing.T, inv *plan.Invocation, w want) {
	t.Helper()
	if inv.Version != w.version {
		t.Errorf("Version = %v, want %v", inv.Version, w.version)
	}
	if inv.Classic != w.classic {
		t.Errorf("Classic = %v, want %v", inv.Classic, w.classic)
	}
	if inv.Base != w.base {
		t.Errorf("Base = %q, want %q", inv.Base, w.base)
	}
	if got := inv.Instance.String(); got != w.instance {
		t.Errorf("Instance = %q, want %q", got, w.instance)
	}
	if got := inv.Tag.String(); got != w.tag {
		t.Errorf("Tag = %q, want %q", got, w.tag)
	}
	if inv.Executable != w.executable {
		t.Errorf("Executable = %q, want %q", inv.Executable, w.executable)
	}
	if len(inv.Args) != 0 || len(w.args) != 0 {
		if !slices.Equal(inv.Args, w.args) {
			t.Errorf("Args = %q, want %q", inv.Args, w.args)
		}
	}
	if inv.Debug != w.debug {
		t.Errorf("Debug = %v, want %v", inv.Debug, w.debug)
	}
	if !w.version && inv.Tag.Instance() != inv.Instance {
		t.Errorf("tag %q does not belong to instance %q", inv.Tag, inv.Instance)
	}
}

func TestParseCommandLineAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want want
	}{
		{
			name: "typical",
			args: []string{argv0, "snap.foo.app", "/usr/lib/snapd/snap-exec", "--option", "arg"},
			env:  fooEnv,
			want: want{base: "core", instance: "foo", tag: "snap.foo.app", executable: "/usr/lib/snapd/snap-exec", args: []string{"--option", "arg"}},
		},
		{
			name: "typical classic",
			args: []string{argv0, "--classic", "snap.foo.app", "/usr/lib/snapd/snap-exec", "--option", "arg"},
			env:  fooEnv,
			want: want{classic: true, base: "core", instance: "foo", tag: "snap.foo.app", executable: "/usr/lib/snapd/snap-exec", args: []string{"--option", "arg"}},
		},
		{
			name: "no target arguments",
			args: []string{argv0, "snap.foo.app", "/usr/lib/snapd/snap-exec"},
			env:  fooEnv,
			want: want{base: "core", instance: "foo", tag: "snap.foo.app", executable: "/usr/lib/snapd/snap-exec"},
		},
		{
			name: "base",
			args: []string{argv0, "--base", "base-snap", "snap.foo.app", "/usr/lib/snapd/snap-exec"},
			env:  fooEnv,
			want: want{base: "base-snap", instance: "foo", tag: "snap.foo.app", executable: "/usr/lib/snapd/snap-exec"},
		},
		{
			name: "base then classic",
			args: []string{argv0, "--base", "core22", "--classic", "snap.foo.app", "/bin/x"},
			env:  fooEnv,
			want: want{classic: true, base: "core22", instance: "foo", tag: "snap.foo.app", executable: "/bin/x"},
		},
		{
			name: "classic then base",
			args: []string{argv0, "--classic", "--base", "core22", "snap.foo.app", "/bin/x"},
			env:  fooEnv,
			want: want{classic: true, base: "core22", instance: "foo", tag: "snap.foo.app", executable: "/bin/x"},
		},
		{
			name: "classic twice",
			args: []string{argv0, "--classic", "--classic", "snap.foo.app", "/bin/x"},
			env:  fooEnv,
			want: want{classic: true, base: "core", instance: "foo", tag: "snap.foo.app", executable: "/bin/x"},
		},
		{
			name: "classic after the tag is an argument of the target",
			args: []string{argv0, "snap.foo.app", "/bin/x", "--classic"},
			env:  fooEnv,
			want: want{base: "core", instance: "foo", tag: "snap.foo.app", executable: "/bin/x", args: []string{"--classic"}},
		},
		{
			name: "options after the executable are arguments of the target",
			args: []string{argv0, "snap.foo.app", "/bin/x", "--base", "Bad_Base", "--version", "--frozbonicator"},
			env:  fooEnv,
			want: want{base: "core", instance: "foo", tag: "snap.foo.app", executable: "/bin/x", args: []string{"--base", "Bad_Base", "--version", "--frozbonicator"}},
		},
		{
			name: "an executable that looks like an option",
			args: []string{argv0, "snap.foo.app", "--classic", "x"},
			env:  fooEnv,
			want: want{base: "core", instance: "foo", tag: "snap.foo.app", executable: "--classic", args: []string{"x"}},
		},
		{
			name: "empty executable and arguments are passed on",
			args: []string{argv0, "snap.foo.app", "", "", "a\nb"},
			env:  fooEnv,
			want: want{base: "core", instance: "foo", tag: "snap.foo.app", executable: "", args: []string{"", "a\nb"}},
		},
		{
			name: "hook",
			args: []string{argv0, "snap.foo.hook.configure", "/usr/lib/snapd/snap-exec", "--hook=configure"},
			env:  fooEnv,
			want: want{base: "core", instance: "foo", tag: "snap.foo.hook.configure", executable: "/usr/lib/snapd/snap-exec", args: []string{"--hook=configure"}},
		},
		{
			name: "instance key",
			args: []string{argv0, "--base", "core24", "snap.foo_x.app", "/bin/x"},
			env:  map[string]string{"SNAP_INSTANCE_NAME": "foo_x"},
			want: want{base: "core24", instance: "foo_x", tag: "snap.foo_x.app", executable: "/bin/x"},
		},
		{
			name: "instance key and hook",
			args: []string{argv0, "snap.foo_1.hook.install", "/bin/x"},
			env:  map[string]string{"SNAP_INSTANCE_NAME": "foo_1"},
			want: want{base: "core", instance: "foo_1", tag: "snap.foo_1.hook.install", executable: "/bin/x"},
		},
		{
			name: "SNAPD_DEBUG=1 turns on debug",
			args: []string{argv0, "snap.foo.app", "/bin/x"},
			env:  map[string]string{"SNAP_INSTANCE_NAME": "foo", "SNAPD_DEBUG": "1"},
			want: want{base: "core", instance: "foo", tag: "snap.foo.app", executable: "/bin/x", debug: true},
		},
		{
			name: "SNAPD_DEBUG=0 does not turn on debug",
			args: []string{argv0, "snap.foo.app", "/bin/x"},
			env:  map[string]string{"SNAP_INSTANCE_NAME": "foo", "SNAPD_DEBUG": "0"},
			want: want{base: "core", instance: "foo", tag: "snap.foo.app", executable: "/bin/x"},
		},
		{
			name: "SNAPD_DEBUG=true does not turn on debug",
			args: []string{argv0, "snap.foo.app", "/bin/x"},
			env:  map[string]string{"SNAP_INSTANCE_NAME": "foo", "SNAPD_DEBUG": "true"},
			want: want{base: "core", instance: "foo", tag: "snap.foo.app", executable: "/bin/x"},
		},
		{
			name: "SNAPD_DEBUG=yes turns on debug, as snap-confine's getenv_bool",
			args: []string{argv0, "snap.foo.app", "/bin/x"},
			env:  map[string]string{"SNAP_INSTANCE_NAME": "foo", "SNAPD_DEBUG": "yes"},
			want: want{base: "core", instance: "foo", tag: "snap.foo.app", executable: "/bin/x", debug: true},
		},
		{
			name: "SNAP_CONFINE_DEBUG=1 turns on debug",
			args: []string{argv0, "snap.foo.app", "/bin/x"},
			env:  map[string]string{"SNAP_INSTANCE_NAME": "foo", "SNAP_CONFINE_DEBUG": "1"},
			want: want{base: "core", instance: "foo", tag: "snap.foo.app", executable: "/bin/x", debug: true},
		},
		{
			name: "SNAPD_DEBUG empty does not turn on debug",
			args: []string{argv0, "snap.foo.app", "/bin/x"},
			env:  map[string]string{"SNAP_INSTANCE_NAME": "foo", "SNAPD_DEBUG": ""},
			want: want{base: "core", instance: "foo", tag: "snap.foo.app", executable: "/bin/x"},
		},
		{
			name: "version",
			args: []string{argv0, "--version"},
			env:  nil,
			want: want{version: true},
		},
		{
			name: "version short-circuits before junk",
			args: []string{argv0, "--version", "ignored", "garbage"},
			env:  nil,
			want: want{version: true},
		},
		{
			name: "version short-circuits before unknown options",
			args: []string{argv0, "--version", "--frozbonicator", "--base"},
			env:  nil,
			want: want{version: true},
		},
		{
			name: "version after base",
			args: []string{argv0, "--base", "core22", "--version", "snap.bar.app"},
			env:  nil,
			want: want{version: true},
		},
		{
			name: "version ignores an invalid instance name",
			args: []string{argv0, "--version"},
			env:  map[string]string{"SNAP_INSTANCE_NAME": "../x"},
			want: want{version: true},
		},
		{
			name: "version keeps debug",
			args: []string{argv0, "--version"},
			env:  map[string]string{"SNAPD_DEBUG": "1"},
			want: want{version: true, debug: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			argsCopy := slices.Clone(tc.args)
			inv, err := plan.ParseCommandLine(tc.args, getenv(tc.env))
			if err != nil {
				t.Fatalf("ParseCommandLine(%q): %v", tc.args, err)
			}
			checkInvocation(t, inv, tc.want)
			if !slices.Equal(tc.args, argsCopy) {
				t.Errorf("ParseCommandLine changed its argv to %q", tc.args)
			}
			if !tc.want.version {
				wantTarget := append([]string{tc.want.executable}, tc.want.args...)
				if got := inv.Target(); !slices.Equal(got, wantTarget) {
					t.Errorf("Target() = %q, want %q", got, wantTarget)
				}
			}
		})
	}
}

func TestParseCommandLineRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantSub string
	}{
		// Options.
		{"base twice", []string{argv0, "--base", "base1", "--base", "base2", "snap.foo.app", "/bin/x"}, fooEnv, "the --base option can be used only once"},
		{"base twice, same value", []string{argv0, "--base", "core", "--base", "core", "snap.foo.app", "/bin/x"}, fooEnv, "only once"},
		{"base twice around classic", []string{argv0, "--base", "core", "--classic", "--base", "core22", "snap.foo.app", "/bin/x"}, fooEnv, "only once"},
		{"base without argument", []string{argv0, "--base"}, fooEnv, "the --base option requires an argument"},
		{"second base without argument", []string{argv0, "--base", "core", "--base"}, fooEnv, "requires an argument"},
		{"unknown option", []string{argv0, "--frozbonicator"}, fooEnv, "unrecognized command line option"},
		{"unknown option before the tag", []string{argv0, "--frozbonicator", "snap.foo.app", "/bin/x"}, fooEnv, "unrecognized command line option"},
		{"unknown option after classic", []string{argv0, "--classic", "-x", "snap.foo.app", "/bin/x"}, fooEnv, "unrecognized command line option"},
		{"short option", []string{argv0, "-c", "snap.foo.app", "/bin/x"}, fooEnv, "unrecognized command line option"},
		{"double dash", []string{argv0, "--", "snap.foo.app", "/bin/x"}, fooEnv, "unrecognized command line option"},
		{"single dash", []string{argv0, "-", "snap.foo.app", "/bin/x"}, fooEnv, "unrecognized command line option"},
		{"option with equals", []string{argv0, "--base=core22", "snap.foo.app", "/bin/x"}, fooEnv, "unrecognized command line option"},
		{"option in other case", []string{argv0, "--Classic", "snap.foo.app", "/bin/x"}, fooEnv, "unrecognized command line option"},
		{"option with newline", []string{argv0, "--classic\n", "snap.foo.app", "/bin/x"}, fooEnv, "unrecognized command line option"},

		// Positional arguments.
		{"empty argv", []string{}, fooEnv, "security tag was not provided"},
		{"missing tag", []string{argv0}, fooEnv, "security tag was not provided"},
		{"missing tag after options", []string{argv0, "--classic", "--base", "core22"}, fooEnv, "security tag was not provided"},
		{"missing executable", []string{argv0, "snap.foo.app"}, fooEnv, "executable name was not provided"},
		{"missing executable after options", []string{argv0, "--classic", "snap.foo.app"}, fooEnv, "executable name was not provided"},

		// SNAP_INSTANCE_NAME.
		{"instance unset", []string{argv0, "snap.foo.app", "/bin/x"}, nil, "SNAP_INSTANCE_NAME"},
		{"instance empty", []string{argv0, "snap.foo.app", "/bin/x"}, map[string]string{"SNAP_INSTANCE_NAME": ""}, "SNAP_INSTANCE_NAME"},
		{"instance path traversal", []string{argv0, "snap.foo.app", "/bin/x"}, map[string]string{"SNAP_INSTANCE_NAME": "../x"}, "snap instance name"},
		{"instance upper case", []string{argv0, "snap.Foo.app", "/bin/x"}, map[string]string{"SNAP_INSTANCE_NAME": "Foo"}, "snap instance name"},
		{"instance with dot", []string{argv0, "snap.x.1000.app", "/bin/x"}, map[string]string{"SNAP_INSTANCE_NAME": "x.1000"}, "snap instance name"},
		{"instance with empty key", []string{argv0, "snap.foo.app", "/bin/x"}, map[string]string{"SNAP_INSTANCE_NAME": "foo_"}, "snap instance name"},
		{"instance with newline", []string{argv0, "snap.foo.app", "/bin/x"}, map[string]string{"SNAP_INSTANCE_NAME": "foo\n"}, "snap instance name"},
		{"instance 41 characters", []string{argv0, "snap.foo.app", "/bin/x"}, map[string]string{"SNAP_INSTANCE_NAME": strings.Repeat("x", 41)}, "snap instance name"},

		// The security tag.
		{"tag of another instance", []string{argv0, "snap.bar.app", "/bin/x"}, fooEnv, "does not belong to snap instance"},
		{"tag without the instance key", []string{argv0, "snap.foo.app", "/bin/x"}, map[string]string{"SNAP_INSTANCE_NAME": "foo_x"}, "does not belong to snap instance"},
		{"tag of a keyed instance", []string{argv0, "snap.foo_x.app", "/bin/x"}, fooEnv, "does not belong to snap instance"},
		{"tag of another instance of classic", []string{argv0, "--classic", "snap.bar.app", "/bin/x"}, fooEnv, "does not belong to snap instance"},
		{"tag without snap prefix", []string{argv0, "foo.app", "/bin/x"}, fooEnv, "security tag"},
		{"tag without app", []string{argv0, "snap.foo", "/bin/x"}, fooEnv, "security tag"},
		{"tag with path", []string{argv0, "snap.foo.app/../../x", "/bin/x"}, fooEnv, "security tag"},
		{"tag with bad hook", []string{argv0, "snap.foo.hook.Configure", "/bin/x"}, fooEnv, "security tag"},
		{"tag of a component", []string{argv0, "snap.foo+comp.hook.install", "/bin/x"}, fooEnv, "security tag"},
		{"empty tag", []string{argv0, "", "/bin/x"}, fooEnv, "security tag"},

		// The base.
		{"base upper case", []string{argv0, "--base", "Core", "snap.foo.app", "/bin/x"}, fooEnv, "base"},
		{"base path traversal", []string{argv0, "--base", "../core", "snap.foo.app", "/bin/x"}, fooEnv, "base"},
		{"base with instance key", []string{argv0, "--base", "core_x", "snap.foo.app", "/bin/x"}, fooEnv, "base"},
		{"base that is an option", []string{argv0, "--base", "--classic", "snap.foo.app", "/bin/x"}, fooEnv, "base"},
		// snap-confine keeps an empty --base value ("" is not NULL) and
		// refuses it in sc_init_invocation (no letter); a second --base
		// after it is "used only once".
		{"empty base", []string{argv0, "--base", "", "snap.foo.app", "/bin/x"}, fooEnv, "base"},
		{"empty base then another", []string{argv0, "--base", "", "--base", "core22", "snap.foo.app", "/bin/x"}, fooEnv, "only once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := plan.ParseCommandLine(tc.args, getenv(tc.env))
			if err == nil {
				t.Fatalf("ParseCommandLine(%q) accepted: %+v", tc.args, *inv)
			}
			if inv != nil {
				t.Errorf("ParseCommandLine returned an invocation with its error: %+v", *inv)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "cannot") || strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error %q is not one line starting with \"cannot\"", msg)
			}
			if !strings.Contains(msg, tc.wantSub) {
				t.Errorf("error %q does not mention %q", msg, tc.wantSub)
			}
		})
	}
}

// mustParse parses a command line the test knows to be valid.
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
