// SPDX-License-Identifier: GPL-3.0-only

package policy

import (
	"errors"
	"path"
	"slices"
	"strconv"
	"strings"
)

// The host's NVIDIA driver in a snap's root. On a classic host with the
// nvidia module loaded, snap-confine 2.77 (mount-support-nvidia.c) makes
// the driver's userspace libraries and the Vulkan and EGL vendor files that
// name them visible below /var/lib/snapd/lib (the opengl interface): a
// tmpfs per directory, a symlink per file into /var/lib/snapd/hostfs. This
// is the decision, as data and pure functions over what the launcher read
// (launcher/nvidia.go). How the libraries are found is snapd's build-time
// choice per distribution, multiarch (Debian, Ubuntu) or biarch (Fedora,
// Arch, openSUSE, CentOS): exactly those that mount snaps in /snap and in
// /var/lib/snapd/snap, so the layout follows from it (NvidiaLayoutOf).

// Where the driver is looked for and where it is made visible.
const (
	// ExtraLibDir holds the directories below, in the snap's root; it is
	// the host's own directory (the snap's /var/lib/snapd is the host's).
	ExtraLibDir = "/var/lib/snapd/lib"
	// NvidiaModuleDir is the nvidia module's directory in sysfs; its
	// "version" file exists only while the module is loaded.
	NvidiaModuleDir = "/sys/module/nvidia"
	// NvidiaVersionFile is the version's file in NvidiaModuleDir.
	NvidiaVersionFile = "version"

	// The directories of ExtraLibDir: the native and the 32-bit
	// libraries, the Vulkan ICD and the glvnd EGL vendor files, and the
	// libraries snaps export (GPUExportDir).
	LibGL     = "gl"
	LibGL32   = "gl32"
	LibVulkan = "vulkan"
	LibGlvnd  = "glvnd"
	LibSystem = "system"
	LibGPU    = "gpu" // in LibSystem

	// VulkanSourceDir and EGLVendorSourceDir hold the driver's vendor
	// files on the host.
	VulkanSourceDir    = "/usr/share/vulkan"
	EGLVendorSourceDir = "/usr/share/glvnd"

	// GPUExportDir is where snapd lists, per interface connection, the
	// library directories of snaps that provide GPU libraries to the
	// system (the *-driver-libs interfaces), one path per line.
	GPUExportDir = "/var/lib/snapd/export"
	// SnapEGLVendorDir and SnapVulkanICDDir hold snapd's symlinks to
	// those snaps' vendor files; the files they match are copied into
	// the snap's root.
	SnapEGLVendorDir    = "/etc/glvnd/egl_vendor.d"
	SnapEGLVendorGlob   = "*_snap_*_*_*.json"
	SnapVulkanICDDir    = "/etc/vulkan/icd.d"
	SnapVulkanICDGlob   = "snap_*_*_*.json"
	SnapEGLVendorSubdir = "egl_vendor.d" // in LibGlvnd
	SnapVulkanICDSubdir = "icd.d"        // in LibVulkan

	// MaxGPUExportFile and MaxVendorFile bound what is read of an export
	// file and of a vendor file.
	MaxGPUExportFile = 64 << 10
	MaxVendorFile    = 64 << 10
)

