// SPDX-License-Identifier: GPL-3.0-only

package snapd

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The seeded layer is the upper layer of one boot, kept and cached: snapd
// seeded, the store taken offline, the placeholder snapd snap and the two
// fake bases installed, parallel instances turned on, every test snap
// packed, and those installed whose installation runs nothing through
// snap-confine (no hook, no service; nothing of theirs has run, so no
// namespace exists). Every install's boot stacks its own upper layer on it
// (and on the prepared tree) and starts there, instead of spending a minute
// or two on the same steps; the snaps with a hook or a service are installed
// by their cases, under the install being tested.

// seedRecipe versions the seeded layer: bump it when seed changes what it
// does. The layer's name also carries a digest of the test snaps' sources.
const seedRecipe = 2

func seedLayer(cache string, r *rootfs, tools *hostTools, cpu int, logf func(string, ...any)) (string, error) {
	digest, err := snapsDigest()
	if err != nil {
		return "", err
	}
	base := filepath.Join(cache, "seeded")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(base, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return "", fmt.Errorf("cannot lock %s: %w", lock.Name(), err)
	}
	prefix := filepath.Base(r.dir) + "-"
	dir := filepath.Join(base, prefix+digest)
	if _, err := os.Stat(filepath.Join(dir, ".ready")); err == nil {
		return filepath.Join(dir, "upper"), nil
	}
	start := time.Now()
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	ctx := context.Background()
	c, err := boot(ctx, tools, bootConfig{
		lowers: []string{r.dir},
		name:   "snapd-suite-seed",
		cpu:    cpu,
		prepare: func(upper string) error {
			if err := stageSnaps(upper, r.dir); err != nil {
				return err
			}
			return bootSettings(upper, r.snapdVersion)
		},
	}, logf)
	if err != nil {
		return "", err
	}
	if err := seed(ctx, c, logf); err != nil {
		journal, _ := c.exec(ctx, "journalctl", "--no-pager", "-b", "-n", "60")
		c.stop()
		return "", fmt.Errorf("%w\njournal:\n%s", err, indent(journal))
	}
	c.keep = filepath.Join(dir, "upper")
	if err := c.stop(); err != nil {
		return "", err
	}
	if _, err := os.Stat(c.keep); err != nil {
		return "", fmt.Errorf("cannot keep the seeded layer: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".ready"), nil, 0o644); err != nil {
		return "", err
	}
	// Layers of this suite's older test snaps or trees are of no more
	// use.
	old, _ := filepath.Glob(filepath.Join(base, strings.SplitN(filepath.Base(r.dir), "-", 2)[0]+"-*"))
	for _, o := range old {
		if o != dir {
			os.RemoveAll(o)
		}
	}
	logf("seeded snapd in %s (kept as %s)", time.Since(start).Round(100*time.Millisecond), c.keep)
	return c.keep, nil
}

// seed packs every test snap (before the placeholder snapd snap is
// installed: `snap pack` then looks for mksquashfs in it), waits for snapd
// to seed, takes the store offline, installs the placeholder snapd snap and
// the two fake bases, and turns parallel instances on.
func seed(ctx context.Context, c *container, logf func(string, ...any)) error {
	step := time.Now()
	lap := func(what string) {
		logf("seeding: %s: %s", what, time.Since(step).Round(10*time.Millisecond))
		step = time.Now()
	}
	out, err := c.sh(ctx, "for d in "+snapSources+"/*; do snap pack --compression=lzo $d "+packedDir+" || exit 1; done")
	if err != nil {
		return fmt.Errorf("cannot pack the test snaps: %w", err)
	}
	var placeholder string
	for _, m := range regexp.MustCompile(`built: (\S+)`).FindAllStringSubmatch(out, -1) {
		if name := filepath.Base(m[1]); strings.HasPrefix(name, "snapd_") {
			placeholder = packedDir + "/" + name
		}
	}
	lap("snap pack of every test snap")
	if _, err := c.exec(ctx, "snap", "wait", "system", "seed.loaded"); err != nil {
		return err
	}
	lap("snap wait system seed.loaded")
	if _, err := c.exec(ctx, "snap", "set", "system", "store.access=offline"); err != nil {
		// snapd before 2.59 has no store.access; the private network
		// keeps the store away all the same.
		logf("note: %v", err)
	}
	lap("snap set system store.access=offline")
	if _, err := c.exec(ctx, "snap", "install", "--dangerous", placeholder); err != nil {
		return err
	}
	lap("the placeholder snapd snap installed")
	if _, err := c.exec(ctx, "snap", "install", "--dangerous", basesDir+"/core22_1_all.snap", basesDir+"/core24_1_all.snap"); err != nil {
		return err
	}
	lap("core22 and core24 installed")
	// The feature changes how classic apps start: on from the start.
	if _, err := c.exec(ctx, "snap", "set", "system", "experimental.parallel-instances=true"); err != nil {
		return err
	}
	for _, s := range seededSnaps {
		args := []string{"snap", "install", "--dangerous"}
		if s.classic {
			args = append(args, "--classic")
		}
		if s.name != "" {
			args = append(args, "--name", s.name)
		}
		if _, err := c.exec(ctx, append(args, packedDir+"/"+s.snap()+"_"+s.version()+"_all.snap")...); err != nil {
			return err
		}
	}
	lap(fmt.Sprintf("%d test snaps without hooks or services installed", len(seededSnaps)))
	return nil
}

// seededSnaps are installed in the seeded layer: installing them runs
// nothing through snap-confine.
var seededSnaps = []snapSpec{strict, classic, layoutTop, layoutUsr, content, plugged, refresh1, parallel, instance2, core24App, crowd}

// snapsDigest is a digest of the test snaps' sources and of the seeding
// recipe.
func snapsDigest() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n", seedRecipe)
	for _, root := range []string{"testdata/snaps", "testdata/probe"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			info, _ := d.Info()
			fmt.Fprintf(h, "%s %o %d\n", path, info.Mode()&0o111, len(data))
			h.Write(data)
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil)[:6]), nil
}
