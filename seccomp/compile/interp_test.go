// SPDX-License-Identifier: GPL-3.0-only

package compile

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// seccompData is struct seccomp_data, what a seccomp program reads.
type seccompData struct {
	nr   int32
	arch uint32
	ip   uint64
	args [6]uint64
}

// bytes lays d out as the kernel does: host byte order, 64 bytes.
func (d seccompData) bytes() []byte {
	b := make([]byte, 0, 64)
	b = binary.NativeEndian.AppendUint32(b, uint32(d.nr))
	b = binary.NativeEndian.AppendUint32(b, d.arch)
	b = binary.NativeEndian.AppendUint64(b, d.ip)
	for _, a := range d.args {
		b = binary.NativeEndian.AppendUint64(b, a)
	}
	return b
}

// runBPF runs prog on d as the kernel runs a classic seccomp program, and
// returns what it returns. It takes what the kernel's seccomp_check_filter
// accepts and fails on anything else (and on what the kernel's checker
// would have refused at load time: a jump out of the program, a read of
// scratch memory not yet written, falling off the end), so a test can
// tell a wrong program from a wrong model.
func runBPF(prog []unix.SockFilter, d seccompData) (uint32, error) {
	data := d.bytes()
	var a, x uint32
	var mem [16]uint32
	var written [16]bool
	for pc := 0; pc < len(prog); pc++ {
		insn := prog[pc]
		k := insn.K
		switch insn.Code & 0x07 {
		case unix.BPF_LD, unix.BPF_LDX:
			var v uint32
			switch mode := insn.Code &^ 0x07; mode {
			case unix.BPF_W | unix.BPF_ABS:
				if insn.Code&0x07 != unix.BPF_LD || k%4 != 0 || k+4 > uint32(len(data)) {
					return 0, fmt.Errorf("instruction %d: bad load %#x of offset %d", pc, insn.Code, k)
				}
				v = binary.NativeEndian.Uint32(data[k:])
			case unix.BPF_W | unix.BPF_LEN:
				v = uint32(len(data))
			case unix.BPF_IMM:
				v = k
			case unix.BPF_MEM:
				if k >= 16 || !written[k] {
					return 0, fmt.Errorf("instruction %d: read of scratch memory %d before it is written", pc, k)
				}
				v = mem[k]
			default:
				return 0, fmt.Errorf("instruction %d: unsupported load %#x", pc, insn.Code)
			}
			if insn.Code&0x07 == unix.BPF_LD {
				a = v
			} else {
				x = v
			}
		case unix.BPF_ST, unix.BPF_STX:
			if insn.Code&^0x07 != 0 || k >= 16 {
				return 0, fmt.Errorf("instruction %d: bad store %#x to %d", pc, insn.Code, k)
			}
			mem[k], written[k] = a, true
			if insn.Code&0x07 == unix.BPF_STX {
				mem[k] = x
			}
		case unix.BPF_ALU:
			src := k
			if insn.Code&unix.BPF_X != 0 {
				src = x
			}
			switch insn.Code & 0xf0 {
			case unix.BPF_ADD:
				a += src
			case unix.BPF_SUB:
				a -= src
			case unix.BPF_MUL:
				a *= src
			case unix.BPF_DIV, unix.BPF_MOD:
				if src == 0 {
					// The kernel ends the program with 0 (KILL).
					return 0, nil
				}
				if insn.Code&0xf0 == unix.BPF_DIV {
					a /= src
				} else {
					a %= src
				}
			case unix.BPF_OR:
				a |= src
			case unix.BPF_AND:
				a &= src
			case unix.BPF_XOR:
				a ^= src
			case unix.BPF_LSH:
				a <<= src & 31
			case unix.BPF_RSH:
				a >>= src & 31
			case unix.BPF_NEG:
				a = -a
			default:
				return 0, fmt.Errorf("instruction %d: unsupported ALU operation %#x", pc, insn.Code)
			}
		case unix.BPF_JMP:
			var next int
			if insn.Code&0xf0 == unix.BPF_JA {
				next = pc + 1 + int(k)
			} else {
				src := k
				if insn.Code&unix.BPF_X != 0 {
					src = x
				}
				var taken bool
				switch insn.Code & 0xf0 {
				case unix.BPF_JEQ:
					taken = a == src
				case unix.BPF_JGT:
					taken = a > src
				case unix.BPF_JGE:
					taken = a >= src
				case unix.BPF_JSET:
					taken = a&src != 0
				default:
					return 0, fmt.Errorf("instruction %d: unsupported jump %#x", pc, insn.Code)
				}
				next = pc + 1 + int(insn.Jf)
				if taken {
					next = pc + 1 + int(insn.Jt)
				}
			}
			if next >= len(prog) {
				return 0, fmt.Errorf("instruction %d: jump out of the program", pc)
			}
			pc = next - 1
		case unix.BPF_RET:
			switch insn.Code {
			case unix.BPF_RET | unix.BPF_K:
				return k, nil
			case unix.BPF_RET | unix.BPF_A:
				return a, nil
			}
			return 0, fmt.Errorf("instruction %d: unsupported return %#x", pc, insn.Code)
		case unix.BPF_MISC:
			switch insn.Code {
			case unix.BPF_MISC | unix.BPF_TAX:
				x = a
			case unix.BPF_MISC | unix.BPF_TXA:
				a = x
			default:
				return 0, fmt.Errorf("instruction %d: unsupported %#x", pc, insn.Code)
			}
		}
	}
	return 0, fmt.Errorf("the program runs off its end")
}

// runFilters is what the kernel decides with filters loaded in that
// order: it runs the newest first and keeps the most restrictive result
// (see kernelKeeps). No filter at all allows.
func runFilters(loadOrder [][]unix.SockFilter, d seccompData) (uint32, error) {
	result := uint32(unix.SECCOMP_RET_ALLOW)
	for i := len(loadOrder) - 1; i >= 0; i-- {
		r, err := runBPF(loadOrder[i], d)
		if err != nil {
			return 0, err
		}
		if i == len(loadOrder)-1 {
			result = r
		} else {
			result = kernelKeeps(result, r)
		}
	}
	return result, nil
}