// NvidiaLibGlobs are snap-confine 2.77's globs of the driver's userspace
// libraries (its nvidia_globs), relative to a library directory; a glob
// has at most one directory component, which is literal.
var NvidiaLibGlobs = []string{
	"gbm/nvidia-drm_gbm.so*",
	"libnvidia-allocator.so*",
	"libnvidia-api.so*",
	"libnvidia-cbl.so*",
	"libnvidia-cfg.so*",
	"libnvidia-compiler-next.so*",
	"libnvidia-egl-gbm.so*",
	"libnvidia-ngx.so*",
	"libnvidia-nscq.so*",
	"libnvidia-nvvm.so*",
	"libnvidia-pkcs11-openssl3.so*",
	"libnvidia-pkcs11.so*",
	"libnvidia-vulkan-producer.so*",
	"libnvidia-vksc-core.so.*",

	"libEGL_nvidia.so*",
	"libGLESv1_CM_nvidia.so*",
	"libGLESv2_nvidia.so*",
	"libGLX_nvidia.so*",
	"libXvMCNVIDIA.so*",
	"libXvMCNVIDIA_dynamic.so*",
	"libnvidia-cfg.so*",
	"libnvidia-compiler.so*",
	"libnvidia-eglcore.so*",
	"libnvidia-egl-wayland*",
	"libnvidia-encode.so*",
	"libnvidia-fatbinaryloader.so*",
	"libnvidia-fbc.so*",
	"libnvidia-glcore.so*",
	"libnvidia-glsi.so*",
	"libnvidia-glvkspirv.so*",
	"libnvidia-gpucomp.so*",
	"libnvidia-ifr.so*",
	"libnvidia-ml.so*",
	"libnvidia-opencl.so*",
	"libnvidia-opticalflow.so*",
	"libnvidia-ptxjitcompiler.so*",
	"libnvidia-rtcore.so*",
	"libnvidia-tls.so*",
	"libnvoptix.so*",
	"tls/libnvidia-tls.so*",
	"vdpau/libvdpau_nvidia.so*",

	// Tegra.
	"libnvdc.so*",
	"libnvos.so*",
	"libnvrm_gpu.so*",
	"libnvimp.so*",
	"libnvrm.so*",
	"libnvrm_graphics.so*",
	// CUDA.
	"libcuda.so*",
	"libcudart.so*",
	"libnvcuvid.so*",
	"libcufft.so*",
	"libcublas.so*",
	"libcublasLt.so*",
	"libcusolver.so*",
	"libcuparse.so*",
	"libcurand.so*",
	"libnppc.so*",
	"libnppig.so*",
	"libnppial.so*",
	"libnppicc.so*",
	"libnppidei.so*",
	"libnppist.so*",
	"libnppcif.so*",
	"libnppim.so*",
	"libnppitc.so*",
	"libnvrtc*",
	"libnvrtc-builtins*",
	"libnvToolsExt.so*",
	// cuDNN.
	"libcudnn.so*",
	"libcudnn_adv_infer*",
	"libcudnn_adv_train*",
	"libcudnn_cnn_infer*",
	"libcudnn_cnn_train*",
	"libcudnn_ops_infer*",
	"libcudnn_ops_train*",
}

// GlvndLibGlobs are the glvnd dispatch libraries, added for snaps on the
// "core" base, whose Ubuntu 16.04 had no glvnd (snap-confine's glvnd_globs).
var GlvndLibGlobs = []string{
	"libEGL.so*", "libGL.so*", "libOpenGL.so*", "libGLESv1_CM.so*", "libGLESv2.so*",
	"libGLX_indirect.so*", "libGLX.so*", "libGLdispatch.so*", "libGLU.so*",
}

// VulkanGlobs and EGLVendorGlobs are the driver's vendor files, relative to
// VulkanSourceDir and EGLVendorSourceDir.
var (
	VulkanGlobs    = []string{"icd.d/*nvidia*.json"}
	EGLVendorGlobs = []string{"egl_vendor.d/*nvidia*.json"}
)

// gpuExportInterfaces are the interfaces whose export files are read, in
// snap-confine's order: system_<instance>_<slot>_<interface>.library-source.
var gpuExportInterfaces = []string{
	"egl-driver-libs", "gbm-driver-libs", "cuda-driver-libs", "nvidia-video-driver-libs",
	"opengl-driver-libs", "opengles-driver-libs", "vulkan-driver-libs",
}

// NvidiaLibGlobsFor returns the library globs for a snap on base.
func NvidiaLibGlobsFor(base string) []string {
	if base == "core" {
		return append(slices.Clone(NvidiaLibGlobs), GlvndLibGlobs...)
	}
	return NvidiaLibGlobs
}

