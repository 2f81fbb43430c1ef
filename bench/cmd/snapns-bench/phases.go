// SPDX-License-Identifier: GPL-3.0-only

package main

import (
	"fmt"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/tests/sandbox"
)

// Rows of the table.
const (
	rowTrue         = "floor: exec app"
	rowBinTrue      = "floor: exec /bin/true (dynamic)"
	rowNsenter      = "floor: nsenter --mount=<ns> app"
	rowSetpriv      = "floor: setpriv --reuid 1000 app"
	rowGoExec       = "floor: Go program execs app"
	rowGoNsenter    = "floor: Go program joins <ns>, execs app"
	rowHotRoot      = "hot, root (join)"
	rowHotUser      = "hot, uid 1000, per-user layer rebuilt"
	rowHotUserKept  = "hot, uid 1000, per-user layer preserved"
	rowClassic      = "classic, uid 1000"
	rowDiscard      = "discard (snap-discard-ns)"
	rowCold         = "cold, root"
	rowRefresh      = "cold after base refresh, root"
	rowConcurrent   = "cold, %d concurrent, root (wall)"
	rowCrowded      = "hot, root, %d other ns"
	rowUncrowded    = "hot, root, those unmounted (same rounds)"
	rowParallelCPU  = "CPU: hot, root, parallel-instances, %d other ns"
	rowParallelNone = "CPU: hot, root, parallel-instances, none (same rounds)"
)

// phaseMain: the floors, the hot, classic, discard, cold and refresh
// paths, every round, both tools in alternating order. A round leaves both
// snaps' namespaces preserved, as the next one's hot paths need.
func phaseMain(b *bench) error {
	for _, row := range []string{rowNsenter, rowGoNsenter, rowHotRoot, rowHotUser} {
		b.res.hot[row] = true
	}
	for _, t := range []tool{snapns, snapd} {
		if _, err := b.run(t.launch(how{})); err != nil {
			return err
		}
		if err := expect(t, how{}, nsOf(nsDir+"/"+t.snap+".mnt"), "its snap's preserved namespace"); err != nil {
			return err
		}
	}
	// The per-user layer, rebuilt each time, is neither the snap's
	// namespace nor pid 1's.
	for _, t := range []tool{snapns, snapd} {
		h := how{uid: userUID, app: mntnsBin}
		got, err := mntns(t.launch(h))
		if err != nil {
			return err
		}
		if got == nsOf(nsDir+"/"+t.snap+".mnt") || got == nsOf("/proc/1/ns/mnt") {
			return fmt.Errorf("%s: uid %d's app ran in %s, not in a per-user layer", t.name, userUID, got)
		}
	}
	base := "1"
	for r := 0; r < *rounds; r++ {
		floors := []struct {
			row  string
			argv []string
		}{
			{rowTrue, []string{trueBin}},
			{rowBinTrue, []string{"/bin/true"}},
			{rowNsenter, []string{"nsenter", "--mount=" + nsDir + "/" + snapns.snap + ".mnt", trueBin}},
			{rowSetpriv, []string{"setpriv", "--reuid", "1000", "--regid", "1000", "--clear-groups", trueBin}},
			{rowGoExec, []string{goNsenterBin, "-", trueBin}},
			{rowGoNsenter, []string{goNsenterBin, nsDir + "/" + snapns.snap + ".mnt", trueBin}},
		}
		for _, f := range floors {
			path, err := exec.LookPath(f.argv[0])
			if err != nil {
				return err
			}
			cmd := exec.Command(path, f.argv[1:]...)
			cmd.Dir = "/"
			if err := b.time(f.row, floor, cmd); err != nil {
				return err
			}
		}
		for _, t := range pair(r) {
			if err := b.time(rowHotRoot, t.name, t.launch(how{})); err != nil {
				return err
			}
		}
		for _, t := range pair(r) {
			if err := b.time(rowHotUser, t.name, t.launch(how{uid: userUID})); err != nil {
				return err
			}
		}
		for _, t := range pair(r) {
			if err := b.time(rowClassic, t.name, t.launch(how{uid: userUID, classic: true})); err != nil {
				return err
			}
		}
		for _, t := range pair(r) {
			if err := b.time(rowDiscard, t.name, t.discard()); err != nil {
				return err
			}
			if nsOf(nsDir+"/"+t.snap+".mnt") != "" {
				return fmt.Errorf("%s: snap-discard-ns left %s.mnt preserved", t.name, t.snap)
			}
		}
		for _, t := range pair(r) {
			if err := b.time(rowCold, t.name, t.launch(how{})); err != nil {
				return err
			}
		}
		// The base refresh: current moves to the other revision (its own
		// device); the next launch finds the namespace stale, unused,
		// and rebuilds it.
		if base == "1" {
			base = "2"
		} else {
			base = "1"
		}
		if err := sandbox.SetCurrent("core", base); err != nil {
			return err
		}
		for _, t := range pair(r) {
			// Compared by 64-bit id: a namespace's inode number is
			// reused once it is freed.
			before := nsID(nsDir + "/" + t.snap + ".mnt")
			if err := b.time(rowRefresh, t.name, t.launch(how{})); err != nil {
				return err
			}
			if after := nsID(nsDir + "/" + t.snap + ".mnt"); after == before || after == 0 {
				log, _ := os.ReadFile(b.errLog.Name())
				return fmt.Errorf("%s: a launch after the base refresh kept the stale namespace\n%s", t.name, tail(string(log), 40))
			}
		}
	}
	return nil
}

