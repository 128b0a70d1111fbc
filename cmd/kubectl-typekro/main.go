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
	// At GOGC=400 the heap grows to five times what is live; a soft limit
	// keeps a 10,000-instance render under its 400 MB budget (DESIGN.md §9)
	// by collecting more often near it. Above it the runtime caps the
	// collector's share of CPU, so a larger render slows down rather than
	// fails. An explicit GOMEMLIMIT still wins.
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(300 << 20)
	}
	os.Exit(cli.Execute(os.Args[1:]))
}