// NvidiaLayout is how a distribution installs the driver's libraries.
type NvidiaLayout int

const (
	// NvidiaMultiarch (Debian, Ubuntu): in the multiarch directory
	// /usr/lib/<triplet> (and the 32-bit one, i386's on amd64), which is
	// used when it holds the loaded version's libnvidia-glcore; else
	// Ubuntu's old /usr/lib/nvidia-<major> (and /usr/lib32/...), bound
	// whole.
	NvidiaMultiarch NvidiaLayout = iota
	// NvidiaBiarch (Fedora, Arch, openSUSE, CentOS): in the native library
	// directory and its nvidia* subdirectories, and in the 32-bit ones on
	// a 64-bit host.
	NvidiaBiarch
)

func (l NvidiaLayout) String() string {
	if l == NvidiaBiarch {
		return "biarch"
	}
	return "multiarch"
}

// NvidiaLayoutOf returns the layout of a host that mounts snaps in
// /var/lib/snapd/snap (alternateSnapMountDir) or in /snap: snapd builds
// snap-confine with --enable-nvidia-biarch for the former (Fedora, Arch,
// openSUSE, CentOS) and --enable-nvidia-multiarch for the latter (Debian,
// Ubuntu).
func NvidiaLayoutOf(alternateSnapMountDir bool) NvidiaLayout {
	if alternateSnapMountDir {
		return NvidiaBiarch
	}
	return NvidiaMultiarch
}

// multiarchTriplets are Debian's multiarch directories by GOARCH, the
// native one and, where Ubuntu's snapd builds snap-confine with one, the
// 32-bit one (--with-host-arch-32bit-triplet, on amd64 only).
var multiarchTriplets = map[string][2]string{
	"amd64":    {"x86_64-linux-gnu", "i386-linux-gnu"},
	"386":      {"i386-linux-gnu"},
	"arm64":    {"aarch64-linux-gnu"},
	"arm":      {"arm-linux-gnueabihf"},
	"ppc64le":  {"powerpc64le-linux-gnu"},
	"s390x":    {"s390x-linux-gnu"},
	"riscv64":  {"riscv64-linux-gnu"},
	"loong64":  {"loongarch64-linux-gnu"},
	"mips64le": {"mips64el-linux-gnuabi64"},
}

// NvidiaTriplets returns the multiarch directories of /usr/lib a launcher
// built for goarch looks in: the native one and the 32-bit one ("" where
// there is none).
func NvidiaTriplets(goarch string) (native, lib32 string) {
	t := multiarchTriplets[goarch]
	return t[0], t[1]
}

// NvidiaVersion is the loaded driver's version, as
// /sys/module/nvidia/version says: MAJOR.MINOR[.MICRO] (the micro part may
// have leading zeros that matter: "440.48.02").
type NvidiaVersion struct {
	Raw   string
	Major int
}

// maxNvidiaVersion is snap-confine's bound: a version file of this many
// bytes or more is refused.
const maxNvidiaVersion = 128

// ParseNvidiaVersion reads the version file's contents (at most
// maxNvidiaVersion bytes of it; more is an error): one trailing newline is
// dropped, and the rest must be digits and dots, starting with the major
// version's digits. (snap-confine takes anything after a number; the
// version names a file below, so the launcher takes only what a version
// can be.)
func ParseNvidiaVersion(data []byte) (NvidiaVersion, error) {
	if len(data) >= maxNvidiaVersion {
		return NvidiaVersion{}, errors.New("cannot fit the entire nvidia driver version string")
	}
	raw := strings.TrimSuffix(string(data), "\n")
	if raw == "" || strings.Trim(raw, "0123456789.") != "" || raw[0] == '.' {
		return NvidiaVersion{}, errors.New("cannot parse the nvidia driver version string")
	}
	major, _, _ := strings.Cut(raw, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return NvidiaVersion{}, errors.New("cannot parse the major version of the nvidia driver version string")
	}
	return NvidiaVersion{Raw: raw, Major: n}, nil
}

