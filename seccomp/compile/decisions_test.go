// SPDX-License-Identifier: GPL-3.0-only

//go:build cgo

package compile

import (
	"fmt"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/seccomp/bpf"
)

// decisionsProfile uses every form of the source format that snapd's
// default template uses. It is written for this test (a comment on each
// line of the input table says which rule decides).
const decisionsProfile = `
# plain names
read
getpid
uname
# a syscall of other architectures only, and one of no architecture
chown32
not_a_syscall_anywhere
# denials inside an allowed syscall: exact, and on the lower 32 bits
ioctl
~ioctl - TIOCSTI
~ioctl - 4294967295|TIOCLINUX
# a denial of a syscall nothing allows
~ptrace
# wildcards and symbolic constants
socket AF_UNIX - -
socket AF_NETLINK - NETLINK_ROUTE
socket AF_INET SOCK_STREAM
# not equal
setns - !CLONE_NEWUSER
# one-bit masks, allowed and denied
unshare
~unshare |CLONE_NEWUSER
mknodat - - |S_IFIFO
fchmodat
~fchmodat - - |S_ISUID
# comparisons
setpriority PRIO_PROCESS 0 >=10
setpriority PRIO_PROCESS 0 <2
getpriority >PRIO_PGRP
sched_setscheduler - <=2
prctl PR_CAP_AMBIENT PR_CAP_AMBIENT_IS_SET
prctl PR_SET_NAME
# ids, compared on their lower 32 bits
fchown - u:root g:root
setgid g:root
`

// Decisions, as the kernel's return values.
const (
	decAllow  = unix.SECCOMP_RET_ALLOW
	decLog    = unix.SECCOMP_RET_LOG
	decEPERM  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	decEACCES = unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES)
	decKill   = unix.SECCOMP_RET_KILL_THREAD
)

func decisionName(d uint32) string {
	switch d {
	case decAllow:
		return "ALLOW"
	case decLog:
		return "LOG"
	case decEPERM:
		return "EPERM"
	case decEACCES:
		return "EACCES"
	case decKill:
		return "KILL"
	}
	return fmt.Sprintf("%#x", d)
}

type decisionInput struct {
	name string
	data seccompData
	// want is the decision of decisionsProfile, complain that of
	// "@complain" plus decisionsProfile.
	want, complain uint32
}

const upper = 1 << 32

func amd64Call(nr int, args ...uint64) seccompData {
	d := seccompData{nr: int32(nr), arch: unix.AUDIT_ARCH_X86_64}
	copy(d.args[:], args)
	return d
}

func i386Call(nr int, args ...uint64) seccompData {
	d := amd64Call(nr, args...)
	d.arch = unix.AUDIT_ARCH_I386
	return d
}

