// SPDX-License-Identifier: GPL-3.0-only

// Package naming validates the names snap-confine receives from its
// untrusted caller: snap names (base snaps included), instance names
// ("name" or "name_key"), app and hook names and security tags
// ("snap.<instance>.<app>" or "snap.<instance>.hook.<hook>"). They build
// paths such as /run/snapd/ns/<instance>.mnt; a crafted one ("../x", "x\n",
// a NUL, an over-long name) could otherwise make a privileged program act
// outside its directories. An Instance or a SecurityTag is had only from
// the parsers below, and its String() holds only [a-zA-Z0-9._+-] (never
// "/", "..", NUL or a newline; "+" only in a component's hook tag).
//
// The rules are snap-confine's (cmd/libsnap-confine-private/snap.c);
// snapd's Go side (snap/naming) accepts the same names, but where the two
// differ C's rule is used: a security tag is at most 256 bytes; a
// component hook tag ("snap.<instance>+<component>.hook.<hook>") only when
// SNAP_COMPONENT_NAME names that component, any other tag only when it is
// unset (ParseComponent, SecurityTag.Component); and SecurityTag.IsHook is
// true for every valid snap name's hook tag, where C's
// sc_is_hook_security_tag wants the snap name to start with a letter. C's
// tag expression alone is looser for the instance, but snap-confine also
// requires it to equal the validated instance name: the net effect is the
// Go rule, applied here to the tag's instance directly.
package naming

import (
	"fmt"
	"strings"
)

const (
	// minSnapNameLen and maxSnapNameLen bound a snap name (C: SNAP_NAME_LEN).
	minSnapNameLen = 2
	maxSnapNameLen = 40
	// maxInstanceKeyLen bounds an instance key (C: SNAP_INSTANCE_KEY_LEN).
	maxInstanceKeyLen = 10
	// maxInstanceNameLen bounds "name_key" (C: SNAP_INSTANCE_LEN).
	maxInstanceNameLen = maxSnapNameLen + 1 + maxInstanceKeyLen
	// maxSecurityTagLen bounds a security tag (C: SNAP_SECURITY_TAG_MAX_LEN).
	maxSecurityTagLen = 256

	tagPrefix  = "snap."
	hookMarker = "hook"

	// maxQuotedLen bounds how much of a bad input is quoted in an error
	// message, so that a huge argument does not produce a huge message.
	maxQuotedLen = 80
)

// quote quotes an untrusted value for an error message: always with %q, so
// the message stays on one line, and shortened when very long.
func quote(unsafeValue string) string {
	if len(unsafeValue) > maxQuotedLen {
		return fmt.Sprintf("%q...", unsafeValue[:maxQuotedLen])
	}
	return fmt.Sprintf("%q", unsafeValue)
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// snapNameProblem returns why s is not a valid snap name, or "" if it is.
//
// A snap name has 2 to 40 characters from [a-z0-9-], at least one of them a
// letter, and does not start or end with a dash nor contain two consecutive
// dashes. This hand-codes "^(?:[a-z0-9]+-?)*[a-z](?:-?[a-z0-9])*$" plus the
// length limits, like sc_snap_name_validate; the checks are made in the same
// order as there so the reasons match.
func snapNameProblem(s string) string {
	if len(s) > maxSnapNameLen {
		return "must be at most 40 characters long"
	}
	if len(s) > 0 && s[0] == '-' {
		return "cannot start with a dash"
	}
	gotLetter := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isLower(c):
			gotLetter = true
		case isDigit(c):
		case c == '-':
			if i+1 == len(s) {
				return "cannot end with a dash"
			}
			if s[i+1] == '-' {
				return "cannot contain two consecutive dashes"
			}
		default:
			return "must use lower case letters, digits or dashes"
		}
	}
	if !gotLetter {
		return "must contain at least one letter"
	}
	if len(s) < minSnapNameLen {
		return "must be at least 2 characters long"
	}
	return ""
}

// instanceKeyProblem returns why s is not a valid instance key, or "" if it
// is. An instance key matches "^[a-z0-9]{1,10}$".
func instanceKeyProblem(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLower(c) && !isDigit(c) {
			return "must use lower case letters or digits"
		}
	}
	switch {
	case len(s) == 0:
		return "must contain at least one letter or digit"
	case len(s) > maxInstanceKeyLen:
		return "must be at most 10 characters long"
	}
	return ""
}