// EntryKind is what a directory entry of the host is.
type EntryKind int

const (
	EntryOther EntryKind = iota
	EntryFile
	EntrySymlink
)

// HostDirs is what the launcher could read of the host's directories,
// without following symlinks; a directory that is missing, or one it does
// not trust (not root's all the way from "/", writable by others, a
// symlink) reads as empty.
type HostDirs interface {
	// List returns the names in dir (absolute), in any order.
	List(dir string) []string
	// Entry says what name in dir is, and a symlink's target.
	Entry(dir, name string) (EntryKind, string)
}

// A Farm is a tmpfs at Dir below ExtraLibDir holding, for each file of its
// sources matched by its globs, a symlink: to the file through the host's
// root at HostfsDir, or, for a symlink, to where it points (snap-confine's
// sc_populate_libgl_with_hostfs_symlinks).
type Farm struct {
	Dir string
	// Sources are absolute directories, in order: a later one's file
	// replaces an earlier one's of the same name. A last component
	// "nvidia*" stands for every such subdirectory, in name order.
	Sources []string
	Globs   []string
}

// A DirBind binds Source, a host directory, on Dir below ExtraLibDir,
// when it exists.
type DirBind struct {
	Source string
	Dir    string
}

// NvidiaHost is what the launcher knows of the host for the plan.
type NvidiaHost struct {
	Layout  NvidiaLayout
	Version NvidiaVersion
	Base    string // the snap's base, for NvidiaLibGlobsFor
	GOARCH  string // the launcher's, and so the host's
	Is64Bit bool
	// Lib64 says that /usr/lib64 is a directory (not a symlink to lib):
	// then it is the native library directory and /usr/lib the 32-bit
	// one (Fedora, openSUSE); otherwise /usr/lib and /usr/lib32 (Arch).
	Lib64 bool
}

// NvidiaPlan is what the launcher mounts below ExtraLibDir, in order: the
// driver's directories bound whole (Ubuntu's old layout) or its farms,
// then the vendor files' farms.
type NvidiaPlan struct {
	Binds []DirBind
	Farms []Farm
}

// PlanNvidia decides where the loaded driver's files are taken from,
// reading the host's directories through dirs (the multiarch layout looks
// for its libnvidia-glcore).
func PlanNvidia(h NvidiaHost, dirs HostDirs) NvidiaPlan {
	var p NvidiaPlan
	globs := NvidiaLibGlobsFor(h.Base)
	switch h.Layout {
	case NvidiaBiarch:
		native, lib32 := "/usr/lib", "/usr/lib32"
		if h.Lib64 {
			native, lib32 = "/usr/lib64", "/usr/lib"
		}
		// The order matters: the private nvidia* directories' files
		// (Fedora keeps them all there; Solus its libGL) replace the
		// glvnd ones of the main directory.
		p.Farms = append(p.Farms, Farm{LibGL, []string{native, native + "/nvidia*"}, globs})
		if h.Is64Bit {
			p.Farms = append(p.Farms, Farm{LibGL32, []string{lib32, lib32 + "/nvidia*"}, globs})
		}
	default:
		native, lib32 := NvidiaTriplets(h.GOARCH)
		if native != "" && hasCanary(h.Version, dirs, "/usr/lib/"+native) {
			p.Farms = append(p.Farms, Farm{LibGL, []string{"/usr/lib/" + native}, globs})
			if lib32 != "" && hasCanary(h.Version, dirs, "/usr/lib/"+lib32) {
				p.Farms = append(p.Farms, Farm{LibGL32, []string{"/usr/lib/" + lib32}, globs})
			}
		} else if h.Version.Major != 0 {
			// A major version 0 means no driver in the kernel.
			major := strconv.Itoa(h.Version.Major)
			p.Binds = []DirBind{{"/usr/lib/nvidia-" + major, LibGL}, {"/usr/lib32/nvidia-" + major, LibGL32}}
		}
	}
	p.Farms = append(p.Farms, Farm{LibVulkan, []string{VulkanSourceDir}, VulkanGlobs}, Farm{LibGlvnd, []string{EGLVendorSourceDir}, EGLVendorGlobs})
	return p
}

