// SPDX-License-Identifier: GPL-3.0-only

package main

import "github.com/snapns/snapns/tests/sandbox"

// The apps the bench launches are tiny static x86-64 programs, so that a
// launch measures the launcher and not the app's own start-up (a Go or
// dynamically linked /bin/true costs more than some launch paths).

// trueApp exits 0 at once: exit_group(0).
func trueApp() []byte {
	return sandbox.StaticELF([]byte{
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
	return sandbox.StaticELF(append(code, "/proc/self/ns/mnt\x00"...))
}
