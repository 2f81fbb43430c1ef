// SPDX-License-Identifier: GPL-3.0-only

//go:build cgo

package compile

import (
	"fmt"
	"io"
	"os"

	seccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/seccomp/bpf"
	"github.com/snapns/snapns/seccomp/encode"
)

// The errnos snapd's programs return: EPERM for what the profile does not
// mention, EACCES for what a "~" rule denies, so that a denial can be told
// apart in an strace.
var (
	actImplicitDeny = seccomp.ActErrno.SetReturnCode(int16(unix.EPERM))
	actExplicitDeny = seccomp.ActErrno.SetReturnCode(int16(unix.EACCES))
)

// Compile compiles the profile src (snapd's snap-seccomp source format, see
// profile.go) into the .bin2 file snapd ≥ 2.64 writes and the launcher
// reads with bpf.ParseBin2: the allow program and the deny program as
// libseccomp exports them, or for an @unrestricted profile a bare header
// with the unrestricted flag. Nothing is written if it fails. Errors are
// one line, start with "cannot" and name the profile line at fault.
func Compile(src []byte, out io.Writer) error {
	p, err := parseProfile(src)
	if err != nil {
		return err
	}
	var data []byte
	if p.unrestricted {
		data = encode.Bin2(nil, nil, true)
	} else {
		f, err := compileFilters(p)
		if err != nil {
			return err
		}
		data = encode.Bin2(f.allow, f.deny, false)
	}
	if _, err := out.Write(data); err != nil {
		return fmt.Errorf("cannot write seccomp program: %w", err)
	}
	return nil
}

// legacyUnrestricted is what snapd ≤ 2.63 wrote as the whole .bin file of
// an unrestricted profile.
const legacyUnrestricted = "@unrestricted\n"

// CompileLegacy compiles src into the .bin file of snapd ≤ 2.63, which
// bpf.ParseBin reads: one raw program that decides what the .bin2 pair
// decides (see merge.go), or the text "@unrestricted\n" for an
// @unrestricted profile. Otherwise it is Compile.
func CompileLegacy(src []byte, out io.Writer) error {
	p, err := parseProfile(src)
	if err != nil {
		return err
	}
	data := []byte(legacyUnrestricted)
	if !p.unrestricted {
		f, err := compileFilters(p)
		if err != nil {
			return err
		}
		deny := f.deny
		if f.denials == 0 {
			// Nothing for the copies of the deny program to decide: keep
			// the program as small as snapd 2.57's, the allow one alone.
			deny = nil
		}
		prog, err := merge(f.allow, deny)
		if err != nil {
			return err
		}
		data = encode.Program(prog)
	}
	if _, err := out.Write(data); err != nil {
		return fmt.Errorf("cannot write seccomp program: %w", err)
	}
	return nil
}

// filters are the two programs of a profile, and how many "~" rules made
// it into the deny program (those of syscalls libseccomp does not know are
// skipped).
type filters struct {
	allow, deny []unix.SockFilter
	denials     int
}

// compileFilters compiles p into the two programs snapd writes: the allow
// program (default EPERM, or the complain action) and the deny program
// (default allow, "~" rules return EACCES). The deny program is there even
// without "~" rules, as snapd writes it: snap-confine refuses a .bin2 file
// with an empty one.
func compileFilters(p *profile) (filters, error) {
	defaultAction := actImplicitDeny
	if p.complain {
		defaultAction = complainAction()
	}
	allowFilter, err := newFilter(defaultAction)
	if err != nil {
		return filters{}, err
	}
	defer allowFilter.Release()
	// The deny filter keeps libseccomp's bad-architecture action (kill),
	// as snapd's does: in the .bin2 file it is a filter of its own, and on
	// its own it must not let a syscall of a foreign architecture through.
	denyFilter, err := newFilter(seccomp.ActAllow)
	if err != nil {
		return filters{}, err
	}
	defer denyFilter.Release()

	var f filters
	for _, r := range p.rules {
		switch {
		case r.deny:
			added, err := addRule(denyFilter, r, actExplicitDeny)
			if err != nil {
				return filters{}, err
			}
			if added {
				f.denials++
			}
		case defaultAction == seccomp.ActAllow:
			// complain mode without kernel support for logging: everything
			// is allowed already (libseccomp refuses a rule whose action is
			// the default one); only the denials still matter.
		default:
			if _, err := addRule(allowFilter, r, seccomp.ActAllow); err != nil {
				return filters{}, err
			}
		}
	}

	if f.allow, err = export(allowFilter); err != nil {
		return filters{}, err
	}
	if f.deny, err = export(denyFilter); err != nil {
		return filters{}, err
	}
	return f, nil
}

// complainAction is what @complain profiles do with syscalls they do not
// list: log and allow where the kernel can log (SECCOMP_RET_LOG, API level
// 3), allow otherwise, as snapd does.
func complainAction() seccomp.ScmpAction {
	if api, err := seccomp.GetAPI(); err == nil && api >= 3 {
		return seccomp.ActLog
	}
	return seccomp.ActAllow
}