// hasCanary tells whether dir holds the loaded version's libnvidia-glcore:
// the multiarch directory is the driver's only then.
func hasCanary(v NvidiaVersion, dirs HostDirs, dir string) bool {
	return v.Major != 0 && slices.Contains(dirs.List(dir), "libnvidia-glcore.so."+v.Raw)
}

// A FarmLink is one symlink of a farm: Path relative to the farm's root
// (one directory component at most), and its target.
type FarmLink struct {
	Path   string
	Target string
}

// Links returns the farm's symlinks: each file of its sources that a glob
// matches, except a library of another driver version than v (a name that
// carries one after ".so.", see driverVersion), in snap-confine's order
// (source by source, glob by glob, names sorted), a later one replacing an
// earlier one of the same path. A file gets a link to it through the host's
// root at HostfsDir. A symlink is kept as it is when it points within the
// farm (relative, never above it), or, through HostfsDir, when it points
// into one of the farm's source directories; any other symlink (to
// /etc/shadow, say), and any other kind of entry, is left out.
func (f Farm) Links(v NvidiaVersion, dirs HostDirs) []FarmLink {
	// Each directory's names sorted once: a library directory holds
	// thousands, and each glob looks only at those starting with its
	// literal prefix.
	sorted := map[string][]string{}
	list := func(dir string) []string {
		names, ok := sorted[dir]
		if !ok {
			names = sortedNames(dirs.List(dir))
			sorted[dir] = names
		}
		return names
	}
	var roots []string
	for _, src := range f.Sources {
		roots = append(roots, expandSource(src, list)...)
	}
	var links []FarmLink
	index := map[string]int{}
	for _, root := range roots {
		for _, g := range f.Globs {
			sub, pattern := path.Split(g)
			sub = strings.TrimSuffix(sub, "/")
			for _, name := range matching(list(path.Join(root, sub)), pattern) {
				if dv := driverVersion(name); dv != "" && dv != v.Raw {
					continue
				}
				dir := path.Join(root, sub)
				kind, target := dirs.Entry(dir, name)
				to, ok := linkTarget(kind, target, dir, sub, name, roots)
				if !ok {
					continue
				}
				l := FarmLink{Path: path.Join(sub, name), Target: to}
				if i, seen := index[l.Path]; seen {
					links[i] = l
				} else {
					index[l.Path] = len(links)
					links = append(links, l)
				}
			}
		}
	}
	return links
}

// expandSource returns the directories a source stands for; list returns
// a directory's names, sorted.
func expandSource(src string, list func(string) []string) []string {
	parent, last := path.Split(src)
	if last != "nvidia*" {
		return []string{src}
	}
	var out []string
	for _, name := range matching(list(path.Clean(parent)), last) {
		out = append(out, path.Join(parent, name))
	}
	return out
}

// sortedNames returns names sorted as glob(3) sorts its matches (bytes).
func sortedNames(names []string) []string {
	return slices.Sorted(slices.Values(names))
}

