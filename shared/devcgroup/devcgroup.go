// SPDX-License-Identifier: GPL-3.0-only

// Package devcgroup decides, in pure Go, whether and how a snap app's
// device access is confined, as snap-confine 2.77 does: snapd's settings
// file, the mode a base requires, the devices udev tagged for the app, the
// common set, the BPF map's key layout snap-device-helper updates on
// hotplug. A drop-in that gave an app every device its user can open would
// be weaker than what it replaces; every input here is parsed as untrusted
// bytes, bounded, and refused when malformed.
package devcgroup

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Mode is what the launcher does about a device cgroup.
type Mode int

const (
	// None: no device cgroup (self-managed, non-strict, in a container,
	// or optional with nothing tagged).
	None Mode = iota
	// Optional: only when devices are tagged for the app (bases core,
	// core16 to core22).
	Optional
	// Required: always, tagged devices or not (core24 and later, bare).
	Required
)

func (m Mode) String() string {
	switch m {
	case Optional:
		return "optional"
	case Required:
		return "required"
	}
	return "none"
}

// optionalBases keep snap-confine's legacy behaviour: a device cgroup only
// once a device is tagged. Every other base, "bare" included, requires one.
var optionalBases = map[string]bool{"core": true, "core16": true, "core18": true, "core20": true, "core22": true}

// ModeForBase is the mode a snap on base requires.
func ModeForBase(base string) Mode {
	if optionalBases[base] {
		return Optional
	}
	return Required
}

// SettingsDir holds snapd's per-snap device settings; SettingsName is the
// file of an instance there (snapd writes it with the udev backend, for
// every snap, and snap-confine waits for it).
const SettingsDir = "/var/lib/snapd/cgroup"

// SettingsName is the name, inside SettingsDir, of instance's settings.
func SettingsName(instance string) string { return "snap." + instance + ".device" }

// MaxSettingsSize bounds the settings file (snapd writes two short lines).
const MaxSettingsSize = 4096

// Settings are the keys of the settings file that matter.
type Settings struct {
	SelfManaged bool // self-managed=true: the snap manages its own device cgroup
	NonStrict   bool // non-strict=true: devmode or classic, no device constraints
	// OldSnapd: there is no settings file and the snap's seccomp profile
	// is a .bin, so the snapd that installed the snap (2.61 or older)
	// wrote none; its snap-confine set a device cgroup up only for
	// tagged devices, whatever the base.
	OldSnapd bool
}

// ParseSettings parses a settings file as snap-confine reads it: lines of
// key=value, each ending in a newline, '#' comments; the first occurrence
// of a key counts and only the value "true" is true; a NUL, a line without
// '=' or with an empty key, a section header or a missing final newline is
// refused (snap-confine refuses them too, at least before the keys it
// looks for).
func ParseSettings(unsafeData []byte) (Settings, error) {
	var s Settings
	if len(unsafeData) > MaxSettingsSize {
		return s, fmt.Errorf("%d bytes is over the limit of %d", len(unsafeData), MaxSettingsSize)
	}
	if bytes.IndexByte(unsafeData, 0) >= 0 {
		return s, fmt.Errorf("contains a NUL byte")
	}
	seen := map[string]bool{}
	rest := unsafeData
	for lineno := 1; len(rest) > 0; lineno++ {
		line, after, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return s, fmt.Errorf("line %d does not end with a newline", lineno)
		}
		rest = after
		if len(line) > 0 && line[0] == '#' {
			continue
		}
		if len(line) > 0 && line[0] == '[' {
			return s, fmt.Errorf("line %d contains an unexpected section", lineno)
		}
		key, value, ok := strings.Cut(string(line), "=")
		if !ok {
			return s, fmt.Errorf("line %d is not a key=value assignment", lineno)
		}
		if key == "" {
			return s, fmt.Errorf("line %d contains an empty key", lineno)
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		switch key {
		case "self-managed":
			s.SelfManaged = value == "true"
		case "non-strict":
			s.NonStrict = value == "true"
		}
	}
	return s, nil
}

