// SPDX-License-Identifier: GPL-3.0-only

package resolve_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/resolve"
	"github.com/snapns/snapns/tests/kernelsim"
)

// tree makes a directory with every kind of entry a hostile user could
// leave on a path, and returns it.
func tree(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"d/e", "d/e/deep", "x"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"f", "d/f", "d/e/g"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"lrel":      "d/e",
		"labs":      "/d",
		"lup":       "../",
		"lupup":     "../../..",
		"ldotdot":   "d/e/../..",
		"lloop":     "lloop",
		"lloop2":    "lloop3",
		"lloop3":    "lloop2",
		"ldang":     "nothere",
		"lfile":     "d/f",
		"d/lback":   "../d/e",
		"d/e/lroot": "/",
		"lslash":    "d/",
		"lproc":     "/proc/self/cwd",
		"lprocfd":   "/proc/self/fd",
		"lempty":    "x/../d",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var components = []string{"d", "e", "f", "g", "deep", "x", "lrel", "labs", "lup", "lupup", "ldotdot", "lloop", "lloop2", "ldang", "lfile", "lback", "lroot", "lslash", "lproc", "lprocfd", "lempty", ".", "..", "nothere", "proc", "self", "cwd", "fd", "1"}

var resolveSets = []uint64{
	0,
	unix.RESOLVE_BENEATH,
	unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
	unix.RESOLVE_IN_ROOT,
	unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	unix.RESOLVE_NO_MAGICLINKS,
	unix.RESOLVE_NO_SYMLINKS,
	unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	unix.RESOLVE_NO_XDEV,
	unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_XDEV,
}

var flagSets = []uint64{
	unix.O_PATH | unix.O_CLOEXEC,
	unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
	unix.O_RDONLY | unix.O_CLOEXEC,
	unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
	unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
}

func procFD(t testing.TB) int {
	t.Helper()
	fd, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// compare opens path below dirfd with both openat2 and the walk and says
// how they disagree, "" when they do not. The walk may refuse where
// openat2 succeeds only where the package says it is stricter: a ".."
// under RESOLVE_BENEATH, a procfs symlink.
func compare(dirfd, procfd int, path string, how *unix.OpenHow) string {
	// openat2 answers EAGAIN to a scoped ".." whenever any mount or
	// rename happened meanwhile, anywhere: ask again.
	kfd, kerr := unix.Openat2(dirfd, path, how)
	for i := 0; kerr == unix.EAGAIN && i < 100; i++ {
		kfd, kerr = unix.Openat2(dirfd, path, how)
	}
	wfd, werr := resolve.Walk(dirfd, path, how, procfd)
	if kfd >= 0 {
		defer unix.Close(kfd)
	}
	if wfd >= 0 {
		defer unix.Close(wfd)
	}
	switch {
	case kerr != nil && werr != nil:
		if kerr != werr && !(kerr == unix.ELOOP && werr == unix.ENOTDIR) && !(kerr == unix.ENOTDIR && werr == unix.ELOOP) && !stricter(path, how, werr) {
			return fmt.Sprintf("openat2: %v, walk: %v", kerr, werr)
		}
		return ""
	case kerr != nil:
		return fmt.Sprintf("openat2: %v, walk succeeded", kerr)
	case werr != nil:
		if stricter(path, how, werr) {
			return ""
		}
		return fmt.Sprintf("openat2 succeeded, walk: %v", werr)
	}
	var ks, ws unix.Stat_t
	unix.Fstat(kfd, &ks)
	unix.Fstat(wfd, &ws)
	if ks.Dev != ws.Dev || ks.Ino != ws.Ino || ks.Mode != ws.Mode {
		return fmt.Sprintf("openat2 opened %d:%d (%o), walk %d:%d (%o)", ks.Dev, ks.Ino, ks.Mode, ws.Dev, ws.Ino, ws.Mode)
	}
	// The walk opens the last component with O_NOFOLLOW always, which
	// the descriptor's flags then show; nothing reads them.
	kfl, _ := unix.FcntlInt(uintptr(kfd), unix.F_GETFL, 0)
	wfl, _ := unix.FcntlInt(uintptr(wfd), unix.F_GETFL, 0)
	kfl, wfl = kfl&^unix.O_NOFOLLOW, wfl&^unix.O_NOFOLLOW
	if kfl != wfl {
		return fmt.Sprintf("openat2 flags %#x, walk %#x", kfl, wfl)
	}
	return ""
}

func stricter(path string, how *unix.OpenHow, werr error) bool {
	if how.Resolve&unix.RESOLVE_BENEATH != 0 && werr == unix.EXDEV {
		return true // a ".." that openat2 may allow, perhaps behind a symlink
	}
	if werr == unix.ELOOP && strings.Contains(path, "proc") {
		return true
	}
	return false
}

// TestWalkIsOpenat2 compares the walk with the kernel's openat2 on every
// path of up to three components of a hostile tree, for every
// combination of the RESOLVE_ flags the launcher uses and of open flags.
func TestWalkIsOpenat2(t *testing.T) {
	if !resolve.HaveOpenat2() {
		t.Skip("SKIPPING: this kernel has no openat2 to compare the walk with")
	}
	root := tree(t)
	dirfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dirfd)
	procfd := procFD(t)
	var paths, deep []string
	for _, a := range components {
		paths = append(paths, a, "/"+a, a+"/")
		for _, b := range components {
			paths = append(paths, a+"/"+b)
			for _, c := range []string{"g", "..", "lroot"} {
				deep = append(deep, a+"/"+b+"/"+c)
			}
		}
	}
	paths = append(paths, "", "/", "//d//e//", "d/./e/../e/g", "lrel/deep/../g")
	n, bad := 0, 0
	for i, p := range append(paths, deep...) {
		flags := flagSets
		if i >= len(paths) {
			// Three components: the following and the non-following
			// open (FuzzWalkIsOpenat2 goes further).
			flags = []uint64{unix.O_PATH | unix.O_CLOEXEC, unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC}
		}
		for _, res := range resolveSets {
			for _, fl := range flags {
				n++
				how := &unix.OpenHow{Flags: fl, Resolve: res}
				if d := compare(dirfd, procfd, p, how); d != "" {
					if bad++; bad <= 30 {
						t.Errorf("%q, resolve %#x, flags %#x: %s", p, res, fl, d)
					}
				}
			}
		}
	}
	t.Logf("%d opens compared, %d disagreements", n, bad)
}

// TestWalkNoXDevStaysOnItsMount compares the walk with openat2 across
// mounts: a tmpfs, and a bind mount of the same filesystem, which has the
// same device number (only the mount id tells it apart).
func TestWalkNoXDevStaysOnItsMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPING: mounting needs root")
	}
	if !resolve.HaveOpenat2() {
		t.Skip("SKIPPING: this kernel has no openat2 to compare the walk with")
	}
	root := tree(t)
	for _, d := range []string{"m", "b"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	procfd := procFD(t)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with its namespace
		errc <- func() error {
			if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS); err != nil {
				return err
			}
			if err := unix.Mount("none", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
				return err
			}
			if err := unix.Mount("tmpfs", filepath.Join(root, "m"), "tmpfs", 0, ""); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(root, "m/in"), 0o755); err != nil {
				return err
			}
			if err := unix.Mount(filepath.Join(root, "d"), filepath.Join(root, "b"), "", unix.MS_BIND, ""); err != nil {
				return err
			}
			dirfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(dirfd)
			var problems []string
			for _, p := range []string{"m", "m/in", "m/..", "b", "b/e", "b/e/g", "d/e", "lrel", "x", "b/lback", "d/lback"} {
				for _, res := range []uint64{unix.RESOLVE_NO_XDEV, unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV, unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_XDEV, 0} {
					how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: res}
					if d := compare(dirfd, procfd, p, how); d != "" {
						problems = append(problems, fmt.Sprintf("%q resolve %#x: %s", p, res, d))
					}
				}
			}
			if len(problems) > 0 {
				return errors.New(strings.Join(problems, "\n"))
			}
			// And the device alone would not have told the bind mount.
			if fd, err := resolve.Walk(dirfd, "b/e", &unix.OpenHow{Flags: unix.O_PATH, Resolve: unix.RESOLVE_NO_XDEV}, procfd); err != unix.EXDEV {
				unix.Close(fd)
				return fmt.Errorf("a bind mount of the same filesystem was crossed: %v", err)
			}
			return nil
		}()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestWalkRefusesWhatItCannotDo: flags the walk does not implement, or
