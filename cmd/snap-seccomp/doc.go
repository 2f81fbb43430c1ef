// SPDX-License-Identifier: GPL-3.0-only

// Command snap-seccomp compiles snapd's seccomp profiles into the BPF
// programs the launcher loads. It is command-line compatible with snapd's:
//
//	snap-seccomp compile SRC OUT           compile profile SRC into OUT (.bin2)
//	snap-seccomp compile --legacy SRC OUT  the same, in snapd 2.57's .bin format
//	snap-seccomp version-info              print what snapd keys recompilation on
//	snap-seccomp library-version           print libseccomp's version
//
// OUT is replaced atomically (a temporary file in the same directory, then
// rename), mode 0644, so a launcher never reads a half-written file. Plain
// compile writes what snapd ≥ 2.64 writes: the .bin2 file with its header,
// allow program and deny program, or a bare header for an @unrestricted
// profile. --legacy writes what snapd ≤ 2.63 wrote: one raw program
// computing what the two compute together, or the text "@unrestricted"
// (see seccomp/compile).
//
// It runs at snap installation time, never on the launch path, and needs
// cgo and libseccomp; built without cgo it only says so.
package main