// InContainer reports whether the first line of /run/systemd/container
// (systemd's container interface) names a container, as snap-confine
// detects one: a missing file is no container, an empty first line neither.
func InContainer(unsafeData []byte) bool {
	line, _, _ := bytes.Cut(unsafeData, []byte("\n"))
	return len(bytes.TrimRight(line[:min(len(line), 127)], "\r")) > 0
}

// Decide is the decision before udev is asked: the mode, and the reason
// in words for the debug log.
func Decide(inContainer bool, s Settings, base string) (Mode, string) {
	switch {
	case inContainer:
		return None, "device cgroup skipped, executing inside a container"
	case s.SelfManaged:
		return None, "device cgroup is self-managed by the snap"
	case s.NonStrict:
		return None, "device cgroup skipped, snap in non-strict confinement"
	}
	if s.OldSnapd {
		return Optional, "device cgroup only for tagged devices: snapd 2.61 or older (a .bin profile and no settings file) sets one up whatever the base"
	}
	m := ModeForBase(base)
	if m == Optional {
		return m, "device cgroup not required due to base " + base
	}
	return m, "device cgroup required for base " + base
}

// UdevTag is the udev tag (and the bpffs name) of a security tag: udev and
// bpffs do not take dots, so snapd replaces them with underscores.
func UdevTag(securityTag string) string { return strings.ReplaceAll(securityTag, ".", "_") }

// UnitName is the systemd unit name prefix of a security tag, as snapd
// escapes it ('+' becomes \x2b; everything else of a valid tag stays).
func UnitName(securityTag string) string { return strings.ReplaceAll(securityTag, "+", `\x2b`) }

// Device is one entry of the allow list: a character ('c') or block ('b')
// device, by major and minor; MinorAny stands for every minor of the major.
type Device struct {
	Type         byte
	Major, Minor uint32
}

// MinorAny is snapd's "any minor" value in the map.
const MinorAny = ^uint32(0)

func (d Device) String() string {
	if d.Minor == MinorAny {
		return fmt.Sprintf("%c %d:*", d.Type, d.Major)
	}
	return fmt.Sprintf("%c %d:%d", d.Type, d.Major, d.Minor)
}

// Common is the fixed set every app with a device cgroup may use:
// null, zero, full, random, urandom, tty, console, ptmx, and every
// Unix98 pty slave (majors 136 to 143: the launcher mounts a devpts
// instance of the app's own). The nodes snap-confine adds when they exist
// (ExtraNodes) come on top.
var Common = []Device{
	{'c', 1, 3}, {'c', 1, 5}, {'c', 1, 7}, {'c', 1, 8}, {'c', 1, 9},
	{'c', 5, 0}, {'c', 5, 1}, {'c', 5, 2},
	{'c', 136, MinorAny}, {'c', 137, MinorAny}, {'c', 138, MinorAny}, {'c', 139, MinorAny},
	{'c', 140, MinorAny}, {'c', 141, MinorAny}, {'c', 142, MinorAny}, {'c', 143, MinorAny},
}

// ExtraNodes are the host's device nodes snap-confine allows whenever they
// exist (drivers that udev cannot tag; AppArmor still mediates them): the
// numbered /dev/nvidiaN up to the first missing one, then these.
var ExtraNodes = []string{"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-modeset", "/dev/uhid", "/dev/net/tun"}

// MaxNvidia bounds the /dev/nvidiaN nodes looked at (0 to 254).
const MaxNvidia = 255

