// SPDX-License-Identifier: GPL-3.0-only

package closedset

// Project is the closed set of the installed privileged binaries
// (snap-confine and snap-discard-ns): where their state-changing calls may
// be made. It is the only thing to edit when the actions move.
//
// The actions are package launcher/privop, one Place with no File: the
// compiler keeps its unexported names (the capability bracket, the raw
// capset and bpf(2) encoders, the last step's raw syscalls) in, so
// Internal names only what the other places keep for privop. The handover
// is no place of its own: its state-changing calls (the drop of the ids,
// the working directory, the raw capset, seccomp and execve of the last
// step) are actions of privop like any other, and the launcher's
// handover.go keeps only their order and the checks between them, which
// need no privilege.
var Project = Config{
	Home:     "launcher/privop",
	Binaries: []string{"./launcher/cmd/snap-confine", "./launcher/cmd/snap-discard-ns"},
	// The callee: its functions are what the rules judge, and the
	// launcher's audit set counts it (SECURITY.md §5).
	Trusted: []string{"golang.org/x/sys/unix"},
	Allowed: []Place{
		// First, so that the file is allowed only with its constraint.
		{
			Pkg:  "github.com/snapns/snapns/launcher/privop",
			File: "hooks_snapnstest.go",
			Tags: "snapnstest",
			Why:  "test builds only: the capability report of every action and the hooks that stop the launcher where the end-to-end tests race it",
		},
		{
			Pkg: "github.com/snapns/snapns/launcher/privop",
			Why: "every privileged action, one function per policy.Op with the Op's name; the actions that need no capability; the capset machinery of raising and lowering; the last step of the handover",
		},
		{
			Pkg:  "github.com/snapns/snapns/seccomp/bpf",
			File: "load.go",
			Why:  "seccomp(2) of the last step (the launcher calls it only from privop's Final.Exec), next to the loader's own tests",
		},
		{
			Pkg:  "github.com/snapns/snapns/shared/resolve",
			File: "resolve.go",
			Why:  "openat2 and its walk for kernels without it (before 5.6), which open with their caller's flags: outside the closed set they take only what unix.Openat2 takes there",
		},
		{
			Pkg: "github.com/snapns/snapns/launcher/nodump",
			Why: "prctl(PR_SET_DUMPABLE, 0) from the earliest package initialiser, before package launcher exists; it needs no capability and only takes away",
		},
	},
	Internal: []Internal{
		// The last step's seccomp(2): privop's alone.
		{"github.com/snapns/snapns/seccomp/bpf", "Filter.LoadOnThread"},
		{"github.com/snapns/snapns/seccomp/bpf", "Load"},
	},
	Checked: []Checked{
		{"github.com/snapns/snapns/shared/resolve", "Openat2", "golang.org/x/sys/unix.Openat2"},
		{"github.com/snapns/snapns/shared/resolve", "Walk", "golang.org/x/sys/unix.Openat2"},
	},
	Tags: []string{"snapnstest"},
}
