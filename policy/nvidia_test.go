// SPDX-License-Identifier: GPL-3.0-only

package policy

import (
	"path"
	"reflect"
	"strings"
	"testing"
)

// fakeDirs is a host's directories: directory -> name -> entry ("file",
// "dir", or "-> target" for a symlink).
type fakeDirs map[string]map[string]string

func (d fakeDirs) List(dir string) []string {
	var names []string
	for name := range d[dir] {
		names = append(names, name)
	}
	return names
}

func (d fakeDirs) Entry(dir, name string) (EntryKind, string) {
	switch e := d[dir][name]; {
	case e == "file":
		return EntryFile, ""
	case strings.HasPrefix(e, "-> "):
		return EntrySymlink, strings.TrimPrefix(e, "-> ")
	}
	return EntryOther, ""
}

func TestParseNvidiaVersion(t *testing.T) {
	for _, tc := range []struct {
		in    string
		raw   string
		major int
		err   string
	}{
		{"535.104.05\n", "535.104.05", 535, ""},
		{"440.48.02", "440.48.02", 440, ""},
		{"390.157\n", "390.157", 390, ""},
		{"0.1\n", "0.1", 0, ""},
		{"", "", 0, "cannot parse"},
		{"\n", "", 0, "cannot parse"},
		{"535.104.05\n\n", "", 0, "cannot parse"},
		{" 535.1", "", 0, "cannot parse"},
		{"535.1/../x", "", 0, "cannot parse"},
		{".535", "", 0, "cannot parse"},
		{"99999999999999999999.1", "", 0, "cannot parse the major"},
		{strings.Repeat("1", 127), strings.Repeat("1", 127), 0, "cannot parse the major"},
		{strings.Repeat("1", 128), "", 0, "cannot fit"},
	} {
		v, err := ParseNvidiaVersion([]byte(tc.in))
		if tc.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("%q: %v, %v; want an error %q", tc.in, v, err, tc.err)
			}
			continue
		}
		if err != nil || v.Raw != tc.raw || v.Major != tc.major {
			t.Errorf("%q: %+v, %v; want %q major %d", tc.in, v, err, tc.raw, tc.major)
		}
	}
}

func FuzzParseNvidiaVersion(f *testing.F) {
	for _, s := range []string{"535.104.05\n", "440.48.02", "0.1", "", "1.2.3.4", "12/34"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseNvidiaVersion(data)
		if err != nil {
			return
		}
		// The version names a file: it must never reach a directory.
		if v.Raw == "" || strings.Trim(v.Raw, "0123456789.") != "" || len(v.Raw) >= maxNvidiaVersion || v.Major < 0 {
			t.Fatalf("%q parsed to %+v", data, v)
		}
	})
}

func TestNvidiaLayoutOf(t *testing.T) {
	if NvidiaLayoutOf(true) != NvidiaBiarch || NvidiaLayoutOf(false) != NvidiaMultiarch {
		t.Fatal("snaps in /var/lib/snapd/snap mean biarch, in /snap multiarch")
	}
}

func TestGlobTables(t *testing.T) {
	for _, g := range append(append(append(NvidiaLibGlobs, GlvndLibGlobs...), VulkanGlobs...), EGLVendorGlobs...) {
		dir, pattern := path.Split(g)
		if strings.Count(g, "/") > 1 || strings.ContainsAny(dir, "*?[\\") || pattern == "" {
			t.Errorf("%q: a glob has at most one literal directory component", g)
		}
	}
	if got := NvidiaLibGlobsFor("core"); len(got) != len(NvidiaLibGlobs)+len(GlvndLibGlobs) {
		t.Errorf("core gets %d globs", len(got))
	}
	if got := NvidiaLibGlobsFor("core22"); len(got) != len(NvidiaLibGlobs) {
		t.Errorf("core22 gets %d globs", len(got))
	}
}

func TestDriverVersion(t *testing.T) {
	for name, want := range map[string]string{
		"libnvidia-glcore.so.535.104.05":  "535.104.05",
		"libGLX_nvidia.so.390.157":        "390.157",
		"libnvidia-glcore.so":             "",
		"libGLX_nvidia.so.0":              "",
		"libcuda.so.1":                    "",
		"libnvidia-egl-wayland.so.1.1.13": "",
		"libGL.so.1.7.0":                  "",
		"libcudnn.so.8.9.2":               "",
		"libnvrtc-builtins.so.12.2":       "",
		"libcublas.so.12.1.3.1":           "",
		"libnvidia-glcore.so.535.x":       "",
		"nvidia_icd.json":                 "",
	} {
		if got := driverVersion(name); got != want {
			t.Errorf("driverVersion(%q) = %q, want %q", name, got, want)
		}
	}
}

