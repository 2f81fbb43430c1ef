// SPDX-License-Identifier: GPL-3.0-only

// Package mountinfo parses /proc/<pid>/mountinfo, to inspect a preserved
// namespace whose info file does not record what it was built from, and
// to find how /snap and /var/snap propagate.
//
// The input comes from the kernel, but mount point names are chosen by
// whoever made the mounts, so the parser is strict, never panics (it has a
// fuzz target), and unescapes the kernel's octal escapes. Users choose how
// many mounts there are, too (FUSE mounts through the setuid fusermount3),
// so the launcher reads mount tables with Scan, one line at a time, without
// a limit on their size: only what it keeps of them stays in memory.
package mountinfo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Scan reads a mount table from r one line at a time, of any length and in
// any number, and calls fn with each entry; it stops at the first error,
// fn's included.
func Scan(r io.Reader, fn func(Entry) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte // a line longer than the buffer, put together
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, line...)
			line, err = br.ReadSlice('\n')
		}
		if long != nil {
			line, long = append(long, line...), nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("cannot read mountinfo: %w", err)
		}
		if text := string(bytes.TrimSuffix(line, []byte("\n"))); text != "" {
			e, perr := parseLine(text)
			if perr != nil {
				return fmt.Errorf("cannot parse mountinfo line %d: %w", n, perr)
			}
			if ferr := fn(e); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return nil
		}
	}
}

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
