// Command required-caps prints policy.Required() in setcap's syntax, for
// `make install-caps`.
package main

import (
	"fmt"
	"strings"

	"github.com/snapns/snapns/policy"
)

func main() {
	var names []string
	for _, c := range policy.Required() {
		names = append(names, "cap_"+c.String())
	}
	fmt.Println(strings.Join(names, ","))
}
