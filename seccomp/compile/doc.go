// Package compile compiles snapd's seccomp profile source (what snapd's
// snap-seccomp reads, see profile.go) into one raw BPF program for
// seccomp/bpf to load (see compile.go and merge.go).
//
// It uses libseccomp through libseccomp-golang, so it needs cgo and
// Debian's libseccomp-dev to build; it runs at snap installation time in
// cmd/snap-seccomp and is never linked into the launcher. Parsing the
// source (profile.go, constants.go) and merging programs (merge.go) are
// pure Go and build everywhere; without cgo, Compile only reports that it
// cannot compile (nocgo.go).
//
// Threat: a profile that compiles to less than it says. Every line is
// checked, unknown names and out-of-range numbers are errors that name the
// line, and the result is checked against the kernel in the tests.
package compile
