// SPDX-License-Identifier: GPL-3.0-only

// Package compile compiles snapd's seccomp profile source (what snapd's
// snap-seccomp reads, see profile.go) into the files seccomp/bpf reads:
// Compile writes snapd 2.64's .bin2 (the allow and deny programs as
// libseccomp exports them, side by side behind a header), CompileLegacy
// snapd 2.57's .bin (one program merging the two, see merge.go).
//
// It uses libseccomp through libseccomp-golang, so it needs cgo and
// Debian's libseccomp-dev to build; it runs at snap installation time in
// cmd/snap-seccomp and is never linked into the launcher. Parsing the
// source (profile.go, constants.go) and merging programs (merge.go) are
// pure Go and build everywhere; without cgo, Compile and CompileLegacy
// only report that they cannot compile (nocgo.go).
//
// Threat: a profile that compiles to less than it says. Every line is
// checked, unknown names and out-of-range numbers are errors that name the
// line, and the result is checked against the kernel in the tests, in both
// formats.
package compile