// matching returns the names of sorted (sortedNames) that pattern
// matches, in order; as with glob(3), a wildcard never matches a leading
// dot. Only the names starting with the pattern's literal prefix are
// tried.
func matching(sorted []string, pattern string) []string {
	prefix := pattern
	if i := strings.IndexAny(pattern, `*?[\`); i >= 0 {
		prefix = pattern[:i]
	}
	var out []string
	i, _ := slices.BinarySearch(sorted, prefix)
	for ; i < len(sorted) && strings.HasPrefix(sorted[i], prefix); i++ {
		name := sorted[i]
		if strings.HasPrefix(name, ".") && !strings.HasPrefix(pattern, ".") {
			continue
		}
		if ok, err := path.Match(pattern, name); ok && err == nil {
			out = append(out, name)
		}
	}
	return out
}

// driverVersion returns the driver version a library's name carries: what
// follows its first ".so." when that reads MAJOR.MINOR[.MICRO] with a
// major of three digits or more, as every NVIDIA driver's has for fifteen
// years ("libnvidia-glcore.so.535.104.05"); "" otherwise. The other
// libraries the globs match carry their own versions, with one- or
// two-digit majors (glvnd's libGL.so.1.7.0, egl-wayland's
// libnvidia-egl-wayland.so.1.1.13, CUDA's 12.x, cuDNN's 8.x), or none.
func driverVersion(name string) string {
	_, v, ok := strings.Cut(name, ".so.")
	if !ok {
		return ""
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 || len(parts[0]) < 3 {
		return ""
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return ""
		}
	}
	return v
}

// linkTarget is the target of the farm's symlink for the entry name of
// dir (sub of the farm), or false when it gets none.
func linkTarget(kind EntryKind, target, dir, sub, name string, roots []string) (string, bool) {
	switch kind {
	case EntryFile:
		return HostfsDir + path.Join(dir, name), true
	case EntrySymlink:
		if target == "" {
			return "", false
		}
		if path.IsAbs(target) {
			clean := path.Clean(target)
			for _, root := range roots {
				if strings.HasPrefix(clean, root+"/") {
					return HostfsDir + clean, true
				}
			}
			return "", false
		}
		if within := path.Clean(path.Join(sub, target)); within == ".." || strings.HasPrefix(within, "../") {
			return "", false
		}
		return target, true
	}
	return "", false
}

// GPUExportFiles returns the export files of GPUExportDir that
// snap-confine reads, among names, in its order (interface by interface,
// names sorted).
func GPUExportFiles(names []string) []string {
	var out []string
	sorted := sortedNames(names)
	for _, iface := range gpuExportInterfaces {
		out = append(out, matching(sorted, "system_*_"+iface+".library-source")...)
	}
	return out
}

// GPUExportDirs returns the library directories an export file names, one
// per line, relative to the snap mount directory /snap (the layout that
// has export files mounts snaps there): a line that is not a clean
// absolute path strictly below it is left out (snap-confine leaves out a
// line not starting with "/snap").
func GPUExportDirs(content []byte) []string {
	var out []string
	for _, line := range strings.Split(string(content), "\n") {
		if rel, ok := below("/snap", line); ok {
			out = append(out, rel)
		}
	}
	return out
}

// below returns p relative to dir when p is a clean absolute path strictly
// below dir.
func below(dir, p string) (string, bool) {
	if p == "" || path.Clean(p) != p || !strings.HasPrefix(p, dir+"/") {
		return "", false
	}
	return strings.TrimPrefix(p, dir+"/"), true
}

// GPUExportMounts returns the directories, among dirs (relative to /snap,
// in order), that are bound below ExtraLibDir/system/gpu: as with
// snap-confine, a directory whose mount point exists by then (it repeats
// one, is below one, or is the parent of one) is skipped.
func GPUExportMounts(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		clash := false
		for _, prev := range out {
			if d == prev || strings.HasPrefix(d, prev+"/") || strings.HasPrefix(prev, d+"/") {
				clash = true
				break
			}
		}
		if !clash {
			out = append(out, d)
		}
	}
	return out
}

// SnapVendorFiles returns the names, among names, of a snap's vendor files
// that pattern (SnapEGLVendorGlob, SnapVulkanICDGlob) matches, sorted.
func SnapVendorFiles(names []string, pattern string) []string {
	return matching(sortedNames(names), pattern)
}

// SnapFileBelow returns the path of target, the target of snapd's symlink
// to a snap's vendor file, relative to the snap mount directory
// snapMountDir, when it is a clean absolute path strictly below it.
func SnapFileBelow(snapMountDir, target string) (string, bool) {
	return below(snapMountDir, target)
}