// dashedNameProblem checks s against "^F(?:-?R)*$" where F is the class of
// the first character and R the class of the others, given as predicates;
// firstWhat and restWhat describe them for the error message.
func dashedNameProblem(s string, first, rest func(byte) bool, firstWhat, restWhat string) string {
	if len(s) == 0 {
		return "cannot be empty"
	}
	if !first(s[0]) {
		return "must start with " + firstWhat
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '-' {
			if i+1 == len(s) {
				return "cannot end with a dash"
			}
			if s[i+1] == '-' {
				return "cannot contain two consecutive dashes"
			}
			continue
		}
		if !rest(c) {
			return "must use " + restWhat
		}
	}
	return ""
}

func isAppChar(c byte) bool  { return isLower(c) || isUpper(c) || isDigit(c) }
func isHookChar(c byte) bool { return isLower(c) || isDigit(c) }

// appNameProblem: "^[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$" (same in C and Go);
// upper case letters are allowed in app names, e.g. "NetworkManager".
func appNameProblem(s string) string {
	return dashedNameProblem(s, isAppChar, isAppChar,
		"a letter or digit", "letters, digits or dashes")
}

// hookNameProblem: "^[a-z](?:-?[a-z0-9])*$" (same in C and Go).
func hookNameProblem(s string) string {
	return dashedNameProblem(s, isLower, isHookChar,
		"a lower case letter", "lower case letters, digits or dashes")
}

// ValidateSnapName checks that unsafeName is a valid snap name. It is also
// used for the names of base snaps.
func ValidateSnapName(unsafeName string) error {
	if p := snapNameProblem(unsafeName); p != "" {
		return fmt.Errorf("cannot use snap name %s: %s", quote(unsafeName), p)
	}
	return nil
}

// Instance is a validated snap instance name: a snap name optionally followed
// by "_" and an instance key. The zero value is not a valid instance.
type Instance struct {
	name string // "snap" or "snap_key"
	snap string
	key  string
}

// instanceProblem splits and validates s, returning the instance or the
// reason why s is not a valid instance name.
func instanceProblem(s string) (Instance, string) {
	// Order of checks as in sc_instance_name_validate: overall length,
	// number of underscores, snap name, instance key.
	if len(s) > maxInstanceNameLen {
		return Instance{}, "must be at most 51 characters long"
	}
	snap, key, hasKey := strings.Cut(s, "_")
	if hasKey && strings.IndexByte(key, '_') >= 0 {
		return Instance{}, "can contain only one underscore"
	}
	if p := snapNameProblem(snap); p != "" {
		return Instance{}, "snap name " + p
	}
	if hasKey {
		if p := instanceKeyProblem(key); p != "" {
			return Instance{}, "instance key " + p
		}
	}
	return Instance{name: s, snap: snap, key: key}, ""
}

// ParseInstance parses and validates a snap instance name, either "name" or
// "name_key".
func ParseInstance(unsafeName string) (Instance, error) {
	inst, p := instanceProblem(unsafeName)
	if p != "" {
		return Instance{}, fmt.Errorf("cannot use snap instance name %s: %s", quote(unsafeName), p)
	}
	return inst, nil
}

// String returns the instance name, "name" or "name_key".
func (i Instance) String() string { return i.name }

// SnapName returns the snap name, without the instance key.
func (i Instance) SnapName() string { return i.snap }

// Key returns the instance key, or "" if there is none.
func (i Instance) Key() string { return i.key }

// SecurityTag is a validated security tag: "snap.<instance>.<app>",
// "snap.<instance>.hook.<hook>" or a component's hook,
// "snap.<instance>+<component>.hook.<hook>". The zero value is not a valid
// tag.
type SecurityTag struct {
	tag       string
	instance  Instance
	component string
	app       string
	hook      string
}

// securityTagProblem splits and validates s, returning the tag or the reason
// why s is not a valid security tag.
func securityTagProblem(s string) (SecurityTag, string) {
	const form = `must have the form "snap.<instance>.<app>" or "snap.<instance>.hook.<hook>"`
	if len(s) > maxSecurityTagLen {
		return SecurityTag{}, "must be at most 256 characters long"
	}
	rest, ok := strings.CutPrefix(s, tagPrefix)
	if !ok {
		return SecurityTag{}, form
	}
	instName, rest, ok := strings.Cut(rest, ".")
	if !ok {
		return SecurityTag{}, form
	}
	instName, component, isComponent := strings.Cut(instName, "+")
	if isComponent {
		if p := snapNameProblem(component); p != "" {
			return SecurityTag{}, "component name " + quote(component) + " " + p
		}
	}
	inst, p := instanceProblem(instName)
	if p != "" {
		return SecurityTag{}, "snap instance name " + quote(instName) + " is invalid: " + p
	}
	first, hook, isHook := strings.Cut(rest, ".")
	if isComponent && !isHook {
		return SecurityTag{}, "a component's tag must be a hook's, " + quote("snap.<instance>+<component>.hook.<hook>")
	}
	if !isHook {
		// "snap.<instance>.<app>"; note that "snap.pkg.hook" is an app
		// tag for the app "hook", in C and in Go alike.
		if p := appNameProblem(first); p != "" {
			return SecurityTag{}, "app name " + quote(first) + " " + p
		}
		return SecurityTag{tag: s, instance: inst, app: first}, ""
	}
	if first != hookMarker {
		return SecurityTag{}, form
	}
	// A further "." in hook fails the character check.
	if p := hookNameProblem(hook); p != "" {
		return SecurityTag{}, "hook name " + quote(hook) + " " + p
	}
	return SecurityTag{tag: s, instance: inst, component: component, hook: hook}, ""
}

