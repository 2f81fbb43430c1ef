// SPDX-License-Identifier: GPL-3.0-only

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Every installed binary answers --help on standard output with status 0,
// and --version, as root and as a user, whatever its privilege (the
// setuid and file-capability launchers print and exit before anything).
func TestEveryBinaryHasHelpAndVersion(t *testing.T) {
	world(t)
	for _, program := range []string{snapConfine, capsDir + "/snap-confine", snapNS, snapDiscardNS} {
		for _, uid := range []int{0, userUID} {
			for _, opt := range []string{"--help", "--version"} {
				cmd := exec.Command(program, opt)
				if uid != 0 {
					cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
				}
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				want := "Usage: "
				if opt == "--version" {
					want = program[strings.LastIndex(program, "/")+1:] + " "
				}
				if err != nil || !strings.HasPrefix(stdout.String(), want) || stderr.Len() != 0 {
					t.Errorf("%s %s as uid %d: %v, stdout %q, stderr %q", program, opt, uid, err, stdout.String(), stderr.String())
				}
			}
		}
	}
}

// snap-ns as util-linux's tools: columns and no headings for scripts, the
// namespace's inode and the processes in it (lsns), the mount options
// (findmnt), explain --uid for root only, and bash completion of instances.
func TestSnapNsOperatorHabits(t *testing.T) {
	world(t)
	launch{}.mustRun(t)
	cmd := launch{args: []string{"sleep", "60"}}.command()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var st syscall.Stat_t
	if err := syscall.Stat("/run/snapd/ns/hello.mnt", &st); err != nil {
		t.Fatal(err)
	}
	var out string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out = snapNSRun(t, 0, "list", "-n", "-o", "INSTANCE,INODE,PIDS,NPROCS")
		if !strings.HasSuffix(strings.TrimSpace(out), " 0") || time.Now().After(deadline) {
			break
		}
	}
	f := strings.Fields(out)
	if len(f) != 4 || f[0] != "hello" || f[1] != strconv.FormatUint(st.Ino, 10) || f[3] == "0" {
		t.Fatalf("snap-ns list -n -o INSTANCE,INODE,PIDS,NPROCS: %q (inode %d)", out, st.Ino)
	}
	if !strings.Contains(","+f[2]+",", ","+strconv.Itoa(cmd.Process.Pid)+",") {
		t.Errorf("the app's pid %d is not among the namespace's %s", cmd.Process.Pid, f[2])
	}
	// Options anywhere, a column added to the defaults.
	if text := snapNSRun(t, 0, "list", "-o", "+REASON"); !strings.Contains(text, "INODE") || !strings.Contains(text, "REASON") || !strings.Contains(text, "PIDS") {
		t.Errorf("snap-ns list -o +REASON:\n%s", text)
	}
	show := snapNSRun(t, 0, "show", "hello", "-n", "-o", "MOUNT-POINT,OPTIONS")
	var root string
	for _, line := range strings.Split(show, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "/" {
			root = f[1]
		}
	}
	if !strings.HasPrefix(root, "ro,") && !strings.HasPrefix(root, "rw,") {
		t.Errorf("no mount options for / in snap-ns show hello -n -o MOUNT-POINT,OPTIONS:\n%s", show)
	}
	// explain --uid: root may ask for another user; a user may not.
	if x := snapNSExplain(t, 0, "--uid", strconv.Itoa(userUID), "snap.hello.app"); x.UID != userUID {
		t.Errorf("root's explain --uid %d explained uid %d", userUID, x.UID)
	}
	other := exec.Command(snapNS, "explain", "snap.hello.app", "--uid", "0")
	other.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: userUID, Gid: userUID}}
	if b, err := other.CombinedOutput(); err == nil || !strings.HasPrefix(string(b), "cannot explain a launch by uid 0: only root") {
		t.Errorf("a user's explain --uid 0: %v: %s", err, b)
	}
	// bash completes show's instance from snap-ns list.
	if _, err := exec.LookPath("bash"); err == nil {
		script := `source "$1"; COMP_WORDS=(snap-ns show he); COMP_CWORD=2; _snap_ns; echo "${COMPREPLY[*]}"`
		c := exec.Command("bash", "-c", script, "_", completionFile(t))
		c.Env = append(os.Environ(), "PATH="+strings.TrimSuffix(snapNS, "/snap-ns")+":/usr/bin:/bin")
		if b, err := c.CombinedOutput(); err != nil || strings.TrimSpace(string(b)) != "hello" {
			t.Errorf("bash completion of snap-ns show he: %v: %q", err, b)
		}
	}
}

// completionFile is snap-ns's bash completion, staged into the sandbox.
func completionFile(t *testing.T) string {
	t.Helper()
	path := profileDir + "/snap-ns.bash"
	if !exists(path) {
		t.Fatalf("%s was not staged", path)
	}
	return path
}
