// SPDX-License-Identifier: GPL-3.0-only

package compile

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func ldNr() unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}
}

func jeq(k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: jt, Jf: jf, K: k}
}

func ret(k uint32) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k}
}

func ja(k uint32) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JA, K: k}
}

var resetRegisters = []unix.SockFilter{
	{Code: unix.BPF_LD | unix.BPF_IMM},
	{Code: unix.BPF_LDX | unix.BPF_IMM},
}

const (
	retAllow    = unix.SECCOMP_RET_ALLOW
	retLog      = unix.SECCOMP_RET_LOG
	retEPERM    = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retEACCES   = unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES)
	retKill     = unix.SECCOMP_RET_KILL_THREAD
	retKillProc = unix.SECCOMP_RET_KILL_PROCESS
)

func concat(parts ...[]unix.SockFilter) []unix.SockFilter {
	var out []unix.SockFilter
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestMerge(t *testing.T) {
	// allow: nr 1 is allowed, everything else EPERM.
	allow := []unix.SockFilter{ldNr(), jeq(1, 0, 1), ret(retAllow), ret(retEPERM)}
	// deny: nr 1 and 2 EACCES, everything else allowed.
	deny := []unix.SockFilter{ldNr(), jeq(1, 1, 0), jeq(2, 0, 1), ret(retEACCES), ret(retAllow)}
	// complain: nr 1 allowed, everything else logged.
	complain := []unix.SockFilter{ldNr(), jeq(1, 0, 1), ret(retAllow), ret(retLog)}

	for _, tc := range []struct {
		name        string
		allow, deny []unix.SockFilter
		want        []unix.SockFilter
	}{
		{
			name:  "no denials: the allow program alone",
			allow: allow,
			want:  allow,
		},
		{
			name:  "allowed results go through the denials",
			allow: allow, deny: deny,
			want: concat(
				[]unix.SockFilter{ldNr(), jeq(1, 0, 1), ja(1), ret(retEPERM)},
				resetRegisters, deny),
		},
		{
			name:  "complain: one copy for allowed, one for logged",
			allow: complain, deny: deny,
			want: concat(
				// The second jump (at 3) skips the first copy (4 to 10).
				[]unix.SockFilter{ldNr(), jeq(1, 0, 1), ja(1), ja(7)},
				resetRegisters, deny,
				resetRegisters, []unix.SockFilter{ldNr(), jeq(1, 1, 0), jeq(2, 0, 1), ret(retEACCES), ret(retLog)}),
		},
		{
			name:  "a deny program that never denies changes nothing",
			allow: allow, deny: []unix.SockFilter{ret(retAllow)},
			want: allow,
		},
		{
			name:  "results the denials cannot override are kept",
			allow: []unix.SockFilter{ldNr(), jeq(1, 0, 1), ret(retKill), ret(retEPERM)},
			deny:  deny,
			want:  []unix.SockFilter{ldNr(), jeq(1, 0, 1), ret(retKill), ret(retEPERM)},
		},
		{
			name:  "a stronger result of the deny program wins over a weaker denial",
			allow: []unix.SockFilter{ldNr(), jeq(1, 0, 1), ret(retAllow), ret(retEPERM)},
			deny:  []unix.SockFilter{ldNr(), jeq(1, 0, 1), ret(retKillProc), ret(retAllow)},
			want: concat(
				[]unix.SockFilter{ldNr(), jeq(1, 0, 1), ja(1), ja(6)},
				resetRegisters, []unix.SockFilter{ldNr(), jeq(1, 0, 1), ret(retKillProc), ret(retAllow)},
				resetRegisters, []unix.SockFilter{ldNr(), jeq(1, 0, 1), ret(retKillProc), ret(retEPERM)}),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := merge(tc.allow, tc.deny)
			if err != nil {
				t.Fatalf("merge: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("merge:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestMergeRefuses(t *testing.T) {
	retA := unix.SockFilter{Code: unix.BPF_RET | unix.BPF_A}
	bigAllow := append(make([]unix.SockFilter, 3000), ret(retAllow))
	bigDeny := append(make([]unix.SockFilter, 3000), ret(retEACCES))
	for _, tc := range []struct {
		name        string
		allow, deny []unix.SockFilter
		want        string
	}{
		{"computed return in allow", []unix.SockFilter{retA}, nil, "allow program: instruction 0 returns a computed value"},
		{"computed return in deny", []unix.SockFilter{ret(retAllow)}, []unix.SockFilter{ldNr(), retA}, "deny program: instruction 1 returns a computed value"},
		{"too long", bigAllow, bigDeny, "6004 instructions (3001 allow, 3001 deny), more than the kernel's limit of 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := merge(tc.allow, tc.deny)
			if err == nil || !strings.HasPrefix(err.Error(), "cannot merge seccomp programs: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("merge: got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestKernelKeeps(t *testing.T) {
	for _, tc := range []struct {
		newer, older, want uint32
	}{
		{retAllow, retAllow, retAllow},
		{retAllow, retEACCES, retEACCES},
		{retLog, retEACCES, retEACCES},
		{retLog, retAllow, retLog},
		{retAllow, retLog, retLog},
		// Same action: the newer filter's data (errno) is kept.
		{retEPERM, retEACCES, retEPERM},
		{retEACCES, retEPERM, retEACCES},
		{retEPERM, retKill, retKill},
		{retKill, retEPERM, retKill},
		// KILL_PROCESS is 0x80000000: lowest as a signed number.
		{retKill, retKillProc, retKillProc},
		{retKillProc, retAllow, retKillProc},
	} {
		if got := kernelKeeps(tc.newer, tc.older); got != tc.want {
			t.Errorf("kernelKeeps(%#x, %#x) = %#x, want %#x", tc.newer, tc.older, got, tc.want)
		}
	}
}
