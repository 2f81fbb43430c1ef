// SPDX-License-Identifier: GPL-3.0-only

package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// ELF note names and types of the two build IDs (snapd reads the same).
const (
	gnuNoteName = "GNU\x00"
	gnuNoteType = 3 // NT_GNU_BUILD_ID
	goNoteName  = "Go\x00\x00"
	goNoteType  = 4
)

// buildID is the hex build ID of the ELF file at path: the GNU one if the
// linker wrote one, else Go's.
func buildID(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read build ID: %w", err)
	}
	defer f.Close()
	for _, want := range []struct {
		name string
		typ  uint32
	}{{gnuNoteName, gnuNoteType}, {goNoteName, goNoteType}} {
		for _, s := range f.Sections {
			if s.Type != elf.SHT_NOTE {
				continue
			}
			data, err := s.Data()
			if err != nil {
				return "", fmt.Errorf("cannot read build ID: section %s: %w", s.Name, err)
			}
			if id, ok := findNote(data, f.ByteOrder, want.name, want.typ); ok {
				return hex.EncodeToString(id), nil
			}
		}
	}
	return "", fmt.Errorf("cannot read build ID: %s has none", path)
}

// findNote walks the notes of one SHT_NOTE section: each is a header
// (namesz, descsz, type), the name and the descriptor, both padded to 4.
func findNote(data []byte, order binary.ByteOrder, name string, typ uint32) ([]byte, bool) {
	align := func(n uint64) uint64 { return (n + 3) &^ 3 }
	for len(data) >= 12 {
		namesz := uint64(order.Uint32(data[0:4]))
		descsz := uint64(order.Uint32(data[4:8]))
		ntype := order.Uint32(data[8:12])
		rest := data[12:]
		if align(namesz) > uint64(len(rest)) || align(namesz)+descsz > uint64(len(rest)) {
			return nil, false
		}
		noteName := rest[:namesz]
		desc := rest[align(namesz) : align(namesz)+descsz]
		if ntype == typ && bytes.Equal(noteName, []byte(name)) {
			return desc, true
		}
		next := align(namesz) + align(descsz)
		if next > uint64(len(rest)) {
			return nil, false
		}
		data = rest[next:]
	}
	return nil, false
}
