// SPDX-License-Identifier: GPL-3.0-only

// Package bpf reads and installs the seccomp programs that snap-seccomp
// compiles from an app's profile, in both of snapd's file formats:
// /var/lib/snapd/seccomp/bpf/<security-tag>.bin2 (snapd ≥ 2.64: a header,
// an allow program and a deny program; ParseBin2) and <security-tag>.bin
// (snapd ≤ 2.63: one raw program, or the text "@unrestricted"; ParseBin).
//
// The filter is the kernel-enforced answer to an app asking for what its
// profile does not grant, and helps only if exactly the compiled programs
// end up on the thread that execs the app: the parsers refuse anything not
// whole (truncated, padded, lengths that do not add up, an empty or
// over-long program), ParseBin2 what snap-confine refuses, in its order,
// and a Filter is made ready beforehand so that LoadOnThread makes one
// seccomp(2) call, allocating nothing (load.go). Who may write the file is
// the caller's business (seccomp/profile). Linked into the static launcher:
// the standard library and golang.org/x/sys/unix only, never cgo.
package bpf
