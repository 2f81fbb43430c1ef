package main

import "encoding/binary"

// The apps the bench launches are tiny static x86-64 programs, so that a
// launch measures the launcher and not the app's own start-up (a Go or
// dynamically linked /bin/true costs more than some launch paths).

// trueApp exits 0 at once: exit_group(0).
func trueApp() []byte {
	return staticELF([]byte{
		0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax, 231 (exit_group)
		0x31, 0xff, // xor edi, edi
		0x0f, 0x05, // syscall
	})
}

// mntnsApp writes readlink("/proc/self/ns/mnt") ("mnt:[INODE]") to its
// stdout and exits 0: the bench checks with it which mount namespace an app
// ran in.
func mntnsApp() []byte {
	code := []byte{
		0xb8, 0x59, 0x00, 0x00, 0x00, // mov eax, 89 (readlink)
		0x48, 0x8d, 0x3d, 0x26, 0x00, 0x00, 0x00, // lea rdi, [rip+38] (the path)
		0x48, 0x89, 0xe6, // mov rsi, rsp
		0x48, 0x83, 0xee, 0x40, // sub rsi, 64 (a buffer below the stack pointer)
		0xba, 0x40, 0x00, 0x00, 0x00, // mov edx, 64
		0x0f, 0x05, // syscall
		0x48, 0x89, 0xc2, // mov rdx, rax (the length; a failure writes nothing)
		0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1 (write)
		0xbf, 0x01, 0x00, 0x00, 0x00, // mov edi, 1
		0x0f, 0x05, // syscall
		0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax, 231 (exit_group)
		0x31, 0xff, // xor edi, edi
		0x0f, 0x05, // syscall
	}
	return staticELF(append(code, "/proc/self/ns/mnt\x00"...))
}

// staticELF wraps code in a minimal ELF64 executable: one read+execute
// PT_LOAD segment holding the headers and the code, entry at the code.
func staticELF(code []byte) []byte {
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
