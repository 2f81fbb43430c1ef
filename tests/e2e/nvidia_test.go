// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/tests/probe/report"
)

// The host's NVIDIA driver in a snap's root, as snap-confine 2.77 makes it
// visible on a classic host (launcher/nvidia.go, policy/nvidia.go). The
// sandbox is a Debian host with snaps in /snap: the multiarch layout. The
// driver is faked: its version in a tmpfs over the sandbox's own
// /sys/module (the host's /sys is untouched: the sandbox's is a recursive
// bind in its own mount namespace), its libraries and vendor files as
// small files in the sandbox's /usr (an overlay with a tmpfs upper layer),
// named as snap-confine's globs match them. Every test removes what it
// made.

const nvidiaVersion = "535.104.05"

// nvidiaOps are the actions only the NVIDIA driver's set-up uses.
var nvidiaOps = []policy.Op{policy.OpMountGPUTmpfs, policy.OpRemountGPUReadOnly, policy.OpWriteGPUFile}

// hideModules puts an empty tmpfs, root's, over the sandbox's
// /sys/module: no module is loaded.
func hideModules(t *testing.T) {
	t.Helper()
	if err := unix.Mount("tmpfs", "/sys/module", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0755"); err != nil {
		t.Fatalf("cannot mount a tmpfs on the sandbox's /sys/module: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount("/sys/module", unix.MNT_DETACH); err != nil {
			t.Errorf("cannot unmount the sandbox's /sys/module: %v", err)
		}
	})
}

// fakeNvidiaModule makes the sandbox's /sys/module hold only a loaded
// nvidia module of version v (root's, as sysfs has it).
func fakeNvidiaModule(t *testing.T, v string) {
	t.Helper()
	hideModules(t)
	if err := os.Mkdir("/sys/module/nvidia", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/sys/module/nvidia/version", []byte(v+"\n"), 0o444); err != nil {
		t.Fatal(err)
	}
}