// phasePerUser: uid 1000's hot launch with the per-user-mount-namespace
// feature on, so that its layer is preserved and joined.
func phasePerUser(b *bench) error {
	b.res.hot[rowHotUserKept] = true
	if err := os.MkdirAll(features, 0o755); err != nil {
		return err
	}
	flag := features + "/per-user-mount-namespace"
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		return err
	}
	defer os.Remove(flag)
	for _, t := range []tool{snapns, snapd} {
		if _, err := b.run(t.launch(how{uid: userUID})); err != nil {
			return err
		}
		layer := fmt.Sprintf("%s/%s.%d.mnt", nsDir, t.snap, userUID)
		if err := expect(t, how{uid: userUID}, nsOf(layer), "its preserved per-user layer"); err != nil {
			return err
		}
	}
	for r := 0; r < *rounds; r++ {
		for _, t := range pair(r) {
			if err := b.time(rowHotUserKept, t.name, t.launch(how{uid: userUID})); err != nil {
				return err
			}
		}
	}
	return nil
}

// phaseConcurrent: N launches of one snap started at once on a discarded
// namespace; wall time until every app has run. Exactly one namespace must
// come out of it, and every app must have run in it.
func phaseConcurrent(b *bench) error {
	row := fmt.Sprintf(rowConcurrent, *concurrent)
	for r := 0; r < *concRounds; r++ {
		for _, t := range pair(r) {
			if _, err := b.run(t.discard()); err != nil {
				return err
			}
			cmds := make([]*exec.Cmd, *concurrent)
			outs := make([]*os.File, *concurrent)
			errs := make([]*os.File, *concurrent)
			for i := range cmds {
				for _, f := range []**os.File{&outs[i], &errs[i]} {
					var err error
					if *f, err = os.CreateTemp("/var/tmp", "concurrent-"); err != nil {
						return err
					}
					defer os.Remove((*f).Name())
					defer (*f).Close()
				}
				cmds[i] = t.launch(how{app: mntnsBin})
				cmds[i].Stdout, cmds[i].Stderr = outs[i], errs[i]
			}
			start := time.Now()
			for _, c := range cmds {
				if err := c.Start(); err != nil {
					return err
				}
			}
			var failed error
			for i, c := range cmds {
				if err := c.Wait(); err != nil && failed == nil {
					log, _ := os.ReadFile(errs[i].Name())
					failed = fmt.Errorf("%s: a concurrent launch failed: %v\n%s", t.name, err, tail(string(log), 20))
				}
			}
			wall := time.Since(start)
			if failed != nil {
				return failed
			}
			want := nsOf(nsDir + "/" + t.snap + ".mnt")
			for _, f := range outs {
				out, _ := os.ReadFile(f.Name())
				if string(out) != want || want == "" {
					return fmt.Errorf("%s: a concurrent launch ran in %q, not in the one preserved namespace %q", t.name, out, want)
				}
			}
			b.res.add(row, t.name, wall, -1)
		}
	}
	return nil
}

