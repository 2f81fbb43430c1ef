// SPDX-License-Identifier: GPL-3.0-only

package main

import (
	"encoding/binary"
	"os"
	"regexp"
	"testing"
)

func note(name string, typ uint32, desc string) []byte {
	pad := func(b []byte) []byte {
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, uint32(len(name)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(desc)))
	b = binary.LittleEndian.AppendUint32(b, typ)
	b = append(b, pad([]byte(name))...)
	return append(b, pad([]byte(desc))...)
}

func TestFindNote(t *testing.T) {
	abi := note("GNU\x00", 1, "\x00\x00\x00\x00\x03\x00\x00\x00")
	gnu := note(gnuNoteName, gnuNoteType, "\x01\x02\x03")
	goID := note(goNoteName, goNoteType, "abc/def")
	for _, tc := range []struct {
		name    string
		data    []byte
		note    string
		typ     uint32
		want    string
		wantHit bool
	}{
		{"GNU build ID after another GNU note", append(append([]byte{}, abi...), gnu...), gnuNoteName, gnuNoteType, "\x01\x02\x03", true},
		{"Go build ID", goID, goNoteName, goNoteType, "abc/def", true},
		{"wrong type", goID, goNoteName, gnuNoteType, "", false},
		{"empty section", nil, gnuNoteName, gnuNoteType, "", false},
		{"truncated header", gnu[:10], gnuNoteName, gnuNoteType, "", false},
		{"truncated descriptor", gnu[:len(gnu)-2], gnuNoteName, gnuNoteType, "", false},
		{"huge sizes", append(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 0xffffffff), 0xffffffff), 3, 0, 0, 0), gnuNoteName, gnuNoteType, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := findNote(tc.data, binary.LittleEndian, tc.note, tc.typ)
			if ok != tc.wantHit || string(got) != tc.want {
				t.Fatalf("findNote: got %q, %v; want %q, %v", got, ok, tc.want, tc.wantHit)
			}
		})
	}
}

func TestBuildIDOfThisBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	id, err := buildID(exe)
	if err != nil {
		t.Fatalf("buildID: %v", err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{2,166}$`).MatchString(id) {
		t.Fatalf("build ID %q is not what snapd accepts", id)
	}
}
