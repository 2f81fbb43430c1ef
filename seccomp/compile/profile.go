// SPDX-License-Identifier: GPL-3.0-only

package compile

import (
	"fmt"
	"os/user"
	"regexp"
	"strconv"
	"strings"
)

// This file reads the profile source format of snapd's snap-seccomp. It is
// pure Go: whether a line is valid does not depend on libseccomp or on the
// host, only whether its syscall exists does (see compile.go).
//
// One rule per line; blank lines and lines starting with '#' are ignored:
//
//	@unrestricted          allow everything (other lines are checked, not used)
//	@complain              allow and log what the profile does not allow
//	name                   allow syscall name
//	name ARG0 ARG1 ...     allow it when every given argument matches
//	~name [ARG0 ...]       deny it with EACCES, whatever else allows it
//
// An argument is one of
//
//	-        any value
//	N        equal to N          !N  not equal to N
//	>N  >=N  <N  <=N             comparisons
//	|N       every bit of N set (masked equal: arg&N == N)
//	M|N      arg&M == N
//	u:NAME   equal to the uid of user NAME, g:NAME to the gid of group NAME
//
// where N is a decimal number that fits 32 bits or one of the symbolic
// constants of constants.go. Negative numbers are accepted only for the
// syscalls in negativeArgSyscalls, and only with "equal".

// maxArgs is the number of syscall arguments seccomp can see.
const maxArgs = 6

// profile is a parsed profile source.
type profile struct {
	unrestricted bool
	complain     bool
	rules        []rule
}

// rule is one syscall line.
type rule struct {
	line    int // 1-based, for error messages
	deny    bool
	syscall string
	conds   []cond
}

type compareOp int

const (
	opEqual compareOp = iota
	opNotEqual
	opLess
	opLessEqual
	opGreater
	opGreaterEqual
	opMaskedEqual
)

// cond is a condition on one argument. For opMaskedEqual the condition is
// arg&mask == value; otherwise mask is unused.
type cond struct {
	arg   uint
	op    compareOp
	mask  uint64
	value uint64
}

// negativeArgSyscalls take 32-bit ids (uid_t, gid_t, or copy_file_range's
// flags) where the kernel ignores the upper half of the register, so -1
// may arrive as 0xffffffff or as 0xffffffffffffffff. For them a value is
// read as a 32-bit signed or unsigned number and compared with the upper 32
// bits masked off, which is only sound for equality: anything else is
// refused. The list is snapd's.
var negativeArgSyscalls = map[string]bool{
	"chown": true, "chown32": true, "fchown": true, "fchown32": true,
	"fchownat": true, "lchown": true, "lchown32": true,
	"setgid": true, "setgid32": true, "setregid": true, "setregid32": true,
	"setresgid": true, "setresgid32": true,
	"setreuid": true, "setreuid32": true, "setresuid": true, "setresuid32": true,
	"setuid": true, "setuid32": true,
	"copy_file_range": true,
}

// validSyscallName is what libseccomp's names look like. Checking it here
// keeps other bytes (a NUL would end the name early on its way to C) from
// ever reaching libseccomp's resolver.
var validSyscallName = regexp.MustCompile(`^[a-z0-9_]+$`)

// validAccountName is snapd's rule for system user and group names
// (osutil.IsValidSnapSystemUsername).
var validAccountName = regexp.MustCompile(`^([_][-a-z0-9._]+[_]|[a-z0-9][-a-z0-9._]*)$`)

// lookupUser and lookupGroup resolve u:NAME and g:NAME; tests replace them.
var (
	lookupUser = func(name string) (string, error) {
		u, err := user.Lookup(name)
		if err != nil {
			return "", err
		}
		return u.Uid, nil
	}
	lookupGroup = func(name string) (string, error) {
		g, err := user.LookupGroup(name)
		if err != nil {
			return "", err
		}
		return g.Gid, nil
	}
)

// parseProfile reads a whole profile. Every syscall line is checked, also
// when the profile is @unrestricted and the rules will not be used, so that
// a profile's validity does not depend on one directive elsewhere in it.
func parseProfile(src []byte) (*profile, error) {
	p := &profile{}
	for i, line := range strings.Split(string(src), "\n") {
		lineno := i + 1
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "@") {
			switch line {
			case "@unrestricted":
				p.unrestricted = true
			case "@complain":
				p.complain = true
			default:
				return nil, fmt.Errorf("cannot parse seccomp profile: line %d: unknown directive %q", lineno, line)
			}
			continue
		}
		r, err := parseRule(line)
		if err != nil {
			return nil, fmt.Errorf("cannot parse seccomp profile: line %d: %w", lineno, err)
		}
		r.line = lineno
		p.rules = append(p.rules, r)
	}
	return p, nil
}

