// SPDX-License-Identifier: GPL-3.0-only

package bpf

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// InstructionSize is the size of one struct sock_filter
// (u16 code, u8 jt, u8 jf, u32 k): the unit of a raw program on disk.
const InstructionSize = 8

// MaxInstructions is the kernel's BPF_MAXINSNS: a longer classic BPF program
// is refused by seccomp(2) with EINVAL, so Parse refuses it first with an
// error that says why.
const MaxInstructions = 4096

// Parse decodes a raw seccomp program as libseccomp's seccomp_export_bpf
// writes it: an array of struct sock_filter in host byte order, nothing
// else. It refuses an empty program (the kernel would refuse it too, and an
// empty file more likely means a failed compile than "allow everything"), a
// length that is not a whole number of instructions (a truncated file), and
// more than MaxInstructions instructions. It does not judge the
// instructions: the kernel verifies them when Load installs them.
func Parse(data []byte) ([]unix.SockFilter, error) {
	prog, err := parseProgram(data)
	if err != nil {
		return nil, fmt.Errorf("cannot parse seccomp program: %w", err)
	}
	return prog, nil
}

// parseProgram is Parse with bare reasons, for the file formats that say
// which program of the file is at fault themselves.
func parseProgram(data []byte) ([]unix.SockFilter, error) {
	switch {
	case len(data) == 0:
		return nil, fmt.Errorf("empty")
	case len(data)%InstructionSize != 0:
		return nil, fmt.Errorf("length %d is not a multiple of %d", len(data), InstructionSize)
	case len(data)/InstructionSize > MaxInstructions:
		return nil, fmt.Errorf("%d instructions, more than the kernel's limit of %d", len(data)/InstructionSize, MaxInstructions)
	}
	prog := make([]unix.SockFilter, len(data)/InstructionSize)
	for i := range prog {
		insn := data[i*InstructionSize : (i+1)*InstructionSize]
		prog[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(insn[0:2]),
			Jt:   insn[2],
			Jf:   insn[3],
			K:    binary.NativeEndian.Uint32(insn[4:8]),
		}
	}
	return prog, nil
}
