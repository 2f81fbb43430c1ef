// SPDX-License-Identifier: GPL-3.0-only

package kernelsim

import "golang.org/x/sys/unix"

const auditArch = unix.AUDIT_ARCH_RISCV64
