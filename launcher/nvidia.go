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
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/trusted"
)

// The host's NVIDIA driver in the snap's root, as snap-confine 2.77's
// sc_mount_nvidia_driver makes it visible on a classic host, before
// pivot_root (SECURITY.md §4.8): policy/nvidia.go decides which files from
// what is read here, without privilege, through directories of root's
// writable by nobody else all the way (trusted.OpenDir), their entries
// only inspected (lstat, readlink). The farms are symlinks, which grant
// nothing the app could not reach through /var/lib/snapd/hostfs.

// mountNvidia makes the loaded NVIDIA driver visible below
// /var/lib/snapd/lib in the new root (root); nothing when the nvidia module
// is not loaded.
func (b *builder) mountNvidia(root *desc.FD) error {
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
	b.debugf("NVIDIA driver %s is loaded; the host's libraries are in its %s layout", ver.Raw, h.Layout)
	varlib, err := trusted.InRoot(root, "/var/lib/snapd")
	if err != nil {
		return fmt.Errorf("cannot bootstrap on base snap %q: no /var/lib/snapd in it: %w", b.launch.Base, err)
	}
	lib, err := b.ensureRootDir(varlib, "lib", 0o755)
	varlib.Close()
	if err != nil {
		return err
	}
	defer lib.Close()
	dirs := &hostDirs{debugf: b.debugf, dirs: map[string]*desc.FD{}, names: map[string][]string{}}
	defer dirs.close()
	if h.Layout == policy.NvidiaMultiarch {
		// Libraries exported by snaps replace the host's driver.
		if exported, err := b.mountGPUExports(lib, dirs); exported || err != nil {
			return err
		}
	}
	p := policy.PlanNvidia(h, dirs)
	for _, db := range p.Binds {
		if err := b.bindNvidiaDir(lib, db); err != nil {
			return err
		}
	}
	for _, farm := range p.Farms {
		if err := b.makeFarm(lib, farm, farm.Links(ver, dirs)); err != nil {
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
	defer dir.Close()
	display := dir.Path(policy.NvidiaVersionFile)
	data, err := trusted.ReadAttrAt(dir, policy.NvidiaVersionFile, 128)
	if errors.Is(err, unix.ENOENT) {
		return v, false, nil
	}
	if err != nil {
		return v, false, err
	}
	if v, err = policy.ParseNvidiaVersion(data); err != nil {
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
	debugf func(string, ...any)
	dirs   map[string]*desc.FD // nil: missing or not trusted
	names  map[string][]string
}

func (h *hostDirs) open(path string) *desc.FD {
	if dir, ok := h.dirs[path]; ok {
		return dir
	}
	dir, err := trusted.OpenDir(path)
	var st unix.Stat_t
	if err == nil && (unix.Fstat(dir.Fd(), &st) != nil || st.Mode&0o005 != 0o005) {
		// Only what everyone may list: the setuid install opens as
		// root's owner, and a farm shows the names it finds.
		dir.Close()
		dir, err = nil, errors.New("not one everyone may list")
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		h.debugf("leaving out %s: %v", path, err)
	}
	h.dirs[path] = dir
	return dir
}

func (h *hostDirs) List(path string) []string {
	if names, ok := h.names[path]; ok {
		return names
	}
	var names []string
	if dir := h.open(path); dir != nil {
		var err error
		if names, err = trusted.Names(dir); err != nil {
			h.debugf("leaving out %s: cannot read it: %v", path, err)
			names = nil
		}
	}
	h.names[path] = names
	return names
}

func (h *hostDirs) Entry(path, name string) (policy.EntryKind, string) {
	dir := h.open(path)
	var st unix.Stat_t
	if dir == nil || unix.Fstatat(dir.Fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return policy.EntryOther, ""
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return policy.EntryFile, ""
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(dir.Fd(), name, buf)
		if err != nil {
			return policy.EntryOther, ""
		}
		return policy.EntrySymlink, string(buf[:n])
	}
	return policy.EntryOther, ""
}

func (h *hostDirs) close() {
	for _, dir := range h.dirs {
		dir.Close()
	}
}

// libDir makes sure dir (one or two components) exists below lib, the
// host's /var/lib/snapd/lib as the new root shows it, root's 0755, as
// snap-confine makes it there, and opens it.
func (b *builder) libDir(lib *desc.FD, dir string) (*desc.FD, error) {
	cur := lib
	for _, name := range strings.Split(dir, "/") {
		next, err := b.ensureRootDir(cur, name, 0o755)
		if cur != lib {
			cur.Close()
		}
		if err != nil {
			return nil, err
		}
		cur = next
	}
	return cur, nil
}

// mountLibTmpfs mounts a new tmpfs on dir below lib and returns its root:
// the tmpfs only this namespace sees over the host's directory.
func (b *builder) mountLibTmpfs(lib *desc.FD, dir string) (*desc.FD, error) {
	point, err := b.libDir(lib, dir)
	if err != nil {
		return nil, err
	}
	var under unix.Stat_t
	err = unix.Fstat(point.Fd(), &under)
	if err == nil {
		err = b.priv.MountGPUTmpfs(point)
	}
	point.Close()
	if err != nil {
		return nil, err
	}
	parent, name := lib, dir
	if i := strings.LastIndexByte(dir, '/'); i >= 0 {
		if parent, err = trusted.DirAt(lib, dir[:i]); err != nil {
			return nil, err
		}
		defer parent.Close()
		name = dir[i+1:]
	}
	tmp, err := trusted.DirAt(parent, name)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	magic, merr := trusted.FSMagic(tmp)
	if merr != nil || magic != unix.TMPFS_MAGIC || unix.Fstat(tmp.Fd(), &st) != nil || st.Dev == under.Dev || st.Uid != 0 {
		tmp.Close()
		return nil, fmt.Errorf("cannot use %s: it is not the tmpfs just mounted there", lib.Path(dir))
	}
	return tmp, nil
}

// makeFarm mounts a tmpfs on the farm's directory, fills it with links
// and makes it read-only.
func (b *builder) makeFarm(lib *desc.FD, farm policy.Farm, links []policy.FarmLink) error {
	tmp, err := b.mountLibTmpfs(lib, farm.Dir)
	if err != nil {
		return err
	}
	defer tmp.Close()
	subs := map[string]*desc.FD{"": tmp}
	defer func() {
		for sub, dir := range subs {
			if sub != "" {
				dir.Close()
			}
		}
	}()
	for _, link := range links {
		sub, name := path.Split(link.Path)
		sub = strings.TrimSuffix(sub, "/")
		dir, ok := subs[sub]
		if !ok {
			if err := b.priv.MakeRootEntry(tmp, sub, unix.S_IFDIR, ""); err != nil {
				return err
			}
			if dir, err = trusted.DirAt(tmp, sub); err != nil {
				return err
			}
			subs[sub] = dir
		}
		if err := b.priv.MakeRootEntry(dir, name, unix.S_IFLNK, link.Target); err != nil {
			return err
		}
	}
	b.debugf("%s: %d links to the host's driver files", tmp.Name(), len(links))
	return b.priv.RemountGPUReadOnly(tmp)
}

// bindNvidiaDir binds a host directory of the driver's (Ubuntu's old
// /usr/lib/nvidia-<major>) on its directory below lib, read-only (a
// snap's root could otherwise write to the host's driver through it),
// when it exists and is root's.
func (b *builder) bindNvidiaDir(lib *desc.FD, db policy.DirBind) error {
	src, err := trusted.OpenDir(db.Source)
	if err != nil {
		if !errors.Is(err, unix.ENOENT) {
			b.debugf("leaving out %s: %v", db.Source, err)
		}
		return nil
	}
	defer src.Close()
	dst, err := b.libDir(lib, db.Dir)
	if err != nil {
		return err
	}
	defer dst.Close()
	// Not recursively, as snap-confine does; read-only, a slave of
	// its source.
	return b.bind(src, dst, unix.MS_SLAVE, true)
}

// mountGPUExports binds the library directories snaps export (the
// *-driver-libs interfaces) below /var/lib/snapd/lib/system/gpu, and copies
// their vendor files into /var/lib/snapd/lib/{glvnd,vulkan}, when snapd
// wrote any export file (exported), as snap-confine does on a multiarch
// host; the host's driver is then left out.
func (b *builder) mountGPUExports(lib *desc.FD, dirs *hostDirs) (exported bool, err error) {
	files := policy.GPUExportFiles(dirs.List(policy.GPUExportDir))
	if len(files) == 0 {
		return false, nil
	}
	var wanted []string
	for _, name := range files {
		data, err := trusted.ReadFileAt(dirs.open(policy.GPUExportDir), name, policy.MaxGPUExportFile)
		if err != nil {
			return true, err
		}
		wanted = append(wanted, policy.GPUExportDirs(data)...)
	}
	snap, err := trusted.Path(b.host.snapDir)
	if err != nil {
		return true, err
	}
	defer snap.Close()
	tmp, err := b.mountLibTmpfs(lib, policy.LibSystem+"/"+policy.LibGPU)
	if err != nil {
		return true, err
	}
	defer tmp.Close()
	for _, rel := range policy.GPUExportMounts(wanted) {
		if err := b.bindGPUExport(snap, tmp, rel); err != nil {
			return true, err
		}
	}
	if err := b.priv.RemountGPUReadOnly(tmp); err != nil {
		return true, err
	}
	if err := b.copySnapVendorFiles(lib, snap, dirs, policy.LibGlvnd, policy.SnapEGLVendorSubdir, policy.SnapEGLVendorDir, policy.SnapEGLVendorGlob); err != nil {
		return true, err
	}
	return true, b.copySnapVendorFiles(lib, snap, dirs, policy.LibVulkan, policy.SnapVulkanICDSubdir, policy.SnapVulkanICDDir, policy.SnapVulkanICDGlob)
}

// bindGPUExport binds the directory rel below the snap mount directory
// (snap) on the same path below tmp, read-only; one that cannot be
// reached below snap without a symlink is left out.
func (b *builder) bindGPUExport(snap, tmp *desc.FD, rel string) error {
	// Below the snap mount directory, through no symlink: a snap
	// cannot make it bind anything else.
	fd, err := unix.Openat2(snap.Fd(), rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		b.debugf("not binding %s: %v", snap.Path(rel), err)
		return nil
	}
	src := desc.New(fd, snap.Path(rel))
	defer src.Close()
	if err := b.ensureMountPoint(tmp, rel); err != nil {
		return err
	}
	dst, err := trusted.InRoot(tmp, rel)
	if err != nil {
		return err
	}
	defer dst.Close()
	// Not recursively, as snap-confine does; read-only, a slave of
	// its source.
	return b.bind(src, dst, unix.MS_SLAVE, true)
}

// copySnapVendorFiles copies the snaps' vendor files of srcDir that
// pattern matches into a tmpfs on dir/sub below lib, when there are any.
// snapd's entries there are symlinks into the snaps; a file is copied only
// when it is reached without any other symlink, below the snap mount
// directory, and anyone may read it; others are left out.
func (b *builder) copySnapVendorFiles(lib, snap *desc.FD, dirs *hostDirs, dir, sub, srcDir, pattern string) error {
	type file struct {
		name string
		data []byte
	}
	var files []file
	for _, name := range policy.SnapVendorFiles(dirs.List(srcDir), pattern) {
		data, err := b.readSnapVendorFile(dirs, snap, srcDir, name)
		if err != nil {
			b.debugf("not copying %s/%s: %v", srcDir, name, err)
			continue
		}
		files = append(files, file{name, data})
	}
	if len(files) == 0 {
		return nil
	}
	tmp, err := b.mountLibTmpfs(lib, dir)
	if err != nil {
		return err
	}
	defer tmp.Close()
	if err := b.priv.MakeRootEntry(tmp, sub, unix.S_IFDIR, ""); err != nil {
		return err
	}
	subdir, err := trusted.DirAt(tmp, sub)
	if err != nil {
		return err
	}
	defer subdir.Close()
	for _, f := range files {
		if err := b.priv.WriteGPUFile(subdir, f.name, f.data); err != nil {
			return err
		}
	}
	return b.priv.RemountGPUReadOnly(tmp)
}

// readSnapVendorFile reads name of srcDir: a regular file, or snapd's
// symlink to a file of a snap.
func (b *builder) readSnapVendorFile(dirs *hostDirs, snap *desc.FD, srcDir, name string) ([]byte, error) {
	kind, target := dirs.Entry(srcDir, name)
	var fd int
	var err error
	switch kind {
	case policy.EntryFile:
		fd, err = unix.Openat(dirs.open(srcDir).Fd(), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	case policy.EntrySymlink:
		rel, ok := policy.SnapFileBelow(b.host.snapDir, target)
		if !ok {
			return nil, fmt.Errorf("it points to %q, not into %s", target, b.host.snapDir)
		}
		fd, err = unix.Openat2(snap.Fd(), rel, &unix.OpenHow{
			Flags:   unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
	default:
		return nil, errors.New("neither a file nor a symlink")
	}
	if err != nil {
		return nil, err
	}
	f := desc.New(fd, srcDir+"/"+name)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o004 == 0 || st.Size > policy.MaxVendorFile {
		return nil, fmt.Errorf("not a regular file anyone may read of at most %d bytes", policy.MaxVendorFile)
	}
	buf := make([]byte, st.Size+1)
	n, err := trusted.ReadFull(f, buf)
	if err != nil {
		return nil, err
	}
	if n > int(st.Size) {
		return nil, errors.New("it grew while it was read")
	}
	return buf[:n], nil
}
