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
	"strconv"
	"strings"

	"github.com/snapns/snapns/shared/naming"
)

// MaxSize bounds an info file.
const MaxSize = 4096

// Keys of the info file. BaseSnapNameKey is snapd's; the others are ours.
const (
	BaseSnapNameKey = "base-snap-name"
	MountNSIDKey    = "mount-ns-id"
)

// Info is the content of an info file.
type Info struct {
	// BaseSnapName is the base snap the namespace was built for.
	BaseSnapName string
	// MountNSID is the kernel's unique id (NS_GET_MNTNS_ID) of the
	// preserved namespace, 0 when unknown (a file written by snapd).
	MountNSID uint64
}

// Format returns the file's content.
func Format(in Info) ([]byte, error) {
	if err := naming.ValidateSnapName(in.BaseSnapName); err != nil {
		return nil, fmt.Errorf("cannot format info file: %w", err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s=%s\n", BaseSnapNameKey, in.BaseSnapName)
	if in.MountNSID != 0 {
		fmt.Fprintf(&b, "%s=%d\n", MountNSIDKey, in.MountNSID)
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
		case BaseSnapNameKey, MountNSIDKey:
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
		case MountNSIDKey:
			id, err := strconv.ParseUint(value, 10, 64)
			if err != nil || id == 0 {
				return in, fmt.Errorf("cannot parse info file: bad %s %q", MountNSIDKey, value)
			}
			in.MountNSID = id
		}
	}
	if !seen[BaseSnapNameKey] {
		return in, fmt.Errorf("cannot parse info file: no %s", BaseSnapNameKey)
	}
	return in, nil
}
