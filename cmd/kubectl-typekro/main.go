// Command kubectl-typekro is the typekro kubectl plugin.
package main

import (
	"os"

	"github.com/typekro/kubectl-typekro/internal/cli"
	_ "github.com/typekro/kubectl-typekro/internal/gctune" // GOGC and memory limit, set before most packages' init
)

func main() {
	os.Exit(cli.Execute(os.Args[1:]))
}
