// SPDX-License-Identifier: GPL-3.0-only

// Package desc is an open file descriptor that knows what it names and
// closes once: the launcher, its actions and the readers it shares with
// snap-ns pass these between their functions, never a bare number, so
// that an error can say which file it is about and a deferred Close
// replaces every close on every path.
package desc

import (
	"strings"

	"golang.org/x/sys/unix"
)

// FD is an open descriptor and its name, a path or a phrase for messages.
// A nil *FD is a closed one: Fd is -1, Close does nothing.
type FD struct {
	fd   int
	name string
}

// New wraps fd, which the caller opened, named name; nil when fd < 0.
func New(fd int, name string) *FD {
	if fd < 0 {
		return nil
	}
	return &FD{fd, name}
}

// Fd is the number, for a syscall; -1 once closed.
func (d *FD) Fd() int {
	if d == nil {
		return -1
	}
	return d.fd
}

// Name is what the descriptor names.
func (d *FD) Name() string {
	if d == nil {
		return ""
	}
	return d.name
}

// Rename gives d another name for what follows (a phrase for messages:
// "seccomp profile /var/lib/snapd/seccomp/bpf"), and returns it.
func (d *FD) Rename(name string) *FD {
	if d != nil {
		d.name = name
	}
	return d
}

// Path is the name of name below the directory d: d's name and name
// joined with one slash.
func (d *FD) Path(name string) string {
	return strings.TrimSuffix(d.Name(), "/") + "/" + name
}

// Close closes the descriptor once; later calls do nothing.
func (d *FD) Close() error {
	if d == nil || d.fd < 0 {
		return nil
	}
	fd := d.fd
	d.fd = -1
	return unix.Close(fd)
}
