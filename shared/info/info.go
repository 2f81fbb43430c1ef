// SPDX-License-Identifier: GPL-3.0-only

// Package info reads and writes /run/snapd/ns/snap.<instance>.info, the file
// that records what a preserved namespace was built from.
//
// snapd's snap-confine writes "base-snap-name=<base>" there and snapd reads it
// back; we keep that line first and byte-compatible, and add our own keys for
// what later staleness checks need. The file is written only by the launcher
// (0644 root:root, replaced atomically) and read by the planner and the
// launcher; Parse is strict and bounded because a corrupted or forged file
// must never make either side misbehave.
package info

import (
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/snapns/snapns/shared/devnum"

	"github.com/snapns/snapns/shared/naming"
)

// MaxSize bounds an info file.
const MaxSize = 4096

// Keys of the info file. BaseSnapNameKey is snapd's; the others are ours.
const (
	BaseSnapNameKey     = "base-snap-name"
	BaseSnapRevisionKey = "base-snap-revision"
	BaseSnapDeviceKey   = "base-snap-device"
	HomedirsKey         = "homedirs"
	MountNSIDKey        = "mount-ns-id"
	ParentMountNSIDKey  = "parent-mount-ns-id"
	// Before Linux 6.8 (no NS_GET_MNTNS_ID) the namespaces are recorded
	// by the inode number of their nsfs file instead.
	MountNSInodeKey       = "mount-ns-inode"
	ParentMountNSInodeKey = "parent-mount-ns-inode"
)

// Info is the content of an info file.
type Info struct {
	// BaseSnapName is the base snap the namespace was built for.
	BaseSnapName string
	// BaseSnapRevision is the revision /snap/<base>/current named when the
	// namespace was built, "" when unknown (a file written by snapd).
	BaseSnapRevision string
	// BaseSnapDevice is the device of /snap/<base>/<revision> then, 0 when
	// unknown; written as MAJOR:MINOR.
	BaseSnapDevice uint64
	// Homedirs are the extra home directories (snapd's system-params
	// homedirs=) bound into the namespace; HomedirsKnown tells an empty
	// list from a file that does not record it.
	Homedirs      []string
	HomedirsKnown bool
	// MountNSID is the kernel's unique id (NS_GET_MNTNS_ID) of the
	// preserved namespace, 0 when unknown (a file written by snapd).
	MountNSID uint64
	// ParentMountNSID, in a per-user namespace's info file, is the id of
	// the per-snap namespace it was derived from; 0 elsewhere.
	ParentMountNSID uint64
	// MountNSInode and ParentMountNSInode stand for the two ids on
	// kernels without them (before 6.8): the inode numbers of the nsfs
	// files, unique among the namespaces alive at one time (a preserved
	// namespace stays alive), but reused once one is gone. A file records
	// either the ids or the inodes, never both.
	MountNSInode       uint64
	ParentMountNSInode uint64
}