// ParseSecurityTag parses and validates a security tag of the form
// "snap.<instance>.<app>" or "snap.<instance>.hook.<hook>".
func ParseSecurityTag(unsafeTag string) (SecurityTag, error) {
	tag, p := securityTagProblem(unsafeTag)
	if p != "" {
		return SecurityTag{}, fmt.Errorf("cannot use security tag %s: %s", quote(unsafeTag), p)
	}
	return tag, nil
}

// ParseSecurityTagFor is ParseSecurityTag that also requires the tag to
// belong to the given instance, as snap-confine requires the tag from the
// command line to agree with SNAP_INSTANCE_NAME from the environment.
func ParseSecurityTagFor(unsafeTag string, inst Instance) (SecurityTag, error) {
	tag, err := ParseSecurityTag(unsafeTag)
	if err != nil {
		return SecurityTag{}, err
	}
	if inst.name == "" {
		return SecurityTag{}, fmt.Errorf("cannot use security tag %s: no snap instance name to match", quote(unsafeTag))
	}
	if tag.instance.name != inst.name {
		return SecurityTag{}, fmt.Errorf("cannot use security tag %s: it does not belong to snap instance %q",
			quote(unsafeTag), inst.name)
	}
	return tag, nil
}

// String returns the whole security tag.
func (t SecurityTag) String() string { return t.tag }

// Instance returns the snap instance the tag belongs to.
func (t SecurityTag) Instance() Instance { return t.instance }

// App returns the app name, or "" for a hook tag.
func (t SecurityTag) App() string { return t.app }

// Hook returns the hook name, or "" for an app tag.
func (t SecurityTag) Hook() string { return t.hook }

// Component returns the component of a component's hook tag, or "".
func (t SecurityTag) Component() string { return t.component }

// IsHook reports whether the tag has the form "snap.<instance>.hook.<hook>".
// A component's hook tag does not, as for snap-confine's
// sc_is_hook_security_tag (whose answer decides whether the app is given
// the snap's cookie).
func (t SecurityTag) IsHook() bool { return t.hook != "" && t.component == "" }

// ParseComponent parses SNAP_COMPONENT_NAME as snap-confine does
// (sc_snap_component_validate): "<snap>+<component>", both valid snap
// names, the snap that of inst. It returns the component's name.
func ParseComponent(unsafeValue string, inst Instance) (string, error) {
	snap, component, ok := strings.Cut(unsafeValue, "+")
	if !ok {
		return "", fmt.Errorf("cannot use snap component %s: must contain a +", quote(unsafeValue))
	}
	if p := snapNameProblem(snap); p != "" {
		return "", fmt.Errorf("cannot use snap component %s: snap name %s", quote(unsafeValue), p)
	}
	if p := snapNameProblem(component); p != "" {
		return "", fmt.Errorf("cannot use snap component %s: component name %s", quote(unsafeValue), p)
	}
	if snap != inst.SnapName() {
		return "", fmt.Errorf("cannot use snap component %s: its snap is not that of snap instance %q", quote(unsafeValue), inst.String())
	}
	return component, nil
}

// ValidateRevision checks a snap revision as it appears in the name of
// /snap/<snap>/<revision>: a positive decimal number without leading zeros,
// or "x" followed by one (an unasserted, locally installed revision). It is
// the target of /snap/<base>/current and so becomes a path component.
func ValidateRevision(unsafeRevision string) error {
	digits := strings.TrimPrefix(unsafeRevision, "x")
	ok := digits != "" && len(digits) <= 19 && digits[0] != '0'
	for i := 0; ok && i < len(digits); i++ {
		ok = isDigit(digits[i])
	}
	if !ok {
		return fmt.Errorf("cannot use snap revision %s: must be a positive number, or x and a positive number", quote(unsafeRevision))
	}
	return nil
}
