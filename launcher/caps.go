// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"fmt"
	"github.com/snapns/snapns/planner"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/policy"
)

// The launcher holds its privilege as a permitted capability set and keeps
// its effective set empty, raising exactly an action's capabilities
// (policy.Op.Raised) around each privileged action (actions.go) and lowering
// them after, on the thread that runs it; every other thread holds none.
// Two install modes give it that permitted set:
//
//   - setuid root: euid 0 gives the full set; the ids are dropped to the
//     caller's at the end.
//   - file capabilities (setcap policy.Required()=p): the ids stay the
//     caller's throughout; the permitted set is exactly policy.Required().
//
// A root caller runs the same way and keeps root for the app.

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

// setCapsAllThreads sets the three sets on every thread of the process.
// AllThreadsSyscall (cgo off) runs capset on each thread and throws if any
// result differs; unix.Capget/Capset act on one thread
// only, which would leave privilege on the others.
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

// emptyEffectiveErr is what emptyEffectiveEverywhere said, from init.
var emptyEffectiveErr error

// emptyEffectiveEverywhere empties the effective set of every thread, as the
// package's first act (init): a setuid exec, or root, starts every thread
// with a full one. It is one stop-the-world call; made while the runtime
// has started only the threads it always starts, it signals fewer of them
// (about a quarter of a millisecond less here than later in the launch). A
// file-capability install starts with nothing effective and makes no call.
// Safe: it only takes capabilities away.
func emptyEffectiveEverywhere() error {
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
}

// initCaps tells the install mode from the credentials and checks that a
// file-capability install has every capability it needs (a packaging error
// names the missing ones); init has emptied the effective set.
func (l *launcher) initCaps() error {
	if emptyEffectiveErr != nil {
		return emptyEffectiveErr
	}
	eff, prm, inh, err := getCaps()
	if err != nil {
		return fmt.Errorf("cannot get capabilities: %w", err)
	}
	if !eff.empty() {
		return fmt.Errorf("cannot launch: capabilities %s are effective after they were cleared", eff.names())
	}
	required := capsOf(policy.Required())
	switch euid := unix.Geteuid(); {
	case euid == 0 && l.ruid == 0:
		l.mode = planner.RootCaller
	case euid == 0:
		l.mode = planner.Setuid
	case !prm.empty():
		if missing := required.and(capSet{^prm[0], ^prm[1]}); !missing.empty() && !skipPackagingCheck {
			return fmt.Errorf("cannot launch: snap-confine is installed with file capabilities %s but lacks %s (install with: setcap %s=p)", prm.names(), missing.names(), required.names())
		}
		l.mode = planner.FileCaps
	default:
		l.mode = planner.Unprivileged
		return nil
	}
	l.permitted, l.inheritable = prm, inh
	if l.debug {
		l.debugf("install mode: %s; permitted capabilities %s, none effective", l.mode, prm.names())
	}
	return nil
}

// raise makes exactly caps effective (within the permitted set) on the
// calling thread, and lower empties its effective set again. Only that
// thread: init emptied the effective set of every thread once, and the
// threads the Go runtime starts later copy one that holds nothing (a new
// thread copies its creator's sets; while a goroutine is locked to its
// thread, as every privileged operation's is, the runtime starts new
// threads from its template thread, never from the locked one). One capset
// per raise, instead of a stop-the-world and a signal to every thread.
func (l *launcher) raise(caps []policy.Cap) error {
	want := capsOf(caps).and(l.permitted)
	if err := setThreadCaps(want, l.permitted, l.inheritable); err != nil {
		return fmt.Errorf("cannot raise %s: %w", want.names(), err)
	}
	return nil
}

func (l *launcher) lower() error {
	if err := setThreadCaps(capSet{}, l.permitted, l.inheritable); err != nil {
		return fmt.Errorf("cannot lower capabilities: %w", err)
	}
	return nil
}

// skipPackagingCheck, set only in test builds, lets a launcher installed
// with too few capabilities run, so that tests can show which operation
// fails without each one.
var skipPackagingCheck bool

// createHook, set only in test builds, is called right after the launcher
// created a file or directory, so that tests can look at what a caller
// racing the launcher (stopping it at that moment) would find.
var createHook func()

// stageHook, set only in test builds, is called right after the launcher
// made a staging directory, while the caller may still own it, so that
// tests can tamper with it as a caller racing the launcher would.
var stageHook func(parent int, name string)

// capHook, set only in test builds (caphook_test_build.go, build tag
// snapnstest), is called inside every privileged operation, with the
// operation's capabilities raised.
var capHook func(op policy.Op)
