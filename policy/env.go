package policy

import (
	"slices"
	"strings"
)

// The target gets the caller's environment, as from snap-confine, less what
// the dynamic loader strips from a secure-execution (setuid or file
// capability) process before snap-confine could pass it on, and less the Go
// runtime's variables; then, for confined snaps, what snap-confine resets.
// Nothing here can raise the app's privileges (the app runs with the
// caller's credentials, and the launcher's own decisions read nothing from
// the environment): the list keeps what `snap run` and desktop sessions
// hand to snap apps working exactly as with snap-confine. `snap run` carries
// the loader variables an app needs across the boundary as SNAP_SAVED_*.

// UnsecureEnv are glibc's "unsecure" variables (sysdeps/generic/unsecvars.h),
// which ld.so removes under AT_SECURE, and the Go runtime's.
var UnsecureEnv = []string{
	"GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN",
	"LOCPATH", "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS",
	"TMPDIR", "TZDIR",
	"GODEBUG", "GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GOTRACEBACK",
}

// UnsecureEnvPrefixes are removed by prefix: every loader and malloc
// tunable.
var UnsecureEnvPrefixes = []string{"LD_", "MALLOC_"}

// Path is the PATH snap-confine gives every app in a confined snap.
const Path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games:/usr/local/games"

// TmpDir is what snap-confine sets TMPDIR and TEMPDIR to.
const TmpDir = "/tmp"

// KeepEnv reports whether the caller's variable name may pass to the target.
func KeepEnv(name string) bool {
	if name == "" || slices.Contains(UnsecureEnv, name) {
		return false
	}
	for _, p := range UnsecureEnvPrefixes {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	return true
}

// Shell is what snap-confine sets SHELL to for confined snaps: a shell every
// core base has.
const Shell = "/bin/bash"

// TargetEnv builds the target's environment from the caller's: the
// caller's variables that policy keeps, then what snap-confine sets for
// confined snaps (PATH, SHELL, TMPDIR, TEMPDIR), then set ("NAME=value"
// entries the launcher itself determined, such as the snap cookie). A set
// variable replaces the caller's of the same name; the first of the caller's
// duplicates wins.
func TargetEnv(callerEnv []string, classic bool, set ...string) []string {
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
		name, _, ok := strings.Cut(kv, "=")
		if !ok || seen[name] || !KeepEnv(name) {
			continue
		}
		seen[name] = true
		env = append(env, kv)
	}
	return append(env, set...)
}
