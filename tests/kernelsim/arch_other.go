// SPDX-License-Identifier: GPL-3.0-only

//go:build linux && !(amd64 || arm64 || arm || 386 || ppc64le || s390x || riscv64)

package kernelsim

// auditArch 0: Install refuses on an architecture this package does not
// know the audit number of.
const auditArch = 0
