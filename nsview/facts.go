// SPDX-License-Identifier: GPL-3.0-only

package nsview

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/gather"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/mountinfo"
	"github.com/snapns/snapns/shared/naming"
	"github.com/snapns/snapns/shared/stale"
	"github.com/snapns/snapns/shared/trusted"
)

// The facts only a launch can read for sure, as snap-ns reads them
// without privilege.

// detectAppArmor detects AppArmor as the launcher does.
func detectAppArmor() (gather.AppArmor, error) {
	proc, err := trusted.Proc()
	if err != nil {
		return gather.AppArmor{}, fmt.Errorf("cannot tell whether AppArmor is enabled: %w", err)
	}
	defer proc.Close()
	sys, err := trusted.Path("/sys")
	if err != nil {
		return gather.AppArmor{}, fmt.Errorf("cannot tell whether AppArmor is enabled: %w", err)
	}
	defer sys.Close()
	return gather.DetectAppArmor(sys, proc)
}

// procDir is /proc, opened once for snap-ns's run (nil when it cannot be:
// the readers then fail on it, saying so).
var procDir = sync.OnceValue(func() *desc.FD {
	proc, _ := trusted.Proc()
	return proc
})

// launcherDir is where the launcher is installed: next to snap-ns when it
// is there, else in snapd's directory on this host.
func launcherDir() string {
	if self, err := os.Executable(); err == nil && exists(filepath.Join(filepath.Dir(self), "snap-confine")) {
		return filepath.Dir(self)
	}
	for _, dir := range []string{"/usr/lib/snapd", "/usr/libexec/snapd"} {
		if exists(filepath.Join(dir, "snap-confine")) {
			return dir
		}
	}
	return "/usr/lib/snapd"
}

// installOf tells how the launcher is installed, as it would tell from its
// credentials when uid runs it: root is root; otherwise setuid root, or
// file capabilities, or neither.
func installOf(uid uint32) (planner.Install, string) {
	if uid == 0 {
		return planner.RootCaller, "root"
	}
	path := filepath.Join(launcherDir(), "snap-confine")
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return planner.Unprivileged, "unprivileged"
	}
	if st.Uid == 0 && st.Mode&unix.S_ISUID != 0 {
		return planner.Setuid, "setuid"
	}
	if n, err := unix.Getxattr(path, "security.capability", nil); err == nil && n > 0 {
		return planner.FileCaps, "file capabilities"
	}
	return planner.Unprivileged, "unprivileged"
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// preserved reads a preserved namespace's facts as the launcher does
// (trusted.PreservedNS, gather.Info), without privilege: whether it is the one
// captured there (its owner is snap-ns's own user namespace, which is pid
// 1's, and its identity the one recorded). A file that cannot be opened
// without privilege is taken to be the one captured there.
func (e *explainer) preserved(name, infoName string) planner.Preserved {
	var pre planner.Preserved
	dir, err := trusted.Path(layout.NSDir)
	if err != nil {
		return pre
	}
	defer dir.Close()
	ns, err := trusted.PreservedNS(procDir(), dir, name)
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
		e.assume(fmt.Sprintf("%s/%s is the namespace captured there (%v: needs root)", layout.NSDir, name, err))
		pre.Present = true
		pre.Info, pre.HaveInfo, _ = gather.Info(dir, infoName)
		pre.Identity = planner.Recorded(pre.Info)
		return pre
	}
	if err != nil {
		e.fail(err)
		return pre
	}
	if ns == nil {
		return pre
	}
	defer ns.Close()
	fd := ns.Fd()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		e.fail(fmt.Errorf("cannot inspect %s/%s", layout.NSDir, name))
		return pre
	}
	pre.Present = true
	display := layout.NSDir + "/" + infoName
	var why string
	if pre.Info, pre.HaveInfo, why = gather.Info(dir, infoName); !pre.HaveInfo && !strings.Contains(why, "no such file") {
		e.x.Ignored = append(e.x.Ignored, Ignored{File: display, Reason: why})
	}
	recorded := planner.Recorded(pre.Info)
	id, problem := namespaceID(fd)
	switch {
	case id != 0:
		pre.Identity = planner.Identity{ID: id}
	case strings.Contains(problem, "Linux 6.8"):
		pre.Identity = planner.Identity{Inode: st.Ino}
	default:
		e.assume(fmt.Sprintf("%s/%s is the namespace captured there (%s)", layout.NSDir, name, problem))
		pre.Identity = recorded
		return pre
	}
	if owner, ok := ownerIsOurs(fd); !ok {
		pre.NotOurs = owner
	} else if recorded != (planner.Identity{}) && !pre.Identity.Matches(recorded) {
		pre.NotOurs = fmt.Sprintf("its %s is not the %s recorded when it was captured", pre.Identity, recorded)
	}
	return pre
}

// ownerIsOurs tells whether the namespace behind fd is owned by snap-ns's
// own user namespace, and if not, why.
func ownerIsOurs(fd int) (string, bool) {
	owner, err := unix.IoctlRetInt(fd, unix.NS_GET_USERNS)
	if err != nil {
		return "", true
	}
	defer unix.Close(owner)
	var st, self unix.Stat_t
	if unix.Fstat(owner, &st) != nil || unix.Stat("/proc/self/ns/user", &self) != nil {
		return "", true
	}
	if st.Ino != self.Ino || st.Dev != self.Dev {
		return fmt.Sprintf("it is owned by user namespace %d, not pid 1's %d", st.Ino, self.Ino), false
	}
	return "", true
}

// inspect reads the preserved namespace's mount table through a process in
// it (or, as root, from inside it), keeping what an inspection looks at.
func (e *explainer) inspect() ([]mountinfo.Entry, bool) {
	path := layout.NSDir + "/" + layout.MountNSName(e.f.Launch.Instance)
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return nil, false
	}
	entries, _, problem := mountsOf(st.Ino, st.Dev)
	if problem != "" && os.Geteuid() == 0 {
		if entries, err = mountsByEntering(fd, st.Ino, st.Dev); err == nil {
			problem = ""
		}
	}
	if problem != "" {
		e.assume("the launcher inspects the preserved namespace, which snap-ns cannot: " + problem)
		return nil, false
	}
	cur := e.f.Current()
	var kept []mountinfo.Entry
	for _, m := range entries {
		if stale.Relevant(m, cur) {
			kept = append(kept, m)
		}
	}
	return kept, true
}

// SnapYAMLBase finds the top-level "base:" of a snap's meta/snap.yaml, as
// much YAML as snapd writes for it: one unindented key, its value plain or
// quoted. ok is false when there is none or it is not a snap name.
func SnapYAMLBase(unsafeData []byte) (base string, ok bool) {
	for _, line := range bytes.Split(unsafeData, []byte("\n")) {
		rest, found := bytes.CutPrefix(line, []byte("base:"))
		if !found {
			continue
		}
		v := strings.TrimSpace(string(rest))
		if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		if naming.ValidateSnapName(v) != nil {
			return "", false
		}
		return v, true
	}
	return "", false
}
