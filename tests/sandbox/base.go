// SPDX-License-Identifier: GPL-3.0-only

package sandbox

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// BaseDirs are the directories a test base snap has: the mount points of the
// launcher's bootstrap table (policy.NormalModeBinds and the fixed ones) and
// a little userland.
var BaseDirs = []string{
	"bin", "dev", "etc", "home", "root", "proc", "sys", "tmp", "var/snap",
	"var/lib/snapd", "var/tmp", "run", "lib/modules", "lib/firmware", "usr/src",
	"var/log", "media", "mnt", "usr/bin", "usr/lib/snapd", "snap",
}

// Base describes a base snap to make.
type Base struct {
	Name, Revision string
	// Omit lists entries of BaseDirs the base lacks.
	Omit []string
	// Current makes /snap/<name>/current point to this revision.
	Current bool
	// Files are more entries of the base: a path ending in "/" is a
	// directory, any other a file with that content.
	Files map[string]string
}

// MakeBase builds a base snap inside the sandbox as a squashfs image on a
// loop device (ramfs when squashfs-tools are missing), mounted read-only at
// /snap/<name>/<revision>, with a marker file /base-marker holding
// "<name> <revision>" and busybox when the host has a static one. Each base
// has its own device, as real bases do.
func MakeBase(b Base) error {
	stage, err := os.MkdirTemp("/var/tmp", "base-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	// MkdirTemp makes 0700; the image's root becomes the snap's "/".
	if err := os.Chmod(stage, 0o755); err != nil {
		return err
	}
	for _, d := range BaseDirs {
		if slices.Contains(b.Omit, d) {
			continue
		}
		if err := os.MkdirAll(filepath.Join(stage, d), 0o755); err != nil {
			return err
		}
	}
	files := map[string]string{
		"base-marker":        b.Name + " " + b.Revision + "\n",
		"etc/nsswitch.conf":  "# from base " + b.Name + "\n",
		"etc/os-release":     "ID=snapns-test-base\n",
		"etc/base-only-file": "the host's /etc hides this\n",
	}
	maps.Copy(files, b.Files)
	for name, content := range files {
		path := filepath.Join(stage, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
	}
	if data, err := os.ReadFile("/usr/bin/busybox"); err == nil && !slices.Contains(b.Omit, "usr/bin") {
		if err := os.WriteFile(filepath.Join(stage, "usr/bin/busybox"), data, 0o755); err != nil {
			return err
		}
		os.Symlink("busybox", filepath.Join(stage, "usr/bin/sh"))
	}
	mnt := filepath.Join("/snap", b.Name, b.Revision)
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return err
	}
	if _, err := exec.LookPath("mksquashfs"); err == nil {
		image := filepath.Join("/var/tmp", fmt.Sprintf("%s_%s.snap", b.Name, b.Revision))
		if out, err := exec.Command("mksquashfs", stage, image, "-noappend", "-quiet", "-all-root", "-no-progress").CombinedOutput(); err != nil {
			return fmt.Errorf("mksquashfs: %v: %s", err, out)
		}
		if out, err := exec.Command("mount", "-t", "squashfs", "-o", "loop,ro", image, mnt).CombinedOutput(); err != nil {
			return fmt.Errorf("mount %s: %v: %s", image, err, out)
		}
	} else {
		if err := unix.Mount("ramfs", mnt, "ramfs", 0, "mode=0755"); err != nil {
			return err
		}
		if out, err := exec.Command("cp", "-a", stage+"/.", mnt).CombinedOutput(); err != nil {
			return fmt.Errorf("cp: %v: %s", err, out)
		}
	}
	if b.Current {
		return SetCurrent(b.Name, b.Revision)
	}
	return nil
}

// SetCurrent points /snap/<name>/current at a revision, as snapd does on a
// refresh (a relative symlink, replaced atomically).
func SetCurrent(name, revision string) error {
	tmp := filepath.Join("/snap", name, ".current.tmp")
	os.Remove(tmp)
	if err := os.Symlink(revision, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join("/snap", name, "current"))
}