// ParseUdevID parses the name of an entry of udev's tag index
// (/run/udev/tags/<tag>/<id>): "c<major>:<minor>" or "b<major>:<minor>" is
// a device node; every other kind of id (network interfaces "n<ifindex>",
// "+<subsystem>:<sysname>") has no device number and is not one.
func ParseUdevID(unsafeName string) (Device, bool) {
	if len(unsafeName) < 4 || (unsafeName[0] != 'c' && unsafeName[0] != 'b') {
		return Device{}, false
	}
	maj, mnr, ok := strings.Cut(unsafeName[1:], ":")
	if !ok {
		return Device{}, false
	}
	major, err1 := parseNumber(maj)
	minor, err2 := parseNumber(mnr)
	// 0:0 is libudev's "no device number"; snap-confine skips it.
	if err1 != nil || err2 != nil || (major == 0 && minor == 0) || minor == MinorAny {
		return Device{}, false
	}
	return Device{unsafeName[0], major, minor}, true
}

// parseNumber parses a canonical decimal uint32: no sign, no leading zero.
func parseNumber(s string) (uint32, error) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("not a number")
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}

// MaxUdevDataSize bounds one device's file in udev's database.
const MaxUdevDataSize = 64 << 10

// HasCurrentTag reports whether udev's database record of a device
// (/run/udev/data/<id>) lists tag among its current tags ("Q:<tag>" lines,
// systemd 247 and later): the rule snap-confine applies with a libudev that
// knows current tags, so that a device whose tag was removed (an interface
// disconnected) stays out, though udev's tag index keeps it ("G:" lines)
// until the device goes away.
func HasCurrentTag(unsafeData []byte, tag string) bool {
	if len(unsafeData) > MaxUdevDataSize || tag == "" {
		return false
	}
	for _, line := range bytes.Split(unsafeData, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("Q:")); ok && string(v) == tag {
			return true
		}
	}
	return false
}

// Map layout, exactly as snapd's snap-confine and snap-device-helper use
// it: a BPF hash map whose key is the packed struct {u8 type; u32 major;
// u32 minor} in the host's byte order, type 'c' or 'b', minor MinorAny for
// a whole major, and whose value is one byte, 1. It is pinned at
// BPFDir/<UdevTag(security tag)>.
const (
	KeySize       = 9
	ValueSize     = 1
	MaxEntries    = 1000
	BPFFS         = "/sys/fs/bpf"
	BPFDir        = "/sys/fs/bpf/snap"
	BPFDirName    = "snap"
	bpfObjNameLen = 16
)

// Key encodes d as a map key.
func (d Device) Key() [KeySize]byte {
	var k [KeySize]byte
	k[0] = d.Type
	binary.NativeEndian.PutUint32(k[1:5], d.Major)
	binary.NativeEndian.PutUint32(k[5:9], d.Minor)
	return k
}

// DeviceOfKey decodes a map key.
func DeviceOfKey(k [KeySize]byte) Device {
	return Device{k[0], binary.NativeEndian.Uint32(k[1:5]), binary.NativeEndian.Uint32(k[5:9])}
}

// ObjectName is the name given to the map and the program (what bpftool
// lists), as snap-confine makes it: "s_" and as much of the udev tag after
// "snap_" as fits, '-' and '+' as '_'.
func ObjectName(securityTag string) string {
	_, rest, _ := strings.Cut(UdevTag(securityTag), "_")
	name := "s_" + rest
	if len(name) > bpfObjNameLen-1 {
		name = name[:bpfObjNameLen-1]
	}
	return strings.NewReplacer("-", "_", "+", "_").Replace(name)
}

// MaxCgroupFileSize bounds /proc/self/cgroup.
const MaxCgroupFileSize = 64 << 10

// OwnCgroupV2 returns the unified-hierarchy path ("0::" line) of
// /proc/self/cgroup, as snap-confine reads it.
func OwnCgroupV2(unsafeData []byte) (string, error) {
	if len(unsafeData) > MaxCgroupFileSize {
		return "", fmt.Errorf("too long")
	}
	for _, line := range strings.Split(string(unsafeData), "\n") {
		if path, ok := strings.CutPrefix(line, "0::"); ok {
			if !strings.HasPrefix(path, "/") || strings.Contains(path, "\x00") {
				return "", fmt.Errorf("unexpected cgroup path %q", path)
			}
			return path, nil
		}
	}
	return "", fmt.Errorf("no cgroup v2 entry")
}