// phaseCrowded: the hot root launch with many other snaps' namespaces
// preserved (made alternately by each tool), as on a machine with many
// snaps in use.
func phaseCrowded(b *bench) error {
	row := fmt.Sprintf(rowCrowded, *others)
	b.res.hot[row], b.res.hot[rowUncrowded] = true, true
	// Each measured snap sees the other tool's snap plus these.
	var crowd []string
	for i := 1; i < *others; i++ {
		t := []tool{snapns, snapd}[i%2]
		t.snap = fmt.Sprintf("other%d", i)
		if err := profile(t.snap); err != nil {
			return err
		}
		if _, err := b.run(t.launch(how{})); err != nil {
			return err
		}
		crowd = append(crowd, nsDir+"/"+t.snap+".mnt")
	}
	// The crowd comes and goes between rounds, so that the launches with
	// it and without it are interleaved like the tools are: its
	// namespaces stay alive through the descriptors held here, and are
	// unmounted from /run/snapd/ns and bound back.
	held := make([]int, len(crowd))
	for i, path := range crowd {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		held[i] = fd
	}
	toggle := func(on bool) error {
		for i, path := range crowd {
			var err error
			if on {
				err = unix.Mount(fmt.Sprintf("/proc/self/fd/%d", held[i]), path, "", unix.MS_BIND, "")
			} else {
				err = unix.Unmount(path, unix.MNT_DETACH)
			}
			if err != nil {
				return fmt.Errorf("cannot toggle the crowd at %s: %w", path, err)
			}
		}
		return nil
	}
	for r := 0; r < *rounds; r++ {
		for _, t := range pair(r) {
			if err := b.time(row, t.name, t.launch(how{})); err != nil {
				return err
			}
		}
		if err := toggle(false); err != nil {
			return err
		}
		for _, t := range pair(r) {
			if err := b.time(rowUncrowded, t.name, t.launch(how{})); err != nil {
				return err
			}
		}
		if err := toggle(true); err != nil {
			return err
		}
	}
	// What the notes measure next (syscall counts, the cold timeline)
	// compares with the uncrowded rows.
	return toggle(false)
}

// phaseParallelCPU: the CPU time (user and system, from wait4's rusage: the
// launcher and the app) of the hot root launch with the parallel-instances
// feature on, with many other snaps' namespaces preserved and with none,
// interleaved round by round as in phaseCrowded. With the feature on, every
// launch makes sure /snap and /var/snap are shared mount points in pid 1's
// namespace, whose mount table holds a line per preserved namespace: ours
// records the one-time set-up (/run/snapd/lock/.snap-dirs-shared) and reads
// no table after; snap-confine reads it on every launch.
func phaseParallelCPU(b *bench) error {
	if err := os.MkdirAll(features, 0o755); err != nil {
		return err
	}
	flag := features + "/parallel-instances"
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		return err
	}
	defer os.Remove(flag)
	row, none := fmt.Sprintf(rowParallelCPU, *parOthers), rowParallelNone
	for _, t := range []tool{snapns, snapd} {
		if err := expect(t, how{}, nsOf(nsDir+"/"+t.snap+".mnt"), "its snap's preserved namespace"); err != nil {
			return err
		}
	}
	var crowd []string
	for i := 0; i < *parOthers; i++ {
		t := snapns
		t.snap = fmt.Sprintf("par%d", i)
		if err := profile(t.snap); err != nil {
			return err
		}
		if _, err := b.run(t.launch(how{})); err != nil {
			return err
		}
		crowd = append(crowd, nsDir+"/"+t.snap+".mnt")
	}
	held := make([]int, len(crowd))
	for i, path := range crowd {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		held[i] = fd
	}
	toggle := func(on bool) error {
		for i, path := range crowd {
			var err error
			if on {
				err = unix.Mount(fmt.Sprintf("/proc/self/fd/%d", held[i]), path, "", unix.MS_BIND, "")
			} else {
				err = unix.Unmount(path, unix.MNT_DETACH)
			}
			if err != nil {
				return fmt.Errorf("cannot toggle the crowd at %s: %w", path, err)
			}
		}
		return nil
	}
	for r := 0; r < *rounds; r++ {
		for _, t := range pair(r) {
			if err := b.cpu(row, t.name, t.launch(how{})); err != nil {
				return err
			}
		}
		if err := toggle(false); err != nil {
			return err
		}
		for _, t := range pair(r) {
			if err := b.cpu(none, t.name, t.launch(how{})); err != nil {
				return err
			}
		}
		if err := toggle(true); err != nil {
			return err
		}
	}
	return toggle(false)
}
