// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"encoding/binary"
	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/shared/resolve"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/launcher/privop"
	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/info"
	"github.com/snapns/snapns/shared/trusted"
	"github.com/snapns/snapns/tests/kernelsim"
)

// Each fallback of kernel.go is forced here on the test machine's kernel:
// kernelsim.Simulate runs the test again in a child process whose kernel
// answers as an older one (a seccomp filter and a supervisor), and the
// fallback must give the answer the newer interface gives in the parent.

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPING: needs root (mounts, bpf)")
	}
}

func testProc(t *testing.T) *desc.FD {
	t.Helper()
	proc, err := trusted.Proc()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proc.Close() })
	return proc
}

// Linux 5.4's statx has no STATX_ATTR_MOUNT_ROOT: mountRoot then compares
// mount ids, and tells a tmpfs, a bind mount of a directory onto itself
// (same device: only the mount id differs) and a plain directory apart as
// statx does.
func TestMountRootWithoutStatxAttribute(t *testing.T) {
	needRoot(t)
	simulated := kernelsim.Simulate(t, kernelsim.StatxMountRoot)
	l := &session{launcher: &launcher{debug: true}, host: host{proc: testProc(t)}}
	dir := t.TempDir()
	kernelsim.OnPrivateThread(t, simulated, func() error {
		for _, d := range []string{"tmpfs", "self", "plain"} {
			if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
				return err
			}
		}
		if err := unix.Mount("tmpfs", filepath.Join(dir, "tmpfs"), "tmpfs", 0, ""); err != nil {
			return err
		}
		defer unix.Unmount(filepath.Join(dir, "tmpfs"), unix.MNT_DETACH)
		if err := unix.Mount(filepath.Join(dir, "self"), filepath.Join(dir, "self"), "", unix.MS_BIND, ""); err != nil {
			return err
		}
		defer unix.Unmount(filepath.Join(dir, "self"), unix.MNT_DETACH)
		fd, err := unix.Open(dir, dirFlags, 0)
		if err != nil {
			return err
		}
		parent := desc.New(fd, dir)
		defer parent.Close()
		for name, want := range map[string]bool{"tmpfs": true, "self": true, "plain": false} {
			fd, err := unix.Openat(parent.Fd(), name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			child := desc.New(fd, name)
			got, err := l.mountRoot(parent, child)
			child.Close()
			if err != nil || got != want {
				t.Errorf("%s: mount root %t (%v), want %t", name, got, err, want)
			}
		}
		return nil
	})
	if resolve.HaveStatxMountRoot() == simulated {
		t.Errorf("the statx probe says %t on a kernel simulated without it: %t", resolve.HaveStatxMountRoot(), simulated)
	}
}

