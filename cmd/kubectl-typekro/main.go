// Command kubectl-typekro is the typekro kubectl plugin.
package main

import (
	"os"

	"github.com/typekro/kubectl-typekro/internal/cli"
)

func main() {
	os.Exit(cli.Execute(os.Args[1:]))
}
