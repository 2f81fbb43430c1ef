// SPDX-License-Identifier: GPL-3.0-only

// Package encode writes seccomp programs as snapd's files hold them, the
// inverse of seccomp/bpf's parsers: for the compiler (snap-seccomp) and
// the tests. The launcher only reads them.
package encode

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/seccomp/bpf"
)

// Program is the on-disk form of prog, as bpf.Parse reads it.
func Program(prog []unix.SockFilter) []byte {
	return appendProgram(make([]byte, 0, len(prog)*bpf.InstructionSize), prog)
}

func appendProgram(data []byte, prog []unix.SockFilter) []byte {
	for _, insn := range prog {
		data = binary.NativeEndian.AppendUint16(data, insn.Code)
		data = append(data, insn.Jt, insn.Jf)
		data = binary.NativeEndian.AppendUint32(data, insn.K)
	}
	return data
}

// Bin2 is the .bin2 file holding allow and deny, with the unrestricted
// flag set if unrestricted (snap-seccomp then writes no programs: pass
// nil). It checks nothing; bpf.ParseBin2 does.
func Bin2(allow, deny []unix.SockFilter, unrestricted bool) []byte {
	data := make([]byte, bpf.Bin2HeaderSize, bpf.Bin2HeaderSize+(len(allow)+len(deny))*bpf.InstructionSize)
	data[0], data[1], data[2] = 'S', 'C', bpf.Bin2Version
	if unrestricted {
		data[3] = bpf.Bin2Unrestricted
	}
	binary.NativeEndian.PutUint32(data[8:12], uint32(len(allow)*bpf.InstructionSize))
	binary.NativeEndian.PutUint32(data[12:16], uint32(len(deny)*bpf.InstructionSize))
	data = appendProgram(data, allow)
	return appendProgram(data, deny)
}
