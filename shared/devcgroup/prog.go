// SPDX-License-Identifier: GPL-3.0-only

package devcgroup

import (
	"encoding/binary"
	"fmt"
)

// The BPF_PROG_TYPE_CGROUP_DEVICE program the launcher attaches to the app's
// cgroup, hand-assembled: it allows an access when the map (see Key) holds
// the device's exact (type, major, minor), or (type, major, MinorAny), and
// denies it otherwise, whatever the access (read, write, mknod). Its input
// is struct bpf_cgroup_dev_ctx {u32 access_type; u32 major; u32 minor} in
// r1, access_type being (access << 16) | device type, 1 block, 2 char.
//
// The key is built on the stack at fp-17: the type byte there puts major
// and minor at fp-16 and fp-12, where the verifier's alignment rule for the
// stack lets them be stored as 32-bit words.

// Instruction encodings used (linux/bpf.h, linux/bpf_common.h).
const (
	opLdxMemW           = 0x61 // BPF_LDX|BPF_MEM|BPF_W
	opStMemB            = 0x72 // BPF_ST|BPF_MEM|BPF_B
	opStMemW            = 0x62 // BPF_ST|BPF_MEM|BPF_W
	opStxMemW           = 0x63 // BPF_STX|BPF_MEM|BPF_W
	opAnd32K            = 0x54 // BPF_ALU|BPF_AND|BPF_K
	opAdd64K            = 0x07 // BPF_ALU64|BPF_ADD|BPF_K
	opMov64K            = 0xb7 // BPF_ALU64|BPF_MOV|BPF_K
	opMov64X            = 0xbf // BPF_ALU64|BPF_MOV|BPF_X
	opLdImm64           = 0x18 // BPF_LD|BPF_DW|BPF_IMM, two slots
	opJa                = 0x05 // BPF_JMP|BPF_JA
	opJeqK              = 0x15 // BPF_JMP|BPF_JEQ|BPF_K
	opJneK              = 0x55 // BPF_JMP|BPF_JNE|BPF_K
	opCall              = 0x85 // BPF_JMP|BPF_CALL
	opExit              = 0x95 // BPF_JMP|BPF_EXIT
	pseudoMapFD         = 1    // BPF_PSEUDO_MAP_FD
	helperMapLookupElem = 1
	devBlock            = 1 // BPF_DEVCG_DEV_BLOCK
	devChar             = 2 // BPF_DEVCG_DEV_CHAR
	r0, r1, r2, r3, fp  = 0, 1, 2, 3, 10
	keyOff              = -17
)

// insn is one instruction; jump targets are labels until assembled.
type insn struct {
	op       uint8
	dst, src uint8
	off      int16
	imm      int32
	target   string // jumps: the label jumped to
	label    string // a label naming this instruction
}

// DeviceProgram assembles the program for the map open as mapFD; the
// result is what BPF_PROG_LOAD takes (8 bytes an instruction).
func DeviceProgram(mapFD int) []byte {
	lookup := func() []insn {
		return []insn{
			{op: opLdImm64, dst: r1, src: pseudoMapFD, imm: int32(mapFD)},
			{},
			{op: opMov64X, dst: r2, src: fp},
			{op: opAdd64K, dst: r2, imm: keyOff},
			{op: opCall, imm: helperMapLookupElem},
			{op: opJneK, dst: r0, imm: 0, target: "allow"},
		}
	}
	prog := []insn{
		{op: opLdxMemW, dst: r2, src: r1, off: 0}, // access_type
		{op: opAnd32K, dst: r2, imm: 0xffff},      // its device type
		{op: opJeqK, dst: r2, imm: devBlock, target: "block"},
		{op: opJneK, dst: r2, imm: devChar, target: "deny"},
		{op: opStMemB, dst: fp, off: keyOff, imm: 'c'},
		{op: opJa, target: "numbers"},
		{op: opStMemB, dst: fp, off: keyOff, imm: 'b', label: "block"},
		{op: opLdxMemW, dst: r3, src: r1, off: 4, label: "numbers"}, // major
		{op: opStxMemW, dst: fp, src: r3, off: keyOff + 1},
		{op: opLdxMemW, dst: r3, src: r1, off: 8}, // minor
		{op: opStxMemW, dst: fp, src: r3, off: keyOff + 5},
	}
	prog = append(prog, lookup()...)
	prog = append(prog, insn{op: opStMemW, dst: fp, off: keyOff + 5, imm: -1}) // MinorAny
	prog = append(prog, lookup()...)
	prog = append(prog,
		insn{op: opMov64K, dst: r0, imm: 0, label: "deny"},
		insn{op: opExit},
		insn{op: opMov64K, dst: r0, imm: 1, label: "allow"},
		insn{op: opExit},
	)
	return assemble(prog)
}

// assemble resolves the labels and encodes the instructions in the host's
// byte order (the register byte as little-endian hosts lay it out).
func assemble(prog []insn) []byte {
	at := map[string]int{}
	for i, in := range prog {
		if in.label != "" {
			at[in.label] = i
		}
	}
	out := make([]byte, 0, 8*len(prog))
	for i, in := range prog {
		if in.target != "" {
			t, ok := at[in.target]
			if !ok {
				panic(fmt.Sprintf("internal error: no label %q", in.target))
			}
			in.off = int16(t - (i + 1))
		}
		out = append(out, in.op, in.dst&0xf|in.src<<4)
		out = binary.NativeEndian.AppendUint16(out, uint16(in.off))
		out = binary.NativeEndian.AppendUint32(out, uint32(in.imm))
	}
	return out
}
