// Command snap-launch is the privileged launcher (setuid root): see package
// launcher.
package main

import (
	"os"

	"github.com/snapns/snapns/launcher"
)

func main() {
	os.Exit(launcher.Main(os.Args))
}