// Before Linux 6.8 (no NS_GET_MNTNS_ID) a namespace is known by its nsfs
// inode: recorded, verified, and compared as a layer's parent.
func TestNamespaceIdentityWithoutIDs(t *testing.T) {
	simulated := kernelsim.Simulate(t, kernelsim.MountNSID)
	fd, err := unix.Open("/proc/thread-self/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	nsfd := desc.New(fd, "the test's mount namespace")
	defer nsfd.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	id, err := identify(nsfd)
	if err != nil {
		t.Fatal(err)
	}
	if !simulated {
		if id.ID == 0 || id.Inode != 0 {
			t.Fatalf("identity %+v on a kernel with namespace ids", id)
		}
		return
	}
	if id != (planner.Identity{Inode: st.Ino}) || kernel.nsIDs != lack {
		t.Fatalf("identity %+v (probe %d), want the inode %d", id, kernel.nsIDs, st.Ino)
	}
	in := info.Info{MountNSID: id.ID, MountNSInode: id.Inode}
	if in.MountNSID != 0 || in.MountNSInode != st.Ino {
		t.Fatalf("recorded %+v", in)
	}
	owner, err := ownerOf(nsfd)
	if err != nil {
		t.Fatal(err)
	}
	l := &session{launcher: &launcher{}, host: host{ns: nsfd, owner: owner}}
	if err := l.verifyCaptured(nsfd, planner.Recorded(in)); err != nil {
		t.Errorf("the namespace recorded is refused: %v", err)
	}
	if err := l.verifyCaptured(nsfd, planner.Identity{Inode: st.Ino + 1}); err == nil || !strings.Contains(err.Error(), "inode") {
		t.Errorf("another inode is accepted: %v", err)
	}
	if err := l.verifyCaptured(nsfd, planner.Identity{ID: 5}); err == nil {
		t.Error("an id recorded on another kernel is accepted without ids to check it")
	}
	layer := info.Info{ParentMountNSID: id.ID, ParentMountNSInode: id.Inode}
	if !id.Matches(planner.RecordedParent(layer)) || (planner.Identity{Inode: st.Ino + 1}).Matches(planner.RecordedParent(layer)) || id.Matches(planner.RecordedParent(info.Info{ParentMountNSID: st.Ino})) {
		t.Error("a layer's parent is not compared by inode alone")
	}
}

// Before Linux 5.12 the new mount API is missing; the probe says so from
// the kernel's ENOSYS.
func TestMountAPIProbe(t *testing.T) {
	simulated := kernelsim.Simulate(t, kernelsim.MountAPI)
	if got := haveMountAPI(); got == simulated {
		t.Fatalf("haveMountAPI() = %t on a kernel %s the new mount API", got, map[bool]string{true: "without", false: "with"}[simulated])
	}
}

// Before Linux 5.11 a BPF map is charged to RLIMIT_MEMLOCK: with Debian
// 11's soft limit of 64 KiB the kernel refuses it; the launcher raises the
// limit to snap-confine's 512 KiB (the hard one too when it holds
// CAP_SYS_RESOURCE), creates the map, and puts the caller's limit back.
// With a hard limit below that and no CAP_SYS_RESOURCE it says why it
// cannot. Where the memory cgroup is charged the limit stays untouched,
// even at 0.
func TestMemlockIsRaisedOnlyWhereTheKernelChargesIt(t *testing.T) {
	needRoot(t)
	simulated := kernelsim.Simulate(t, kernelsim.MemlockCharge)
	var orig unix.Rlimit
	if err := unix.Prlimit(0, unix.RLIMIT_MEMLOCK, nil, &orig); err != nil {
		t.Fatal(err)
	}
	defer unix.Prlimit(0, unix.RLIMIT_MEMLOCK, &orig, nil)
	// As the launcher unprivileged: nothing is raised, and without
	// cap_sys_resource held the hard limit stays.
	priv := &privop.Privileges{}
	sysResource := priv.Holds(policy.CapSysResource)
	for _, tc := range []struct {
		name   string
		caller unix.Rlimit
		raised unix.Rlimit // zero: not raised
		fails  bool
	}{
		{"none at all", unix.Rlimit{}, unix.Rlimit{}, false},
		{"a low soft limit", unix.Rlimit{Cur: 64 << 10, Max: 1 << 20}, unix.Rlimit{Cur: memlockNeeded, Max: 1 << 20}, false},
		{"a low hard limit", unix.Rlimit{Cur: 64 << 10, Max: 64 << 10}, unix.Rlimit{Cur: memlockNeeded, Max: memlockNeeded}, !sysResource},
	} {
		if !simulated && tc.caller.Cur != 0 {
			continue
		}
		if simulated && tc.caller.Cur == 0 {
			continue
		}
		if err := unix.Prlimit(0, unix.RLIMIT_MEMLOCK, &tc.caller, nil); err != nil {
			t.Fatal(err)
		}
		l := &session{launcher: &launcher{debug: true, priv: priv}}
		var mem memlock
		var during unix.Rlimit
		m, err := l.withMemlock(&mem, func() (*desc.FD, error) {
			unix.Prlimit(0, unix.RLIMIT_MEMLOCK, nil, &during)
			fd, err := createTestMap()
			return desc.New(fd, "the test map"), err
		})
		switch {
		case tc.fails && (err == nil || !strings.Contains(err.Error(), "cap_sys_resource")):
			t.Errorf("%s: %v, want a failure naming cap_sys_resource", tc.name, err)
		case !tc.fails && err != nil:
			t.Errorf("%s: cannot create the map: %v", tc.name, err)
		case !tc.fails && tc.raised != (unix.Rlimit{}) && during != tc.raised:
			t.Errorf("%s: raised to %d:%d, want %d:%d", tc.name, during.Cur, during.Max, tc.raised.Cur, tc.raised.Max)
		case !tc.fails && mem.raised != simulated:
			t.Errorf("%s: raised %t on a kernel that %s BPF maps to RLIMIT_MEMLOCK", tc.name, mem.raised, map[bool]string{true: "charges", false: "does not charge"}[simulated])
		}
		m.Close()
		if err := mem.restore(); err != nil {
			t.Fatal(err)
		}
		var after unix.Rlimit
		unix.Prlimit(0, unix.RLIMIT_MEMLOCK, nil, &after)
		if after != tc.caller {
			t.Errorf("%s: RLIMIT_MEMLOCK is %d:%d after, the caller's was %d:%d", tc.name, after.Cur, after.Max, tc.caller.Cur, tc.caller.Max)
		}
		t.Logf("%s: %s", tc.name, l.stderr)
	}
}

// createTestMap creates a small BPF hash map, unpinned, as the device map
// is created.
func createTestMap() (int, error) {
	var attr [128]byte
	binary.NativeEndian.PutUint32(attr[0:], unix.BPF_MAP_TYPE_HASH)
	binary.NativeEndian.PutUint32(attr[4:], 9)
	binary.NativeEndian.PutUint32(attr[8:], 1)
	binary.NativeEndian.PutUint32(attr[12:], 1000)
	fd, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_MAP_CREATE, uintptr(unsafe.Pointer(&attr[0])), unsafe.Sizeof(attr))
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}