// newFilter makes a filter for the native architecture and the other one
// this kernel runs programs of (see secondaryArch).
func newFilter(defaultAction seccomp.ScmpAction) (*seccomp.ScmpFilter, error) {
	f, err := seccomp.NewFilter(defaultAction)
	if err != nil {
		return nil, fmt.Errorf("cannot create seccomp filter: %w", err)
	}
	if arch, ok := secondaryArch(); ok {
		if err := f.AddArch(arch); err != nil {
			f.Release()
			return nil, fmt.Errorf("cannot add architecture %s to seccomp filter: %w", arch, err)
		}
	}
	return f, nil
}

// secondaryArch is the architecture snapd adds to the native one: the
// kernel's, when it differs from the userland's (a 64-bit kernel under a
// 32-bit userland), else the 32-bit compat architecture of amd64, arm64
// and ppc64, whose programs such kernels also run.
func secondaryArch() (seccomp.ScmpArch, bool) {
	native, err := seccomp.GetNativeArch()
	if err != nil {
		return seccomp.ArchInvalid, false
	}
	if kernel, ok := kernelArch(); ok && kernel != native {
		return kernel, true
	}
	switch native {
	case seccomp.ArchAMD64:
		return seccomp.ArchX86, true
	case seccomp.ArchARM64:
		return seccomp.ArchARM, true
	case seccomp.ArchPPC64:
		return seccomp.ArchPPC, true
	}
	return seccomp.ArchInvalid, false
}

func kernelArch() (seccomp.ScmpArch, bool) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return seccomp.ArchInvalid, false
	}
	switch unix.ByteSliceToString(u.Machine[:]) {
	case "x86_64":
		return seccomp.ArchAMD64, true
	case "i386", "i486", "i586", "i686":
		return seccomp.ArchX86, true
	case "aarch64":
		return seccomp.ArchARM64, true
	case "armv7l", "armv8l":
		return seccomp.ArchARM, true
	case "ppc64le":
		return seccomp.ArchPPC64LE, true
	case "ppc64":
		return seccomp.ArchPPC64, true
	case "s390x":
		return seccomp.ArchS390X, true
	case "riscv64":
		return seccomp.ArchRISCV64, true
	}
	return seccomp.ArchInvalid, false
}

// addRule adds r to f with action act. A syscall libseccomp does not know
// is skipped, as snapd does: profiles list syscalls of every architecture
// and kernel version, and one that does not exist here cannot be made.
func addRule(f *seccomp.ScmpFilter, r rule, act seccomp.ScmpAction) (added bool, err error) {
	nr, err := seccomp.GetSyscallFromName(r.syscall)
	if err != nil {
		return false, nil
	}
	conds := make([]seccomp.ScmpCondition, 0, len(r.conds))
	for _, c := range r.conds {
		var sc seccomp.ScmpCondition
		var err error
		if c.op == opMaskedEqual {
			sc, err = seccomp.MakeCondition(c.arg, seccomp.CompareMaskedEqual, c.mask, c.value)
		} else {
			sc, err = seccomp.MakeCondition(c.arg, scmpOps[c.op], c.value)
		}
		if err != nil {
			return false, fmt.Errorf("cannot compile seccomp profile: line %d: argument %d: %w", r.line, c.arg, err)
		}
		conds = append(conds, sc)
	}
	// The exact form (no per-architecture rewriting) where libseccomp can,
	// the general one otherwise (several architectures, multiplexed
	// syscalls such as socketcall), as snapd does.
	if err := f.AddRuleConditionalExact(nr, act, conds); err != nil {
		if err := f.AddRuleConditional(nr, act, conds); err != nil {
			return false, fmt.Errorf("cannot compile seccomp profile: line %d: cannot add rule for %s: %w", r.line, r.syscall, err)
		}
	}
	return true, nil
}

var scmpOps = map[compareOp]seccomp.ScmpCompareOp{
	opEqual:        seccomp.CompareEqual,
	opNotEqual:     seccomp.CompareNotEqual,
	opLess:         seccomp.CompareLess,
	opLessEqual:    seccomp.CompareLessOrEqual,
	opGreater:      seccomp.CompareGreater,
	opGreaterEqual: seccomp.CompareGreaterEqual,
}

// export returns f as a raw program. libseccomp 2.5 (Debian 12) can only
// export to a file descriptor, so it goes through an anonymous memory file.
func export(f *seccomp.ScmpFilter) ([]unix.SockFilter, error) {
	fd, err := unix.MemfdCreate("snap-seccomp", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("cannot export seccomp filter: %w", err)
	}
	file := os.NewFile(uintptr(fd), "memfd:snap-seccomp")
	defer file.Close()
	if err := f.ExportBPF(file); err != nil {
		return nil, fmt.Errorf("cannot export seccomp filter: %w", err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("cannot export seccomp filter: %w", err)
	}
	data, err := io.ReadAll(file)
	if err != nil {
		return nil, fmt.Errorf("cannot export seccomp filter: %w", err)
	}
	prog, err := bpf.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("cannot export seccomp filter: %w", err)
	}
	return prog, nil
}
