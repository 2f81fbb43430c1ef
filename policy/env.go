package policy

import (
	"slices"
	"strings"
)

// The target's environment is built, not inherited: the launcher keeps only the
// caller's variables that are named here, then sets the ones snap-confine sets.
// Nothing here can raise the app's privileges (the app runs with the caller's
// credentials and no AT_SECURE), so the list is about not carrying variables
// that steer dynamic loaders and runtimes through the privileged step, and
// about keeping what `snap run` and desktop sessions hand to snap apps.

// EnvPrefixes are kept by prefix. SNAP_ covers everything `snap run` sets,
// including SNAP_SAVED_* (its way of carrying loader variables across the
// setuid boundary); XDG_ and LC_ are session and locale settings; GTK_, GDK_,
// QT_ and XCURSOR_ are toolkit settings desktop sessions export (input
// methods, scaling, themes).
var EnvPrefixes = []string{"SNAP_", "XDG_", "LC_", "GTK_", "GDK_", "QT_", "XCURSOR_"}

// EnvNames are kept by exact name.
var EnvNames = []string{
	"SNAP", "SNAPD_DEBUG",
	"HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ",
	"TERM", "COLORTERM", "DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY",
	"DBUS_SESSION_BUS_ADDRESS", "DBUS_SYSTEM_BUS_ADDRESS", "SSH_AUTH_SOCK",
	"PULSE_SERVER", "DESKTOP_SESSION", "NOTIFY_SOCKET", "LISTEN_PID",
	"LISTEN_FDS", "LISTEN_FDNAMES", "INVOCATION_ID", "JOURNAL_STREAM",
	"XMODIFIERS", "DESKTOP_STARTUP_ID", "XDG_ACTIVATION_TOKEN",
	"EDITOR", "VISUAL", "PAGER", "BROWSER", "COLUMNS", "LINES", "NO_COLOR",
	"http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "all_proxy",
	"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY",
}

// Path is the PATH snap-confine gives every app in a confined snap.
const Path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games:/usr/local/games"

// TmpDir is what snap-confine sets TMPDIR and TEMPDIR to.
const TmpDir = "/tmp"

// KeepEnv reports whether the caller's variable name may pass to the target.
func KeepEnv(name string) bool {
	if slices.Contains(EnvNames, name) {
		return true
	}
	for _, p := range EnvPrefixes {
		if strings.HasPrefix(name, p) && len(name) > len(p) {
			return true
		}
	}
	return false
}

// Shell is what snap-confine sets SHELL to for confined snaps: a shell every
// core base has.
const Shell = "/bin/bash"

// ClassicEnvNames are also kept for classic snaps, which run on the host's
// filesystem: snap-confine leaves their PATH, SHELL and temporary directory
// alone.
var ClassicEnvNames = []string{"PATH", "SHELL", "TMPDIR", "TEMPDIR"}

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
		if !ok || seen[name] || !(KeepEnv(name) || classic && slices.Contains(ClassicEnvNames, name)) {
			continue
		}
		seen[name] = true
		env = append(env, kv)
	}
	return append(env, set...)
}