// decisionInputs are amd64 syscalls (and i386 ones, the compat
// architecture snapd adds, and others). Where nothing in the profile
// allows a syscall, a "~" rule does not make it EACCES: the kernel runs
// the allow program first and keeps its EPERM on a tie of actions (both
// are ERRNO); in complain mode the logged default is weaker than ERRNO, so
// there the "~" rule's EACCES shows.
var decisionInputs = []decisionInput{
	{"read: a plain name", amd64Call(unix.SYS_READ, 0, 0, 0), decAllow, decAllow},
	{"getcwd: not listed", amd64Call(unix.SYS_GETCWD, 0, 0), decEPERM, decLog},
	{"a number no syscall has", amd64Call(999), decEPERM, decLog},
	{"chown on amd64: only chown32 is listed", amd64Call(unix.SYS_CHOWN, 0, 0, 0), decEPERM, decLog},
	{"ioctl TCGETS", amd64Call(unix.SYS_IOCTL, 0, unix.TCGETS), decAllow, decAllow},
	{"ioctl TIOCSTI: ~ exact", amd64Call(unix.SYS_IOCTL, 0, unix.TIOCSTI), decEACCES, decEACCES},
	{"ioctl TIOCSTI with upper bits: the exact ~ does not match", amd64Call(unix.SYS_IOCTL, 0, upper|unix.TIOCSTI), decAllow, decAllow},
	{"ioctl TIOCLINUX: ~ on 32 bits", amd64Call(unix.SYS_IOCTL, 0, unix.TIOCLINUX), decEACCES, decEACCES},
	{"ioctl TIOCLINUX with upper bits: ~ on 32 bits", amd64Call(unix.SYS_IOCTL, 0, upper|unix.TIOCLINUX), decEACCES, decEACCES},
	{"ptrace: ~ of a syscall nothing allows", amd64Call(unix.SYS_PTRACE, 0, 1), decEPERM, decEACCES},
	{"socket AF_UNIX, any type", amd64Call(unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_DGRAM, 0), decAllow, decAllow},
	{"socket AF_NETLINK NETLINK_ROUTE", amd64Call(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE), decAllow, decAllow},
	{"socket AF_NETLINK NETLINK_AUDIT", amd64Call(unix.SYS_SOCKET, unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_AUDIT), decEPERM, decLog},
	{"socket AF_INET SOCK_STREAM", amd64Call(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM, 0), decAllow, decAllow},
	{"socket AF_INET SOCK_DGRAM", amd64Call(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM, 0), decEPERM, decLog},
	{"socket AF_INET6", amd64Call(unix.SYS_SOCKET, unix.AF_INET6, unix.SOCK_STREAM, 0), decEPERM, decLog},
	{"setns CLONE_NEWNET: != CLONE_NEWUSER", amd64Call(unix.SYS_SETNS, 3, unix.CLONE_NEWNET), decAllow, decAllow},
	{"setns CLONE_NEWUSER", amd64Call(unix.SYS_SETNS, 3, unix.CLONE_NEWUSER), decEPERM, decLog},
	{"unshare CLONE_NEWNS", amd64Call(unix.SYS_UNSHARE, unix.CLONE_NEWNS), decAllow, decAllow},
	{"unshare CLONE_NEWUSER|CLONE_NEWNS: ~ on a bit", amd64Call(unix.SYS_UNSHARE, unix.CLONE_NEWUSER|unix.CLONE_NEWNS), decEACCES, decEACCES},
	{"mknodat S_IFIFO", amd64Call(unix.SYS_MKNODAT, unix.AT_FDCWD&0xffffffff, 0, unix.S_IFIFO|0o644), decAllow, decAllow},
	{"mknodat S_IFREG", amd64Call(unix.SYS_MKNODAT, unix.AT_FDCWD&0xffffffff, 0, unix.S_IFREG|0o644), decEPERM, decLog},
	{"mknodat S_IFBLK", amd64Call(unix.SYS_MKNODAT, unix.AT_FDCWD&0xffffffff, 0, unix.S_IFBLK|0o644), decEPERM, decLog},
	{"fchmodat 0755", amd64Call(unix.SYS_FCHMODAT, 0, 0, 0o755), decAllow, decAllow},
	{"fchmodat 04755: ~ on a bit", amd64Call(unix.SYS_FCHMODAT, 0, 0, 0o4755), decEACCES, decEACCES},
	{"setpriority 10: >=10", amd64Call(unix.SYS_SETPRIORITY, unix.PRIO_PROCESS, 0, 10), decAllow, decAllow},
	{"setpriority 9", amd64Call(unix.SYS_SETPRIORITY, unix.PRIO_PROCESS, 0, 9), decEPERM, decLog},
	{"setpriority 1: <2", amd64Call(unix.SYS_SETPRIORITY, unix.PRIO_PROCESS, 0, 1), decAllow, decAllow},
	{"setpriority 2", amd64Call(unix.SYS_SETPRIORITY, unix.PRIO_PROCESS, 0, 2), decEPERM, decLog},
	{"setpriority PRIO_USER", amd64Call(unix.SYS_SETPRIORITY, unix.PRIO_USER, 0, 10), decEPERM, decLog},
	{"getpriority PRIO_USER: >PRIO_PGRP", amd64Call(unix.SYS_GETPRIORITY, unix.PRIO_USER, 0), decAllow, decAllow},
	{"getpriority PRIO_PGRP", amd64Call(unix.SYS_GETPRIORITY, unix.PRIO_PGRP, 0), decEPERM, decLog},
	{"sched_setscheduler 2: <=2", amd64Call(unix.SYS_SCHED_SETSCHEDULER, 0, 2, 0), decAllow, decAllow},
	{"sched_setscheduler 3", amd64Call(unix.SYS_SCHED_SETSCHEDULER, 0, 3, 0), decEPERM, decLog},
	{"prctl PR_CAP_AMBIENT IS_SET", amd64Call(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_IS_SET), decAllow, decAllow},
	{"prctl PR_CAP_AMBIENT RAISE", amd64Call(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE), decEPERM, decLog},
	{"prctl PR_SET_NAME", amd64Call(unix.SYS_PRCTL, unix.PR_SET_NAME, 0), decAllow, decAllow},
	{"fchown root root", amd64Call(unix.SYS_FCHOWN, 3, 0, 0), decAllow, decAllow},
	{"fchown root root, upper bits set", amd64Call(unix.SYS_FCHOWN, 3, upper, 0xffffffff00000000), decAllow, decAllow},
	{"fchown 1000 root", amd64Call(unix.SYS_FCHOWN, 3, 1000, 0), decEPERM, decLog},
	{"setgid root", amd64Call(unix.SYS_SETGID, 0), decAllow, decAllow},
	{"setgid 1", amd64Call(unix.SYS_SETGID, 1), decEPERM, decLog},
	// i386: numbers of arch/x86/entry/syscalls/syscall_32.tbl.
	{"i386 uname", i386Call(122), decAllow, decAllow},
	{"i386 getcwd", i386Call(183), decEPERM, decLog},
	{"i386 chown32: known there", i386Call(212, 0, 0, 0), decAllow, decAllow},
	{"i386 ioctl TIOCSTI", i386Call(54, 0, unix.TIOCSTI), decEACCES, decEACCES},
	{"i386 ioctl TCGETS", i386Call(54, 0, unix.TCGETS), decAllow, decAllow},
	// Architectures the filters do not cover are killed.
	{"aarch64 read", seccompData{nr: 63, arch: unix.AUDIT_ARCH_AARCH64}, decKill, decKill},
	{"x32 read", amd64Call(unix.SYS_READ | 0x40000000), decKill, decKill},
}

