// SPDX-License-Identifier: GPL-3.0-only

package policy

import (
	"slices"
	"strings"
)

// The target gets the caller's environment, as from snap-confine: the
// caller's variables less what the dynamic loader removes before
// snap-confine's main when the kernel marks the launch as secure execution
// (AT_SECURE: a setuid or file-capability launch by a non-root user; a root
// caller's variables all pass), then, for confined snaps, what snap-confine
// resets. Nothing here can raise the app's privileges (the app runs with the
// caller's credentials, and the launcher's own decisions read nothing from
// the environment): the rules keep what `snap run` and desktop sessions hand
// to snap apps working exactly as with snap-confine. `snap run` carries the
// loader variables an app needs across the boundary as SNAP_SAVED_*.

// LoaderStrippedEnv are the variables glibc's ld.so removes under AT_SECURE
// (its "unsecure" list, plus MALLOC_CHECK_ without /etc/suid-debug), as
// measured with glibc 2.36 against a setuid copy of env(1); the end-to-end
// test TestAppEnvironmentIsSnapConfines measures it again on every run.
var LoaderStrippedEnv = []string{
	"GCONV_PATH", "GETCONF_DIR", "HOSTALIASES",
	"LD_AUDIT", "LD_DEBUG", "LD_DEBUG_OUTPUT", "LD_DYNAMIC_WEAK", "LD_HWCAP_MASK",
	"LD_LIBRARY_PATH", "LD_ORIGIN_PATH", "LD_PRELOAD", "LD_PROFILE", "LD_SHOW_AUXV",
	"LOCALDOMAIN", "LOCPATH", "MALLOC_CHECK_", "MALLOC_TRACE", "NIS_PATH", "NLSPATH",
	"RESOLV_HOST_CONF", "RES_OPTIONS", "TMPDIR", "TZDIR",
}

// SecureTunables are the GLIBC_TUNABLES entries ld.so keeps under AT_SECURE
// (glibc 2.36's SXID_IGNORE tunables); it drops every other entry but keeps
// the variable, possibly empty.
var SecureTunables = []string{
	"glibc.malloc.arena_max", "glibc.malloc.arena_test", "glibc.malloc.mmap_max",
	"glibc.malloc.mmap_threshold", "glibc.malloc.mxfast", "glibc.malloc.perturb",
	"glibc.malloc.top_pad", "glibc.malloc.trim_threshold", "glibc.mem.tagging",
}

// secureTunables filters a GLIBC_TUNABLES value as ld.so does under
// AT_SECURE.
func secureTunables(value string) string {
	var kept []string
	for _, t := range strings.Split(value, ":") {
		if name, _, ok := strings.Cut(t, "="); ok && slices.Contains(SecureTunables, name) {
			kept = append(kept, t)
		}
	}
	return strings.Join(kept, ":")
}

// RuntimeEnv are the variables the Go runtime acts on before main, even in
// a setuid launcher. The app gets them as the caller set them
// (snap-confine's loader ignores them), but the launcher must not act on
// them while it holds a lock (GODEBUG=schedtrace=1 with a blocked stderr
// stalls the scheduler), and in secure mode its runtime replaces
// GOTRACEBACK with "none", or adds that when the caller set none. So a
// launcher started with any of them executes itself again with them
// renamed to saved names (SavedRuntimeEnvPrefix+NAME; in secure mode the
// caller's GOTRACEBACK is the one of the initial environment block, the
// runtime's own dropped), and the target gets them back under their own
// names.
var RuntimeEnv = []string{"GODEBUG", "GOGC", "GOMAXPROCS", "GOMEMLIMIT", "GOTRACEBACK"}

// SavedRuntimeEnvPrefix names where RuntimeEnv variables travel across the
// launcher's own re-execution. A caller who sets such a variable directly
// gets, in the app, the variable they could have set directly.
const SavedRuntimeEnvPrefix = "SNAP_LAUNCH_SAVED_"

// SaveRuntimeEnv renames the RuntimeEnv variables of env to their saved
// names, dropping saved names the caller set, and reports whether it found
// any.
func SaveRuntimeEnv(env []string) (saved []string, found bool) {
	saved = make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case slices.Contains(RuntimeEnv, name):
			saved, found = append(saved, SavedRuntimeEnvPrefix+kv), true
		case !strings.HasPrefix(name, SavedRuntimeEnvPrefix):
			saved = append(saved, kv)
		}
	}
	if !found {
		return env, false
	}
	return saved, true
}

// Path is the PATH snap-confine gives every app in a confined snap.
const Path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games:/usr/local/games"

// TmpDir is what snap-confine sets TMPDIR and TEMPDIR to.
const TmpDir = "/tmp"

// Shell is what snap-confine sets SHELL to for confined snaps: a shell every
// core base has.
const Shell = "/bin/bash"

// TargetEnv builds the target's environment from the caller's: the
// caller's variables, less what ld.so strips when secure (the launcher's own
// AT_SECURE), with saved RuntimeEnv variables under their own names again;
// then what snap-confine sets for confined snaps (PATH, SHELL, TMPDIR,
// TEMPDIR); then set ("NAME=value" entries the launcher itself determined,
// such as the snap cookie). A set variable replaces the caller's of the same
// name; the first of the caller's duplicates wins; entries without a name
// are dropped.
func TargetEnv(callerEnv []string, secure, classic bool, set ...string) []string {
	if !classic {
		set = append([]string{"PATH=" + Path, "SHELL=" + Shell, "TMPDIR=" + TmpDir, "TEMPDIR=" + TmpDir}, set...)
	}
	seen := make(map[string]bool, len(callerEnv)+len(set))
	for _, kv := range set {
		name, _, _ := strings.Cut(kv, "=")
		seen[name] = true
	}
	env := make([]string, 0, len(callerEnv)+len(set))
	for _, kv := range callerEnv {
		if rest, ok := strings.CutPrefix(kv, SavedRuntimeEnvPrefix); ok {
			if name, _, _ := strings.Cut(rest, "="); slices.Contains(RuntimeEnv, name) {
				kv = rest
			}
		}
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" || seen[name] {
			continue
		}
		if secure {
			if slices.Contains(LoaderStrippedEnv, name) {
				continue
			}
			if name == "GLIBC_TUNABLES" {
				kv = name + "=" + secureTunables(value)
			}
		}
		seen[name] = true
		env = append(env, kv)
	}
	return append(env, set...)
}
