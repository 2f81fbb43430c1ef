// SPDX-License-Identifier: GPL-3.0-only

package gather

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/snapns/snapns/shared/desc"
	"github.com/snapns/snapns/shared/devcgroup"
	"github.com/snapns/snapns/shared/trusted"
)

// udev's database, where the devices tagged for an app are found.
const (
	UdevTagsDir = "/run/udev/tags"
	UdevDataDir = "/run/udev/data"
)

// TaggedDevices lists the devices udev tagged udevTag and whose record still
// carries the tag as a current one (snap-confine's rule), at most
// devcgroup.MaxEntries; skip is told of every device left out, and why (devices come
// and go: like snap-confine, one that cannot be looked at is skipped). No
// tag index, or none for udevTag, means no device. Everything is read
// through shared/trusted.
func TaggedDevices(udevTag string, skip func(name, why string)) ([]devcgroup.Device, error) {
	tags, err := trusted.OpenDir(UdevTagsDir)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer tags.Close()
	display := UdevTagsDir + "/" + udevTag
	dir, err := unix.Openat(tags.Fd(), udevTag, unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_RDONLY, 0)
	if err == unix.ENOENT {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", display, err)
	}
	if err := trusted.CheckDir(desc.New(dir, display)); err != nil {
		unix.Close(dir)
		return nil, err
	}
	f := os.NewFile(uintptr(dir), display)
	defer f.Close()
	names, err := f.Readdirnames(devcgroup.MaxEntries + 1)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("cannot read %s: %w", display, err)
	}
	if len(names) > devcgroup.MaxEntries {
		return nil, fmt.Errorf("cannot use %s: more than %d devices", display, devcgroup.MaxEntries)
	}
	var devices []devcgroup.Device
	for _, name := range names {
		d, ok := devcgroup.ParseUdevID(name)
		if !ok {
			continue
		}
		record, err := trusted.ReadFile(UdevDataDir, name, devcgroup.MaxUdevDataSize)
		if err != nil {
			skip(name, err.Error())
			continue
		}
		if !devcgroup.HasCurrentTag(record, udevTag) {
			skip(name, "no matching current tag")
			continue
		}
		devices = append(devices, d)
	}
	return devices, nil
}
