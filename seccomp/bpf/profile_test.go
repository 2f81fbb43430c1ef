// SPDX-License-Identifier: GPL-3.0-only

package bpf_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/seccomp/bpf"
	"github.com/snapns/snapns/seccomp/encode"
)

// bin2 builds a .bin2 file field by field, so that a test can break any
// one of them.
type bin2 struct {
	magic              string
	version, flags     byte
	allowLen, denyLen  uint32
	allow, deny, extra []byte
	reserved           byte // written into every padding and reserved byte
}

func (b bin2) bytes() []byte {
	data := make([]byte, bpf.Bin2HeaderSize)
	copy(data[0:2], b.magic)
	data[2], data[3] = b.version, b.flags
	for i := 4; i < 8; i++ {
		data[i] = b.reserved
	}
	for i := 16; i < bpf.Bin2HeaderSize; i++ {
		data[i] = b.reserved
	}
	binary.NativeEndian.PutUint32(data[8:12], b.allowLen)
	binary.NativeEndian.PutUint32(data[12:16], b.denyLen)
	data = append(data, b.allow...)
	data = append(data, b.deny...)
	return append(data, b.extra...)
}

// wellFormed is a .bin2 file of allow and deny as snap-seccomp writes it.
func wellFormed(allow, deny []unix.SockFilter) bin2 {
	return bin2{
		magic: "SC", version: 1,
		allowLen: uint32(len(allow) * 8), denyLen: uint32(len(deny) * 8),
		allow: encode.Program(allow), deny: encode.Program(deny),
	}
}

func retInsn(k uint32) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k}
}

var (
	testAllow = denyUname()
	testDeny  = []unix.SockFilter{retInsn(unix.SECCOMP_RET_ALLOW)}
)

