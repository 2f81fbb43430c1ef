// Package bpf reads and installs the raw seccomp programs that snap-seccomp
// compiles from an app's profile
// (/var/lib/snapd/seccomp/bpf/<security-tag>.bin).
//
// Threat: a snap app asking the kernel for what its profile does not grant
// (TIOCSTI keystroke injection, setuid chmod, new user namespaces, ...).
// The filter is the kernel-enforced answer, and it only helps if exactly
// the compiled program ends up on every thread of the process that execs
// the app. So this package is the launcher's whole seccomp surface and is
// kept small: Parse turns the file into instructions and refuses anything
// that is not a whole, non-empty, kernel-sized program (a truncated or
// padded file is never handed to the kernel as some other program); Load
// makes one seccomp(2) call with SECCOMP_FILTER_FLAG_TSYNC and fails if any
// thread was left unfiltered.
//
// What the program says is libseccomp's business at build time; the kernel
// verifies the instructions when it loads them. Who may write the file is
// the caller's business: the launcher opens it without following symlinks
// and checks that root owns it and that nobody else can write to it before
// calling Parse.
//
// This package is linked into the static setuid launcher: it imports only
// the standard library and golang.org/x/sys/unix, and never cgo.
package bpf
