// SPDX-License-Identifier: GPL-3.0-only

package snapd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// hostTools are Debian's debootstrap and systemd-nspawn, unpacked from the
// packages of the machine's own release with dpkg -x and run from there:
// nothing is installed on the machine.
type hostTools struct {
	debootstrapDir string // the unpacked debootstrap package
	nspawnDir      string // the unpacked systemd-container and libsystemd-shared packages
}

func (h *hostTools) debootstrap(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(h.debootstrapDir, "usr/sbin/debootstrap"), args...)
	cmd.Env = append(os.Environ(),
		"DEBOOTSTRAP_DIR="+filepath.Join(h.debootstrapDir, "usr/share/debootstrap"),
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	return cmd
}

// nspawn returns the path of systemd-nspawn and the environment it needs:
// the private library of the same systemd version, unpacked next to it.
func (h *hostTools) nspawn() (string, []string, error) {
	libs, _ := filepath.Glob(filepath.Join(h.nspawnDir, "usr/lib/*/systemd/libsystemd-shared-*.so"))
	libs2, _ := filepath.Glob(filepath.Join(h.nspawnDir, "usr/lib/systemd/libsystemd-shared-*.so"))
	libs = append(libs, libs2...)
	if len(libs) == 0 {
		return "", nil, fmt.Errorf("cannot find libsystemd-shared in %s", h.nspawnDir)
	}
	return filepath.Join(h.nspawnDir, "usr/bin/systemd-nspawn"), []string{"LD_LIBRARY_PATH=" + filepath.Dir(libs[0])}, nil
}

// fetchHostTools unpacks debootstrap and systemd-nspawn of the machine's
// release into the cache, downloading them when they are not there and
// fetch is set (otherwise that is a notPrepared error).
func fetchHostTools(cache string, fetch bool, logf func(string, ...any)) (*hostTools, error) {
	release, err := hostRelease()
	if err != nil {
		return nil, err
	}
	h := &hostTools{
		debootstrapDir: filepath.Join(cache, "tools", release, "debootstrap"),
		nspawnDir:      filepath.Join(cache, "tools", release, "nspawn"),
	}
	repo := newAptRepo(cache, release, release+"-updates")
	for _, dir := range []string{h.debootstrapDir, h.nspawnDir} {
		if _, err := os.Stat(filepath.Join(dir, ".unpacked")); err != nil && !fetch {
			return nil, notPrepared{"Debian " + release + "'s " + filepath.Base(dir)}
		}
	}
	if _, err := os.Stat(filepath.Join(h.debootstrapDir, ".unpacked")); err != nil {
		debs, err := repo.download(logf, filepath.Join(cache, "debs", release), "debootstrap")
		if err != nil {
			return nil, err
		}
		if err := unpack(h.debootstrapDir, debs...); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(h.nspawnDir, ".unpacked")); err != nil {
		// systemd-nspawn links systemd's private library, which must be
		// of the very same version: both come from the same source.
		debs, err := repo.download(logf, filepath.Join(cache, "debs", release), "systemd-container", "libsystemd-shared")
		if err != nil {
			return nil, err
		}
		if err := unpack(h.nspawnDir, debs...); err != nil {
			return nil, err
		}
	}
	path, env, err := h.nspawn()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, "--version")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("cannot run the unpacked systemd-nspawn (%s): %w: %s", path, err, lastLines(string(out), 3))
	}
	logf("systemd-nspawn: %s (unpacked from %s's systemd-container)", strings.SplitN(string(out), "\n", 2)[0], release)
	return h, nil
}
