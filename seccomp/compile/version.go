// SPDX-License-Identifier: GPL-3.0-only

//go:build cgo

package compile

import (
	"crypto/sha256"
	"fmt"
	"sort"

	seccomp "github.com/seccomp/libseccomp-golang"
)

// LibraryVersion is the version of the libseccomp this compiler runs with,
// "major.minor.micro".
func LibraryVersion() string {
	major, minor, micro := seccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", major, minor, micro)
}

// VersionInfo is what `snap-seccomp version-info` prints, in snapd's format
//
//	<build-id> <libseccomp-version> <syscalls-hash> <features>
//
// snapd keeps it in its system key and recompiles every profile when it
// changes, so it must change whenever the same profile could compile to a
// different program: another compiler binary (buildID, hex), another
// libseccomp, a libseccomp that knows other syscalls (distributions patch
// them in without a version change), or a kernel that can or cannot log
// (the "bpf-actlog" feature, which snapd also reads to choose between
// @complain and @unrestricted for devmode snaps).
func VersionInfo(buildID string) string {
	features := "-"
	if complainAction() == seccomp.ActLog {
		features = "bpf-actlog"
	}
	return fmt.Sprintf("%s %s %x %s", buildID, LibraryVersion(), syscallsDigest(), features)
}

// maxSyscallNumber bounds the syscall numbers syscallsDigest asks about. It
// covers every architecture's table, including MIPS's (4000 to 6500);
// ARM's private syscalls (0x0f0000 and up) are left out.
const maxSyscallNumber = 8192

// syscallsDigest is a SHA-256 of the sorted names libseccomp knows for the
// architectures the compiled programs cover. snapd hashes the names of its
// own list that libseccomp resolves; asking libseccomp for its names by
// number needs no list to keep up to date.
func syscallsDigest() []byte {
	arches := []seccomp.ScmpArch{}
	if native, err := seccomp.GetNativeArch(); err == nil {
		arches = append(arches, native)
	}
	if arch, ok := secondaryArch(); ok {
		arches = append(arches, arch)
	}
	h := sha256.New()
	for _, arch := range arches {
		var names []string
		for nr := range maxSyscallNumber {
			if name, err := seccomp.ScmpSyscall(nr).GetNameByArch(arch); err == nil {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		fmt.Fprintf(h, "%s\n", arch)
		for _, name := range names {
			fmt.Fprintf(h, "%s\n", name)
		}
	}
	return h.Sum(nil)
}
