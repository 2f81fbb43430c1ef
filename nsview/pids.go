// SPDX-License-Identifier: GPL-3.0-only

package nsview

import (
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// nsKey is a mount namespace as stat(2) of /proc/<pid>/ns/mnt tells it.
type nsKey struct{ dev, ino uint64 }

// processesByNamespace scans /proc once: the pids of every process whose
// mount namespace the caller may look at (its own processes, or every one
// for root: reading /proc/<pid>/ns/mnt needs ptrace read access), by
// namespace, in ascending order. This process is left out. As lsns, it
// tells what it can see; an unreadable /proc gives nothing.
func processesByNamespace() map[nsKey][]int {
	byNS := map[nsKey][]int{}
	d, err := os.Open("/proc")
	if err != nil {
		return byNS
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return byNS
	}
	self := os.Getpid()
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == self {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+name+"/ns/mnt", &st) == nil {
			k := nsKey{st.Dev, st.Ino}
			byNS[k] = append(byNS[k], pid)
		}
	}
	for _, pids := range byNS {
		slices.Sort(pids)
	}
	return byNS
}
