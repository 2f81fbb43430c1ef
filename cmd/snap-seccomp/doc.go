// Command snap-seccomp compiles snapd's seccomp profiles into the raw BPF
// programs the launcher loads. It is command-line compatible with snapd's:
//
//	snap-seccomp compile SRC OUT   compile profile SRC into OUT
//	snap-seccomp version-info      print what snapd keys recompilation on
//	snap-seccomp library-version   print libseccomp's version
//
// OUT is replaced atomically (a temporary file in the same directory, then
// rename), mode 0644, so a launcher never reads a half-written program.
// Unlike snapd's, OUT is one raw program (see seccomp/compile), not snapd's
// .bin2 file with its header and two programs.
//
// It runs at snap installation time, never on the launch path, and needs
// cgo and libseccomp; built without cgo it only says so.
package main
