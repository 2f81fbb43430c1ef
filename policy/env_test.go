package policy_test

import (
	"slices"
	"testing"

	"github.com/snapns/snapns/policy"
)

var confinedTail = []string{"PATH=" + policy.Path, "SHELL=" + policy.Shell, "TMPDIR=" + policy.TmpDir, "TEMPDIR=" + policy.TmpDir}

func TestTargetEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		caller  []string
		kept    []string // kept from the caller, for confined and classic alike
		classic []string // extra kept for classic only (PATH, SHELL, TEMPDIR)
	}{
		{"empty", nil, nil, nil},
		{
			"loader, malloc and runtime variables are dropped, as ld.so drops them under AT_SECURE",
			[]string{"LD_PRELOAD=/tmp/evil.so", "LD_LIBRARY_PATH=/tmp", "LD_AUDIT=/tmp/a.so", "LD_ANYTHING=1", "GCONV_PATH=/tmp", "GLIBC_TUNABLES=x", "MALLOC_ARENA_MAX=1", "NLSPATH=/tmp", "LOCPATH=/tmp", "HOSTALIASES=/tmp/h", "RES_OPTIONS=x", "TZDIR=/tmp", "GODEBUG=x=1", "GOMAXPROCS=1", "GOGC=off", "GOMEMLIMIT=1", "GOTRACEBACK=all"},
			nil, nil,
		},
		{
			"everything else is the caller's",
			[]string{"FOO=bar", "SNAP_NAME=foo", "SNAP_SAVED_LD_PRELOAD=x.so", "XDG_RUNTIME_DIR=/run/user/1000", "HOME=/home/u", "http_proxy=http://p", "GTK_IM_MODULE=ibus", "EDITOR=vi"},
			[]string{"FOO=bar", "SNAP_NAME=foo", "SNAP_SAVED_LD_PRELOAD=x.so", "XDG_RUNTIME_DIR=/run/user/1000", "HOME=/home/u", "http_proxy=http://p", "GTK_IM_MODULE=ibus", "EDITOR=vi"},
			nil,
		},
		{
			"PATH, SHELL, TMPDIR and TEMPDIR are reset for confined snaps; TMPDIR is dropped for classic ones too",
			[]string{"PATH=/evil", "SHELL=/bin/zsh", "TMPDIR=/evil", "TEMPDIR=/evil"},
			nil,
			[]string{"PATH=/evil", "SHELL=/bin/zsh", "TEMPDIR=/evil"},
		},
		{"the first of duplicates wins", []string{"HOME=/first", "HOME=/second"}, []string{"HOME=/first"}, nil},
		{"entries without = or name are dropped", []string{"HOME", "=x", "LANG=C"}, []string{"LANG=C"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := policy.TargetEnv(tc.caller, false), append(slices.Clone(tc.kept), confinedTail...); !slices.Equal(got, want) {
				t.Errorf("confined: %q, want %q", got, want)
			}
			want := append(slices.Clone(tc.kept), tc.classic...)
			got := policy.TargetEnv(tc.caller, true)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("classic: %q, want %q", got, want)
			}
		})
	}
}

func TestTargetEnvSetReplacesTheCallers(t *testing.T) {
	got := policy.TargetEnv([]string{"SNAP_COOKIE=forged", "HOME=/h"}, false, "SNAP_COOKIE=real")
	want := append([]string{"HOME=/h"}, append(slices.Clone(confinedTail), "SNAP_COOKIE=real")...)
	if !slices.Equal(got, want) {
		t.Fatalf("%q, want %q", got, want)
	}
}

func TestTargetEnvDoesNotChangeTheCallersSlice(t *testing.T) {
	caller := []string{"HOME=/h", "LD_PRELOAD=x"}
	policy.TargetEnv(caller, false)
	if !slices.Equal(caller, []string{"HOME=/h", "LD_PRELOAD=x"}) {
		t.Fatal("the caller's slice changed")
	}
}

func TestEveryOperationHasAUniqueName(t *testing.T) {
	seen := map[string]bool{}
	for op, spec := range policy.Ops {
		if spec.Name == "" || seen[spec.Name] {
			t.Errorf("operation %d: name %q empty or repeated", op, spec.Name)
		}
		seen[spec.Name] = true
		if policy.Op(op).String() != spec.Name {
			t.Errorf("Op(%d).String() = %q", op, policy.Op(op).String())
		}
	}
	if policy.Op(-1).String() != "unknown operation" || policy.Op(len(policy.Ops)).String() != "unknown operation" {
		t.Error("an operation outside the table has a name")
	}
}
