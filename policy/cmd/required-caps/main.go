// SPDX-License-Identifier: GPL-3.0-only

// Command required-caps prints policy.Required() in setcap's syntax, for
// `make install-caps`.
package main

import (
	"fmt"

	"github.com/snapns/snapns/policy"
)

func main() { fmt.Println(policy.RequiredSetcap()) }
