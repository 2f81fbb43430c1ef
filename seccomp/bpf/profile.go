// SPDX-License-Identifier: GPL-3.0-only

package bpf

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// Profile is what the launcher loads for one app: nothing when
// Unrestricted, else Programs in load order.
type Profile struct {
	Unrestricted bool
	Programs     [][]unix.SockFilter
}

// The .bin2 format of snapd ≥ 2.64 (snap-seccomp writes it, snap-confine
// reads it): a header in host byte order,
//
//	offset  size
//	0       2    magic 'S', 'C'
//	2       1    version, 1
//	3       1    flags: Bin2Unrestricted, other bits unused
//	4       4    padding
//	8       4    length of the allow program in bytes
//	12      4    length of the deny program in bytes
//	16      112  reserved
//
// then the allow program, then the deny program, each raw as Parse reads
// it.
const (
	// Bin2HeaderSize is the size of the .bin2 header.
	Bin2HeaderSize = 128
	// MaxProgramSize is snap-confine's MAX_BPF_SIZE, the largest program
	// a .bin2 file may hold: MaxInstructions instructions.
	MaxProgramSize = 32 * 1024

	// Bin2Version is the header's version, Bin2Unrestricted its only
	// flag.
	Bin2Version      = 1
	Bin2Unrestricted = 0x1
)

// ParseBin2 reads a .bin2 file. It refuses exactly what snap-confine 2.77
// refuses, in the same order, so that a profile is judged the same
// whichever of the two loads it: the header is checked in full (magic,
// version, each length at most MaxProgramSize and a whole number of
// instructions, the file size the sum of the header and both lengths)
// before the unrestricted flag means anything. An unrestricted profile
// loads nothing, whatever programs it carries. Otherwise both programs
// must be there (snap-seccomp writes a deny program even for a profile
// without "~" rules, so an empty one means a broken file, not "deny
// nothing"), and each must pass Parse's checks.
//
// Programs is [deny, allow]: snap-confine loads the deny program first, so
// the kernel runs the allow program first and an EPERM of the allow
// program wins over an EACCES of the deny program with the same priority.
//
// Like snap-confine, ParseBin2 ignores the padding, the reserved bytes and
// the flags other than unrestricted, which version 1 gives no meaning.
// Errors are bare reasons without the file name, for the caller to wrap.
func ParseBin2(data []byte) (Profile, error) {
	if len(data) < Bin2HeaderSize {
		return Profile{}, fmt.Errorf("file is %d bytes, shorter than the %d-byte header", len(data), Bin2HeaderSize)
	}
	if data[0] != 'S' || data[1] != 'C' {
		return Profile{}, fmt.Errorf("bad magic %q", data[0:2])
	}
	if data[2] != Bin2Version {
		return Profile{}, fmt.Errorf("unsupported version %d", data[2])
	}
	allowLen := binary.NativeEndian.Uint32(data[8:12])
	denyLen := binary.NativeEndian.Uint32(data[12:16])
	for _, p := range []struct {
		what string
		len  uint32
	}{{"allow", allowLen}, {"deny", denyLen}} {
		if p.len > MaxProgramSize {
			return Profile{}, fmt.Errorf("%s program of %d bytes is over the limit of %d", p.what, p.len, MaxProgramSize)
		}
		if p.len%InstructionSize != 0 {
			return Profile{}, fmt.Errorf("%s program of %d bytes is not a whole number of %d-byte instructions", p.what, p.len, InstructionSize)
		}
	}
	// Both lengths are at most MaxProgramSize here: no overflow.
	if want := Bin2HeaderSize + int(allowLen) + int(denyLen); len(data) != want {
		return Profile{}, fmt.Errorf("file is %d bytes, header says %d", len(data), want)
	}
	if data[3]&Bin2Unrestricted != 0 {
		return Profile{Unrestricted: true}, nil
	}
	for _, p := range []struct {
		what string
		len  uint32
	}{{"allow", allowLen}, {"deny", denyLen}} {
		if p.len == 0 {
			return Profile{}, fmt.Errorf("%s program is empty, which only an unrestricted profile may be", p.what)
		}
	}
	allowData := data[Bin2HeaderSize : Bin2HeaderSize+allowLen]
	denyData := data[Bin2HeaderSize+allowLen:]
	allow, err := parseProgram(allowData)
	if err != nil {
		return Profile{}, fmt.Errorf("allow program: %w", err)
	}
	deny, err := parseProgram(denyData)
	if err != nil {
		return Profile{}, fmt.Errorf("deny program: %w", err)
	}
	return Profile{Programs: [][]unix.SockFilter{deny, allow}}, nil
}

// legacyUnrestricted is the whole .bin file snapd ≤ 2.63 wrote for an
// unrestricted profile instead of a program.
const legacyUnrestricted = "@unrestricted\n"

// ParseBin reads a .bin file of snapd ≤ 2.63: either exactly the text
// "@unrestricted\n" (load nothing) or one raw program, checked as Parse
// checks it. Errors are bare reasons without the file name.
func ParseBin(data []byte) (Profile, error) {
	if string(data) == legacyUnrestricted {
		return Profile{Unrestricted: true}, nil
	}
	prog, err := parseProgram(data)
	if err != nil {
		return Profile{}, err
	}
	return Profile{Programs: [][]unix.SockFilter{prog}}, nil
}
