// SPDX-License-Identifier: GPL-3.0-only

package snapd

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The test snaps' sources are testdata/snaps/<dir>: meta/snap.yaml and what
// the snap holds beyond the shared app, testdata/probe, which every snap
// gets as bin/probe. A boot gets them in /root/suite/snaps; each is packed
// there by snapd's `snap pack` and installed by `snap install --dangerous`
// when a case first needs it.

const (
	snapSources = "/root/suite/snaps"  // in the container
	packedDir   = "/root/suite/packed" // `snap pack` output
	basesDir    = "/var/lib/snapd-suite"
)

// stageSnaps writes the snaps' sources into a boot's upper layer, with the
// placeholder snapd snap made from the container's own usr/lib/snapd/info:
// installed before any app, it keeps snapd from fetching the snapd snap
// from the store for every install.
func stageSnaps(upper, rootfs string) error {
	dst := filepath.Join(upper, snapSources)
	for _, d := range []string{dst, filepath.Join(upper, packedDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := copyTree("testdata/snaps", dst); err != nil {
		return err
	}
	probe, err := os.ReadFile("testdata/probe")
	if err != nil {
		return err
	}
	dirs, err := os.ReadDir("testdata/snaps")
	if err != nil {
		return err
	}
	for _, d := range dirs {
		bin := filepath.Join(dst, d.Name(), "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(bin, "probe"), probe, 0o755); err != nil {
			return err
		}
	}
	info, err := os.ReadFile(filepath.Join(rootfs, "usr/lib/snapd/info"))
	if err != nil {
		return fmt.Errorf("cannot read the container's snapd info file: %w", err)
	}
	placeholder := filepath.Join(dst, "snapd")
	for _, d := range []string{"meta", "usr/lib/snapd"} {
		if err := os.MkdirAll(filepath.Join(placeholder, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(placeholder, "usr/lib/snapd/info"), info, 0o644); err != nil {
		return err
	}
	yaml := fmt.Sprintf("name: snapd\ntype: snapd\nversion: '%s'\nsummary: placeholder snapd snap (holds only usr/lib/snapd/info)\n", snapdInfoVersion(filepath.Join(rootfs, "usr/lib/snapd/info")))
	if err := os.WriteFile(filepath.Join(placeholder, "meta/snap.yaml"), []byte(yaml), 0o644); err != nil {
		return err
	}
	return nil
}

// bootSettings writes what every boot needs into its upper layer.
func bootSettings(upper, snapd string) error {
	// No udev in the container: the nodes of the machine's loop devices,
	// which the snaps' mount units and snapd's start-up check need, are
	// made early in the boot, before any of them.
	unit := `[Unit]
Description=Loop device nodes for snaps (no udev in the snapd suite's container)
DefaultDependencies=no
Before=local-fs-pre.target snapd.mounts-pre.target snapd.service
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'for i in $(seq 0 255); do [ -e /dev/loop$i ] || mknod -m 0660 /dev/loop$i b 7 $i; done; chgrp disk /dev/loop*'
`
	files := map[string]string{
		"etc/systemd/system/snapd-suite-loop-nodes.service": unit,
	}
	if versionLess(snapd, "2.68") {
		// snapd before 2.68 reloads udev's rules even in a container,
		// and fails every install where udevd does not run: systemd
		// starts udevd only where /sys is writable, which a container's
		// is not. udevd runs all the same (it gets no uevents there).
		for _, u := range []string{"systemd-udevd.service", "systemd-udevd-control.socket", "systemd-udevd-kernel.socket"} {
			files["etc/systemd/system/"+u+".d/snapd-suite.conf"] = "[Unit]\nConditionPathIsReadWrite=\n"
		}
	}
	for path, content := range files {
		full := filepath.Join(upper, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return err
		}
	}
	wants := filepath.Join(upper, "etc/systemd/system/sysinit.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		return err
	}
	if err := os.Symlink("../snapd-suite-loop-nodes.service", filepath.Join(wants, "snapd-suite-loop-nodes.service")); err != nil && !os.IsExist(err) {
		return err
	}
	// snapd refreshes its catalog of snap names when the cached one is
	// older than a day: a fresh one spares a store round trip (the
	// container has no network) at boot.
	names := filepath.Join(upper, "var/cache/snapd/names")
	if err := os.MkdirAll(filepath.Dir(names), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(names, nil, 0o644); err != nil {
		return err
	}
	recent := time.Now().Add(-time.Minute)
	return os.Chtimes(names, recent, recent)
}

// copyTree copies the regular files and directories of src into dst, with
// the modes the tree has in git (scripts executable).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		return os.WriteFile(target, data, mode)
	})
}

// snapSpec is a test snap as a case installs it.
type snapSpec struct {
	dir     string // under testdata/snaps
	name    string // --name: a parallel instance
	classic bool
}

// snap is the snap's name in its snap.yaml: sources named <snap>-<n> are
// version n of <snap>.
func (s snapSpec) snap() string {
	return strings.TrimSuffix(strings.TrimSuffix(s.dir, "-1"), "-2")
}

func (s snapSpec) instance() string {
	if s.name != "" {
		return s.name
	}
	return s.snap()
}

// version is the snap's version, which `snap pack` puts in the file name:
// sources named <snap>-<n> are version n of <snap>, others version 1.
func (s snapSpec) version() string {
	for _, v := range []string{"1", "2"} {
		if strings.HasSuffix(s.dir, "-"+v) {
			return v
		}
	}
	return "1"
}

func (s snapSpec) String() string {
	if s.name != "" {
		return s.dir + " as " + s.name
	}
	return s.dir
}
