// SPDX-License-Identifier: GPL-3.0-only

// Package nodump makes the privileged launcher non-dumpable
// (prctl(PR_SET_DUMPABLE, 0)) from its package initialiser, in every
// install and image: its caller keeps their real uid, and a dumpable
// process's /proc/<pid> files are its owner's (they could list its
// descriptors, write its oom_score_adj). The kernel does it for a setuid or
// a capability-raising exec, but not for the launcher's own re-execution
// (for a caller's Go runtime variable), a root caller's launcher, or after
// an exec reset it; so every image sets it here.
//
// It is the earliest Go code can act: package initialisers run after the
// runtime's start, each after those of the packages it imports, and among
// those ready at once in import-path order; this package imports syscall
// alone, so its initialiser runs right after syscall's. tools/closedset
// allows this one state-changing call here: it needs no capability and
// only takes away.
package nodump

import "syscall"

// Err is what prctl said when it failed; the launcher refuses to go on
// then (launcher.Main).
var Err error

func init() {
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 0, 0); e != 0 {
		Err = e
	}
}
