// SPDX-License-Identifier: GPL-3.0-only

// Package host classifies the host the way snap-confine does, to decide
// between normal mode (the snap's root is its base snap) and legacy mode (a
// core16 host running a snap on the "core" base keeps the host's root).
//
// Both the planner (to explain) and the launcher (to decide) use it, from the
// root-owned /etc/os-release and /meta/snap.yaml of the host.
package host

import (
	"bytes"
)

// Distro is snap-confine's sc_distro.
type Distro int

const (
	// Classic is any host that is not an Ubuntu Core system.
	Classic Distro = iota
	// Core16 is an Ubuntu Core 16 system (boots with the core snap).
	Core16
	// CoreOther is a later Ubuntu Core system.
	CoreOther
)

func (d Distro) String() string {
	switch d {
	case Core16:
		return "core16"
	case CoreOther:
		return "core"
	}
	return "classic"
}

// Classify reads os-release the way snap-confine's sc_classify_distro does:
// ID=ubuntu-core or VARIANT_ID=snappy make a core system, VERSION_ID=16 a
// core16 one; a classic os-release with /meta/snap.yaml present is also core.
func Classify(osRelease []byte, hasMetaSnapYaml bool) Distro {
	isCore, is16 := false, false
	for _, line := range bytes.Split(osRelease, []byte("\n")) {
		switch string(line) {
		case `ID="ubuntu-core"`, "ID=ubuntu-core", `VARIANT_ID="snappy"`, "VARIANT_ID=snappy":
			isCore = true
		case `VERSION_ID="16"`, "VERSION_ID=16":
			is16 = true
		}
	}
	if !isCore && hasMetaSnapYaml {
		isCore = true
	}
	switch {
	case isCore && is16:
		return Core16
	case isCore:
		return CoreOther
	}
	return Classic
}

// DebianLike reads os-release as snap-confine's sc_is_debian_like does: ID
// or, failing that, ID_LIKE is exactly "debian" (Debian, Ubuntu).
func DebianLike(osRelease []byte) bool {
	for _, key := range []string{"ID=", "ID_LIKE="} {
		for _, line := range bytes.Split(osRelease, []byte("\n")) {
			if v, ok := bytes.CutPrefix(line, []byte(key)); ok {
				if string(v) == "debian" || string(v) == `"debian"` {
					return true
				}
				break
			}
		}
	}
	return false
}

// NormalMode reports whether a snap on base runs in normal mode: always,
// except for the "core" base on a core16 host (snap-confine's is_normal_mode).
func NormalMode(d Distro, base string) bool {
	return d != Core16 || base != "core"
}

// BindSnapdTools reports whether the launcher's own directory is bound over
// /usr/lib/snapd in the snap's root: on core systems other than core16, and
// for every base but "core", whose snap ships snapd's tools itself.
func BindSnapdTools(d Distro, base string) bool {
	return d == CoreOther || base != "core"
}
