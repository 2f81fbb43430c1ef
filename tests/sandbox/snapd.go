// SPDX-License-Identifier: GPL-3.0-only

package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// SnapdTree returns the directory where Debian's snapd package is unpacked,
// downloading it with `apt-get download snapd` and unpacking it with
// `dpkg -x` into cache when it is not there yet. The package is never
// installed: the bench and the tests copy a few of its programs into the
// sandbox, to measure against and to test with.
func SnapdTree(cache string) (string, error) {
	tree := filepath.Join(cache, "snapd")
	if _, err := os.Stat(filepath.Join(tree, "usr/lib/snapd/snap-confine")); err == nil {
		return tree, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	debs, _ := filepath.Glob(filepath.Join(cache, "snapd_*.deb"))
	if len(debs) == 0 {
		fmt.Fprintf(os.Stderr, "downloading Debian's snapd package into %s\n", cache)
		cmd := exec.Command("apt-get", "download", "snapd")
		cmd.Dir = cache
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("cannot download snapd with apt-get (no network?): %v: %s", err, strings.TrimSpace(string(out)))
		}
		if debs, _ = filepath.Glob(filepath.Join(cache, "snapd_*.deb")); len(debs) == 0 {
			return "", fmt.Errorf("cannot find the snapd package apt-get downloaded in %s", cache)
		}
	}
	tmp := tree + ".tmp"
	os.RemoveAll(tmp)
	if out, err := exec.Command("dpkg", "-x", debs[len(debs)-1], tmp).CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot unpack %s: %v: %s", debs[len(debs)-1], err, out)
	}
	if err := os.Rename(tmp, tree); err != nil {
		return "", err
	}
	return tree, nil
}

// SnapdVersion reads VERSION= from the package's usr/lib/snapd/info.
func SnapdVersion(tree string) string {
	data, _ := os.ReadFile(filepath.Join(tree, "usr/lib/snapd/info"))
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VERSION="); ok {
			return v
		}
	}
	return "unknown"
}
