// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"errors"
	"fmt"
	"math/bits"
	"path"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/trusted"
)

// The host's NVIDIA driver in the snap's root, as snap-confine 2.77's
// sc_mount_nvidia_driver makes it visible on a classic host, in the new
// namespace before pivot_root: policy/nvidia.go decides which files, from
// what is read here; the mounts are actions (privop). Everything read
// of the host is read without privilege, through descriptors, without
// following symlinks: the library and vendor directories must be root's
// and writable by nobody else all the way from "/" (trusted.OpenDir), or
// they are left out; the entries found there are only inspected
// (lstat, readlink), never opened. The farms made of them are symlinks,
// which grant nothing: the app reaches a file through them only as it
// could through /var/lib/snapd/hostfs.

// mountNvidia makes the loaded NVIDIA driver visible below
// /var/lib/snapd/lib in the new root (root); nothing when the nvidia module
// is not loaded.
func (l *launcher) mountNvidia(root int, b *build) error {
	ver, loaded, err := readNvidiaVersion()
	if err != nil || !loaded {
		return err
	}
	h := policy.NvidiaHost{
		Layout:  policy.NvidiaLayoutOf(b.root.MergedUsr),
		Version: ver,
		Base:    b.base.Name,
		GOARCH:  runtime.GOARCH,
		Is64Bit: bits.UintSize == 64,
		Lib64:   isRealDir("/usr/lib64"),
	}
	l.debugf("NVIDIA driver %s is loaded; the host's libraries are in its %s layout", ver.Raw, h.Layout)
	varlib, err := openInRoot(root, "/var/lib/snapd")
	if err != nil {
		return fmt.Errorf("cannot bootstrap on base snap %q: no /var/lib/snapd in it: %w", l.launch.Base, err)
	}
	lib, err := l.ensureRootDir(varlib, "lib", 0o755, policy.ExtraLibDir)
	unix.Close(varlib)
	if err != nil {
		return err
	}
	defer unix.Close(lib)
	dirs := &hostDirs{l: l, fds: map[string]int{}, names: map[string][]string{}}
	defer dirs.close()
	if h.Layout == policy.NvidiaMultiarch {
		// Libraries exported by snaps replace the host's driver.
		if exported, err := l.mountGPUExports(lib, dirs); exported || err != nil {
			return err
		}
	}
	p := policy.PlanNvidia(h, dirs)
	for _, b := range p.Binds {
		if err := l.bindNvidiaDir(lib, b); err != nil {
			return err
		}
	}
	for _, farm := range p.Farms {
		if err := l.makeFarm(lib, farm, farm.Links(ver, dirs)); err != nil {
			return err
		}
	}
	return nil
}

