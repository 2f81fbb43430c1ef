// SPDX-License-Identifier: GPL-3.0-only

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
		secure  []string // kept from the caller under AT_SECURE, confined and classic alike
		root    []string // kept without AT_SECURE (a root caller), confined and classic alike
		classic []string // extra kept for classic only (PATH, SHELL, TEMPDIR; TMPDIR when not secure)
	}{
		{"empty", nil, nil, nil, nil},
		{
			"the loader's unsecure variables are dropped under AT_SECURE only",
			[]string{"LD_PRELOAD=/tmp/evil.so", "LD_LIBRARY_PATH=/tmp", "LD_AUDIT=/tmp/a.so", "GCONV_PATH=/tmp", "MALLOC_CHECK_=3", "MALLOC_TRACE=/tmp/t", "NLSPATH=/tmp", "LOCPATH=/tmp", "HOSTALIASES=/tmp/h", "RES_OPTIONS=x", "TZDIR=/tmp"},
			nil,
			[]string{"LD_PRELOAD=/tmp/evil.so", "LD_LIBRARY_PATH=/tmp", "LD_AUDIT=/tmp/a.so", "GCONV_PATH=/tmp", "MALLOC_CHECK_=3", "MALLOC_TRACE=/tmp/t", "NLSPATH=/tmp", "LOCPATH=/tmp", "HOSTALIASES=/tmp/h", "RES_OPTIONS=x", "TZDIR=/tmp"},
			nil,
		},
		{
			"what the loader keeps under AT_SECURE passes",
			[]string{"LD_BIND_NOW=1", "LD_USE_LOAD_BIAS=1", "MALLOC_ARENA_MAX=2", "MALLOC_PERTURB_=1"},
			[]string{"LD_BIND_NOW=1", "LD_USE_LOAD_BIAS=1", "MALLOC_ARENA_MAX=2", "MALLOC_PERTURB_=1"},
			[]string{"LD_BIND_NOW=1", "LD_USE_LOAD_BIAS=1", "MALLOC_ARENA_MAX=2", "MALLOC_PERTURB_=1"},
			nil,
		},
		{
			"GLIBC_TUNABLES keeps only what the loader keeps under AT_SECURE",
			[]string{"GLIBC_TUNABLES=glibc.malloc.check=1:glibc.malloc.arena_max=2:bad:glibc.mem.tagging=1"},
			[]string{"GLIBC_TUNABLES=glibc.malloc.arena_max=2:glibc.mem.tagging=1"},
			[]string{"GLIBC_TUNABLES=glibc.malloc.check=1:glibc.malloc.arena_max=2:bad:glibc.mem.tagging=1"},
			nil,
		},
		{
			"the Go runtime's variables pass, also when saved across the launcher's re-execution",
			[]string{"GODEBUG=x=1", "SNAP_LAUNCH_SAVED_GOMAXPROCS=1", "GOGC=off", "SNAP_LAUNCH_SAVED_GOMEMLIMIT=1", "GOTRACEBACK=all", "SNAP_LAUNCH_SAVED_OTHER=1"},
			[]string{"GODEBUG=x=1", "GOMAXPROCS=1", "GOGC=off", "GOMEMLIMIT=1", "GOTRACEBACK=all", "SNAP_LAUNCH_SAVED_OTHER=1"},
			[]string{"GODEBUG=x=1", "GOMAXPROCS=1", "GOGC=off", "GOMEMLIMIT=1", "GOTRACEBACK=all", "SNAP_LAUNCH_SAVED_OTHER=1"},
			nil,
		},
		{
			"everything else is the caller's",
			[]string{"FOO=bar", "SNAP_NAME=foo", "SNAP_SAVED_LD_PRELOAD=x.so", "XDG_RUNTIME_DIR=/run/user/1000", "HOME=/home/u", "http_proxy=http://p", "GTK_IM_MODULE=ibus", "EDITOR=vi"},
			[]string{"FOO=bar", "SNAP_NAME=foo", "SNAP_SAVED_LD_PRELOAD=x.so", "XDG_RUNTIME_DIR=/run/user/1000", "HOME=/home/u", "http_proxy=http://p", "GTK_IM_MODULE=ibus", "EDITOR=vi"},
			[]string{"FOO=bar", "SNAP_NAME=foo", "SNAP_SAVED_LD_PRELOAD=x.so", "XDG_RUNTIME_DIR=/run/user/1000", "HOME=/home/u", "http_proxy=http://p", "GTK_IM_MODULE=ibus", "EDITOR=vi"},
			nil,
		},
		{
			"PATH, SHELL, TMPDIR and TEMPDIR are reset for confined snaps only",
			[]string{"PATH=/evil", "SHELL=/bin/zsh", "TMPDIR=/evil", "TEMPDIR=/evil"},
			nil,
			nil,
			[]string{"PATH=/evil", "SHELL=/bin/zsh", "TEMPDIR=/evil"},
		},
		{"the first of duplicates wins", []string{"HOME=/first", "HOME=/second"}, []string{"HOME=/first"}, []string{"HOME=/first"}, nil},
		{"entries without = or name are dropped", []string{"HOME", "=x", "LANG=C"}, []string{"LANG=C"}, []string{"LANG=C"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, secure := range []bool{true, false} {
				kept := tc.root
				if secure {
					kept = tc.secure
				}
				if got, want := policy.TargetEnv(tc.caller, secure, false), append(slices.Clone(kept), confinedTail...); !slices.Equal(got, want) {
					t.Errorf("confined, secure=%t: %q, want %q", secure, got, want)
				}
				want := append(slices.Clone(kept), tc.classic...)
				if !secure && slices.Contains(tc.caller, "TMPDIR=/evil") {
					want = append(want, "TMPDIR=/evil")
				}
				got := policy.TargetEnv(tc.caller, secure, true)
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("classic, secure=%t: %q, want %q", secure, got, want)
				}
			}
		})
	}
}

