// SPDX-License-Identifier: GPL-3.0-only

// Package profile reads a security tag's seccomp profile from snapd's
// directory, in snap-confine's order: <tag>.bin2 (snapd ≥ 2.64: deny then
// allow, or the unrestricted flag), otherwise <tag>.bin (snapd ≤ 2.63: one
// program or "@unrestricted"; a restricted one followed by global.bin when
// present). Every directory from / down, and the file, must be root's,
// user and group, and closed to group and other writes (shared/trusted;
// snap-confine 2.77's validate_bpfpath_is_safe, which allows a group
// write). The launcher loads what Read returns; snap-ns reports it.
package profile

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/seccomp/bpf"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/trusted"
)

// MaxSize bounds a profile file: the header and two programs of at most
// bpf.MaxProgramSize each.
const MaxSize = bpf.Bin2HeaderSize + 2*bpf.MaxProgramSize

// Format says which files a profile came from.
type Format string

const (
	Bin2      Format = "bin2"       // <tag>.bin2
	Bin       Format = "bin"        // <tag>.bin alone (unrestricted, or no global.bin)
	BinGlobal Format = "bin+global" // <tag>.bin, then global.bin
)

// Legacy tells a profile written by snapd 2.63 or earlier.
func (f Format) Legacy() bool { return f == Bin || f == BinGlobal }

// Read reads tag's profile and returns it with its format and the path of
// the file found. An error wrapping ENOENT means that neither <tag>.bin2
// nor <tag>.bin is there (yet); the path is then the .bin2 one.
func Read(tag naming.SecurityTag) (bpf.Profile, Format, string, error) {
	bin2 := layout.SeccompDir + "/" + layout.SeccompName(tag)
	dir, err := trusted.OpenRootGroupDir(layout.SeccompDir)
	if err != nil {
		return bpf.Profile{}, Bin2, bin2, fmt.Errorf("cannot load the seccomp profile of %s: %w", tag, err)
	}
	defer dir.Rename("seccomp profile " + layout.SeccompDir).Close()
	p, err := readFile(dir, layout.SeccompName(tag), bpf.ParseBin2)
	if !errors.Is(err, unix.ENOENT) {
		return p, Bin2, bin2, err
	}
	bin := layout.SeccompDir + "/" + layout.LegacySeccompName(tag)
	p, err = readFile(dir, layout.LegacySeccompName(tag), bpf.ParseBin)
	switch {
	case errors.Is(err, unix.ENOENT):
		return bpf.Profile{}, Bin2, bin2, err
	case err != nil || p.Unrestricted:
		return p, Bin, bin, err
	}
	global, err := readFile(dir, layout.GlobalSeccompName, bpf.ParseBin)
	switch {
	case err == nil:
		p.Programs = append(p.Programs, global.Programs...)
		return p, BinGlobal, bin, nil
	case errors.Is(err, unix.ENOENT):
		return p, Bin, bin, nil
	}
	return bpf.Profile{}, Bin, bin, err
}

// readFile reads one profile file below dir with parse. A missing file is
// an error that wraps ENOENT.
func readFile(dir *desc.FD, name string, parse func([]byte) (bpf.Profile, error)) (bpf.Profile, error) {
	data, err := trusted.ReadRootGroupFileAt(dir, name, MaxSize)
	if err != nil {
		return bpf.Profile{}, err
	}
	p, err := parse(data)
	if err != nil {
		return bpf.Profile{}, fmt.Errorf("cannot use %s: %w", dir.Path(name), err)
	}
	return p, nil
}