// readNvidiaVersion reads /sys/module/nvidia/version; loaded is false when
// there is none (the module is not loaded). (snap-confine 2.77 takes
// another file from SNAPD_TESTING_NVIDIA_DRIVER_VERSION_FILE; the launcher
// takes nothing from its environment.)
func readNvidiaVersion() (v policy.NvidiaVersion, loaded bool, err error) {
	dir, err := trusted.OpenDir(policy.NvidiaModuleDir)
	if errors.Is(err, unix.ENOENT) {
		return v, false, nil
	}
	if err != nil {
		return v, false, err
	}
	defer unix.Close(dir)
	display := policy.NvidiaModuleDir + "/" + policy.NvidiaVersionFile
	fd, err := unix.Openat(dir, policy.NvidiaVersionFile, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT {
		return v, false, nil
	}
	if err != nil {
		return v, false, fmt.Errorf("cannot open %s: %w", display, err)
	}
	defer unix.Close(fd)
	// sysfs gives every attribute a size of a page: read up to the bound.
	if err := trusted.RootOnly(fd, unix.S_IFREG); err != nil {
		return v, false, fmt.Errorf("cannot use %s: it is %w", display, err)
	}
	buf := make([]byte, 128)
	n, err := trusted.ReadFull(fd, buf)
	if err != nil {
		return v, false, fmt.Errorf("cannot read %s: %w", display, err)
	}
	if v, err = policy.ParseNvidiaVersion(buf[:n]); err != nil {
		return v, false, fmt.Errorf("%w in %s", err, display)
	}
	return v, true, nil
}

// isRealDir tells whether path is a directory, not a symlink to one.
func isRealDir(path string) bool {
	var st unix.Stat_t
	return unix.Lstat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// hostDirs is policy.HostDirs over the host's directories, each opened
// once, from "/", without following symlinks, and used only if it is
// root's and writable by nobody else all the way (trusted.OpenDir), and
// everyone may list it.
type hostDirs struct {
	l     *launcher
	fds   map[string]int // -1: missing or not trusted
	names map[string][]string
}

func (h *hostDirs) open(dir string) int {
	if fd, ok := h.fds[dir]; ok {
		return fd
	}
	fd, err := trusted.OpenDir(dir)
	var st unix.Stat_t
	if err == nil && (unix.Fstat(fd, &st) != nil || st.Mode&0o005 != 0o005) {
		// Only what everyone may list: the setuid install opens as
		// root's owner, and a farm shows the names it finds.
		unix.Close(fd)
		fd, err = -1, errors.New("not one everyone may list")
	}
	if err != nil {
		if !errors.Is(err, unix.ENOENT) {
			h.l.debugf("leaving out %s: %v", dir, err)
		}
		fd = -1
	}
	h.fds[dir] = fd
	return fd
}

func (h *hostDirs) List(dir string) []string {
	if names, ok := h.names[dir]; ok {
		return names
	}
	var names []string
	if fd := h.open(dir); fd >= 0 {
		var err error
		if names, err = readDirNames(fd); err != nil {
			h.l.debugf("leaving out %s: cannot read it: %v", dir, err)
			names = nil
		}
	}
	h.names[dir] = names
	return names
}

func (h *hostDirs) Entry(dir, name string) (policy.EntryKind, string) {
	fd := h.open(dir)
	var st unix.Stat_t
	if fd < 0 || unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return policy.EntryOther, ""
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return policy.EntryFile, ""
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(fd, name, buf)
		if err != nil {
			return policy.EntryOther, ""
		}
		return policy.EntrySymlink, string(buf[:n])
	}
	return policy.EntryOther, ""
}

func (h *hostDirs) close() {
	for _, fd := range h.fds {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// libDir makes sure dir (one or two components) exists below lib, the
// host's /var/lib/snapd/lib as the new root shows it, root's 0755, as
// snap-confine makes it there, and opens it.
func (l *launcher) libDir(lib int, dir string) (int, error) {
	cur, display := lib, policy.ExtraLibDir
	for _, name := range strings.Split(dir, "/") {
		display += "/" + name
		next, err := l.ensureRootDir(cur, name, 0o755, display)
		if cur != lib {
			unix.Close(cur)
		}
		if err != nil {
			return -1, err
		}
		cur = next
	}
	return cur, nil
}

// mountLibTmpfs mounts a new tmpfs on dir below lib and returns its root:
// the tmpfs only this namespace sees over the host's directory.
func (l *launcher) mountLibTmpfs(lib int, dir string) (int, error) {
	display := policy.ExtraLibDir + "/" + dir
	point, err := l.libDir(lib, dir)
	if err != nil {
		return -1, err
	}
	var under unix.Stat_t
	err = unix.Fstat(point, &under)
	if err == nil {
		err = l.priv.MountGPUTmpfs(point, display)
	}
	unix.Close(point)
	if err != nil {
		return -1, err
	}
	parent, name := lib, dir
	if i := strings.LastIndexByte(dir, '/'); i >= 0 {
		if parent, err = openDirAt(lib, dir[:i], display); err != nil {
			return -1, err
		}
		defer unix.Close(parent)
		name = dir[i+1:]
	}
	tmp, err := openDirAt(parent, name, display)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	magic, merr := fsMagic(tmp)
	if merr != nil || magic != unix.TMPFS_MAGIC || unix.Fstat(tmp, &st) != nil || st.Dev == under.Dev || st.Uid != 0 {
		unix.Close(tmp)
		return -1, fmt.Errorf("cannot use %s: it is not the tmpfs just mounted there", display)
	}
	return tmp, nil
}

// makeFarm mounts a tmpfs on the farm's directory, fills it with links
// and makes it read-only.
func (l *launcher) makeFarm(lib int, farm policy.Farm, links []policy.FarmLink) error {
	display := policy.ExtraLibDir + "/" + farm.Dir
	tmp, err := l.mountLibTmpfs(lib, farm.Dir)
	if err != nil {
		return err
	}
	defer unix.Close(tmp)
	subs := map[string]int{"": tmp}
	defer func() {
		for sub, fd := range subs {
			if sub != "" {
				unix.Close(fd)
			}
		}
	}()
	for _, link := range links {
		sub, name := path.Split(link.Path)
		sub = strings.TrimSuffix(sub, "/")
		dir, ok := subs[sub]
		if !ok {
			if err := l.priv.MakeRootEntry(tmp, sub, unix.S_IFDIR, ""); err != nil {
				return err
			}
			if dir, err = openDirAt(tmp, sub, display+"/"+sub); err != nil {
				return err
			}
			subs[sub] = dir
		}
		if err := l.priv.MakeRootEntry(dir, name, unix.S_IFLNK, link.Target); err != nil {
			return err
		}
	}
	l.debugf("%s: %d links to the host's driver files", display, len(links))
	return l.priv.RemountGPUReadOnly(tmp, display)
}

// bindNvidiaDir binds a host directory of the driver's (Ubuntu's old
// /usr/lib/nvidia-<major>) on its directory below lib, read-only (a
// snap's root could otherwise write to the host's driver through it),
// when it exists and is root's.
func (l *launcher) bindNvidiaDir(lib int, b policy.DirBind) error {
	src, err := trusted.OpenDir(b.Source)
	if err != nil {
		if !errors.Is(err, unix.ENOENT) {
			l.debugf("leaving out %s: %v", b.Source, err)
		}
		return nil
	}
	defer unix.Close(src)
	dst, err := l.libDir(lib, b.Dir)
	if err != nil {
		return err
	}
	defer unix.Close(dst)
	return l.bindReadOnly(src, dst, b.Source)
}

// bindReadOnly binds the directory src (not recursively, as snap-confine
// does) on dst in the new root, read-only and a slave of its source.
func (l *launcher) bindReadOnly(src, dst int, display string) error {
	tree, err := l.priv.CloneTree(src, false, display)
	if err != nil {
		return err
	}
	defer unix.Close(tree)
	if err := l.priv.SetTreeAttrs(tree, unix.MS_SLAVE, true, display); err != nil {
		return err
	}
	return l.priv.AttachTree(tree, dst, display)
}

// mountGPUExports binds the library directories snaps export (the
// *-driver-libs interfaces) below /var/lib/snapd/lib/system/gpu, and copies
// their vendor files into /var/lib/snapd/lib/{glvnd,vulkan}, when snapd
// wrote any export file (exported), as snap-confine does on a multiarch
// host; the host's driver is then left out.
func (l *launcher) mountGPUExports(lib int, dirs *hostDirs) (exported bool, err error) {
	files := policy.GPUExportFiles(dirs.List(policy.GPUExportDir))
	if len(files) == 0 {
		return false, nil
	}
	var wanted []string
	for _, name := range files {
		display := policy.GPUExportDir + "/" + name
		data, err := trusted.ReadFileAt(dirs.open(policy.GPUExportDir), name, display, policy.MaxGPUExportFile)
		if err != nil {
			return true, err
		}
		wanted = append(wanted, policy.GPUExportDirs(data)...)
	}
	snap, err := openDirPath(l.snapDir)
	if err != nil {
		return true, err
	}
	defer unix.Close(snap)
	gpuDir := policy.LibSystem + "/" + policy.LibGPU
	display := policy.ExtraLibDir + "/" + gpuDir
	tmp, err := l.mountLibTmpfs(lib, gpuDir)
	if err != nil {
		return true, err
	}
	defer unix.Close(tmp)
	for _, rel := range policy.GPUExportMounts(wanted) {
		// Below the snap mount directory, through no symlink: a snap
		// cannot make it bind anything else.
		src, err := unix.Openat2(snap, rel, &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err != nil {
			l.debugf("not binding %s/%s: %v", l.snapDir, rel, err)
			continue
		}
		err = l.ensureMountPoint(tmp, rel)
		var dst int
		if err == nil {
			dst, err = openInRoot(tmp, rel)
		}
		if err == nil {
			err = l.bindReadOnly(src, dst, l.snapDir+"/"+rel)
			unix.Close(dst)
		}
		unix.Close(src)
		if err != nil {
			return true, err
		}
	}
	if err := l.priv.RemountGPUReadOnly(tmp, display); err != nil {
		return true, err
	}
	if err := l.copySnapVendorFiles(lib, snap, dirs, policy.LibGlvnd, policy.SnapEGLVendorSubdir, policy.SnapEGLVendorDir, policy.SnapEGLVendorGlob); err != nil {
		return true, err
	}
	return true, l.copySnapVendorFiles(lib, snap, dirs, policy.LibVulkan, policy.SnapVulkanICDSubdir, policy.SnapVulkanICDDir, policy.SnapVulkanICDGlob)
}

// copySnapVendorFiles copies the snaps' vendor files of srcDir that
// pattern matches into a tmpfs on dir/sub below lib, when there are any.
// snapd's entries there are symlinks into the snaps; a file is copied only
// when it is reached without any other symlink, below the snap mount
// directory, and anyone may read it; others are left out.
func (l *launcher) copySnapVendorFiles(lib, snap int, dirs *hostDirs, dir, sub, srcDir, pattern string) error {
	type file struct {
		name string
		data []byte
	}
	var files []file
	for _, name := range policy.SnapVendorFiles(dirs.List(srcDir), pattern) {
		data, err := l.readSnapVendorFile(dirs, snap, srcDir, name)
		if err != nil {
			l.debugf("not copying %s/%s: %v", srcDir, name, err)
			continue
		}
		files = append(files, file{name, data})
	}
	if len(files) == 0 {
		return nil
	}
	display := policy.ExtraLibDir + "/" + dir
	tmp, err := l.mountLibTmpfs(lib, dir)
	if err != nil {
		return err
	}
	defer unix.Close(tmp)
	if err := l.priv.MakeRootEntry(tmp, sub, unix.S_IFDIR, ""); err != nil {
		return err
	}
	subfd, err := openDirAt(tmp, sub, display+"/"+sub)
	if err != nil {
		return err
	}
	defer unix.Close(subfd)
	for _, f := range files {
		if err := l.priv.WriteGPUFile(subfd, f.name, f.data, display+"/"+sub+"/"+f.name); err != nil {
			return err
		}
	}
	return l.priv.RemountGPUReadOnly(tmp, display)
}

// readSnapVendorFile reads name of srcDir: a regular file, or snapd's
// symlink to a file of a snap.
func (l *launcher) readSnapVendorFile(dirs *hostDirs, snap int, srcDir, name string) ([]byte, error) {
	kind, target := dirs.Entry(srcDir, name)
	var fd int
	var err error
	switch kind {
	case policy.EntryFile:
		fd, err = unix.Openat(dirs.open(srcDir), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	case policy.EntrySymlink:
		rel, ok := policy.SnapFileBelow(l.snapDir, target)
		if !ok {
			return nil, fmt.Errorf("it points to %q, not into %s", target, l.snapDir)
		}
		fd, err = unix.Openat2(snap, rel, &unix.OpenHow{
			Flags:   unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
	default:
		return nil, errors.New("neither a file nor a symlink")
	}
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o004 == 0 || st.Size > policy.MaxVendorFile {
		return nil, fmt.Errorf("not a regular file anyone may read of at most %d bytes", policy.MaxVendorFile)
	}
	buf := make([]byte, st.Size+1)
	n, err := trusted.ReadFull(fd, buf)
	if err != nil {
		return nil, err
	}
	if n > int(st.Size) {
		return nil, errors.New("it grew while it was read")
	}
	return buf[:n], nil
}
