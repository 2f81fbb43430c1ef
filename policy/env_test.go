package policy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/snapns/snapns/policy"
)

// confinedTail is what TargetEnv appends for every confined snap.
var confinedTail = []string{
	"PATH=" + policy.Path,
	"SHELL=" + policy.Shell,
	"TMPDIR=" + policy.TmpDir,
	"TEMPDIR=" + policy.TmpDir,
}

func TestTargetEnv(t *testing.T) {
	for _, tc := range []struct {
		name     string
		caller   []string
		confined []string // kept from the caller for a confined snap, before confinedTail
		classic  []string // the whole environment for a classic snap
	}{
		{
			name:     "empty",
			caller:   nil,
			confined: nil,
			classic:  []string{},
		},
		{
			name:     "loader and runtime variables are dropped",
			caller:   []string{"LD_PRELOAD=/tmp/evil.so", "LD_LIBRARY_PATH=/tmp", "LD_AUDIT=/tmp/a.so", "GODEBUG=x=1", "GOMAXPROCS=1", "GOGC=off", "GOMEMLIMIT=1", "GOTRACEBACK=all", "FOO=bar", "IFS=x", "ENV=/tmp/rc", "BASH_ENV=/tmp/rc"},
			confined: nil,
			classic:  []string{},
		},
		{
			name:     "SNAP_, XDG_ and LC_ variables and HOME are kept",
			caller:   []string{"SNAP_NAME=foo", "SNAP_INSTANCE_NAME=foo_x", "SNAP_SAVED_LD_PRELOAD=x.so", "XDG_RUNTIME_DIR=/run/user/1000", "LC_ALL=C.UTF-8", "HOME=/home/u"},
			confined: []string{"SNAP_NAME=foo", "SNAP_INSTANCE_NAME=foo_x", "SNAP_SAVED_LD_PRELOAD=x.so", "XDG_RUNTIME_DIR=/run/user/1000", "LC_ALL=C.UTF-8", "HOME=/home/u"},
			classic:  []string{"SNAP_NAME=foo", "SNAP_INSTANCE_NAME=foo_x", "SNAP_SAVED_LD_PRELOAD=x.so", "XDG_RUNTIME_DIR=/run/user/1000", "LC_ALL=C.UTF-8", "HOME=/home/u"},
		},
		{
			name:     "kept variables stay in the caller's order among dropped ones",
			caller:   []string{"LD_PRELOAD=x", "HOME=/h", "FOO=1", "SNAP=/snap/foo/1", "GODEBUG=y", "LANG=C", "SNAPD_DEBUG=1"},
			confined: []string{"HOME=/h", "SNAP=/snap/foo/1", "LANG=C", "SNAPD_DEBUG=1"},
			classic:  []string{"HOME=/h", "SNAP=/snap/foo/1", "LANG=C", "SNAPD_DEBUG=1"},
		},
		{
			name:     "prefix alone with an empty suffix is dropped",
			caller:   []string{"SNAP_=x", "XDG_=y", "LC_=z"},
			confined: nil,
			classic:  []string{},
		},
		{
			name:     "names that contain a kept name or prefix elsewhere are dropped",
			caller:   []string{"MY_SNAP_X=1", "snap_name=foo", "Home=/h", "HOMEDIR=/h", "XSNAP_Y=1", "LC=1"},
			confined: nil,
			classic:  []string{},
		},
		{
			name:     "the first of duplicates wins",
			caller:   []string{"HOME=/first", "SNAP_NAME=a", "HOME=/second", "SNAP_NAME=b", "HOME=/third"},
			confined: []string{"HOME=/first", "SNAP_NAME=a"},
			classic:  []string{"HOME=/first", "SNAP_NAME=a"},
		},
		{
			name:     "a dropped duplicate does not hide a later kept one",
			caller:   []string{"FOO=1", "FOO=2", "HOME=/h"},
			confined: []string{"HOME=/h"},
			classic:  []string{"HOME=/h"},
		},
		{
			name:     "entries without = are dropped",
			caller:   []string{"HOME", "SNAP_NAME", "PATH", "", "LANG=C"},
			confined: []string{"LANG=C"},
			classic:  []string{"LANG=C"},
		},
		{
			name:     "an entry without = does not count as the first of duplicates",
			caller:   []string{"HOME", "HOME=/h"},
			confined: []string{"HOME=/h"},
			classic:  []string{"HOME=/h"},
		},
		{
			name:     "empty names are dropped",
			caller:   []string{"=x", "=", "HOME=/h"},
			confined: []string{"HOME=/h"},
			classic:  []string{"HOME=/h"},
		},
		{
			name:     "empty values and values with = are kept as they are",
			caller:   []string{"HOME=", "SNAP_X=a=b=c"},
			confined: []string{"HOME=", "SNAP_X=a=b=c"},
			classic:  []string{"HOME=", "SNAP_X=a=b=c"},
		},
		{
			name:     "PATH, SHELL, TMPDIR and TEMPDIR are reset for confined and passed for classic",
			caller:   []string{"PATH=/tmp/evil:/usr/bin", "SHELL=/tmp/sh", "TMPDIR=/var/tmp/x", "TEMPDIR=/var/tmp/y", "HOME=/h"},
			confined: []string{"HOME=/h"},
			classic:  []string{"PATH=/tmp/evil:/usr/bin", "SHELL=/tmp/sh", "TMPDIR=/var/tmp/x", "TEMPDIR=/var/tmp/y", "HOME=/h"},
		},
		{
			name:     "classic PATH duplicates: the first wins",
			caller:   []string{"PATH=/a", "PATH=/b", "TMPDIR=/t1", "TMPDIR=/t2"},
			confined: nil,
			classic:  []string{"PATH=/a", "TMPDIR=/t1"},
		},
		{
			name:     "classic without PATH gets none",
			caller:   []string{"HOME=/h"},
			confined: []string{"HOME=/h"},
			classic:  []string{"HOME=/h"},
		},
	} {
		t.Run(tc.name+"/confined", func(t *testing.T) {
			callerCopy := slices.Clone(tc.caller)
			got := policy.TargetEnv(tc.caller, false)
			want := append(slices.Clone(tc.confined), confinedTail...)
			if !slices.Equal(got, want) {
				t.Errorf("TargetEnv(%q, confined) =\n%q\nwant\n%q", tc.caller, got, want)
			}
			if !slices.Equal(tc.caller, callerCopy) {
				t.Errorf("TargetEnv changed the caller's environment to %q", tc.caller)
			}
			checkOneOfEachName(t, got)
		})
		t.Run(tc.name+"/classic", func(t *testing.T) {
			callerCopy := slices.Clone(tc.caller)
			got := policy.TargetEnv(tc.caller, true)
			if !slices.Equal(got, tc.classic) {
				t.Errorf("TargetEnv(%q, classic) =\n%q\nwant\n%q", tc.caller, got, tc.classic)
			}
			if !slices.Equal(tc.caller, callerCopy) {
				t.Errorf("TargetEnv changed the caller's environment to %q", tc.caller)
			}
			checkOneOfEachName(t, got)
		})
	}
}