// IsSnapCgroup reports whether the last component of the cgroup path is
// the app's own tracking group: snap.<instance>.<app>-<id>.scope (a
// transient scope systemd made for the launch) or snap.<instance>.<app>.service
// (a service), as snap-confine requires before it attaches a device program
// (any other group may be shared with other processes, or be the whole
// session, which the program would lock down).
func IsSnapCgroup(path, securityTag string) bool {
	leaf := path[strings.LastIndexByte(path, '/')+1:]
	unit := UnitName(securityTag)
	rest, ok := strings.CutPrefix(leaf, unit)
	if !ok || !(strings.HasSuffix(rest, ".scope") || strings.HasSuffix(rest, ".service")) {
		return false
	}
	return rest[0] == '-' || rest[0] == '.'
}

// The cgroup hierarchies. snap-confine tells them apart by the filesystem
// of CgroupDir alone: cgroup2 there is v2 (the device program); anything
// else (the tmpfs of a legacy or hybrid host, which may also mount cgroup2
// at unified/) is v1, the devices controller mounted at CgroupDir/devices.
const (
	CgroupDir   = "/sys/fs/cgroup"
	DevicesName = "devices"
	DevicesDir  = CgroupDir + "/" + DevicesName
)

// Hierarchy is the cgroup hierarchy a device cgroup is set up in.
type Hierarchy int

const (
	// V2: a BPF_PROG_TYPE_CGROUP_DEVICE program on the app's own group.
	V2 Hierarchy = iota
	// V1: the devices controller's group named after the security tag.
	V1
)

func (h Hierarchy) String() string {
	if h == V1 {
		return "v1"
	}
	return "v2"
}

// HierarchyOf is the hierarchy used when CgroupDir has the filesystem
// magic magic.
func HierarchyOf(magic int64) Hierarchy {
	const cgroup2SuperMagic = 0x63677270 // linux/magic.h
	if magic == cgroup2SuperMagic {
		return V2
	}
	return V1
}

// V1GroupName is the app's group below DevicesDir: the security tag
// itself (dots and all), as snap-confine and snap-device-helper name it.
func V1GroupName(securityTag string) string { return securityTag }

// The files of a v1 devices group the launcher writes: V1Rule lines to
// devices.allow and the rules no longer allowed to devices.deny, in the
// order V1Writes gives (snap-confine writes V1DenyAll to devices.deny
// first, which a new group still gets), then the launcher's pid to
// cgroup.procs.
const (
	V1DenyFile  = "devices.deny"
	V1AllowFile = "devices.allow"
	V1ProcsFile = "cgroup.procs"
	V1DenyAll   = "a"
)

// V1GroupFiles are the files the kernel gives a new v1 devices group
// (cgroupfs core files and the devices controller's), with the modes it
// gives them: a group the launcher made as the caller is given to root
// with exactly these.
var V1GroupFiles = []struct {
	Name string
	Mode uint32
}{
	{"cgroup.clone_children", 0o644},
	{"cgroup.procs", 0o644},
	{"devices.allow", 0o200},
	{"devices.deny", 0o200},
	{"devices.list", 0o444},
	{"notify_on_release", 0o644},
	{"tasks", 0o644},
}

// V1Rule is the devices.allow line of d: read, write and mknod access to
// one device, or to every minor of its major.
func (d Device) V1Rule() string {
	if d.Minor == MinorAny {
		return fmt.Sprintf("%c %d:* rwm\n", d.Type, d.Major)
	}
	return fmt.Sprintf("%c %d:%d rwm\n", d.Type, d.Major, d.Minor)
}
