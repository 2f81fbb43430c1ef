package e2e

import (
	"os"
	"strings"
	"testing"
)

// The app's seccomp profile binds the app, in both install modes; the
// launcher itself sets no_new_privs nowhere.
func TestAppSeccompProfileIsEnforced(t *testing.T) {
	for _, caps := range []bool{false, true} {
		t.Run(map[bool]string{false: "setuid", true: "file-capabilities"}[caps], func(t *testing.T) {
			world(t)
			if err := installProfile("snap.hello.app", "deny-uname.bin"); err != nil {
				t.Fatal(err)
			}
			r := launch{caps: caps, uid: 1000, args: []string{"uname"}}.mustRun(t)
			if len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "uname: permission denied") {
				t.Fatalf("uname was not denied in the app: %v", r.Errors)
			}
			if r.Status["Seccomp"] != "2" || r.Status["Seccomp_filters"] != "1" || r.Status["NoNewPrivs"] != "0" {
				t.Fatalf("app's status: %v", r.Status)
			}
			// global.bin, when snapd wrote one, is loaded too.
			if err := installProfile("global", "unrestricted.bin"); err != nil {
				t.Fatal(err)
			}
			r = launch{caps: caps, uid: 1000, args: []string{"uname"}}.mustRun(t)
			if r.Status["Seccomp_filters"] != "2" || len(r.Errors) != 1 {
				t.Fatalf("with global.bin: status %v errors %v", r.Status, r.Errors)
			}
			// Root's app is filtered too.
			if r := (launch{caps: caps, args: []string{"uname"}}).mustRun(t); len(r.Errors) != 1 {
				t.Fatalf("root's app was not filtered: %v", r.Errors)
			}
		})
	}
}

func TestUnusableSeccompProfilesAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(path string) error
		want  string
	}{
		{"missing", func(path string) error { return os.Remove(path) }, "no such file"},
		{"group-writable", func(path string) error { return os.Chmod(path, 0o664) }, "writable by group or others"},
		{"user-owned", func(path string) error { return os.Chown(path, userUID, userUID) }, "owned by uid 1000"},
		{"not-whole-instructions", func(path string) error {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte{1, 2, 3})
			return err
		}, "not a multiple of 8"},
		{"symlink", func(path string) error {
			os.Remove(path)
			return os.Symlink(profileDir+"/unrestricted.bin", path)
		}, "too many levels of symbolic links"},
		{"empty", func(path string) error { return os.Truncate(path, 0) }, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			world(t)
			if err := installProfile("snap.hello.app", "unrestricted.bin"); err != nil {
				t.Fatal(err)
			}
			if err := tc.setup(seccompDir + "/snap.hello.app.bin"); err != nil {
				t.Fatal(err)
			}
			for _, caps := range []bool{false, true} {
				msg := launch{caps: caps, uid: 1000, noProfile: true}.mustFail(t)
				if !strings.Contains(msg, "seccomp profile") || !strings.Contains(msg, tc.want) {
					t.Errorf("caps=%t: unexpected error %q", caps, msg)
				}
				nothingCreated(t)
			}
		})
	}
}
