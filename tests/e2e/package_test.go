// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapns/snapns/tests/sandbox"
)

// The Debian package's files, as tools/deb-test.sh copies them out of the
// throw-away root it installed the package into (SNAPNS_DEB_INSTALLED):
// staged as deb-<name>, installed in the sandbox under debDir.
const debDir = "/usr/lib/snapd-deb"

var debFiles = []struct {
	name string
	mode os.FileMode
}{{"snap-confine", 0o755}, {"snap-confine.caps", 0o644}, {"snap-ns", 0o755}}

func stageDebInstalled(bin string) {
	dir := os.Getenv("SNAPNS_DEB_INSTALLED")
	if dir == "" {
		return
	}
	for _, f := range debFiles {
		data, err := os.ReadFile(filepath.Join(dir, f.name))
		if err == nil {
			err = os.WriteFile(filepath.Join(bin, "deb-"+f.name), data, f.mode)
		}
		if err != nil {
			panic("cannot stage the Debian package's files: " + err.Error())
		}
	}
}

func debInstalledFiles(bin string) []sandbox.File {
	var files []sandbox.File
	for _, f := range debFiles {
		if src := filepath.Join(bin, "deb-"+f.name); exists(src) {
			files = append(files, sandbox.File{Src: src, Dst: debDir + "/" + f.name, Mode: f.mode})
		}
	}
	return files
}

// TestDebianPackageLaunches launches an app through the launcher the Debian
// package installed (make deb-test: debian/, tools/deb-test.sh), with the
// capabilities its postinst gives it (exactly its snap-confine.caps, applied
// as the postinst does), as a user and as root, and reads the result with
// the package's snap-ns.
func TestDebianPackageLaunches(t *testing.T) {
	if !exists(debDir + "/snap-confine") {
		t.Skip("SKIPPING: no installed Debian package to launch through: make deb-test builds the package, installs it into a throw-away Debian root with snapd's and runs this test on what it installed")
	}
	world(t)
	program := debDir + "/snap-confine"
	caps, err := os.Open(debDir + "/snap-confine.caps")
	if err != nil {
		t.Fatal(err)
	}
	defer caps.Close()
	setcap := exec.Command("setcap", "-q", "-", program)
	setcap.Stdin = caps
	if out, err := setcap.CombinedOutput(); err != nil {
		t.Fatalf("the postinst's setcap fails: %v: %s", err, out)
	}
	user := launch{program: program, uid: userUID}.mustRun(t)
	if user.UIDs != [3]int{userUID, userUID, userUID} {
		t.Fatalf("the app runs with uids %v", user.UIDs)
	}
	snapNS := nsID(t, "/run/snapd/ns/hello.mnt")
	if snapNS == 0 {
		t.Fatal("the launch through the package preserved no namespace")
	}
	if root := (launch{program: program}).mustRun(t); root.MountNSID != snapNS {
		t.Fatalf("root's app is in namespace %d, not the preserved %d", root.MountNSID, snapNS)
	}
	out, err := exec.Command(debDir+"/snap-ns", "list", "-n", "-o", "INSTANCE,NEXT").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hello") {
		t.Fatalf("the package's snap-ns list: %v\n%s", err, out)
	}
	t.Logf("launched as uid %d and root through the package's snap-confine; its snap-ns list -n -o INSTANCE,NEXT:\n%s", userUID, out)
}
