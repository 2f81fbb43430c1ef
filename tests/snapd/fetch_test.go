// SPDX-License-Identifier: GPL-3.0-only

package snapd

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Everything the suite needs from Debian comes from Debian's archive through
// apt-get with a private sources list, state and cache under the suite's
// cache directory: the machine's apt configuration is never read for
// sources nor changed.

const archive = "http://deb.debian.org/debian"

// keyring is the machine's copy of Debian's archive keys, used read-only to
// check the archive's signatures (by apt-get and debootstrap).
const keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// aptRepo is a private apt setup for some suites of Debian's archive.
type aptRepo struct {
	dir    string   // holds sources.list, lists/, cache/
	suites []string // e.g. "bookworm", "bookworm-updates"
}

func newAptRepo(cache string, suites ...string) *aptRepo {
	return &aptRepo{dir: filepath.Join(cache, "apt", suites[0]), suites: suites}
}

func (r *aptRepo) options() []string {
	return []string{
		"-o", "Dir::Etc::sourcelist=" + filepath.Join(r.dir, "sources.list"),
		"-o", "Dir::Etc::sourceparts=-",
		"-o", "Dir::State::Lists=" + filepath.Join(r.dir, "lists"),
		"-o", "Dir::State::status=/dev/null",
		"-o", "Dir::Cache=" + filepath.Join(r.dir, "cache"),
		"-o", "APT::Sandbox::User=root",
		"-o", "Acquire::Languages=none",
		"-o", "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false",
		"-o", "Acquire::Retries=3",
	}
}

// update refreshes the package lists when they are missing or older than a
// day.
func (r *aptRepo) update(logf func(string, ...any)) error {
	stamp := filepath.Join(r.dir, "updated")
	if st, err := os.Stat(stamp); err == nil && time.Since(st.ModTime()) < 24*time.Hour {
		return nil
	}
	for _, d := range []string{"lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(r.dir, d), 0o755); err != nil {
			return err
		}
	}
	var list strings.Builder
	for _, s := range r.suites {
		fmt.Fprintf(&list, "deb [signed-by=%s] %s %s main\n", keyring, archive, s)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "sources.list"), []byte(list.String()), 0o644); err != nil {
		return err
	}
	logf("apt-get update (private sources list %s: %s)", filepath.Join(r.dir, "sources.list"), strings.Join(r.suites, " "))
	if out, err := exec.Command("apt-get", append(r.options(), "update", "-q")...).CombinedOutput(); err != nil {
		return fetchError{fmt.Errorf("cannot update the package lists of %s from %s: %w: %s", strings.Join(r.suites, " "), archive, err, lastLines(string(out), 5))}
	}
	return os.WriteFile(stamp, nil, 0o644)
}

// candidate returns the version apt-get would download of pkg.
func (r *aptRepo) candidate(pkg string) (string, error) {
	out, err := exec.Command("apt-cache", append(r.options(), "policy", pkg)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("cannot ask apt-cache about %s: %w: %s", pkg, err, lastLines(string(out), 3))
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Candidate: "); ok && v != "(none)" {
			return v, nil
		}
	}
	return "", fmt.Errorf("cannot find package %s in %s", pkg, strings.Join(r.suites, " "))
}

// download fetches pkgs (their candidate versions) into dir and returns the
// paths of the .deb files, in the order of pkgs.
func (r *aptRepo) download(logf func(string, ...any), dir string, pkgs ...string) ([]string, error) {
	if err := r.update(logf); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var debs []string
	for _, pkg := range pkgs {
		version, err := r.candidate(pkg)
		if err != nil {
			return nil, err
		}
		// apt-get names the file <pkg>_<version without epoch>_<arch>.deb.
		v := version
		if i := strings.IndexByte(v, ':'); i >= 0 {
			v = v[i+1:]
		}
		matches, _ := filepath.Glob(filepath.Join(dir, pkg+"_"+v+"_*.deb"))
		if len(matches) == 0 {
			logf("apt-get download %s=%s", pkg, version)
			cmd := exec.Command("apt-get", append(r.options(), "download", "-q", pkg+"="+version)...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				return nil, fetchError{fmt.Errorf("cannot download %s from %s: %w: %s", pkg, archive, err, lastLines(string(out), 5))}
			}
			if matches, _ = filepath.Glob(filepath.Join(dir, pkg+"_"+v+"_*.deb")); len(matches) == 0 {
				return nil, fmt.Errorf("cannot find the %s package apt-get downloaded into %s", pkg, dir)
			}
		}
		debs = append(debs, matches[0])
	}
	return debs, nil
}

// unpack extracts debs with dpkg -x into a new tree at dir (replacing an
// incomplete one), unless dir/.unpacked says it is already done.
func unpack(dir string, debs ...string) error {
	stamp := filepath.Join(dir, ".unpacked")
	if _, err := os.Stat(stamp); err == nil {
		return nil
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	for _, deb := range debs {
		if out, err := exec.Command("dpkg", "-x", deb, tmp).CombinedOutput(); err != nil {
			return fmt.Errorf("cannot unpack %s: %w: %s", deb, err, lastLines(string(out), 3))
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, ".unpacked"), []byte(strings.Join(debs, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	os.RemoveAll(dir)
	return os.Rename(tmp, dir)
}

// hostRelease is the codename of the machine's Debian release, whose
// systemd-nspawn and debootstrap match its libraries.
func hostRelease() (string, error) {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "", fmt.Errorf("cannot read /etc/os-release: %w", err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			fields[k] = strings.Trim(v, `"'`)
		}
	}
	if fields["ID"] != "debian" || fields["VERSION_CODENAME"] == "" {
		return "", fmt.Errorf("the machine is %s %s, not Debian: Debian's systemd-nspawn and debootstrap are unpacked from the archive of the machine's own Debian release", fields["ID"], fields["VERSION_ID"])
	}
	return fields["VERSION_CODENAME"], nil
}

// lastLines returns the last n lines of s, joined by " | ", for one-line errors.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
