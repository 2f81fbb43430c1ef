// SPDX-License-Identifier: GPL-3.0-only

package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// kernelTree is an unpacked linux-image package.
type kernelTree struct {
	dir     string
	version string // uname -r
	vmlinuz string
	modules string // lib/modules/<version>, under usr/ on merged-/usr releases
}

func openKernelTree(dir string) (*kernelTree, error) {
	vmlinuz, _ := filepath.Glob(filepath.Join(dir, "boot", "vmlinuz-*"))
	if len(vmlinuz) != 1 {
		return nil, fmt.Errorf("cannot find one vmlinuz in %s/boot", dir)
	}
	version := strings.TrimPrefix(filepath.Base(vmlinuz[0]), "vmlinuz-")
	for _, mods := range []string{"lib/modules", "usr/lib/modules"} {
		if st, err := os.Stat(filepath.Join(dir, mods, version)); err == nil && st.IsDir() {
			return &kernelTree{dir: dir, version: version, vmlinuz: vmlinuz[0], modules: filepath.Join(dir, mods, version)}, nil
		}
	}
	return nil, fmt.Errorf("cannot find the modules of %s in %s", version, dir)
}

// guestModules are what the guest needs beyond what Debian builds in: the
// host's root over virtio-9p, and what the tests mount (squashfs images on
// loop devices, overlays).
var guestModules = []string{"virtio_pci", "9pnet_virtio", "9p", "overlay", "loop", "squashfs", "virtio_rng", "tun"}

func modName(s string) string { return strings.ReplaceAll(s, "-", "_") }

// moduleOrder returns the module files to load, dependencies first, and
// their contents, decompressed: busybox's insmod hands the file to
// init_module as it is. A module the kernel has built in is left out.
func (k *kernelTree) moduleOrder(want []string) (names []string, data map[string][]byte, err error) {
	files := map[string]string{}
	err = filepath.WalkDir(k.modules, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		base := d.Name()
		for _, ext := range []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"} {
			if name, ok := strings.CutSuffix(base, ext); ok {
				files[modName(name)] = path
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	builtin := map[string]bool{}
	if f, err := os.Open(filepath.Join(k.modules, "modules.builtin")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			builtin[modName(strings.TrimSuffix(filepath.Base(sc.Text()), ".ko"))] = true
		}
		f.Close()
	}
	data = map[string][]byte{}
	seen := map[string]bool{}
	var visit func(name string, needed bool) error
	visit = func(name string, needed bool) error {
		name = modName(name)
		if seen[name] || builtin[name] {
			return nil
		}
		seen[name] = true
		path, ok := files[name]
		if !ok {
			if needed {
				return fmt.Errorf("cannot find the module %s of %s", name, k.version)
			}
			return nil
		}
		content, err := decompress(path)
		if err != nil {
			return err
		}
		deps, err := moduleDepends(content)
		if err != nil {
			return fmt.Errorf("cannot read the dependencies of %s: %w", path, err)
		}
		for _, dep := range deps {
			if err := visit(dep, true); err != nil {
				return err
			}
		}
		names = append(names, name)
		data[name] = content
		return nil
	}
	for _, m := range want {
		// tun and virtio_rng help but are not needed.
		if err := visit(m, m != "tun" && m != "virtio_rng"); err != nil {
			return nil, nil, err
		}
	}
	return names, data, nil
}

func decompress(path string) ([]byte, error) {
	// busybox is there anyway (the guest's userland); zstd is not in it.
	var tool []string
	switch {
	case strings.HasSuffix(path, ".xz"):
		tool = []string{"/bin/busybox", "xzcat"}
	case strings.HasSuffix(path, ".zst"):
		tool = []string{"zstd", "-dcq"}
	case strings.HasSuffix(path, ".gz"):
		tool = []string{"/bin/busybox", "zcat"}
	default:
		return os.ReadFile(path)
	}
	out, err := exec.Command(tool[0], append(tool[1:], path)...).Output()
	if err != nil {
		return nil, fmt.Errorf("cannot decompress %s with %s: %w", path, tool[0], err)
	}
	return out, nil
}

// moduleDepends reads the depends= entry of a module's .modinfo section.
func moduleDepends(ko []byte) ([]string, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return nil, err
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("no .modinfo section")
	}
	info, err := sec.Data()
	if err != nil {
		return nil, err
	}
	for _, kv := range bytes.Split(info, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			if len(v) == 0 {
				return nil, nil
			}
			return strings.Split(string(v), ","), nil
		}
	}
	return nil, nil
}

// cpioEntry is one file of an initramfs.
type cpioEntry struct {
	name  string
	mode  uint32 // with the type bits
	data  []byte
	rdevM uint32
	rdevm uint32
}

const (
	cpioDir  = 0o040000
	cpioReg  = 0o100000
	cpioChr  = 0o020000
	cpioLink = 0o120000
)

// writeCPIO writes entries in the "newc" format the kernel unpacks.
func writeCPIO(w io.Writer, entries []cpioEntry) error {
	bw := bufio.NewWriter(w)
	pad := func(n int) {
		for ; n%4 != 0; n++ {
			bw.WriteByte(0)
		}
	}
	write := func(ino int, e cpioEntry) {
		name := e.name + "\x00"
		n, _ := fmt.Fprintf(bw, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, e.mode, 0, 0, 1, 0, len(e.data), 0, 0, e.rdevM, e.rdevm, len(name), 0)
		bw.WriteString(name)
		pad(n + len(name))
		bw.Write(e.data)
		pad(len(e.data))
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	for i, e := range entries {
		write(i+1, e)
	}
	write(0, cpioEntry{name: "TRAILER!!!"})
	return bw.Flush()
}
