// SPDX-License-Identifier: GPL-3.0-only

// Command apparmor-profile writes the launcher's AppArmor profile
// (apparmor.LauncherProfile), named as apparmor.ProfileFileName says:
//
//	apparmor-profile -libexecdir DIR -o OUTDIR   the profile for DIR/snap-confine
//	apparmor-profile -write DIR                  one per apparmor.ProfileLayouts (the repository's apparmor/)
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/snapns/snapns/policy/apparmor"
)

func main() {
	libexecdir := flag.String("libexecdir", "/usr/lib/snapd", "where the launcher is installed as snap-confine")
	out := flag.String("o", "", "the directory to write the profile of -libexecdir into")
	all := flag.String("write", "", "the directory to write the profile of every standard layout into")
	flag.Parse()
	if err := run(*libexecdir, *out, *all); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(libexecdir, out, all string) error {
	dirs := []string{libexecdir}
	if all != "" {
		dirs, out = apparmor.ProfileLayouts, all
	}
	if out == "" || flag.NArg() != 0 {
		return fmt.Errorf("cannot understand the command line: usage: apparmor-profile [-libexecdir DIR] -o OUTDIR | -write DIR")
	}
	for _, dir := range dirs {
		text, err := apparmor.LauncherProfile(dir)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, apparmor.ProfileFileName(dir)), []byte(text), 0o644); err != nil {
			return fmt.Errorf("cannot write the profile: %w", err)
		}
	}
	return nil
}
