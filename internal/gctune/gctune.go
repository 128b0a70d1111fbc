// Package gctune sets the garbage collector's pace for a short-lived CLI. It
// is a package of its own, imported by main, because Go initializes packages
// in import-path order as soon as their imports are: depending only on the
// runtime, it runs before most of the Kubernetes packages, whose init work
// (schemes, registries, ~15 MB) otherwise triggers several collections at the
// default GOGC=100 before main starts.
package gctune

import (
	"os"
	"runtime/debug"
)

func init() {
	// A render builds many small objects; at GOGC=100 a third of a large
	// one went to the collector. An explicit GOGC still wins.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400)
	}
	// At GOGC=400 the heap grows to five times what is live; a soft limit
	// keeps a 10,000-instance render under its 400 MB budget (scripts/bench.sh)
	// by collecting more often near it. Above it the runtime caps the
	// collector's share of CPU, so a larger render slows down rather than
	// fails. An explicit GOMEMLIMIT still wins.
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(300 << 20)
	}
}
