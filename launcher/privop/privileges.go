// SPDX-License-Identifier: GPL-3.0-only

// Package privop is the launcher's privileged surface, in the manner of
// bubblewrap's privileged_op(): the closed set of actions that change the
// state of the host, of the launcher's namespaces or of its own
// credentials, and the privilege they run with (SECURITY.md §4.3). An
// action that needs a capability has one name, its policy.Op's
// (OpJoinHostNS: Privileges.JoinHostNS), raises exactly the op's
// capabilities on the calling thread around one syscall or a short fixed
// sequence, and says after "Safe:" why it cannot hurt the host; deciding,
// walking, checking and looping happen in package launcher, unprivileged.
// Paths given to mount(2) are /proc/self/fd/N magic links to descriptors
// opened and checked without following symlinks.
package privop

import (
	"fmt"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/planner"
	"github.com/snapns/snapns/policy"
	"github.com/snapns/snapns/shared/desc"
)

// The launcher holds its privilege as a permitted capability set (setuid
// root: the full set, ids dropped at the end; file capabilities:
// policy.Required(), the caller's ids throughout; a root caller keeps root
// for the app) and keeps its effective set empty, raising exactly an
// action's capabilities (policy.Op.Raised) on the thread that runs it.

// Privileges is the launcher's privilege: how it got it and the
// capabilities it holds. The launcher gets it once, at start (Acquire),
// and keeps no capability state of its own; every action is a method.
type Privileges struct {
	mode        planner.Install
	permitted   capSet // the launcher's permitted capabilities
	inheritable capSet // the caller's inheritable set, left as it was
	debugf      func(format string, args ...any)
	// bpfGated is the kernel's answer to probeBPFGated: 0 until asked,
	// then 1 (every bpf(2) call is open) or 2 (gated).
	bpfGated int8
}

// capSet is a capability bit set (two 32-bit words, as capget returns it).
type capSet [2]uint32

func capsOf(caps []policy.Cap) capSet {
	var s capSet
	for _, c := range caps {
		s[c/32] |= 1 << (uint(c) % 32)
	}
	return s
}

func (s capSet) and(o capSet) capSet { return capSet{s[0] & o[0], s[1] & o[1]} }
func (s capSet) empty() bool         { return s[0] == 0 && s[1] == 0 }

func (s capSet) names() string {
	var n []string
	for c := policy.Cap(0); c < 64; c++ {
		if s[c/32]&(1<<(uint(c)%32)) != 0 {
			n = append(n, "cap_"+c.String())
		}
	}
	return strings.Join(n, ",")
}

// getCaps returns the calling thread's effective, permitted and inheritable
// sets.
func getCaps() (eff, prm, inh capSet, err error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err = unix.Capget(&hdr, &data[0]); err != nil {
		return
	}
	for i := range data {
		eff[i], prm[i], inh[i] = data[i].Effective, data[i].Permitted, data[i].Inheritable
	}
	return
}

// setCapsAllThreads sets the three sets on every thread (AllThreadsSyscall,
// cgo off); unix.Capset acts on one thread only.
func setCapsAllThreads(eff, prm, inh capSet) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := range data {
		data[i] = unix.CapUserData{Effective: eff[i], Permitted: prm[i], Inheritable: inh[i]}
	}
	_, _, e := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	if e != 0 {
		return e
	}
	return nil
}

// setThreadCaps sets the three sets of the calling thread only.
func setThreadCaps(eff, prm, inh capSet) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := range data {
		data[i] = unix.CapUserData{Effective: eff[i], Permitted: prm[i], Inheritable: inh[i]}
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("cannot set capabilities: %w", err)
	}
	return nil
}

// emptyEffectiveErr is what EmptyEffectiveEverywhere said.
var emptyEffectiveErr error

// EmptyEffectiveEverywhere empties the effective set of every thread, the
// launcher's first act (a setuid exec, or root, starts every thread with a
// full one), with one stop-the-world call while the runtime has the fewest
// threads; a file-capability install has nothing effective and makes no
// call. Its error is Acquire's. Safe: it only takes capabilities away.
func EmptyEffectiveEverywhere() {
	emptyEffectiveErr = func() error {
		eff, prm, inh, err := getCaps()
		if err != nil {
			return fmt.Errorf("cannot get capabilities: %w", err)
		}
		if eff.empty() {
			return nil
		}
		if err := setCapsAllThreads(capSet{}, prm, inh); err != nil {
			return fmt.Errorf("cannot clear the effective capabilities: %w", err)
		}
		return nil
	}()
}