func parseRule(line string) (rule, error) {
	tokens := strings.Fields(line)
	var r rule
	name := tokens[0]
	if strings.HasPrefix(name, "~") {
		r.deny = true
		name = name[1:]
	}
	if !validSyscallName.MatchString(name) {
		return r, fmt.Errorf("invalid syscall name %q", tokens[0])
	}
	r.syscall = name
	args := tokens[1:]
	if len(args) > maxArgs {
		return r, fmt.Errorf("%d arguments for %s, a syscall has at most %d", len(args), name, maxArgs)
	}
	for pos, arg := range args {
		if arg == "-" {
			continue
		}
		c, err := parseCond(name, uint(pos), arg)
		if err != nil {
			return r, fmt.Errorf("argument %d %q: %w", pos, arg, err)
		}
		r.conds = append(r.conds, c)
	}
	return r, nil
}

// parseCond reads one argument condition. The order of the prefix checks
// is snapd's, so that ">=" is not read as ">" followed by "=N".
func parseCond(syscall string, pos uint, token string) (cond, error) {
	c := cond{arg: pos, op: opEqual}
	var err error
	switch {
	case strings.HasPrefix(token, ">="):
		c.op = opGreaterEqual
		c.value, err = parseValue(syscall, token[2:])
	case strings.HasPrefix(token, "<="):
		c.op = opLessEqual
		c.value, err = parseValue(syscall, token[2:])
	case strings.HasPrefix(token, "!"):
		c.op = opNotEqual
		c.value, err = parseValue(syscall, token[1:])
	case strings.HasPrefix(token, "<"):
		c.op = opLess
		c.value, err = parseValue(syscall, token[1:])
	case strings.HasPrefix(token, ">"):
		c.op = opGreater
		c.value, err = parseValue(syscall, token[1:])
	case strings.HasPrefix(token, "|"):
		c.op = opMaskedEqual
		c.mask, err = parseValue(syscall, token[1:])
		c.value = c.mask
	case strings.Contains(token, "|"):
		c.op = opMaskedEqual
		mask, value, _ := strings.Cut(token, "|")
		if c.mask, err = parseValue(syscall, mask); err == nil {
			c.value, err = parseValue(syscall, value)
		}
	case strings.HasPrefix(token, "u:"):
		c.value, err = lookupID(lookupUser, "user", token[2:])
	case strings.HasPrefix(token, "g:"):
		c.value, err = lookupID(lookupGroup, "group", token[2:])
	default:
		c.value, err = parseValue(syscall, token)
	}
	if err != nil {
		return c, err
	}
	if negativeArgSyscalls[syscall] {
		if c.op != opEqual {
			return c, fmt.Errorf("only equality can be used with %s", syscall)
		}
		c.op = opMaskedEqual
		c.mask = 0xffffffff
	}
	return c, nil
}

// parseValue reads a symbolic constant or a decimal number that fits 32
// bits (syscall arguments seen by seccomp are 64 bits wide, but a profile
// never needs more, and refusing more keeps sign-extension mistakes out).
func parseValue(syscall, token string) (uint64, error) {
	if v, ok := constants[token]; ok {
		return v, nil
	}
	if !isDecimal(token) {
		return 0, fmt.Errorf("%q is neither a decimal number nor a known constant", token)
	}
	if v, err := strconv.ParseUint(token, 10, 32); err == nil {
		return v, nil
	}
	if !strings.HasPrefix(token, "-") {
		return 0, fmt.Errorf("%q does not fit 32 bits", token)
	}
	if !negativeArgSyscalls[syscall] {
		return 0, fmt.Errorf("negative value %q, not supported for %s", token, syscall)
	}
	v, err := strconv.ParseInt(token, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q does not fit 32 bits", token)
	}
	// -1 becomes 0xffffffff, not 0xffffffffffffffff: the comparison is
	// on the lower 32 bits (see negativeArgSyscalls).
	return uint64(uint32(int32(v))), nil
}

// isDecimal accepts an optional minus sign and then digits only: no "+",
// no hexadecimal, no spaces or underscores that strconv might accept.
func isDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func lookupID(lookup func(string) (string, error), what, name string) (uint64, error) {
	if !validAccountName.MatchString(name) {
		return 0, fmt.Errorf("invalid %s name %q", what, name)
	}
	id, err := lookup(name)
	if err != nil {
		return 0, fmt.Errorf("cannot find %s %q: %w", what, name, err)
	}
	v, err := strconv.ParseUint(id, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s %q has id %q, not a 32-bit number", what, name, id)
	}
	return v, nil
}
