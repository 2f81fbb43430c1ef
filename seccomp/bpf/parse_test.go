// SPDX-License-Identifier: GPL-3.0-only

package bpf_test

import (
	"bytes"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/seccomp/bpf"
	"github.com/snapns/snapns/seccomp/encode"
)

func TestParse(t *testing.T) {
	ret := unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}
	load := unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4}
	jump := unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 1, Jf: 2, K: 0xc000003e}
	for _, tc := range []struct {
		name    string
		data    []byte
		want    []unix.SockFilter
		wantErr string
	}{
		{name: "one instruction", data: encode.Program([]unix.SockFilter{ret}), want: []unix.SockFilter{ret}},
		{name: "every field decoded", data: encode.Program([]unix.SockFilter{load, jump, ret}), want: []unix.SockFilter{load, jump, ret}},
		{name: "at the kernel's limit", data: make([]byte, 8*4096), want: make([]unix.SockFilter, 4096)},
		{name: "nil", data: nil, wantErr: "cannot parse seccomp program: empty"},
		{name: "empty", data: []byte{}, wantErr: "cannot parse seccomp program: empty"},
		{name: "shorter than one instruction", data: make([]byte, 7), wantErr: "length 7 is not a multiple of 8"},
		{name: "truncated", data: make([]byte, 8*3+5), wantErr: "length 29 is not a multiple of 8"},
		{name: "padded", data: make([]byte, 8*3+1), wantErr: "length 25 is not a multiple of 8"},
		{name: "over the kernel's limit", data: make([]byte, 8*4097), wantErr: "4097 instructions, more than the kernel's limit of 4096"},
		{name: "far over the limit", data: make([]byte, 8*65536+8), wantErr: "65537 instructions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bpf.Parse(tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse: got error %v, want one containing %q", err, tc.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "cannot ") || strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q is not one line starting with \"cannot \"", err)
				}
				if got != nil {
					t.Errorf("Parse returned %d instructions with an error", len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d instructions, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("instruction %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestParseReadsHostByteOrder pins the on-disk layout of one instruction to
// struct sock_filter in host byte order, which is what
// seccomp_export_bpf writes.
func TestParseReadsHostByteOrder(t *testing.T) {
	insn := unix.SockFilter{Code: 0x0102, Jt: 0x03, Jf: 0x04, K: 0x05060708}
	var want []byte
	if isLittleEndian() {
		want = []byte{0x02, 0x01, 0x03, 0x04, 0x08, 0x07, 0x06, 0x05}
	} else {
		want = []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}
	}
	if got := encode.Program([]unix.SockFilter{insn}); !bytes.Equal(got, want) {
		t.Fatalf("Encode: got % x, want % x", got, want)
	}
	got, err := bpf.Parse(want)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(got) != 1 || got[0] != insn {
		t.Fatalf("Parse: got %+v, want [%+v]", got, insn)
	}
}

// isLittleEndian asks the machine rather than encoding/binary, which
// Encode and Parse themselves use.
func isLittleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 8))
	f.Add(make([]byte, 9))
	f.Add(encode.Program([]unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}))
	f.Add(make([]byte, 8*4096))
	f.Add(make([]byte, 8*4097))
	f.Fuzz(func(t *testing.T, data []byte) {
		prog, err := bpf.Parse(data)
		if err != nil {
			if prog != nil {
				t.Fatalf("Parse returned instructions with error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "cannot ") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q is not one line starting with \"cannot \"", err)
			}
			return
		}
		if len(prog)*bpf.InstructionSize != len(data) {
			t.Fatalf("accepted %d bytes as %d instructions", len(data), len(prog))
		}
		if len(prog) == 0 || len(prog) > bpf.MaxInstructions {
			t.Fatalf("accepted %d instructions", len(prog))
		}
		if !bytes.Equal(encode.Program(prog), data) {
			t.Fatalf("Encode(Parse(data)) != data")
		}
	})
}
