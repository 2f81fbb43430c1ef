// SPDX-License-Identifier: GPL-3.0-only

package launcher

import (
	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/layout"
	"github.com/snapns/snapns/shared/trusted"
)

// setupPrivateTmp gives the snap its own /tmp, kept across launches in
// /tmp/snap-private-tmp/snap.<instance>/tmp (parents 0700 root:root, tmp
// 01777), on the throwaway thread, in the new namespace. /tmp is
// world-writable: each component is made and opened relative to its parent
// without following symlinks and must be root's directory (ensureRootDir);
// the bind mount uses the descriptors.
func (b *builder) setupPrivateTmp() error {
	tmp, base, err := b.openPrivateTmpDir()
	if err != nil {
		return err
	}
	defer tmp.Close()
	defer base.Close()
	inst, err := b.ensureRootDir(base, layout.PrivateTmpName(b.launch.Instance), layout.PrivateTmpBaseMode)
	if err != nil {
		return err
	}
	defer inst.Close()
	priv, err := b.ensureRootDir(inst, "tmp", layout.PrivateTmpMode)
	if err != nil {
		return err
	}
	defer priv.Close()
	if err := b.priv.BindPrivateTmp(priv, tmp); err != nil {
		return err
	}
	mounted, err := trusted.Path("/tmp")
	if err != nil {
		return err
	}
	defer mounted.Close()
	if err := b.priv.MakePrivate(mounted.Rename("the private /tmp")); err != nil {
		return err
	}
	b.debugf("mounted %s on /tmp", priv.Name())
	return nil
}

// openPrivateTmpDir opens /tmp and the root-only /tmp/snap-private-tmp in it
// (creating it when missing), which holds every snap's private tmp and the
// scratch directories new roots are assembled on.
func (b *builder) openPrivateTmpDir() (tmp, base *desc.FD, err error) {
	if tmp, err = trusted.Path("/tmp"); err != nil {
		return nil, nil, err
	}
	if base, err = b.ensureRootDir(tmp, "snap-private-tmp", layout.PrivateTmpBaseMode); err != nil {
		tmp.Close()
		return nil, nil, err
	}
	return tmp, base, nil
}