// checkOneOfEachName checks that env names every variable once.
func checkOneOfEachName(t *testing.T, env []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, kv := range env {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			t.Errorf("target environment has a bad entry %q", kv)
		}
		if seen[name] {
			t.Errorf("target environment names %q twice: %q", name, env)
		}
		seen[name] = true
	}
}

func TestKeepEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		keep bool
	}{
		{"SNAP", true}, {"SNAPD_DEBUG", true}, {"HOME", true}, {"USER", true}, {"LANG", true},
		{"DISPLAY", true}, {"WAYLAND_DISPLAY", true}, {"XAUTHORITY", true}, {"DBUS_SESSION_BUS_ADDRESS", true},
		{"SNAP_NAME", true}, {"SNAP_SAVED_LD_PRELOAD", true}, {"XDG_RUNTIME_DIR", true}, {"LC_ALL", true},
		{"SNAP_", false}, {"XDG_", false}, {"LC_", false}, {"", false},
		{"LD_PRELOAD", false}, {"LD_LIBRARY_PATH", false}, {"GODEBUG", false}, {"GOMAXPROCS", false},
		{"GOGC", false}, {"GOMEMLIMIT", false}, {"GOTRACEBACK", false}, {"FOO", false},
		{"PATH", false}, {"SHELL", false}, {"TMPDIR", false}, {"TEMPDIR", false},
		{"home", false}, {"snap_name", false}, {"SNAPCRAFT", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := policy.KeepEnv(tc.name); got != tc.keep {
				t.Errorf("KeepEnv(%q) = %v, want %v", tc.name, got, tc.keep)
			}
		})
	}
}

func TestEveryOpHasAName(t *testing.T) {
	if len(policy.Ops) == 0 {
		t.Fatal("policy.Ops is empty")
	}
	names := map[string]policy.Op{}
	for i, spec := range policy.Ops {
		op := policy.Op(i)
		if spec.Name == "" {
			t.Errorf("Ops[%d] has no name", i)
			continue
		}
		if got := op.String(); got != spec.Name {
			t.Errorf("Op(%d).String() = %q, want %q", i, got, spec.Name)
		}
		if other, dup := names[spec.Name]; dup {
			t.Errorf("Ops[%d] and Ops[%d] are both named %q", other, i, spec.Name)
		}
		names[spec.Name] = op
	}
}

func TestOpOutsideTheTableIsUnknown(t *testing.T) {
	for _, op := range []policy.Op{-1, policy.Op(len(policy.Ops)), policy.Op(len(policy.Ops) + 100)} {
		if got := op.String(); got != "unknown operation" {
			t.Errorf("Op(%d).String() = %q, want \"unknown operation\"", int(op), got)
		}
	}
}