// Acquire tells the install mode from the credentials (ruid: the caller's
// real uid) and checks that a file-capability install has every capability
// it needs (a packaging error names the missing ones); debugf writes the
// launcher's debug log, nil when there is none.
func Acquire(ruid int, debugf func(format string, args ...any)) (*Privileges, error) {
	if emptyEffectiveErr != nil {
		return nil, emptyEffectiveErr
	}
	eff, prm, inh, err := getCaps()
	if err != nil {
		return nil, fmt.Errorf("cannot get capabilities: %w", err)
	}
	if !eff.empty() {
		return nil, fmt.Errorf("cannot launch: capabilities %s are effective after they were cleared", eff.names())
	}
	p := &Privileges{debugf: debugf}
	required := capsOf(policy.Required())
	switch euid := unix.Geteuid(); {
	case euid == 0 && ruid == 0:
		p.mode = planner.RootCaller
	case euid == 0:
		p.mode = planner.Setuid
	case !prm.empty():
		if missing := required.and(capSet{^prm[0], ^prm[1]}); !missing.empty() && !skipPackagingCheck {
			return nil, fmt.Errorf("cannot launch: snap-confine is installed with file capabilities %s but lacks %s (install with: setcap %s=p)", prm.names(), missing.names(), required.names())
		}
		p.mode = planner.FileCaps
	default:
		p.mode = planner.Unprivileged
		return p, nil
	}
	p.permitted, p.inheritable = prm, inh
	if p.debugf != nil {
		p.debugf("install mode: %s; permitted capabilities %s, none effective", p.mode, prm.names())
	}
	return p, nil
}

// Mode is how the launcher got its privilege.
func (p *Privileges) Mode() planner.Install { return p.mode }

// Holds reports whether c is in the launcher's permitted set.
func (p *Privileges) Holds(c policy.Cap) bool {
	return !capsOf([]policy.Cap{c}).and(p.permitted).empty()
}

// raise makes exactly caps effective (within the permitted set) on the
// calling thread, and lower empties its effective set again: one capset,
// on that thread only, since every thread's was emptied once and the
// runtime starts new threads from its template thread, never from a locked
// one (ARCHITECTURE.md §6).
func (p *Privileges) raise(caps []policy.Cap) error {
	want := capsOf(caps).and(p.permitted)
	if err := setThreadCaps(want, p.permitted, p.inheritable); err != nil {
		return fmt.Errorf("cannot raise %s: %w", want.names(), err)
	}
	return nil
}

func (p *Privileges) lower() error {
	if err := setThreadCaps(capSet{}, p.permitted, p.inheritable); err != nil {
		return fmt.Errorf("cannot lower capabilities: %w", err)
	}
	return nil
}

// bracket runs fn, the syscalls of op, with exactly the capabilities
// policy grants op effective on the calling thread (a locked one: the main
// thread or a throwaway one), and none after. An error reads "cannot
// <what>: ...".
func (p *Privileges) bracket(op policy.Op, what string, fn func() error) error {
	if p.debugf != nil {
		p.debugf("privileged: %s: %s", op, what)
	}
	var err error
	if p.mode == planner.Unprivileged {
		err = fn()
	} else if err = p.raise(op.RaisedGated(p.mode != planner.FileCaps, p.gated(op))); err == nil {
		if capHook != nil {
			capHook(op)
		}
		err = fn()
		if lerr := p.lower(); err == nil {
			err = lerr
		}
	}
	if err != nil {
		return &actionError{what, err}
	}
	return nil
}

// gated reports whether op, one of policy.Spec's GatedBPF actions, runs
// on a kernel that refuses every bpf(2) call to a caller without
// CAP_SYS_ADMIN (before Linux 5.19, kernel.unprivileged_bpf_disabled set,
// as Debian, Ubuntu and RHEL set it). The kernel is asked once, with no
// capability effective (before the bracket raises any).
func (p *Privileges) gated(op policy.Op) bool {
	if len(policy.Ops[op].GatedBPF) == 0 {
		return false
	}
	if p.bpfGated == 0 {
		p.bpfGated = 1
		if probeBPFGated() {
			p.bpfGated = 2
			if p.debugf != nil {
				p.debugf("bpf(2) refuses a caller without CAP_SYS_ADMIN (unprivileged BPF disabled before Linux 5.19): the device map's actions raise it")
			}
		}
	}
	return p.bpfGated == 2
}

// bracketFD is bracket for an action that opens a descriptor, which it
// names name; nil when it fails.
func (p *Privileges) bracketFD(op policy.Op, what, name string, fn func() (int, error)) (*desc.FD, error) {
	fd := -1
	err := p.bracket(op, what, func() (err error) {
		fd, err = fn()
		return err
	})
	if err != nil {
		return nil, err
	}
	return desc.New(fd, name), nil
}

// actionError is "cannot <what>: <err>", put into words only when printed:
// some actions fail on the everyday path (no snap cookie), where fmt's
// first use would cost a launch more than the action.
type actionError struct {
	what string
	err  error
}

func (e *actionError) Error() string { return "cannot " + e.what + ": " + e.err.Error() }
func (e *actionError) Unwrap() error { return e.err }

// skipPackagingCheck, set only in test builds, lets a launcher installed
// with too few capabilities run, so that tests can show which action
// fails without each one.
var skipPackagingCheck bool

// createHook, set only in test builds, is called right after an action
// created a file or directory, so that tests can look at what a caller
// racing the launcher (stopping it at that moment) would find.
var createHook func()

// stageHook, set only in test builds, is called right after StageDir
// made a staging directory, while the caller may still own it, so that
// tests can tamper with it as a caller racing the launcher would.
var stageHook func(parent int, name string)

// capHook, set only in test builds (hooks_snapnstest.go, build tag
// snapnstest), is called inside every action, with the op's capabilities
// raised.
var capHook func(op policy.Op)
