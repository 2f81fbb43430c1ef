// SPDX-License-Identifier: GPL-3.0-only

package cmdline_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/snapns/snapns/shared/cmdline"
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

func checkInvocation(t *testing.T, inv *cmdline.Invocation, w want) {
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
			name: "a component's hook",
			args: []string{argv0, "snap.foo_k+comp.hook.install", "/usr/lib/snapd/snap-exec"},
			env:  map[string]string{"SNAP_INSTANCE_NAME": "foo_k", "SNAP_COMPONENT_NAME": "foo+comp"},
			want: want{base: "core", instance: "foo_k", tag: "snap.foo_k+comp.hook.install", executable: "/usr/lib/snapd/snap-exec"},
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
			inv, err := cmdline.ParseCommandLine(tc.args, getenv(tc.env))
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
		{"tag of a component without SNAP_COMPONENT_NAME", []string{argv0, "snap.foo+comp.hook.install", "/bin/x"}, fooEnv, "not allowed with SNAP_COMPONENT_NAME"},
		{"tag of another component", []string{argv0, "snap.foo+comp.hook.install", "/bin/x"}, map[string]string{"SNAP_INSTANCE_NAME": "foo", "SNAP_COMPONENT_NAME": "foo+other"}, "not allowed with SNAP_COMPONENT_NAME"},
		{"SNAP_COMPONENT_NAME with an app tag", []string{argv0, "snap.foo.hook.install", "/bin/x"}, map[string]string{"SNAP_INSTANCE_NAME": "foo", "SNAP_COMPONENT_NAME": "foo+comp"}, "not allowed with SNAP_COMPONENT_NAME"},
		{"SNAP_COMPONENT_NAME of another snap", []string{argv0, "snap.foo+comp.hook.install", "/bin/x"}, map[string]string{"SNAP_INSTANCE_NAME": "foo", "SNAP_COMPONENT_NAME": "bar+comp"}, "snap component"},
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
			inv, err := cmdline.ParseCommandLine(tc.args, getenv(tc.env))
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

// isSafeName tells whether s can only name something below the directories
// the launcher builds paths in: no separator, no "..", only the letters of
// snapd's names (and "+", of a component's tag).
func isSafeName(s string) bool {
	if s == "" || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' || c == '+') {
			return false
		}
	}
	return true
}

// FuzzParseCommandLine: snapd's command line is parsed by the privileged
// launcher, and any user can run it with any argv and environment.
// Whatever it is given, it returns an invocation whose names are valid,
// belong together and are safe in a path, and a target with an
// executable, or one line of error starting with "cannot"; never both,
// never a panic.
func FuzzParseCommandLine(f *testing.F) {
	f.Add("snap.hello.app\x00/bin/true", "hello", "", "")
	f.Add("--classic\x00--base\x00core22\x00snap.hello.hook.configure\x00/bin/sh\x00-c\x00x", "hello", "", "1")
	f.Add("--base\x00--base\x00x", "hello_key", "", "")
	f.Add("--version", "", "", "")
	f.Add("--help", "", "", "")
	f.Add("snap.hello+comp.hook.install\x00/bin/true", "hello", "hello+comp", "yes")
	f.Add("snap.hello_key.app\x00/bin/true\x00--classic", "hello_key", "", "")
	f.Add("--base\x00../../x\x00snap.hello.app\x00/bin/true", "hello", "", "")
	f.Add("snap.other.app\x00/bin/true", "hello", "", "")
	f.Add("snap.hello.app\x00", "hello/../x", "", "")
	f.Fuzz(func(t *testing.T, argv, instance, component, debug string) {
		args := append([]string{argv0}, strings.Split(argv, "\x00")...)
		env := map[string]string{"SNAP_INSTANCE_NAME": instance, "SNAP_COMPONENT_NAME": component, "SNAPD_DEBUG": debug}
		inv, err := cmdline.ParseCommandLine(args, getenv(env))
		if err != nil {
			if inv != nil {
				t.Errorf("ParseCommandLine returned an invocation with its error: %+v", *inv)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "cannot") || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error %q is not one line starting with \"cannot\"", msg)
			}
			return
		}
		if inv == nil {
			t.Fatal("ParseCommandLine returned neither an invocation nor an error")
		}
		if inv.Debug != (debug == "1" || debug == "yes") {
			t.Errorf("Debug = %v for SNAPD_DEBUG=%q", inv.Debug, debug)
		}
		if inv.Version || inv.Help {
			return
		}
		if inv.Tag.Instance() != inv.Instance {
			t.Errorf("tag %q does not belong to instance %q", inv.Tag, inv.Instance)
		}
		if inv.Instance.String() != instance {
			t.Errorf("instance %q, but SNAP_INSTANCE_NAME is %q", inv.Instance, instance)
		}
		if _, want, _ := strings.Cut(component, "+"); inv.Tag.Component() != want {
			t.Errorf("tag %q accepted with SNAP_COMPONENT_NAME %q", inv.Tag, component)
		}
		if !isSafeName(inv.Instance.String()) || !isSafeName(inv.Tag.String()) || !isSafeName(inv.Base) {
			t.Errorf("unsafe names accepted: %+v", *inv)
		}
		if target := inv.Target(); len(target) == 0 || target[0] != inv.Executable {
			t.Errorf("target %q does not start with the executable %q", target, inv.Executable)
		}
	})
}
