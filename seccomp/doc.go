// SPDX-License-Identifier: GPL-3.0-only

// Package seccomp groups the two halves of the app's seccomp filter, which
// never meet in one binary:
//
//   - seccomp/compile (cgo, libseccomp-golang; used by cmd/snap-seccomp at
//     snap installation time, never linked into the launcher) compiles a
//     snapd-style app profile into the file snapd keeps in
//     /var/lib/snapd/seccomp/bpf/: <security-tag>.bin2 (an allow and a
//     deny program) as snapd ≥ 2.64 writes it, or <security-tag>.bin (one
//     program) as snapd ≤ 2.63 did;
//   - seccomp/bpf (pure Go, stdlib and x/sys/unix only; linked into the
//     static setuid launcher) reads either file and installs its programs
//     with seccomp(2) on the thread that execs the app.
//
// A filter survives exec and binds the app, so the launcher loads only the
// app's own programs, last, right before the exec, and no filter of its own.
package seccomp
