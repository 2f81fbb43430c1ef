// SPDX-License-Identifier: GPL-3.0-only

package closedset

// Project is the closed set of the installed privileged binaries
// (snap-confine and snap-discard-ns): where their state-changing calls may
// be made. It is the only thing to edit when the actions move.
//
// Transitional: the actions still share package launcher with the code
// that decides when to call them, so the set is a list of files, and
// Internal names what those files declare for themselves alone. Once the
// actions and their raw syscall encoders are a package of their own
// (launcher/privop), that package is one Place with no File, Internal
// empties (the compiler keeps unexported names in), and Home names it.
var Project = Config{
	Home:     "launcher/actions.go",
	Binaries: []string{"./launcher/cmd/snap-confine", "./launcher/cmd/snap-discard-ns"},
	// The callee: its functions are what the rules judge, and the
	// launcher's audit set counts it (SECURITY.md §5).
	Trusted: []string{"golang.org/x/sys/unix"},
	Allowed: []Place{
		{
			Pkg:  "github.com/snapns/snapns/launcher",
			File: "actions.go",
			Why:  "every privileged action, one function per policy.Op, and the actions that need no capability",
		},
		{
			Pkg:  "github.com/snapns/snapns/launcher",
			File: "caps.go",
			Why:  "the capset machinery of raising and lowering, and the first emptying of the effective set",
		},
		{
			Pkg:  "github.com/snapns/snapns/launcher",
			File: "handover.go",
			Why:  "the last step, in the order it runs: the caller's umask and working directory back, the raw capset and execve on the exec thread",
		},
		{
			Pkg:  "github.com/snapns/snapns/seccomp/bpf",
			File: "load.go",
			Why:  "seccomp(2) of the last step (the launcher calls it only from handover.go), next to the loader's own tests",
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
		{
			Pkg:  "github.com/snapns/snapns/launcher",
			File: "caphook_test_build.go",
			Tags: "snapnstest",
			Why:  "test builds only: the capability report of every action and the hooks that stop the launcher where the end-to-end tests race it",
		},
	},
	Internal: []Internal{
		// The bracket of every action, and the capset calls behind it.
		{"github.com/snapns/snapns/launcher", "launcher.privileged"},
		{"github.com/snapns/snapns/launcher", "launcher.privilegedFD"},
		{"github.com/snapns/snapns/launcher", "launcher.raise"},
		{"github.com/snapns/snapns/launcher", "launcher.lower"},
		{"github.com/snapns/snapns/launcher", "setThreadCaps"},
		{"github.com/snapns/snapns/launcher", "setCapsAllThreads"},
		{"github.com/snapns/snapns/launcher", "setKeepCaps"},
		// The raw writes and bpf(2) encoders the actions use.
		{"github.com/snapns/snapns/launcher", "writeAll"},
		{"github.com/snapns/snapns/launcher", "bpfSys"},
		{"github.com/snapns/snapns/launcher", "bpfMapCreate"},
		{"github.com/snapns/snapns/launcher", "bpfObjPin"},
		{"github.com/snapns/snapns/launcher", "bpfObjGet"},
		{"github.com/snapns/snapns/launcher", "bpfMapElem"},
		{"github.com/snapns/snapns/launcher", "bpfMapDelete"},
		{"github.com/snapns/snapns/launcher", "bpfMapUpdate"},
		{"github.com/snapns/snapns/launcher", "bpfProgLoad"},
		{"github.com/snapns/snapns/launcher", "bpfProgAttach"},
		// The last step's raw syscalls.
		{"github.com/snapns/snapns/launcher", "capset"},
		{"github.com/snapns/snapns/launcher", "finalStep.run"},
		{"github.com/snapns/snapns/launcher", "defaultSignalHandlers"},
		{"github.com/snapns/snapns/seccomp/bpf", "Filter.LoadOnThread"},
		{"github.com/snapns/snapns/seccomp/bpf", "Load"},
	},
	Checked: []Checked{
		{"github.com/snapns/snapns/shared/resolve", "Openat2", "golang.org/x/sys/unix.Openat2"},
		{"github.com/snapns/snapns/shared/resolve", "Walk", "golang.org/x/sys/unix.Openat2"},
	},
	Tags: []string{"snapnstest"},
}
