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
// measure against and to test with) are downloaded with `apt-get download`
// through a sources list of their own, never installed, and unpacked with
// `dpkg -x`: the machine's apt configuration is never read nor changed.

// debianKeyring verifies the archive's signatures.
const debianKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// DebianPackage returns the path of Debian suite's newest pkg (amd64 or
// all), downloading it into cache/<suite> when no copy is there yet.
func DebianPackage(cache, suite, pkg string) (string, error) {
	dir, err := filepath.Abs(filepath.Join(cache, suite))
	if err != nil {
		return "", err
	}
	if debs, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb")); len(debs) > 0 {
		return debs[len(debs)-1], nil
	}
	for _, d := range []string{"lists/partial", "archives/partial"} {
		if err := os.MkdirAll(filepath.Join(dir, "apt", d), 0o755); err != nil {
			return "", err
		}
	}
	sources := filepath.Join(dir, "apt", "sources.list")
	line := fmt.Sprintf("deb [signed-by=%s] http://deb.debian.org/debian %s main\n", debianKeyring, suite)
	if err := os.WriteFile(sources, []byte(line), 0o644); err != nil {
		return "", err
	}
	apt := func(args ...string) error {
		opts := []string{
			"-o", "Dir::Etc::sourcelist=" + sources, "-o", "Dir::Etc::sourceparts=-",
			"-o", "Dir::State::Lists=" + filepath.Join(dir, "apt", "lists"),
			"-o", "Dir::Cache=" + filepath.Join(dir, "apt"), "-o", "APT::Get::List-Cleanup=0",
			"-o", "APT::Sandbox::User=root", "-qq",
		}
		cmd := exec.Command("apt-get", append(opts, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("cannot %s from Debian %s (no network?): %v: %s", strings.Join(args, " "), suite, err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	fmt.Fprintf(os.Stderr, "downloading Debian %s's %s package into %s\n", suite, pkg, dir)
	if err := apt("update"); err != nil {
		return "", err
	}
	if err := apt("download", pkg); err != nil {
		return "", err
	}
	debs, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	if len(debs) == 0 {
		return "", fmt.Errorf("cannot find the %s package apt-get downloaded in %s", pkg, dir)
	}
	return debs[len(debs)-1], nil
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
// unpacked (bookworm: 2.57.6; sid: 2.77.x), fetching it into cache first
// when needed.
func SnapdTree(cache, suite string) (string, error) {
	deb, err := DebianPackage(cache, suite, "snapd")
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