var v535 = NvidiaVersion{Raw: "535.104.05", Major: 535}

// A multiarch host (Ubuntu) with the 535 driver and the leftovers of 470,
// and entries that must be left out.
var ubuntu = fakeDirs{
	"/usr/lib/x86_64-linux-gnu": {
		"libnvidia-glcore.so.535.104.05":  "file",
		"libnvidia-glcore.so.470.82.01":   "file",
		"libGLX_nvidia.so.0":              "-> libGLX_nvidia.so.535.104.05",
		"libGLX_nvidia.so.535.104.05":     "file",
		"libcuda.so":                      "-> libcuda.so.1",
		"libcuda.so.1":                    "-> /usr/lib/x86_64-linux-gnu/libcuda.so.535.104.05",
		"libcuda.so.535.104.05":           "file",
		"libnvidia-egl-wayland.so.1.1.13": "file",
		"libnvidia-ml.so.1":               "-> /etc/shadow",
		"libnvidia-ml.so":                 "-> ../../../etc/shadow",
		"libnvidia-cfg.so.1":              "-> /usr/lib/x86_64-linux-gnu/../../../etc/shadow",
		"libnvidia-tls.so.535.104.05":     "dir",
		".libnvidia-fbc.so.1":             "file",
		"libGL.so.1":                      "file",
		"libc.so.6":                       "file",
		"vdpau":                           "dir",
	},
	"/usr/lib/x86_64-linux-gnu/vdpau": {
		"libvdpau_nvidia.so.1":          "-> libvdpau_nvidia.so.535.104.05",
		"libvdpau_nvidia.so.535.104.05": "file",
		"libvdpau_va_gl.so.1":           "file",
	},
	"/usr/lib/i386-linux-gnu": {
		"libnvidia-glcore.so.535.104.05": "file",
	},
	"/usr/share/vulkan/icd.d": {
		"nvidia_icd.json": "file",
		"intel_icd.json":  "file",
	},
	"/usr/share/glvnd/egl_vendor.d": {
		"10_nvidia.json": "-> /usr/share/glvnd/egl_vendor.d/../../../etc/shadow",
		"50_mesa.json":   "file",
	},
}

