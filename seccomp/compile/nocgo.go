// SPDX-License-Identifier: GPL-3.0-only

//go:build !cgo

package compile

import (
	"errors"
	"io"
)

var errNoCgo = errors.New("cannot compile seccomp profile: built without cgo, so without libseccomp")

// Compile and CompileLegacy need libseccomp, so cgo; built without it, they
// only say so. These stubs let CGO_ENABLED=0 builds and vets of the whole
// tree (the launcher's) succeed with packages that import this one.
func Compile(src []byte, out io.Writer) error { return errNoCgo }

// CompileLegacy: see Compile.
func CompileLegacy(src []byte, out io.Writer) error { return errNoCgo }
