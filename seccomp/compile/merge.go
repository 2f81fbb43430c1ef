// SPDX-License-Identifier: GPL-3.0-only

package compile

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/seccomp/bpf"
)

// snapd compiles a profile into two filters and snap-confine loads both:
// first a "deny" filter (default allow, the "~name" rules return EACCES),
// then an "allow" filter (default EPERM, or log in complain mode; the other
// rules allow). For each syscall the kernel runs the newest filter first
// and keeps the result with the most restrictive action, the earlier one
// on a tie; so an explicit denial wins over any allow rule. The .bin file
// of snapd ≤ 2.63 holds one program per app, so for CompileLegacy merge
// builds one program that computes exactly what those two filters compute
// together:
//
//   - it runs the allow program as is;
//   - where the allow program would return a result that some result of
//     the deny program could override (ALLOW or LOG, in practice), it jumps
//     to a copy of the deny program instead, in which every return of a
//     deny result D becomes a return of whichever of D and the allow
//     result the kernel would have kept.
//
// Each copy starts with A = X = 0, as a freshly run filter does. The copy
// reads nothing the allow program left behind: seccomp programs only read
// the syscall's data and scratch memory they wrote themselves on the same
// path (the kernel checks that when it loads a program). Jumps inside the
// copy are relative and stay inside it.
//
// Copies are made only for the allow results that need one, so a profile
// without "~" rules compiles to the allow program alone.
func merge(allow, deny []unix.SockFilter) ([]unix.SockFilter, error) {
	if err := checkReturns(allow); err != nil {
		return nil, fmt.Errorf("cannot merge seccomp programs: allow program: %w", err)
	}
	if len(deny) == 0 {
		return allow, nil
	}
	if err := checkReturns(deny); err != nil {
		return nil, fmt.Errorf("cannot merge seccomp programs: deny program: %w", err)
	}

	// Which allow results can a deny result override?
	needsCopy := map[uint32]bool{}
	for _, a := range allow {
		if !isReturn(a) {
			continue
		}
		for _, d := range deny {
			if isReturn(d) && kernelKeeps(a.K, d.K) != a.K {
				needsCopy[a.K] = true
			}
		}
	}

	out := append([]unix.SockFilter(nil), allow...)
	copyStart := map[uint32]int{}
	// Copies are appended in the order the allow program first returns
	// each result, so that the output is deterministic.
	for _, a := range allow {
		if !isReturn(a) || !needsCopy[a.K] {
			continue
		}
		if _, done := copyStart[a.K]; done {
			continue
		}
		copyStart[a.K] = len(out)
		out = append(out,
			unix.SockFilter{Code: unix.BPF_LD | unix.BPF_IMM, K: 0},
			unix.SockFilter{Code: unix.BPF_LDX | unix.BPF_IMM, K: 0})
		for _, d := range deny {
			if isReturn(d) {
				d.K = kernelKeeps(a.K, d.K)
			}
			out = append(out, d)
		}
	}
	for i, a := range allow {
		if isReturn(a) && needsCopy[a.K] {
			// A jump always lands ahead: copies follow the allow program.
			out[i] = unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JA, K: uint32(copyStart[a.K] - (i + 1))}
		}
	}
	if len(out) > bpf.MaxInstructions {
		return nil, fmt.Errorf("cannot merge seccomp programs: %d instructions (%d allow, %d deny), more than the kernel's limit of %d", len(out), len(allow), len(deny), bpf.MaxInstructions)
	}
	return out, nil
}

func isReturn(insn unix.SockFilter) bool {
	return insn.Code&0x07 == unix.BPF_RET
}

// checkReturns makes sure every return of prog returns a constant, which
// is all libseccomp generates. A program returning the accumulator could
// not be merged by rewriting its returns.
func checkReturns(prog []unix.SockFilter) error {
	for i, insn := range prog {
		if isReturn(insn) && insn.Code != unix.BPF_RET|unix.BPF_K {
			return fmt.Errorf("instruction %d returns a computed value (code %#x)", i, insn.Code)
		}
	}
	return nil
}

// kernelKeeps is the result the kernel keeps when the newer filter returned
// newer and the older one older: the lower action, compared as a signed
// 32-bit number (so KILL_PROCESS, 0x80000000, is the lowest of all), and
// newer on a tie. This is kernel/seccomp.c's seccomp_run_filters.
func kernelKeeps(newer, older uint32) uint32 {
	if action(older) < action(newer) {
		return older
	}
	return newer
}

func action(ret uint32) int32 {
	return int32(ret & unix.SECCOMP_RET_ACTION_FULL)
}