// plant makes path on the host: a file holding content, or, for content
// "-> TARGET", a symlink; the directories it makes and the entry go at the
// end of the test.
func plant(t *testing.T, path, content string) {
	t.Helper()
	var made []string
	for dir := filepath.Dir(path); !exists(dir); dir = filepath.Dir(dir) {
		made = append(made, dir)
	}
	slices.Reverse(made)
	for _, dir := range made {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if target, ok := strings.CutPrefix(content, "-> "); ok {
		err = os.Symlink(target, path)
	} else {
		err = os.WriteFile(path, []byte(content), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Remove(path)
		for i := len(made) - 1; i >= 0; i-- {
			os.Remove(made[i])
		}
	})
}

// multiarchDirs are this machine's multiarch library directories.
func multiarchDirs(t *testing.T) (native, lib32 string) {
	t.Helper()
	n, l32 := policy.NvidiaTriplets(runtime.GOARCH)
	if n == "" {
		t.Skipf("SKIPPING: no multiarch triplet is known for %s", runtime.GOARCH)
	}
	native = "/usr/lib/" + n
	if l32 != "" {
		lib32 = "/usr/lib/" + l32
	}
	return native, lib32
}

// mountAt returns the options and filesystem type of the topmost mount at
// mountPoint in a report's mount table.
func mountAt(r *report.Report, mountPoint string) (opts, fstype string, ok bool) {
	for _, line := range r.Mounts {
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if len(f) > 5 && sep > 5 && sep+1 < len(f) && f[4] == mountPoint {
			opts, fstype, ok = f[5], f[sep+1], true
		}
	}
	return opts, fstype, ok
}

// mountedBelow lists the report's mount points below dir.
func mountedBelow(r *report.Report, dir string) []string {
	var out []string
	for _, line := range r.Mounts {
		if f := strings.Fields(line); len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}

// nvidiaHost plants a 535 driver with another version's leftovers and
// hostile symlinks, the layout snap-confine's multiarch build finds.
func nvidiaHost(t *testing.T) (native, lib32 string) {
	native, lib32 = multiarchDirs(t)
	fakeNvidiaModule(t, nvidiaVersion)
	for name, content := range map[string]string{
		"libnvidia-glcore.so." + nvidiaVersion:      "glcore " + nvidiaVersion,
		"libnvidia-glcore.so.470.82.01":             "glcore 470",
		"libGLX_nvidia.so.0":                        "-> libGLX_nvidia.so." + nvidiaVersion,
		"libGLX_nvidia.so." + nvidiaVersion:         "glx " + nvidiaVersion,
		"libcuda.so.1":                              "cuda",
		"libnvidia-egl-wayland.so.1.1.13":           "egl-wayland",
		"vdpau/libvdpau_nvidia.so.1":                "-> libvdpau_nvidia.so." + nvidiaVersion,
		"vdpau/libvdpau_nvidia.so." + nvidiaVersion: "vdpau " + nvidiaVersion,
		// Root's own mistakes, or an attacker's leftovers: never
		// followed, never shown.
		"libnvidia-ml.so.1":                 "-> /etc/shadow",
		"libnvidia-tls.so." + nvidiaVersion: "-> ../../../etc/shadow",
		"libnvidia-cfg.so.1":                "-> " + native + "/../../../etc/shadow",
	} {
		plant(t, native+"/"+name, content)
	}
	// A directory only root may list: its names are not shown either.
	plant(t, native+"/tls/libnvidia-tls.so."+nvidiaVersion, "tls")
	if err := os.Chmod(native+"/tls", 0o700); err != nil {
		t.Fatal(err)
	}
	if lib32 != "" {
		plant(t, lib32+"/libnvidia-glcore.so."+nvidiaVersion, "glcore32 "+nvidiaVersion)
		plant(t, lib32+"/libGLX_nvidia.so.0", "glx32")
	}
	plant(t, "/usr/share/vulkan/icd.d/nvidia_icd.json", `{"ICD": "nvidia"}`)
	plant(t, "/usr/share/vulkan/icd.d/intel_icd.json", `{"ICD": "intel"}`)
	plant(t, "/usr/share/glvnd/egl_vendor.d/10_nvidia.json", `{"ICD": "nvidia egl"}`)
	return native, lib32
}

// The loaded driver's libraries of the multiarch directories, and the
// Vulkan and EGL vendor files, are visible below /var/lib/snapd/lib
// through read-only tmpfs instances of symlinks: only the loaded
// version's where a name carries one; no symlink pointing out of the
// library directory (at /etc/shadow) is followed or shown. In both
// installs, for root and for a user; nothing reaches the host's
// /var/lib/snapd/lib.
func TestNvidiaDriverIsVisibleInTheSnap(t *testing.T) {
	world(t)
	native, lib32 := nvidiaHost(t)
	gl := policy.ExtraLibDir + "/gl/"
	reads := map[string]string{
		gl + "libnvidia-glcore.so." + nvidiaVersion:               "glcore " + nvidiaVersion,
		gl + "libGLX_nvidia.so.0":                                 "glx " + nvidiaVersion,
		gl + "libcuda.so.1":                                       "cuda",
		gl + "libnvidia-egl-wayland.so.1.1.13":                    "egl-wayland",
		gl + "vdpau/libvdpau_nvidia.so.1":                         "vdpau " + nvidiaVersion,
		policy.ExtraLibDir + "/vulkan/icd.d/nvidia_icd.json":      `{"ICD": "nvidia"}`,
		policy.ExtraLibDir + "/glvnd/egl_vendor.d/10_nvidia.json": `{"ICD": "nvidia egl"}`,
	}
	if lib32 != "" {
		reads[policy.ExtraLibDir+"/gl32/libnvidia-glcore.so."+nvidiaVersion] = "glcore32 " + nvidiaVersion
		reads[policy.ExtraLibDir+"/gl32/libGLX_nvidia.so.0"] = "glx32"
	}
	absent := []string{
		gl + "libnvidia-glcore.so.470.82.01",
		gl + "libnvidia-ml.so.1",
		gl + "libnvidia-tls.so." + nvidiaVersion,
		gl + "libnvidia-cfg.so.1",
		gl + "tls",
		policy.ExtraLibDir + "/vulkan/icd.d/intel_icd.json",
		policy.ExtraLibDir + "/system",
	}
	var args []string
	for path := range reads {
		args = append(args, "read", path)
	}
	for _, path := range absent {
		args = append(args, "stat", path)
	}
	// The link resolves to the host's very file.
	args = append(args, "stat", gl+"libnvidia-glcore.so."+nvidiaVersion)
	var host unix.Stat_t
	if err := unix.Stat(native+"/libnvidia-glcore.so."+nvidiaVersion, &host); err != nil {
		t.Fatal(err)
	}
	for _, in := range installs {
		for _, uid := range []int{0, userUID} {
			t.Run(fmt.Sprintf("%s-uid%d", in.name, uid), func(t *testing.T) {
				world(t)
				r := launch{caps: in.caps, uid: uid, args: args}.mustRun(t)
				for path, want := range reads {
					if got := r.Read[path]; got != want {
						t.Errorf("%s reads %q, want %q", path, got, want)
					}
				}
				for _, path := range absent {
					if got := r.Stat[path]; got != "error: no such file or directory" {
						t.Errorf("%s in the snap: %s", path, got)
					}
				}
				if got, want := r.Stat[gl+"libnvidia-glcore.so."+nvidiaVersion], fmt.Sprintf("%d:%d:%d", unix.Major(host.Dev), unix.Minor(host.Dev), host.Ino); got != want {
					t.Errorf("the library in the snap is %s, the host's %s", got, want)
				}
				if len(r.Errors) > 0 {
					t.Errorf("the app's errors: %v", r.Errors)
				}
				dirs := []string{"gl", "vulkan", "glvnd"}
				if lib32 != "" {
					dirs = append(dirs, "gl32")
				}
				for _, dir := range dirs {
					opts, fstype, ok := mountAt(r, policy.ExtraLibDir+"/"+dir)
					if !ok || fstype != "tmpfs" || !slices.Contains(strings.Split(opts, ","), "ro") || !slices.Contains(strings.Split(opts, ","), "nodev") {
						t.Errorf("%s/%s in the snap: %q %q (mounted: %t), want a read-only nodev tmpfs", policy.ExtraLibDir, dir, opts, fstype, ok)
					}
				}
				// The host's own directories stay empty and unmounted.
				for _, dir := range dirs {
					if entries, err := os.ReadDir(policy.ExtraLibDir + "/" + dir); err != nil || len(entries) != 0 {
						t.Errorf("the host's %s/%s: %v %v", policy.ExtraLibDir, dir, entries, err)
					}
				}
				if mounts, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mounts), " "+policy.ExtraLibDir) {
					t.Errorf("a mount below %s reached the host", policy.ExtraLibDir)
				}
			})
		}
	}
}