func TestTargetEnvSetReplacesTheCallers(t *testing.T) {
	got := policy.TargetEnv([]string{"SNAP_COOKIE=forged", "HOME=/h"}, true, false, "SNAP_COOKIE=real")
	want := append([]string{"HOME=/h"}, append(slices.Clone(confinedTail), "SNAP_COOKIE=real")...)
	if !slices.Equal(got, want) {
		t.Fatalf("%q, want %q", got, want)
	}
}

func TestTargetEnvDoesNotChangeTheCallersSlice(t *testing.T) {
	caller := []string{"HOME=/h", "LD_PRELOAD=x"}
	policy.TargetEnv(caller, true, false)
	if !slices.Equal(caller, []string{"HOME=/h", "LD_PRELOAD=x"}) {
		t.Fatal("the caller's slice changed")
	}
}

func TestSaveRuntimeEnv(t *testing.T) {
	for _, tc := range []struct {
		env, want []string
		found     bool
	}{
		{[]string{"HOME=/h"}, []string{"HOME=/h"}, false},
		{[]string{"GOGC=off", "HOME=/h", "SNAP_LAUNCH_SAVED_GOGC=forged", "GODEBUG=a=1"}, []string{"SNAP_LAUNCH_SAVED_GOGC=off", "HOME=/h", "SNAP_LAUNCH_SAVED_GODEBUG=a=1"}, true},
	} {
		got, found := policy.SaveRuntimeEnv(tc.env)
		if found != tc.found || !slices.Equal(got, tc.want) {
			t.Errorf("SaveRuntimeEnv(%q) = %q, %t; want %q, %t", tc.env, got, found, tc.want, tc.found)
		}
		// What the app finally gets is what the caller set.
		if tc.found && !slices.Contains(policy.TargetEnv(got, true, true), "GOGC=off") {
			t.Errorf("GOGC did not come back: %q", policy.TargetEnv(got, true, true))
		}
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