func TestPlanNvidia(t *testing.T) {
	vendor := []Farm{{LibVulkan, []string{VulkanSourceDir}, VulkanGlobs}, {LibGlvnd, []string{EGLVendorSourceDir}, EGLVendorGlobs}}
	globs := NvidiaLibGlobsFor("core22")
	for _, tc := range []struct {
		name string
		host NvidiaHost
		dirs fakeDirs
		want NvidiaPlan
	}{
		{"ubuntu, amd64: both multiarch directories have the canary",
			NvidiaHost{Layout: NvidiaMultiarch, Version: v535, Base: "core22", GOARCH: "amd64", Is64Bit: true}, ubuntu,
			NvidiaPlan{Farms: append([]Farm{{LibGL, []string{"/usr/lib/x86_64-linux-gnu"}, globs}, {LibGL32, []string{"/usr/lib/i386-linux-gnu"}, globs}}, vendor...)}},
		{"ubuntu, arm64: no 32-bit directory",
			NvidiaHost{Layout: NvidiaMultiarch, Version: v535, Base: "core22", GOARCH: "arm64", Is64Bit: true}, fakeDirs{"/usr/lib/aarch64-linux-gnu": {"libnvidia-glcore.so.535.104.05": "file"}, "/usr/lib/arm-linux-gnueabihf": {"libnvidia-glcore.so.535.104.05": "file"}},
			NvidiaPlan{Farms: append([]Farm{{LibGL, []string{"/usr/lib/aarch64-linux-gnu"}, globs}}, vendor...)}},
		{"multiarch, another version's canary: the old layout",
			NvidiaHost{Layout: NvidiaMultiarch, Version: NvidiaVersion{"470.82.01", 470}, Base: "core22", GOARCH: "amd64", Is64Bit: true}, fakeDirs{"/usr/lib/x86_64-linux-gnu": {"libnvidia-glcore.so.535.104.05": "file"}},
			NvidiaPlan{Binds: []DirBind{{"/usr/lib/nvidia-470", LibGL}, {"/usr/lib32/nvidia-470", LibGL32}}, Farms: vendor}},
		{"multiarch, major 0: no driver",
			NvidiaHost{Layout: NvidiaMultiarch, Version: NvidiaVersion{"0.1", 0}, Base: "core22", GOARCH: "amd64", Is64Bit: true}, fakeDirs{"/usr/lib/x86_64-linux-gnu": {"libnvidia-glcore.so.0.1": "file"}},
			NvidiaPlan{Farms: vendor}},
		{"multiarch, an architecture without a triplet: the old layout",
			NvidiaHost{Layout: NvidiaMultiarch, Version: v535, Base: "core22", GOARCH: "sparc64", Is64Bit: true}, ubuntu,
			NvidiaPlan{Binds: []DirBind{{"/usr/lib/nvidia-535", LibGL}, {"/usr/lib32/nvidia-535", LibGL32}}, Farms: vendor}},
		{"fedora: /usr/lib64 and /usr/lib",
			NvidiaHost{Layout: NvidiaBiarch, Version: v535, Base: "core", GOARCH: "amd64", Is64Bit: true, Lib64: true}, nil,
			NvidiaPlan{Farms: append([]Farm{{LibGL, []string{"/usr/lib64", "/usr/lib64/nvidia*"}, NvidiaLibGlobsFor("core")}, {LibGL32, []string{"/usr/lib", "/usr/lib/nvidia*"}, NvidiaLibGlobsFor("core")}}, vendor...)}},
		{"arch: /usr/lib and /usr/lib32",
			NvidiaHost{Layout: NvidiaBiarch, Version: v535, Base: "core22", GOARCH: "amd64", Is64Bit: true}, nil,
			NvidiaPlan{Farms: append([]Farm{{LibGL, []string{"/usr/lib", "/usr/lib/nvidia*"}, globs}, {LibGL32, []string{"/usr/lib32", "/usr/lib32/nvidia*"}, globs}}, vendor...)}},
		{"biarch, 32-bit: no gl32",
			NvidiaHost{Layout: NvidiaBiarch, Version: v535, Base: "core22", GOARCH: "386"}, nil,
			NvidiaPlan{Farms: append([]Farm{{LibGL, []string{"/usr/lib", "/usr/lib/nvidia*"}, globs}}, vendor...)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PlanNvidia(tc.host, tc.dirs); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestFarmLinks(t *testing.T) {
	h := "/var/lib/snapd/hostfs"
	for _, tc := range []struct {
		name string
		farm Farm
		dirs fakeDirs
		want []FarmLink
	}{
		{"multiarch: only the loaded version's, symlinks kept, none out of the library directory",
			Farm{LibGL, []string{"/usr/lib/x86_64-linux-gnu"}, NvidiaLibGlobsFor("core22")}, ubuntu,
			[]FarmLink{
				{"libGLX_nvidia.so.0", "libGLX_nvidia.so.535.104.05"},
				{"libGLX_nvidia.so.535.104.05", h + "/usr/lib/x86_64-linux-gnu/libGLX_nvidia.so.535.104.05"},
				{"libnvidia-egl-wayland.so.1.1.13", h + "/usr/lib/x86_64-linux-gnu/libnvidia-egl-wayland.so.1.1.13"},
				{"libnvidia-glcore.so.535.104.05", h + "/usr/lib/x86_64-linux-gnu/libnvidia-glcore.so.535.104.05"},
				{"vdpau/libvdpau_nvidia.so.1", "libvdpau_nvidia.so.535.104.05"},
				{"vdpau/libvdpau_nvidia.so.535.104.05", h + "/usr/lib/x86_64-linux-gnu/vdpau/libvdpau_nvidia.so.535.104.05"},
				{"libcuda.so", "libcuda.so.1"},
				{"libcuda.so.1", h + "/usr/lib/x86_64-linux-gnu/libcuda.so.535.104.05"},
				{"libcuda.so.535.104.05", h + "/usr/lib/x86_64-linux-gnu/libcuda.so.535.104.05"},
			}},
		{"the core base gets glvnd's libraries",
			Farm{LibGL, []string{"/usr/lib/x86_64-linux-gnu"}, GlvndLibGlobs}, ubuntu,
			[]FarmLink{{"libGL.so.1", h + "/usr/lib/x86_64-linux-gnu/libGL.so.1"}}},
		{"vendor files",
			Farm{LibVulkan, []string{VulkanSourceDir}, VulkanGlobs}, ubuntu,
			[]FarmLink{{"icd.d/nvidia_icd.json", h + "/usr/share/vulkan/icd.d/nvidia_icd.json"}}},
		{"a vendor file's symlink out of its directory",
			Farm{LibGlvnd, []string{EGLVendorSourceDir}, EGLVendorGlobs}, ubuntu, nil},
		{"biarch: a later source replaces, nvidia* subdirectories in order, absolute links within the sources",
			Farm{LibGL, []string{"/usr/lib64", "/usr/lib64/nvidia*"}, NvidiaLibGlobsFor("core")},
			fakeDirs{
				"/usr/lib64": {
					"libGL.so.1":         "file",
					"libEGL.so.1":        "file",
					"libnvidia-ml.so.1":  "-> /usr/lib64/nvidia/libnvidia-ml.so.535.104.05",
					"nvidia":             "dir",
					"nvidia-legacy":      "dir",
					"nvidia.conf":        "file",
					"libnvidia-fbc.so.1": "-> /usr/lib64.evil/x",
				},
				"/usr/lib64/nvidia":        {"libGL.so.1": "-> libGL.so.535.104.05", "libGL.so.535.104.05": "file", "libnvidia-ml.so.535.104.05": "file"},
				"/usr/lib64/nvidia-legacy": {"libGL.so.1": "file"},
			},
			[]FarmLink{
				{"libnvidia-ml.so.1", h + "/usr/lib64/nvidia/libnvidia-ml.so.535.104.05"},
				{"libEGL.so.1", h + "/usr/lib64/libEGL.so.1"},
				{"libGL.so.1", h + "/usr/lib64/nvidia-legacy/libGL.so.1"},
				{"libnvidia-ml.so.535.104.05", h + "/usr/lib64/nvidia/libnvidia-ml.so.535.104.05"},
				{"libGL.so.535.104.05", h + "/usr/lib64/nvidia/libGL.so.535.104.05"},
			}},
		{"nothing there", Farm{LibGL32, []string{"/usr/lib32", "/usr/lib32/nvidia*"}, NvidiaLibGlobs}, fakeDirs{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.farm.Links(v535, tc.dirs); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%s\nwant\n%s", links(got), links(tc.want))
			}
		})
	}
}

func links(l []FarmLink) string {
	var s []string
	for _, x := range l {
		s = append(s, "  "+x.Path+" -> "+x.Target)
	}
	return strings.Join(s, "\n")
}

func TestGPUExports(t *testing.T) {
	names := []string{"system_mesa_gpu_vulkan-driver-libs.library-source", "system_nv_x_egl-driver-libs.library-source", "system_a_b_opengles-driver-libs.library-source", "other_x_y_egl-driver-libs.library-source", "system_a_b_unknown.library-source", ".system_a_b_egl-driver-libs.library-source"}
	want := []string{"system_nv_x_egl-driver-libs.library-source", "system_a_b_opengles-driver-libs.library-source", "system_mesa_gpu_vulkan-driver-libs.library-source"}
	if got := GPUExportFiles(names); !reflect.DeepEqual(got, want) {
		t.Errorf("GPUExportFiles = %q", got)
	}
	content := "/snap/mesa/12/usr/lib/x86_64-linux-gnu\n/snapfoo/1/lib\n/snap/../etc\n/snap/mesa/12/./lib\nrelative/lib\n/snap\n/snap/\n/snap/nv/3/lib//x\n/snap/nv/3/lib\n"
	dirs := GPUExportDirs([]byte(content))
	if want := []string{"mesa/12/usr/lib/x86_64-linux-gnu", "nv/3/lib"}; !reflect.DeepEqual(dirs, want) {
		t.Errorf("GPUExportDirs = %q", dirs)
	}
	mounts := GPUExportMounts([]string{"a/1/lib", "a/1/lib", "a/1/lib/sub", "b/2/lib/sub", "b/2/lib", "a/1/lib2"})
	if want := []string{"a/1/lib", "b/2/lib/sub", "a/1/lib2"}; !reflect.DeepEqual(mounts, want) {
		t.Errorf("GPUExportMounts = %q", mounts)
	}
	vendor := SnapVendorFiles([]string{"10_snap_mesa_gpu_egl.json", "50_mesa.json", "snap_mesa_gpu_icd.json", "10_snap_a_b.json"}, SnapEGLVendorGlob)
	if want := []string{"10_snap_mesa_gpu_egl.json"}; !reflect.DeepEqual(vendor, want) {
		t.Errorf("SnapVendorFiles = %q", vendor)
	}
	for target, want := range map[string]string{"/snap/mesa/12/egl.json": "mesa/12/egl.json", "/snap/../etc/shadow": "", "/etc/shadow": "", "mesa/12/egl.json": ""} {
		if got, _ := SnapFileBelow("/snap", target); got != want {
			t.Errorf("SnapFileBelow(%q) = %q, want %q", target, got, want)
		}
	}
}

func FuzzGPUExportDirs(f *testing.F) {
	f.Add([]byte("/snap/mesa/12/usr/lib\n/snap/../etc\n/snapfoo\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range GPUExportDirs(data) {
			// Each is bound below /var/lib/snapd/lib/system/gpu and opened
			// below /snap: never empty, absolute, unclean or climbing.
			if d == "" || path.IsAbs(d) || path.Clean(d) != d || d == ".." || strings.HasPrefix(d, "../") {
				t.Fatalf("%q gave %q", data, d)
			}
		}
	})
}
