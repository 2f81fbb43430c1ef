// SPDX-License-Identifier: GPL-3.0-only

package sandbox

import "encoding/binary"

// StaticELF wraps code in a minimal ELF64 executable: one read+execute
// PT_LOAD segment holding the headers and the code, entry at the code. The
// bench and the tests run such apps where a launch must measure or exercise
// the launcher and not the app (a profile that allows only write and
// exit_group, say).
func StaticELF(code []byte) []byte {
	const base = 0x400000
	const ehsize, phsize = 64, 56
	size := ehsize + phsize + len(code)
	le := binary.LittleEndian
	elf := make([]byte, ehsize+phsize)
	copy(elf, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1})
	le.PutUint16(elf[16:], 2)                  // ET_EXEC
	le.PutUint16(elf[18:], 0x3e)               // EM_X86_64
	le.PutUint32(elf[20:], 1)                  // EV_CURRENT
	le.PutUint64(elf[24:], base+ehsize+phsize) // entry
	le.PutUint64(elf[32:], ehsize)             // program headers
	le.PutUint16(elf[52:], ehsize)
	le.PutUint16(elf[54:], phsize)
	le.PutUint16(elf[56:], 1)
	ph := elf[ehsize:]
	le.PutUint32(ph[0:], 1) // PT_LOAD
	le.PutUint32(ph[4:], 5) // R+X
	le.PutUint64(ph[16:], base)
	le.PutUint64(ph[24:], base)
	le.PutUint64(ph[32:], uint64(size))
	le.PutUint64(ph[40:], uint64(size))
	le.PutUint64(ph[48:], 0x1000)
	return append(elf, code...)
}
