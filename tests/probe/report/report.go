// SPDX-License-Identifier: GPL-3.0-only

// Package report is the probe app's report: what tests/probe prints and the
// tests and the demo read.
package report

// Report is what the launcher handed the probe, as the probe saw it.
type Report struct {
	Argv   []string          `json:"argv"`
	Env    []string          `json:"env"`
	UIDs   [3]int            `json:"uids"`
	GIDs   [3]int            `json:"gids"`
	Groups []int             `json:"groups"`
	Caps   map[string]string `json:"caps"`
	CPUs   string            `json:"cpus"`
	Umask  string            `json:"umask"`
	// Status holds the security lines of /proc/self/status: NoNewPrivs,
	// Seccomp, Seccomp_filters.
	Status    map[string]string `json:"status"`
	Mounts    []string          `json:"mounts"`
	Cwd       string            `json:"cwd"`
	FDs       []int             `json:"fds"`
	MountNS   string            `json:"mount_ns"`
	MountNSID uint64            `json:"mount_ns_id"`
	Read      map[string]string `json:"read,omitempty"`
	// Stat maps a path given to "stat" to "MAJOR:MINOR:INODE", or to
	// "error: ..." when it cannot be stat-ed.
	Stat map[string]string `json:"stat,omitempty"`
	// Open maps a path given to "open" to "ok", or to "error: ..." when
	// it cannot be opened for reading (the device cgroup's answer).
	Open   map[string]string `json:"open,omitempty"`
	Errors []string          `json:"errors,omitempty"`
}
