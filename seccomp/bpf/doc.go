// SPDX-License-Identifier: GPL-3.0-only

// Package bpf reads and installs the seccomp programs that snap-seccomp
// compiles from an app's profile, in both of snapd's file formats:
// /var/lib/snapd/seccomp/bpf/<security-tag>.bin2 (snapd ≥ 2.64: a header,
// an allow program and a deny program; ParseBin2) and <security-tag>.bin
// (snapd ≤ 2.63: one raw program, or the text "@unrestricted"; ParseBin).
//
// Threat: a snap app asking the kernel for what its profile does not grant
// (TIOCSTI keystroke injection, setuid chmod, new user namespaces, ...).
// The filter is the kernel-enforced answer, and it only helps if exactly
// the compiled programs end up on the thread that execs the app. So this package is the launcher's whole seccomp surface and is
// kept small. The parsers refuse anything that is not whole: a truncated
// or padded file, a header whose lengths do not add up to the file, a
// program that is empty or longer than the kernel takes, is never handed
// to the kernel as some other program. ParseBin2 refuses what snap-confine
// refuses, in the same order, so a profile means the same under both, and
// returns the programs in snap-confine's load order. A Filter is a program
// made ready beforehand; its LoadOnThread makes one seccomp(2) call on the
// calling thread, allocating nothing, so that it can run after another
// filter that allows almost nothing (see load.go).
//
// What the programs say is libseccomp's business at build time; the kernel
// verifies the instructions when it loads them. Who may write the file is
// the caller's business: the launcher opens it without following symlinks
// and checks that root owns it and that nobody else can write to it before
// parsing it.
//
// This package is linked into the static setuid launcher: it imports only
// the standard library and golang.org/x/sys/unix, and never cgo.
package bpf
