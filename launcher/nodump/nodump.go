// SPDX-License-Identifier: GPL-3.0-only

// Package nodump makes the privileged launcher non-dumpable
// (prctl(PR_SET_DUMPABLE, 0)) from its package initialiser, in every
// install and in every image: its caller keeps their real uid, and a
// dumpable process's /proc/<pid> files are its owner's, so the caller
// could list its descriptors, write its oom_score_adj, and read more of it
// than SECURITY.md allows.
//
// The kernel makes a setuid exec non-dumpable by itself, and a
// file-capability exec that raises the permitted set; but not the
// launcher's own re-execution (launcher.go, for a caller who set a Go
// runtime variable), which keeps the permitted set it had, nor a root
// caller's launcher; and an exec resets what an earlier image set. So every
// image of every binary that links the launcher sets it here.
//
// Why here, and why it is the earliest Go code can act: the runtime starts
// first (its own initialisation, then GODEBUG and the rest read before any
// package's initialiser), then package initialisers run, each only after
// those of every package it imports, and, among packages ready at the same
// time, in import-path order (Go 1.21 and later). This package imports
// syscall alone, so its initialiser runs right after syscall's, before
// every other package of the launcher's and of the rest of the standard
// library that would sort after it: nothing but the runtime and the
// handful of packages syscall needs (internal/godebug, sync, errors, ...)
// runs before it. Making the syscall any earlier would take assembly for
// each architecture and still come after the runtime's start.
//
// prctl(PR_SET_DUMPABLE) is a state-changing syscall outside
// launcher/actions.go: tools/closedset allows it in this package only. It
// needs no capability and can only take away.
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