// that would create a file, are refused rather than ignored.
func TestWalkRefusesWhatItCannotDo(t *testing.T) {
	for _, how := range []unix.OpenHow{
		{Flags: unix.O_RDONLY, Resolve: 0x20}, // RESOLVE_CACHED,
		{Flags: unix.O_RDONLY, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_IN_ROOT},
		{Flags: unix.O_RDWR | unix.O_CREAT, Mode: 0o600},
		{Flags: unix.O_RDONLY, Resolve: unix.RESOLVE_NO_XDEV}, // no /proc given
	} {
		if fd, err := resolve.Walk(unix.AT_FDCWD, "x", &how, -1); err != unix.EINVAL {
			unix.Close(fd)
			t.Errorf("%+v: %v, want EINVAL", how, err)
		}
	}
}

// TestOpenat2FallsBackToTheWalkWithoutTheSyscall forces the fallback: on
// a kernel whose openat2 answers ENOSYS (Linux 5.4), HaveOpenat2 says so and
// Openat2 still opens through the walk, with the same refusals.
func TestOpenat2FallsBackToTheWalkWithoutTheSyscall(t *testing.T) {
	if !kernelsim.Simulate(t, kernelsim.Openat2) {
		return
	}
	if _, _, errno := unix.Syscall6(unix.SYS_OPENAT2, 0, 0, 0, 0, 0, 0); errno != unix.ENOSYS {
		t.Fatalf("the simulated kernel has openat2: %v", errno)
	}
	if resolve.HaveOpenat2() {
		t.Fatal("HaveOpenat2 is true on a kernel without openat2")
	}
	root := tree(t)
	dirfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dirfd)
	procfd := procFD(t)
	for _, tc := range []struct {
		path string
		res  uint64
		err  error
	}{
		{"d/e/g", unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS, nil},
		{"lrel/g", unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS, unix.ELOOP},
		{"lup/x", unix.RESOLVE_BENEATH, unix.EXDEV},
		{"d/e/lroot/d/e/g", unix.RESOLVE_IN_ROOT, nil},
		{"lupup/f", unix.RESOLVE_IN_ROOT, nil},
		{"d/e/g", unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV, nil},
	} {
		fd, err := resolve.Openat2(dirfd, tc.path, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: tc.res}, procfd)
		if err != tc.err {
			t.Errorf("%q resolve %#x: %v, want %v", tc.path, tc.res, err, tc.err)
		}
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// FuzzWalkIsOpenat2 compares the walk with openat2 on paths made of the
// hostile tree's names.
func FuzzWalkIsOpenat2(f *testing.F) {
	if !resolve.HaveOpenat2() {
		f.Skip("SKIPPING: this kernel has no openat2 to compare the walk with")
	}
	root := tree(f)
	dirfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		f.Fatal(err)
	}
	procfd := procFD(f)
	f.Add([]byte{0, 1, 2}, uint8(0), uint8(0))
	f.Add([]byte{6, 21, 22, 3}, uint8(3), uint8(1))
	f.Fuzz(func(t *testing.T, picks []byte, res, fl uint8) {
		var parts []string
		for _, p := range picks {
			if len(parts) == 8 {
				break
			}
			parts = append(parts, components[int(p)%len(components)])
		}
		path := strings.Join(parts, "/")
		how := &unix.OpenHow{Flags: flagSets[int(fl)%len(flagSets)], Resolve: resolveSets[int(res)%len(resolveSets)]}
		if d := compare(dirfd, procfd, path, how); d != "" {
			t.Errorf("%q, resolve %#x, flags %#x: %s", path, how.Resolve, how.Flags, d)
		}
	})
}