// Without a loaded nvidia module nothing is made below /var/lib/snapd/lib,
// whatever libraries the host has.
func TestNvidiaDriverNotLoadedMountsNothing(t *testing.T) {
	world(t)
	native, _ := multiarchDirs(t)
	hideModules(t)
	plant(t, native+"/libnvidia-glcore.so."+nvidiaVersion, "glcore")
	r := launch{uid: userUID}.mustRun(t)
	if m := mountedBelow(r, policy.ExtraLibDir); len(m) > 0 {
		t.Errorf("mounted without a driver: %v", m)
	}
	if exists(policy.ExtraLibDir) {
		t.Errorf("%s was made without a driver", policy.ExtraLibDir)
	}
}

// Where the multiarch directory lacks the loaded version's libnvidia-glcore,
// Ubuntu's old layout is used: /usr/lib/nvidia-<major> and
// /usr/lib32/nvidia-<major> bound whole, read-only. A version file that is
// not a version fails the launch with one line.
func TestNvidiaOldUbuntuLayoutIsBound(t *testing.T) {
	world(t)
	fakeNvidiaModule(t, "470.82.01")
	plant(t, "/usr/lib/nvidia-470/libGL.so.1", "gl 470")
	plant(t, "/usr/lib32/nvidia-470/libGL.so.1", "gl32 470")
	plant(t, "/usr/lib/nvidia-535/libGL.so.1", "gl 535")
	gl, gl32 := policy.ExtraLibDir+"/gl/libGL.so.1", policy.ExtraLibDir+"/gl32/libGL.so.1"
	for _, in := range installs {
		t.Run(in.name, func(t *testing.T) {
			world(t)
			r := launch{caps: in.caps, uid: userUID, args: []string{"read", gl, "read", gl32}}.mustRun(t)
			if r.Read[gl] != "gl 470" || r.Read[gl32] != "gl32 470" {
				t.Errorf("the snap reads %q and %q", r.Read[gl], r.Read[gl32])
			}
			for _, dir := range []string{"gl", "gl32"} {
				if opts, _, ok := mountAt(r, policy.ExtraLibDir+"/"+dir); !ok || !strings.HasPrefix(opts, "ro,") {
					t.Errorf("%s/%s: %q, want a read-only bind", policy.ExtraLibDir, dir, opts)
				}
			}
		})
	}
	if err := os.WriteFile("/sys/module/nvidia/version", []byte("470.82.01/../../x\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	world(t)
	if msg := (launch{uid: userUID}).mustFail(t); msg != "cannot parse the nvidia driver version string in /sys/module/nvidia/version" {
		t.Errorf("refused with %q", msg)
	}
}

// overlayEtc makes the sandbox's /etc writable for the test: an overlay on
// it, with a tmpfs upper layer, gone at the end.
func overlayEtc(t *testing.T) {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "etc-overlay-")
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"upper", "work"} {
		if err := os.Mkdir(dir+"/"+sub, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mount("overlay", "/etc", "overlay", 0, "lowerdir=/etc,upperdir="+dir+"/upper,workdir="+dir+"/work"); err != nil {
		t.Fatalf("cannot put an overlay on the sandbox's /etc: %v", err)
	}
	t.Cleanup(func() {
		unix.Unmount("/etc", unix.MNT_DETACH)
		unix.Unmount(dir, unix.MNT_DETACH)
		os.Remove(dir)
	})
}

// gpuExportWorld is a host where a snap provides GPU libraries (the
// *-driver-libs interfaces): its files, and snapd's symlinks to its vendor
// files (and one to /etc/shadow, one to a file only root may read); the
// host's own driver is there too. plantGPUExport adds snapd's export file
// (each world(t) removes it with the rest of /var/lib/snapd).
func gpuExportWorld(t *testing.T) {
	nvidiaHost(t)
	overlayEtc(t)
	plant(t, "/snap/gpu-provider/1/lib/libEGL_mesa.so.0", "mesa egl")
	plant(t, "/snap/gpu-provider/1/lib/dri/iris_dri.so", "iris")
	plant(t, "/snap/gpu-provider/1/egl.json", `{"ICD": "snap egl"}`)
	plant(t, "/snap/gpu-provider/1/icd.json", `{"ICD": "snap vulkan"}`)
	plant(t, "/snap/gpu-provider/1/secret.json", "secret")
	if err := os.Chmod("/snap/gpu-provider/1/secret.json", 0o600); err != nil {
		t.Fatal(err)
	}
	plant(t, "/snap/gpu-provider/1/link", "-> /etc")
	plant(t, "/etc/glvnd/egl_vendor.d/10_snap_gpu-provider_gpu_egl.json", "-> /snap/gpu-provider/1/egl.json")
	plant(t, "/etc/glvnd/egl_vendor.d/11_snap_gpu-provider_gpu_shadow.json", "-> /etc/shadow")
	plant(t, "/etc/glvnd/egl_vendor.d/12_snap_gpu-provider_gpu_secret.json", "-> /snap/gpu-provider/1/secret.json")
	plant(t, "/etc/vulkan/icd.d/snap_gpu-provider_gpu_icd.json", "-> /snap/gpu-provider/1/icd.json")
}

// plantGPUExport writes snapd's export file of the provider's library
// directory, with lines that must be left out.
func plantGPUExport(t *testing.T) {
	plant(t, "/var/lib/snapd/export/system_gpu-provider_gpu_opengl-driver-libs.library-source",
		"/snap/gpu-provider/1/lib\n/snap/gpu-provider/1/lib/dri\n/snap/gpu-provider/1/link\n/snap/../etc\n/etc\n")
}

// Libraries exported by snaps replace the host's driver: their
// directories bound read-only below /var/lib/snapd/lib/system/gpu, their
// vendor files copied into /var/lib/snapd/lib/{glvnd,vulkan}; a line or a
// symlink leading out of /snap is left out, as is a file not everyone may
// read.
func TestSnapsExportedGPULibrariesReplaceTheHostsDriver(t *testing.T) {
	world(t)
	gpuExportWorld(t)
	lib := policy.ExtraLibDir
	reads := map[string]string{
		lib + "/system/gpu/gpu-provider/1/lib/libEGL_mesa.so.0":       "mesa egl",
		lib + "/system/gpu/gpu-provider/1/lib/dri/iris_dri.so":        "iris",
		lib + "/glvnd/egl_vendor.d/10_snap_gpu-provider_gpu_egl.json": `{"ICD": "snap egl"}`,
		lib + "/vulkan/icd.d/snap_gpu-provider_gpu_icd.json":          `{"ICD": "snap vulkan"}`,
	}
	absent := []string{
		lib + "/glvnd/egl_vendor.d/11_snap_gpu-provider_gpu_shadow.json",
		lib + "/glvnd/egl_vendor.d/12_snap_gpu-provider_gpu_secret.json",
		lib + "/system/gpu/gpu-provider/1/link",
		lib + "/gl",
	}
	var args []string
	for path := range reads {
		args = append(args, "read", path)
	}
	for _, path := range absent {
		args = append(args, "stat", path)
	}
	for _, in := range installs {
		for _, uid := range []int{0, userUID} {
			t.Run(fmt.Sprintf("%s-uid%d", in.name, uid), func(t *testing.T) {
				world(t)
				plantGPUExport(t)
				r := launch{caps: in.caps, uid: uid, args: args}.mustRun(t)
				for path, want := range reads {
					if got := r.Read[path]; got != want {
						t.Errorf("%s reads %q, want %q", path, got, want)
					}
				}
				for _, path := range absent {
					if got := r.Stat[path]; got != "error: no such file or directory" {
						t.Errorf("%s in the snap: %s", path, got)
					}
				}
				for mp, want := range map[string]string{lib + "/system/gpu": "tmpfs", lib + "/glvnd": "tmpfs", lib + "/vulkan": "tmpfs", lib + "/system/gpu/gpu-provider/1/lib": ""} {
					opts, fstype, ok := mountAt(r, mp)
					if !ok || !strings.HasPrefix(opts, "ro,") || (want != "" && fstype != want) {
						t.Errorf("%s: %q %q (mounted: %t), want read-only", mp, opts, fstype, ok)
					}
				}
				if m := mountedBelow(r, lib+"/system/gpu/gpu-provider/1/lib/dri"); len(m) > 0 {
					t.Errorf("a directory below one bound was bound too: %v", m)
				}
			})
		}
	}
}

// TestNvidiaStepsRaiseExactlyTheirCapabilities is
// TestEveryPrivilegedStepRaisesExactlyItsCapabilities for the actions of
// the NVIDIA driver's set-up, with the hooked launcher in both installs:
// the host's driver, then snaps' exported libraries.
func TestNvidiaStepsRaiseExactlyTheirCapabilities(t *testing.T) {
	for _, mode := range []struct{ name, dir string }{{"setuid", hookDir}, {"file-capabilities", hookCapsDir}} {
		t.Run(mode.name, func(t *testing.T) {
			world(t)
			seen := map[policy.Op]bool{}
			check := func() {
				res := launch{program: mode.dir + "/snap-confine", uid: userUID}.run()
				if res.err != nil {
					t.Fatalf("launch failed: %v\n%s", res.err, res.stderr)
				}
				for _, line := range strings.Split(res.stderr, "\n") {
					var h hookLine
					if _, err := fmt.Sscanf(line, "CAPHOOK op=%d eff=%x prm=%x others=%x", &h.op, &h.eff, &h.prm, &h.others); err != nil {
						continue
					}
					seen[h.op] = true
					if h.others != 0 {
						t.Errorf("%s: other threads hold %s", h.op, capNames(h.others))
					}
					if want := capWord(raised(h.op, mode.name == "setuid")) & h.prm; h.eff != want {
						t.Errorf("%s: effective %s, policy grants %s", h.op, capNames(h.eff), capNames(want))
					}
				}
			}
			gpuExportWorld(t)
			check()
			world(t)
			plantGPUExport(t)
			check()
			for _, op := range nvidiaOps {
				if !seen[op] {
					t.Errorf("%s was never observed", op)
				}
			}
		})
	}
}

// TestNvidiaActionsNeedEachOfTheirCapabilities withholds each capability
// of each action of the NVIDIA driver's set-up in turn, in both installs:
// the launch of a snap whose host has exported GPU libraries (which uses
// them all) fails.
func TestNvidiaActionsNeedEachOfTheirCapabilities(t *testing.T) {
	world(t)
	gpuExportWorld(t)
	for _, mode := range []struct{ name, dir string }{{"setuid", hookDir}, {"file-capabilities", hookCapsDir}} {
		t.Run(mode.name, func(t *testing.T) {
			var table []string
			for _, op := range nvidiaOps {
				for _, c := range raised(op, mode.name == "setuid") {
					t.Run(fmt.Sprintf("op%d-%s", op, c), func(t *testing.T) {
						world(t)
						plantGPUExport(t)
						res := launch{program: mode.dir + "/snap-confine", uid: userUID, env: []string{fmt.Sprintf("SNAPNS_TEST_WITHHOLD=%d:%d", op, c)}}.run()
						broke := strings.Join(nonHookLines(res.stderr), " ")
						if res.err == nil {
							t.Errorf("%s works without cap_%s", op, c)
						}
						table = append(table, fmt.Sprintf("  %-45s without cap_%-14s %s", op, c, broke))
					})
				}
			}
			t.Logf("what breaks without each capability of each NVIDIA action:\n%s", strings.Join(table, "\n"))
		})
	}
}

// On a host that mounts snaps in /var/lib/snapd/snap (Fedora, Arch,
// openSUSE), the driver is looked for in the biarch layout: /usr/lib64 and
// its nvidia* subdirectories (whose files replace the main directory's),
// and the 32-bit /usr/lib, as snap-confine built with
// --enable-nvidia-biarch does, in the Fedora layout of fedora_test.go,
// both installs. (The sandbox's /usr/lib64 is a directory, as Fedora's.)
func TestNvidiaBiarchLayoutWhereSnapsAreInVarLibSnapd(t *testing.T) {
	if !isDir("/usr/lib64") || runtime.GOARCH != "amd64" {
		t.Skip("SKIPPING: the biarch test needs an amd64 host with a /usr/lib64 directory")
	}
	world(t)
	fakeNvidiaModule(t, nvidiaVersion)
	for path, content := range map[string]string{
		"/usr/lib64/libnvidia-glcore.so." + nvidiaVersion:                 "glcore64 " + nvidiaVersion,
		"/usr/lib64/libnvidia-glcore.so.470.82.01":                        "glcore64 470",
		"/usr/lib64/libGLX_nvidia.so.0":                                   "-> libGLX_nvidia.so." + nvidiaVersion,
		"/usr/lib64/libGLX_nvidia.so." + nvidiaVersion:                    "glx64",
		"/usr/lib64/libGL.so.1":                                           "glvnd gl",
		"/usr/lib64/libnvidia-ml.so.1":                                    "-> /etc/shadow",
		"/usr/lib64/nvidia/libGL.so.1":                                    "nvidia gl",
		"/usr/lib64/nvidia/libnvidia-cfg.so.1":                            "cfg",
		"/usr/lib/libnvidia-glcore.so." + nvidiaVersion:                   "glcore32 " + nvidiaVersion,
		"/usr/share/vulkan/icd.d/nvidia_icd.json":                         `{"ICD": "nvidia"}`,
		"/usr/lib/x86_64-linux-gnu/libnvidia-eglcore.so." + nvidiaVersion: "not biarch",
	} {
		plant(t, path, content)
	}
	gl, gl32 := policy.ExtraLibDir+"/gl/", policy.ExtraLibDir+"/gl32/"
	reads := map[string]string{
		gl + "libnvidia-glcore.so." + nvidiaVersion:          "glcore64 " + nvidiaVersion,
		gl + "libGLX_nvidia.so.0":                            "glx64",
		gl + "libGL.so.1":                                    "nvidia gl",
		gl + "libnvidia-cfg.so.1":                            "cfg",
		gl32 + "libnvidia-glcore.so." + nvidiaVersion:        "glcore32 " + nvidiaVersion,
		policy.ExtraLibDir + "/vulkan/icd.d/nvidia_icd.json": `{"ICD": "nvidia"}`,
	}
	absent := []string{gl + "libnvidia-glcore.so.470.82.01", gl + "libnvidia-ml.so.1", gl + "libnvidia-eglcore.so." + nvidiaVersion}
	var args []string
	for path := range reads {
		args = append(args, "read", path)
	}
	for _, path := range absent {
		args = append(args, "stat", path)
	}
	for _, dir := range []string{fedoraDir, fedoraCapsDir} {
		t.Run(dir, func(t *testing.T) {
			fedoraWorld(t)
			r := launch{program: dir + "/snap-confine", uid: userUID, args: args}.mustRun(t)
			for path, want := range reads {
				if got := r.Read[path]; got != want {
					t.Errorf("%s reads %q, want %q", path, got, want)
				}
			}
			for _, path := range absent {
				if got := r.Stat[path]; got != "error: no such file or directory" {
					t.Errorf("%s in the snap: %s", path, got)
				}
			}
			for _, dir := range []string{"gl", "gl32", "vulkan", "glvnd"} {
				if opts, fstype, ok := mountAt(r, policy.ExtraLibDir+"/"+dir); !ok || fstype != "tmpfs" || !strings.HasPrefix(opts, "ro,") {
					t.Errorf("%s/%s: %q %q (mounted: %t), want a read-only tmpfs", policy.ExtraLibDir, dir, opts, fstype, ok)
				}
			}
		})
	}
}

func isDir(path string) bool {
	var st unix.Stat_t
	return unix.Lstat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}
