// SPDX-License-Identifier: GPL-3.0-only

// Package debian fetches packages from Debian's archive for the tests,
// without touching the machine's apt configuration: each release gets a
// private sources list, package lists and download cache under a directory
// of the repository's .cache, apt-get downloads the .deb there and dpkg -x
// unpacks it. Nothing is ever installed.
package debian

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Mirror is the archive the tests use (the only one the test machines may
// reach).
const Mirror = "http://deb.debian.org/debian"

// SecurityMirror serves the security updates of the supported releases:
// bullseye's kernels are updated there and nowhere else.
const SecurityMirror = "http://deb.debian.org/debian-security"

// listsMaxAge is how long downloaded package lists are trusted before the
// next fetch refreshes them: kernels and snapd move on, and a package name
// resolved from old lists may no longer be downloadable.
const listsMaxAge = 24 * time.Hour

// Archive is a private view of one Debian release.
type Archive struct {
	// Release is a code name: bullseye, bookworm, trixie, sid.
	Release string
	// Dir holds the sources list, the lists, apt's cache, the .debs and
	// the unpacked trees.
	Dir string
	// Log receives what is done (downloads); nil for none.
	Log func(format string, args ...any)
}

// New returns the archive of release, kept under cache/<release>.
func New(cache, release string) *Archive {
	return &Archive{Release: release, Dir: filepath.Join(cache, release)}
}

// sources are the lines of the release's private sources list: the release
// and, for a release with security support, its security and point-release
// updates.
func (a *Archive) sources() string {
	lines := []string{fmt.Sprintf("deb %s %s main", Mirror, a.Release)}
	switch a.Release {
	case "sid", "unstable", "experimental":
	default:
		lines = append(lines,
			fmt.Sprintf("deb %s %s-updates main", Mirror, a.Release),
			fmt.Sprintf("deb %s %s-security main", SecurityMirror, a.Release))
	}
	return strings.Join(lines, "\n") + "\n"
}

// aptOptions point apt-get and apt-cache at the private files only.
func (a *Archive) aptOptions() []string {
	return []string{
		"-o", "Dir::Etc::sourcelist=" + filepath.Join(a.Dir, "sources.list"),
		"-o", "Dir::Etc::sourceparts=/nonexistent",
		"-o", "Dir::State::Lists=" + filepath.Join(a.Dir, "lists"),
		"-o", "Dir::State::status=" + filepath.Join(a.Dir, "status"),
		"-o", "Dir::Cache=" + filepath.Join(a.Dir, "apt-cache"),
		"-o", "APT::Sandbox::User=root",
		"-o", "Acquire::Languages=none",
		"-o", "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false",
	}
}

func (a *Archive) logf(format string, args ...any) {
	if a.Log != nil {
		a.Log(format, args...)
	}
}

// Update downloads the package lists unless they are younger than a day
// (force: always).
func (a *Archive) Update(force bool) error {
	stamp := filepath.Join(a.Dir, "lists.stamp")
	if st, err := os.Stat(stamp); err == nil && !force && time.Since(st.ModTime()) < listsMaxAge {
		return nil
	}
	for _, d := range []string{"lists/partial", "apt-cache/archives/partial", "debs", "trees"} {
		if err := os.MkdirAll(filepath.Join(a.Dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(a.Dir, "sources.list"), []byte(a.sources()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(a.Dir, "status"), nil, 0o644); err != nil {
		return err
	}
	a.logf("updating the package lists of Debian %s (%s)", a.Release, a.Dir)
	if _, err := a.run("apt-get", "-qq", "update"); err != nil {
		return err
	}
	return os.WriteFile(stamp, nil, 0o644)
}

func (a *Archive) run(tool string, args ...string) (string, error) {
	cmd := exec.Command(tool, append(a.aptOptions(), args...)...)
	cmd.Dir = filepath.Join(a.Dir, "debs")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("cannot run %s %s for Debian %s (no network?): %v: %s", tool, strings.Join(args, " "), a.Release, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Depends returns the packages pkg depends on (the first alternative of
// each), from the lists: how a metapackage such as linux-image-amd64 names
// the release's current kernel.
func (a *Archive) Depends(pkg string) ([]string, error) {
	out, err := a.run("apt-cache", "depends", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", pkg)
	if err != nil {
		return nil, err
	}
	var deps []string
	for _, line := range strings.Split(out, "\n") {
		if dep, ok := strings.CutPrefix(strings.TrimSpace(line), "Depends: "); ok && !strings.HasPrefix(dep, "<") {
			deps = append(deps, dep)
		}
	}
	return deps, nil
}

// Version returns the version of pkg the lists offer.
func (a *Archive) Version(pkg string) (string, error) {
	out, err := a.run("apt-cache", "show", "--no-all-versions", pkg)
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^Version: (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("cannot find the version of %s in Debian %s's lists", pkg, a.Release)
	}
	return m[1], nil
}

// Unpacked returns the directory where pkg (the version the lists offer)
// is unpacked with dpkg -x, downloading it first with apt-get download when
// it is not there yet.
func (a *Archive) Unpacked(pkg string) (string, error) {
	version, err := a.Version(pkg)
	if err != nil {
		return "", err
	}
	name := pkg + "_" + strings.ReplaceAll(version, ":", "%3a")
	tree := filepath.Join(a.Dir, "trees", name)
	if _, err := os.Stat(tree); err == nil {
		return tree, nil
	}
	debs, _ := filepath.Glob(filepath.Join(a.Dir, "debs", name+"_*.deb"))
	if len(debs) == 0 {
		a.logf("downloading %s %s from Debian %s", pkg, version, a.Release)
		if _, err := a.run("apt-get", "-qq", "download", pkg+"="+version); err != nil {
			return "", err
		}
		if debs, _ = filepath.Glob(filepath.Join(a.Dir, "debs", name+"_*.deb")); len(debs) == 0 {
			return "", fmt.Errorf("cannot find the %s package apt-get downloaded in %s", pkg, filepath.Join(a.Dir, "debs"))
		}
	}
	tmp := tree + ".tmp"
	os.RemoveAll(tmp)
	if out, err := exec.Command("dpkg", "-x", debs[0], tmp).CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot unpack %s: %v: %s", debs[0], err, out)
	}
	if err := os.Rename(tmp, tree); err != nil {
		return "", err
	}
	// Older downloads of the same package are of no more use.
	old, _ := filepath.Glob(filepath.Join(a.Dir, "debs", pkg+"_*.deb"))
	for _, deb := range old {
		if deb != debs[0] {
			os.Remove(deb)
		}
	}
	return tree, nil
}

// Fetch is Update then Unpacked: the tree of pkg in release, kept under
// cache. When the lists cannot be refreshed (no network) but a tree from an
// earlier fetch is there, that tree is used.
func Fetch(cache, release, pkg string, log func(string, ...any)) (string, error) {
	a := New(cache, release)
	a.Log = log
	if err := a.Update(false); err != nil {
		if trees, _ := filepath.Glob(filepath.Join(a.Dir, "trees", pkg+"_*")); len(trees) > 0 && !strings.HasSuffix(trees[len(trees)-1], ".tmp") {
			a.logf("%v; using the tree fetched earlier", err)
			return trees[len(trees)-1], nil
		}
		return "", err
	}
	return a.Unpacked(pkg)
}
