//go:build !cgo

package compile

import (
	"errors"
	"io"
)

// Compile needs libseccomp, so cgo; built without it, it only says so.
// This stub lets CGO_ENABLED=0 builds and vets of the whole tree (the
// launcher's build) succeed with packages that import this one.
func Compile(src []byte, out io.Writer) error {
	return errors.New("cannot compile seccomp profile: built without cgo, so without libseccomp")
}