// Format returns the file's content.
func Format(in Info) ([]byte, error) {
	if err := naming.ValidateSnapName(in.BaseSnapName); err != nil {
		return nil, fmt.Errorf("cannot format info file: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s=%s\n", BaseSnapNameKey, in.BaseSnapName)
	if in.BaseSnapRevision != "" {
		if err := naming.ValidateRevision(in.BaseSnapRevision); err != nil {
			return nil, fmt.Errorf("cannot format info file: %w", err)
		}
		fmt.Fprintf(&b, "%s=%s\n", BaseSnapRevisionKey, in.BaseSnapRevision)
	}
	if in.BaseSnapDevice != 0 {
		fmt.Fprintf(&b, "%s=%d:%d\n", BaseSnapDeviceKey, devnum.Major(in.BaseSnapDevice), devnum.Minor(in.BaseSnapDevice))
	}
	if in.HomedirsKnown {
		for _, h := range in.Homedirs {
			if err := ValidateHomedir(h); err != nil {
				return nil, fmt.Errorf("cannot format info file: %w", err)
			}
		}
		fmt.Fprintf(&b, "%s=%s\n", HomedirsKey, strings.Join(in.Homedirs, ","))
	}
	if in.MountNSID != 0 {
		fmt.Fprintf(&b, "%s=%d\n", MountNSIDKey, in.MountNSID)
	}
	if in.ParentMountNSID != 0 {
		fmt.Fprintf(&b, "%s=%d\n", ParentMountNSIDKey, in.ParentMountNSID)
	}
	if in.MountNSInode != 0 {
		fmt.Fprintf(&b, "%s=%d\n", MountNSInodeKey, in.MountNSInode)
	}
	if in.ParentMountNSInode != 0 {
		fmt.Fprintf(&b, "%s=%d\n", ParentMountNSInodeKey, in.ParentMountNSInode)
	}
	return b.Bytes(), nil
}

// Parse reads an info file. Keys it does not know are ignored, since snapd
// may add its own; known keys must appear at most once with a valid value.
func Parse(data []byte) (Info, error) {
	var in Info
	if len(data) > MaxSize {
		return in, fmt.Errorf("cannot parse info file: %d bytes is over the limit of %d", len(data), MaxSize)
	}
	seen := map[string]bool{}
	for n, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return in, fmt.Errorf("cannot parse info file: line %d %q is not key=value", n+1, line)
		}
		switch key {
		case BaseSnapNameKey, BaseSnapRevisionKey, BaseSnapDeviceKey, HomedirsKey, MountNSIDKey, ParentMountNSIDKey, MountNSInodeKey, ParentMountNSInodeKey:
		default:
			continue
		}
		if seen[key] {
			return in, fmt.Errorf("cannot parse info file: duplicate key %q", key)
		}
		seen[key] = true
		switch key {
		case BaseSnapNameKey:
			if err := naming.ValidateSnapName(value); err != nil {
				return in, fmt.Errorf("cannot parse info file: %w", err)
			}
			in.BaseSnapName = value
		case BaseSnapRevisionKey:
			if err := naming.ValidateRevision(value); err != nil {
				return in, fmt.Errorf("cannot parse info file: %w", err)
			}
			in.BaseSnapRevision = value
		case BaseSnapDeviceKey:
			dev, err := parseDevice(value)
			if err != nil {
				return in, fmt.Errorf("cannot parse info file: bad %s %q", BaseSnapDeviceKey, value)
			}
			in.BaseSnapDevice = dev
		case HomedirsKey:
			dirs, err := ParseHomedirs(value)
			if err != nil {
				return in, fmt.Errorf("cannot parse info file: %w", err)
			}
			in.Homedirs, in.HomedirsKnown = dirs, true
		case MountNSIDKey, ParentMountNSIDKey, MountNSInodeKey, ParentMountNSInodeKey:
			id, err := strconv.ParseUint(value, 10, 64)
			if err != nil || id == 0 {
				return in, fmt.Errorf("cannot parse info file: bad %s %q", key, value)
			}
			switch key {
			case MountNSIDKey:
				in.MountNSID = id
			case ParentMountNSIDKey:
				in.ParentMountNSID = id
			case MountNSInodeKey:
				in.MountNSInode = id
			default:
				in.ParentMountNSInode = id
			}
		}
	}
	if !seen[BaseSnapNameKey] {
		return in, fmt.Errorf("cannot parse info file: no %s", BaseSnapNameKey)
	}
	if (in.MountNSID != 0 || in.ParentMountNSID != 0) && (in.MountNSInode != 0 || in.ParentMountNSInode != 0) {
		return in, fmt.Errorf("cannot parse info file: both namespace ids and inodes")
	}
	return in, nil
}

// parseDevice reads MAJOR:MINOR.
func parseDevice(value string) (uint64, error) {
	maj, min, ok := strings.Cut(value, ":")
	if !ok {
		return 0, fmt.Errorf("no colon")
	}
	major, err := strconv.ParseUint(maj, 10, 32)
	if err != nil {
		return 0, err
	}
	minor, err := strconv.ParseUint(min, 10, 32)
	if err != nil {
		return 0, err
	}
	dev := devnum.Mkdev(uint32(major), uint32(minor))
	if dev == 0 {
		return 0, fmt.Errorf("zero device")
	}
	return dev, nil
}

// ValidateHomedir checks one extra home directory: absolute, clean, and
// free of the separators of the files it is written to.
func ValidateHomedir(dir string) error {
	if !strings.HasPrefix(dir, "/") || dir == "/" || path.Clean(dir) != dir || strings.ContainsAny(dir, ",\n\x00=") || len(dir) > 512 {
		return fmt.Errorf("cannot use home directory %q: must be an absolute, clean path", dir)
	}
	return nil
}

// ParseHomedirs reads a comma-separated list of home directories, as
// snapd's system-params homedirs= and the info file's key hold it.
func ParseHomedirs(value string) ([]string, error) {
	var dirs []string
	for _, d := range strings.Split(value, ",") {
		if d == "" {
			continue
		}
		if err := ValidateHomedir(d); err != nil {
			return nil, err
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// SystemParamsHomedirs reads the homedirs= line of snapd's
// /var/lib/snapd/system-params (nil when there is none).
func SystemParamsHomedirs(data []byte) ([]string, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("cannot parse system-params: %d bytes is over the limit of %d", len(data), MaxSize)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if value, ok := strings.CutPrefix(line, HomedirsKey+"="); ok {
			dirs, err := ParseHomedirs(value)
			if err != nil {
				return nil, fmt.Errorf("cannot parse system-params: %w", err)
			}
			return dirs, nil
		}
	}
	return nil, nil
}
