// SPDX-License-Identifier: GPL-3.0-only

package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Debian's packages the tests and the bench use (snapd's own programs, to
// measure against and to test with) are downloaded by tools/debfetch.sh
// (apt-get download through a sources list of its own, never installed,
// the machine's apt configuration never read nor changed) into
// .cache/debs/<suite>, as `make deps` downloads them, and unpacked with
// `dpkg -x`.

// DebianPackage returns the path of Debian suite's pkg in the repository
// root's .cache/debs/<suite>, downloading it first when it is not there.
func DebianPackage(root, suite, pkg string) (string, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, ".cache", "debs", suite)
	cmd := exec.Command(filepath.Join(root, "tools", "debfetch.sh"), suite, dir, pkg)
	cmd.Dir = root
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cannot download Debian %s's %s (no network?): %v: %s", suite, pkg, err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Fields(string(out))
	if len(lines) == 0 {
		return "", fmt.Errorf("cannot find Debian %s's %s in %s", suite, pkg, dir)
	}
	return lines[len(lines)-1], nil
}

// Unpacked returns the directory where deb is unpacked with `dpkg -x`,
// unpacking it there first if needed.
func Unpacked(deb string) (string, error) {
	tree := strings.TrimSuffix(deb, ".deb")
	if _, err := os.Stat(tree); err == nil {
		return tree, nil
	}
	tmp := tree + ".tmp"
	os.RemoveAll(tmp)
	if out, err := exec.Command("dpkg", "-x", deb, tmp).CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot unpack %s: %v: %s", deb, err, out)
	}
	if err := os.Rename(tmp, tree); err != nil {
		return "", err
	}
	return tree, nil
}

// SnapdTree returns the directory where Debian suite's snapd package is
// unpacked (bookworm: 2.57.6; sid: 2.77.x), fetching it first when needed;
// root is the repository's.
func SnapdTree(root, suite string) (string, error) {
	deb, err := DebianPackage(root, suite, "snapd")
	if err != nil {
		return "", err
	}
	return Unpacked(deb)
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
