// SPDX-License-Identifier: GPL-3.0-only

package compile

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseProfile(t *testing.T) {
	restore := fakeAccounts(t)
	defer restore()
	for _, tc := range []struct {
		name string
		src  string
		want *profile
	}{
		{"empty", "", &profile{}},
		{"comments and blank lines", "# comment\n\n   \n\t# indented comment\n", &profile{}},
		{"syscall alone", "read\nwrite\n", &profile{rules: []rule{{line: 1, syscall: "read"}, {line: 2, syscall: "write"}}}},
		{"surrounding space and CRLF", "  read  \r\nwrite\r\n", &profile{rules: []rule{{line: 1, syscall: "read"}, {line: 2, syscall: "write"}}}},
		{"no final newline", "read", &profile{rules: []rule{{line: 1, syscall: "read"}}}},
		{"unrestricted", "# x\n@unrestricted\nread\n", &profile{unrestricted: true, rules: []rule{{line: 3, syscall: "read"}}}},
		{"complain", "@complain\n", &profile{complain: true}},
		{"explicit denial", "~openat2\n", &profile{rules: []rule{{line: 1, deny: true, syscall: "openat2"}}}},
		{"any argument", "mbind - - - - - -", &profile{rules: []rule{{line: 1, syscall: "mbind"}}}},
		{"every comparison", "mbind 1 !2 <3 <=4 >5 >=6", &profile{rules: []rule{{line: 1, syscall: "mbind", conds: []cond{
			{arg: 0, op: opEqual, value: 1},
			{arg: 1, op: opNotEqual, value: 2},
			{arg: 2, op: opLess, value: 3},
			{arg: 3, op: opLessEqual, value: 4},
			{arg: 4, op: opGreater, value: 5},
			{arg: 5, op: opGreaterEqual, value: 6},
		}}}}},
		{"32-bit bounds", "read 0 4294967295", &profile{rules: []rule{{line: 1, syscall: "read", conds: []cond{
			{arg: 0, op: opEqual, value: 0}, {arg: 1, op: opEqual, value: 0xffffffff}}}}}},
		{"masked: bits set", "mknod - |S_IFIFO -", &profile{rules: []rule{{line: 1, syscall: "mknod", conds: []cond{
			{arg: 1, op: opMaskedEqual, mask: 0o10000, value: 0o10000}}}}}},
		{"masked: mask and value", "~ioctl - 4294967295|TIOCSTI", &profile{rules: []rule{{line: 1, deny: true, syscall: "ioctl", conds: []cond{
			{arg: 1, op: opMaskedEqual, mask: 0xffffffff, value: 0x5412}}}}}},
		{"constants", "socket AF_UNIX SOCK_STREAM\nprctl PR_SET_NO_NEW_PRIVS\nsetns - CLONE_NEWNET\n~ioctl - TIOCLINUX", &profile{rules: []rule{
			{line: 1, syscall: "socket", conds: []cond{{arg: 0, op: opEqual, value: 1}, {arg: 1, op: opEqual, value: 1}}},
			{line: 2, syscall: "prctl", conds: []cond{{arg: 0, op: opEqual, value: 38}}},
			{line: 3, syscall: "setns", conds: []cond{{arg: 1, op: opEqual, value: 0x40000000}}},
			{line: 4, deny: true, syscall: "ioctl", conds: []cond{{arg: 1, op: opEqual, value: 0x541c}}},
		}}},
		{"ids: upper half ignored", "fchown - u:root g:root\nchown - -1 u:daemon\nsetresuid -2147483648 0 -", &profile{rules: []rule{
			{line: 1, syscall: "fchown", conds: []cond{{arg: 1, op: opMaskedEqual, mask: 0xffffffff, value: 0}, {arg: 2, op: opMaskedEqual, mask: 0xffffffff, value: 0}}},
			{line: 2, syscall: "chown", conds: []cond{{arg: 1, op: opMaskedEqual, mask: 0xffffffff, value: 0xffffffff}, {arg: 2, op: opMaskedEqual, mask: 0xffffffff, value: 1}}},
			{line: 3, syscall: "setresuid", conds: []cond{{arg: 0, op: opMaskedEqual, mask: 0xffffffff, value: 0x80000000}, {arg: 1, op: opMaskedEqual, mask: 0xffffffff, value: 0}}},
		}}},
		{"unknown syscall is parsed all the same", "not_a_syscall_anywhere 1", &profile{rules: []rule{{line: 1, syscall: "not_a_syscall_anywhere", conds: []cond{{arg: 0, op: opEqual, value: 1}}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseProfile([]byte(tc.src))
			if err != nil {
				t.Fatalf("parseProfile: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parseProfile:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseProfileRefusesBadLines(t *testing.T) {
	restore := fakeAccounts(t)
	defer restore()
	for _, tc := range []struct {
		src  string
		want string
	}{
		{"read\nsocket AF_UNIXX", `line 2: argument 0 "AF_UNIXX": "AF_UNIXX" is neither a decimal number nor a known constant`},
		{"setns - CLONE_NEWNE", `line 1: argument 1 "CLONE_NEWNE": "CLONE_NEWNE" is neither`},
		{"prctl PR_GET_SECC0MP", `line 1: argument 0 "PR_GET_SECC0MP"`},
		{"mknod - |S_IFIF", `line 1: argument 1 "|S_IFIF": "S_IFIF" is neither`},
		{"mknod - |S_!FIFO", `"S_!FIFO" is neither`},
		{"ioctl - |", `argument 1 "|": "" is neither`},
		{"ioctl - 1|2|3", `"2|3" is neither`},
		{"socket S\x00CK_STREAM", `"S\x00CK_STREAM" is neither`},
		{"setpriority bar", `"bar" is neither`},
		{"setpriority 0x0", `"0x0" is neither`},
		{"setpriority +1", `"+1" is neither`},
		{"setpriority 1_000", `"1_000" is neither`},
		{"setpriority 0-10", `"0-10" is neither`},
		{"setpriority --10", `"--10" is neither`},
		{"setpriority >=", `argument 0 ">=": "" is neither`},
		{"setpriority 4294967296", `"4294967296" does not fit 32 bits`},
		{"setpriority 99999999999999999999999999", `does not fit 32 bits`},
		{"setpriority -1", `negative value "-1", not supported for setpriority`},
		{"chown - 0 -2147483649", `"-2147483649" does not fit 32 bits`},
		{"chown - >=0", `only equality can be used with chown`},
		{"chown - !-1", `only equality can be used with chown`},
		{"chown - 0|0", `only equality can be used with chown`},
		{"mbind - - - - - - 7", `line 1: 7 arguments for mbind, a syscall has at most 6`},
		{"\n\n~", `line 3: invalid syscall name "~"`},
		{"Read", `invalid syscall name "Read"`},
		{"re\x00ad", `invalid syscall name "re\x00ad"`},
		{"~~read", `invalid syscall name "~~read"`},
		{"read# comment", `invalid syscall name "read#"`},
		{"read 1 # comment", `argument 1 "#"`},
		{"@unrestricted please", `line 1: unknown directive "@unrestricted please"`},
		{"@devmode", `unknown directive "@devmode"`},
		{"fchown - u:nosuchuser", `argument 1 "u:nosuchuser": cannot find user "nosuchuser"`},
		{"fchown - - g:nosuchgroup", `cannot find group "nosuchgroup"`},
		{"fchown - u:Root", `invalid user name "Root"`},
		{"fchown - u:", `invalid user name ""`},
		{"fchown - u:../root", `invalid user name "../root"`},
		{"fchown - u:bigid", `user "bigid" has id "4294967296", not a 32-bit number`},
		// @unrestricted does not make the other lines unchecked.
		{"@unrestricted\nsocket AF_NOPE", `line 2: argument 0 "AF_NOPE"`},
	} {
		t.Run(tc.src, func(t *testing.T) {
			p, err := parseProfile([]byte(tc.src))
			if err == nil {
				t.Fatalf("parseProfile accepted %q: %+v", tc.src, p)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "cannot parse seccomp profile: line ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q is not one line naming the line", msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not contain %q", msg, tc.want)
			}
		})
	}
}

// TestConstantsCoverSnapdFamilies spot-checks one name of each family of
// snapd's default template against its value on this architecture.
func TestConstantsCoverSnapdFamilies(t *testing.T) {
	for name, want := range map[string]uint64{
		"AF_UNIX": 1, "PF_UNIX": 1, "AF_INET6": 10, "AF_NETLINK": 16, "AF_XDP": 44, "AF_CONN": 123,
		"SOCK_STREAM": 1, "SOCK_PACKET": 10,
		"PR_SET_NO_NEW_PRIVS": 38, "PR_CAP_AMBIENT": 47, "PR_SET_PTRACER": 0x59616d61,
		"PRIO_PROCESS": 0, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWNS": 0x20000,
		"S_ISUID": 0o4000, "S_IFSOCK": 0o140000, "NETLINK_KOBJECT_UEVENT": 15,
		"KCMP_FILE": 0, "Q_GETQUOTA": 0x800007, "Q_XGETQSTAT": 0x5805,
		"PTRACE_PEEKUSER": 3, "PTRACE_GETREGSET": 0x4204,
	} {
		if got, ok := constants[name]; !ok || got != want {
			t.Errorf("%s: got %#x (known %v), want %#x", name, got, ok, want)
		}
	}
	if len(constants) < 226 {
		t.Errorf("%d constants, snapd knows 225", len(constants))
	}
}

// fakeAccounts replaces the user and group database with a small fixed one.
func fakeAccounts(t *testing.T) (restore func()) {
	t.Helper()
	users := map[string]string{"root": "0", "daemon": "1", "bigid": "4294967296"}
	groups := map[string]string{"root": "0"}
	oldUser, oldGroup := lookupUser, lookupGroup
	lookupUser = func(name string) (string, error) {
		if id, ok := users[name]; ok {
			return id, nil
		}
		return "", errors.New("unknown user")
	}
	lookupGroup = func(name string) (string, error) {
		if id, ok := groups[name]; ok {
			return id, nil
		}
		return "", errors.New("unknown group")
	}
	return func() { lookupUser, lookupGroup = oldUser, oldGroup }
}
