#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-only
# Fails, printing the offending lines, when a state-changing syscall (or a
# call of the launcher's raise-around-an-action machinery) appears in a
# non-test Go file of launcher/ other than:
#   launcher/actions.go   every privileged action, one function per policy.Op;
#   launcher/handover.go  the last step, in the order it runs (raw capset,
#                         seccomp, execve; the check that uid 0 is gone);
#   launcher/caps.go      the capset machinery that raise, lower and the
#                         first emptying of the effective set use;
#   launcher/nodump/nodump.go  prctl(PR_SET_DUMPABLE, 0) from the earliest
#                         package initialiser (it needs no capability and
#                         only takes away; it must run before the launcher
#                         package exists).
# So a reviewer finds every privileged syscall in those four files.
set -eu
cd "$(dirname "$0")/.."
pattern='SYS_BPF|SYS_PRCTL|unix\.(Mount|Unmount|Setns|Unshare|Capset|Mkdirat|Unlinkat|Fchown|Fchmod|PivotRoot|MoveMount|OpenTree|MountSetattr|Prctl|Linkat|Symlinkat)\(|unix\.Renameat|unix\.Setfs|unix\.Setres|syscall\.Setres|syscall\.AllThreadsSyscall|syscall\.ForkExec|(unix|syscall)\.RawSyscall|l\.privileged'
files=$(find launcher -name '*.go' ! -name '*_test.go' \
	! -path launcher/actions.go ! -path launcher/handover.go ! -path launcher/caps.go \
	! -path launcher/nodump/nodump.go | sort)
if found=$(grep -nE "$pattern" $files); then
	echo "state-changing syscalls outside launcher/actions.go (make them actions there):"
	echo "$found"
	exit 1
fi
