// SPDX-License-Identifier: GPL-3.0-only

// Package mountinfo parses /proc/<pid>/mountinfo, to inspect a preserved
// namespace whose info file does not record what it was built from.
//
// The input comes from the kernel, but mount point names are chosen by
// whoever made the mounts, so the parser is strict and bounded, never
// panics (it has a fuzz target), and unescapes the kernel's octal escapes.
package mountinfo

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxSize bounds the input; a namespace with more mounts than fit is refused.
const MaxSize = 4 << 20

// Entry is one line of mountinfo.
type Entry struct {
	MountID, ParentID int
	Major, Minor      uint32
	Root              string
	MountDir          string
	Optional          []string
	FSType            string
	Source            string
	// Options are the mount's (per mount point) options, SuperOptions the
	// filesystem's (per superblock), as the kernel writes them.
	Options, SuperOptions string
}

// Parse parses a whole mountinfo file.
func Parse(data []byte) ([]Entry, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("cannot parse mountinfo: %d bytes is over the limit of %d", len(data), MaxSize)
	}
	var entries []Entry
	for n, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		e, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("cannot parse mountinfo line %d: %w", n+1, err)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

func parseLine(line string) (Entry, error) {
	var e Entry
	f := strings.Split(line, " ")
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if len(f) < 10 || sep < 0 || len(f) < sep+4 {
		return e, fmt.Errorf("too few fields")
	}
	var err error
	if e.MountID, err = strconv.Atoi(f[0]); err != nil {
		return e, fmt.Errorf("bad mount id %q", f[0])
	}
	if e.ParentID, err = strconv.Atoi(f[1]); err != nil {
		return e, fmt.Errorf("bad parent id %q", f[1])
	}
	maj, min, ok := strings.Cut(f[2], ":")
	major, err1 := strconv.ParseUint(maj, 10, 32)
	minor, err2 := strconv.ParseUint(min, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return e, fmt.Errorf("bad device %q", f[2])
	}
	e.Major, e.Minor = uint32(major), uint32(minor)
	if e.Root, err = unescape(f[3]); err != nil {
		return e, err
	}
	if e.MountDir, err = unescape(f[4]); err != nil {
		return e, err
	}
	e.Options = f[5]
	e.Optional = f[6:sep]
	e.FSType = f[sep+1]
	if e.Source, err = unescape(f[sep+2]); err != nil {
		return e, err
	}
	e.SuperOptions = f[sep+3]
	return e, nil
}

// unescape undoes the kernel's \ooo escapes of space, tab, newline and
// backslash.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+4 > len(s) {
			return "", fmt.Errorf("truncated escape in %q", s)
		}
		v, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		b.WriteByte(byte(v))
		i += 3
	}
	return b.String(), nil
}
