// Command kubectl-typekro is the typekro kubectl plugin.
package main

import (
	"os"
	"runtime/debug"

	"github.com/typekro/kubectl-typekro/internal/cli"
)

func main() {
	// A short-lived CLI that builds many small objects spends a third of a
	// large render in the garbage collector at the default GOGC=100; trading
	// memory for it is right here. An explicit GOGC still wins.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400)
	}
	os.Exit(cli.Execute(os.Args[1:]))
}
