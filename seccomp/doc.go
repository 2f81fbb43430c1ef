// Package seccomp will hold the compiler of snapd-style app seccomp profiles
// to raw BPF (libseccomp-golang, cgo, never linked into the launcher) and the
// pure-Go run-time loader of that BPF that the launcher applies last, right
// before the exec. It is empty until the privilege-model issue: the
// foundation launcher loads no filter, and must not load one of its own,
// since a filter survives exec and would bind the app.
package seccomp