// TestDecisionsOfBothFormats runs the compiled .bin2 pair and the legacy
// merged program through runBPF on every input and checks each decision
// against the profile's semantics.
func TestDecisionsOfBothFormats(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the inputs are amd64 and i386 syscalls")
	}
	for _, profile := range []struct {
		name, src string
		complain  bool
	}{
		{"strict", decisionsProfile, false},
		{"complain", "@complain\n" + decisionsProfile, true},
	} {
		for _, format := range formats {
			t.Run(profile.name+"/"+format.name, func(t *testing.T) {
				p := format.compile(t, profile.src)
				wantPrograms := 2
				if format.name == "legacy" {
					wantPrograms = 1
				}
				if p.Unrestricted || len(p.Programs) != wantPrograms {
					t.Fatalf("got %d programs (unrestricted %v), want %d", len(p.Programs), p.Unrestricted, wantPrograms)
				}
				checkDecisions(t, p, profile.complain)
			})
		}
	}
	for _, format := range formats {
		t.Run("unrestricted/"+format.name, func(t *testing.T) {
			p := format.compile(t, "@unrestricted\n"+decisionsProfile)
			if !p.Unrestricted || p.Programs != nil {
				t.Fatalf("got %+v, want unrestricted", p)
			}
		})
	}
}

func checkDecisions(t *testing.T, p bpf.Profile, complain bool) {
	t.Helper()
	for _, in := range decisionInputs {
		got, err := runFilters(p.Programs, in.data)
		if err != nil {
			t.Fatalf("%s: %v", in.name, err)
		}
		want := in.want
		if complain {
			want = in.complain
		}
		if got != want {
			t.Errorf("%s: %s, want %s", in.name, decisionName(got), decisionName(want))
		}
	}
}
