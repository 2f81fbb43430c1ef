// Package seccomp groups the two halves of the app's seccomp filter, which
// never meet in one binary:
//
//   - seccomp/compile (cgo, libseccomp-golang; used by cmd/snap-seccomp at
//     snap installation time, never linked into the launcher) compiles a
//     snapd-style app profile into one raw BPF program, which snapd keeps
//     in /var/lib/snapd/seccomp/bpf/<security-tag>.bin;
//   - seccomp/bpf (pure Go, stdlib and x/sys/unix only; linked into the
//     static setuid launcher) reads that file and installs the program on
//     every thread with seccomp(2) and TSYNC.
//
// A filter survives exec and binds the app, so the launcher loads only the
// app's own program, last, right before the exec, and no filter of its own.
package seccomp