func TestParseBin2(t *testing.T) {
	with := func(f func(*bin2)) []byte {
		b := wellFormed(testAllow, testDeny)
		f(&b)
		return b.bytes()
	}
	loads := bpf.Profile{Programs: [][]unix.SockFilter{testDeny, testAllow}}
	unrestricted := bpf.Profile{Unrestricted: true}
	full := make([]unix.SockFilter, bpf.MaxInstructions)
	for _, tc := range []struct {
		name    string
		data    []byte
		want    bpf.Profile
		wantErr string
	}{
		{name: "deny program then allow program", data: wellFormed(testAllow, testDeny).bytes(), want: loads},
		{name: "both at the limit", data: wellFormed(full, full).bytes(), want: bpf.Profile{Programs: [][]unix.SockFilter{full, full}}},
		{name: "padding and reserved bytes are ignored", data: with(func(b *bin2) { b.reserved = 0xff }), want: loads},
		{name: "flags other than unrestricted are ignored", data: with(func(b *bin2) { b.flags = 0xfe }), want: loads},
		{name: "unrestricted: a bare header", data: bin2{magic: "SC", version: 1, flags: 1}.bytes(), want: unrestricted},
		{name: "unrestricted with other flags", data: bin2{magic: "SC", version: 1, flags: 0xff}.bytes(), want: unrestricted},
		// snap-confine loads nothing for such a file either.
		{name: "unrestricted with programs loads nothing", data: with(func(b *bin2) { b.flags = 1 }), want: unrestricted},
		{name: "unrestricted with an empty deny program", data: with(func(b *bin2) { b.flags, b.denyLen, b.deny = 1, 0, nil }), want: unrestricted},

		{name: "nil", data: nil, wantErr: "file is 0 bytes, shorter than the 128-byte header"},
		{name: "shorter than the header", data: bin2{magic: "SC", version: 1, flags: 1}.bytes()[:127], wantErr: "file is 127 bytes, shorter than the 128-byte header"},
		{name: "a legacy program", data: encode.Program(make([]unix.SockFilter, 20)), wantErr: `bad magic "\x00\x00"`},
		{name: "legacy unrestricted text", data: []byte("@unrestricted\n"), wantErr: "file is 14 bytes, shorter than the 128-byte header"},
		{name: "bad magic", data: with(func(b *bin2) { b.magic = "SD" }), wantErr: `bad magic "SD"`},
		{name: "magic in the wrong case", data: with(func(b *bin2) { b.magic = "sc" }), wantErr: `bad magic "sc"`},
		{name: "version 0", data: with(func(b *bin2) { b.version = 0 }), wantErr: "unsupported version 0"},
		{name: "version 2", data: with(func(b *bin2) { b.version = 2 }), wantErr: "unsupported version 2"},
		{name: "unrestricted of another version", data: bin2{magic: "SC", version: 2, flags: 1}.bytes(), wantErr: "unsupported version 2"},
		{name: "allow over the limit", data: with(func(b *bin2) { b.allowLen = 40000 }), wantErr: "allow program of 40000 bytes is over the limit of 32768"},
		{name: "allow one instruction over the limit", data: wellFormed(make([]unix.SockFilter, 4097), testDeny).bytes(), wantErr: "allow program of 32776 bytes is over the limit of 32768"},
		{name: "allow length that would wrap", data: with(func(b *bin2) { b.allowLen = 0xfffffff8 }), wantErr: "allow program of 4294967288 bytes is over the limit of 32768"},
		{name: "deny over the limit", data: with(func(b *bin2) { b.denyLen = 32769 }), wantErr: "deny program of 32769 bytes is over the limit of 32768"},
		{name: "allow not whole instructions", data: with(func(b *bin2) { b.allowLen = 12 }), wantErr: "allow program of 12 bytes is not a whole number of 8-byte instructions"},
		{name: "deny not whole instructions", data: with(func(b *bin2) { b.denyLen = 3 }), wantErr: "deny program of 3 bytes is not a whole number of 8-byte instructions"},
		{name: "over the limit is checked before the file size", data: with(func(b *bin2) { b.denyLen = 1 << 20 }), wantErr: "deny program of 1048576 bytes is over the limit of 32768"},
		{name: "unrestricted over the limit", data: bin2{magic: "SC", version: 1, flags: 1, allowLen: 40000}.bytes(), wantErr: "allow program of 40000 bytes is over the limit of 32768"},
		{name: "trailing bytes", data: with(func(b *bin2) { b.extra = []byte{0} }), wantErr: "file is 169 bytes, header says 168"},
		{name: "truncated", data: with(func(b *bin2) { b.deny = nil }), wantErr: "file is 160 bytes, header says 168"},
		{name: "lengths swapped", data: with(func(b *bin2) { b.allowLen, b.denyLen = b.denyLen, b.allowLen }), want: bpf.Profile{Programs: [][]unix.SockFilter{append(denyUname()[1:], testDeny...), {denyUname()[0]}}}},
		{name: "header says more than the file holds", data: with(func(b *bin2) { b.allowLen += 8 }), wantErr: "file is 168 bytes, header says 176"},
		// The file size is checked before the unrestricted flag.
		{name: "unrestricted with trailing bytes", data: bin2{magic: "SC", version: 1, flags: 1, extra: make([]byte, 8)}.bytes(), wantErr: "file is 136 bytes, header says 128"},
		{name: "unrestricted truncated", data: bin2{magic: "SC", version: 1, flags: 1, denyLen: 8}.bytes(), wantErr: "file is 128 bytes, header says 136"},
		{name: "empty allow program", data: wellFormed(nil, testDeny).bytes(), wantErr: "allow program is empty, which only an unrestricted profile may be"},
		{name: "empty deny program", data: wellFormed(testAllow, nil).bytes(), wantErr: "deny program is empty, which only an unrestricted profile may be"},
		{name: "a bare header without the flag", data: bin2{magic: "SC", version: 1}.bytes(), wantErr: "allow program is empty, which only an unrestricted profile may be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bpf.ParseBin2(tc.data)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParseBin2: got error %v, want %q", err, tc.wantErr)
				}
				if !reflect.DeepEqual(got, bpf.Profile{}) {
					t.Errorf("ParseBin2 returned %+v with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseBin2: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseBin2:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseBin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		data    []byte
		want    bpf.Profile
		wantErr string
	}{
		{name: "one program", data: encode.Program(denyUname()), want: bpf.Profile{Programs: [][]unix.SockFilter{denyUname()}}},
		{name: "unrestricted", data: []byte("@unrestricted\n"), want: bpf.Profile{Unrestricted: true}},
		{name: "unrestricted without the newline", data: []byte("@unrestricted"), wantErr: "length 13 is not a multiple of 8"},
		{name: "unrestricted with more after it", data: []byte("@unrestricted\n\x00"), wantErr: "length 15 is not a multiple of 8"},
		{name: "unrestricted with a carriage return", data: []byte("@unrestricted\r\n"), wantErr: "length 15 is not a multiple of 8"},
		{name: "empty", data: nil, wantErr: "empty"},
		{name: "truncated", data: encode.Program(denyUname())[:29], wantErr: "length 29 is not a multiple of 8"},
		{name: "over the kernel's limit", data: make([]byte, 8*4097), wantErr: "4097 instructions, more than the kernel's limit of 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bpf.ParseBin(tc.data)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParseBin: got error %v, want %q", err, tc.wantErr)
				}
				if !reflect.DeepEqual(got, bpf.Profile{}) {
					t.Errorf("ParseBin returned %+v with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseBin: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseBin:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestEncodeBin2Layout pins the header to snap-confine's struct
// sc_seccomp_file_header, byte by byte.
func TestEncodeBin2Layout(t *testing.T) {
	allow := []unix.SockFilter{{Code: 0x0102, Jt: 3, Jf: 4, K: 0x05060708}, retInsn(0)}
	deny := []unix.SockFilter{retInsn(unix.SECCOMP_RET_ALLOW)}
	data := encode.Bin2(allow, deny, false)
	want := make([]byte, 128)
	copy(want, "SC\x01\x00")
	binary.NativeEndian.PutUint32(want[8:], 16)
	binary.NativeEndian.PutUint32(want[12:], 8)
	want = append(want, encode.Program(allow)...)
	want = append(want, encode.Program(deny)...)
	if !bytes.Equal(data, want) {
		t.Fatalf("encode.Bin2:\n got % x\nwant % x", data, want)
	}
	bare := encode.Bin2(nil, nil, true)
	wantBare := make([]byte, 128)
	copy(wantBare, "SC\x01\x01")
	if !bytes.Equal(bare, wantBare) {
		t.Fatalf("encode.Bin2 unrestricted:\n got % x\nwant % x", bare, wantBare)
	}
}

// testdata/deny-uname.amd64.bin2 is what cmd/snap-seccomp wrote for
// testdata/deny-uname.src, so this reads the real .bin2 layout rather than
// encode.Bin2's.
//
//go:generate go run ../../cmd/snap-seccomp compile testdata/deny-uname.src testdata/deny-uname.amd64.bin2
func TestParseBin2ReadsCompiledFile(t *testing.T) {
	data, err := os.ReadFile("testdata/deny-uname.amd64.bin2")
	if err != nil {
		t.Fatal(err)
	}
	p, err := bpf.ParseBin2(data)
	if err != nil {
		t.Fatalf("ParseBin2: %v", err)
	}
	if p.Unrestricted || len(p.Programs) != 2 {
		t.Fatalf("got %+v, want two programs", p)
	}
	deny, allow := p.Programs[0], p.Programs[1]
	if !bytes.Equal(encode.Bin2(allow, deny, false), data) {
		t.Fatal("encode.Bin2 does not give back the compiled file")
	}
	if runtime.GOARCH == "amd64" {
		runHelper(t, "compiled-bin2-deny-uname")
	}
}

func init() {
	helpers["compiled-bin2-deny-uname"] = helperCompiledBin2DenyUname
}

// helperCompiledBin2DenyUname loads the two programs of the compiled .bin2
// file in ParseBin2's order, as the launcher does.
func helperCompiledBin2DenyUname() error {
	data, err := os.ReadFile("testdata/deny-uname.amd64.bin2")
	if err != nil {
		return err
	}
	p, err := bpf.ParseBin2(data)
	if err != nil {
		return err
	}
	runtime.LockOSThread()
	if err := setNoNewPrivs(); err != nil {
		return err
	}
	for _, prog := range p.Programs {
		if err := bpf.Load(prog); err != nil {
			return err
		}
	}
	if err := uname(); !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("uname after the filters: got %v, want EPERM", err)
	}
	if _, err := unix.Getcwd(make([]byte, 4096)); !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("getcwd after the filters: got %v, want EPERM", err)
	}
	if pid := unix.Getpid(); pid != os.Getpid() || pid <= 0 {
		return fmt.Errorf("getpid after the filters: got %d", pid)
	}
	return nil
}

// checkReason is the fuzz targets' rule for errors: a bare reason on one
// line, for the launcher to wrap with the file name.
func checkReason(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if msg == "" || strings.HasPrefix(msg, "cannot ") || strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error %q is not a bare one-line reason", msg)
	}
}

func FuzzParseBin2(f *testing.F) {
	f.Add([]byte{})
	f.Add(encode.Bin2(nil, nil, true))
	f.Add(encode.Bin2(nil, nil, false))
	f.Add(encode.Bin2(testAllow, testDeny, false))
	f.Add(encode.Bin2(testAllow, testDeny, true))
	f.Add(encode.Bin2(testAllow, nil, false))
	f.Add(append(encode.Bin2(testAllow, testDeny, false), 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := bpf.ParseBin2(data)
		if err != nil {
			checkReason(t, err)
			if !reflect.DeepEqual(p, bpf.Profile{}) {
				t.Fatalf("ParseBin2 returned %+v with error %v", p, err)
			}
			return
		}
		if len(data) < bpf.Bin2HeaderSize || string(data[0:3]) != "SC\x01" {
			t.Fatalf("accepted a file with header % x", data[:min(len(data), 16)])
		}
		if p.Unrestricted {
			if p.Programs != nil || data[3]&1 == 0 {
				t.Fatalf("unrestricted %+v from flags %#x", p, data[3])
			}
			return
		}
		if len(p.Programs) != 2 {
			t.Fatalf("accepted %d programs", len(p.Programs))
		}
		for _, prog := range p.Programs {
			if len(prog) == 0 || len(prog) > bpf.MaxInstructions {
				t.Fatalf("accepted a program of %d instructions", len(prog))
			}
		}
		// Everything but the bytes version 1 ignores comes back.
		again := encode.Bin2(p.Programs[1], p.Programs[0], false)
		if len(again) != len(data) || !bytes.Equal(again[8:16], data[8:16]) || !bytes.Equal(again[bpf.Bin2HeaderSize:], data[bpf.Bin2HeaderSize:]) {
			t.Fatalf("encode.Bin2 does not give back the programs read")
		}
	})
}

func FuzzParseBin(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("@unrestricted\n"))
	f.Add([]byte("@unrestricted"))
	f.Add(encode.Program(denyUname()))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := bpf.ParseBin(data)
		if err != nil {
			checkReason(t, err)
			if !reflect.DeepEqual(p, bpf.Profile{}) {
				t.Fatalf("ParseBin returned %+v with error %v", p, err)
			}
			return
		}
		if p.Unrestricted {
			if string(data) != "@unrestricted\n" || p.Programs != nil {
				t.Fatalf("unrestricted %+v from %q", p, data)
			}
			return
		}
		if len(p.Programs) != 1 || !bytes.Equal(encode.Program(p.Programs[0]), data) {
			t.Fatalf("ParseBin(data) is not the one program in data")
		}
		if _, err := bpf.Parse(data); err != nil {
			t.Fatalf("ParseBin accepted what Parse refuses: %v", err)
		}
	})
}
