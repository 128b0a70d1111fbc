// Package gctune sets the garbage collector's pace for a short-lived CLI. It
// is a package of its own, imported by main, because Go initializes packages
// in import-path order as soon as their imports are: depending only on the
// runtime, it runs before most of the Kubernetes packages, whose init work
// (schemes, registries, ~15 MB) otherwise triggers collections before main
// starts.
package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
)

const (
	// Most commands (version, fn, a render of a few compositions) never
	// allocate this much: they run without a single collection, which on
	// two cores took a concurrent mark of ~6 ms from fn (issue 13).
	firstCollection = 64 << 20
	// After the first collection, a large render builds many small objects;
	// at GOGC=100 a third of it went to the collector.
	gcPercent = 400
	// At GOGC=400 the heap grows to five times what is live; a soft limit
	// keeps a 10,000-instance render under its 400 MB budget
	// (scripts/bench.sh) by collecting more often near it. Above it the
	// runtime caps the collector's share of CPU, so a larger render slows
	// down rather than fails.
	memoryLimit = 300 << 20
)

func init() {
	_, gogcSet := os.LookupEnv("GOGC")
	_, limitSet := os.LookupEnv("GOMEMLIMIT")
	if gogcSet || limitSet { // an explicit setting wins; the other keeps ours
		if !gogcSet {
			debug.SetGCPercent(gcPercent)
		}
		if !limitSet {
			debug.SetMemoryLimit(memoryLimit)
		}
		return
	}
	// No collection until the heap reaches firstCollection (GOGC=off under a
	// memory limit, as the runtime documents); the first collection frees
	// the sentinel, and its cleanup sets the steady pace.
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(firstCollection)
	runtime.AddCleanup(new(sentinel), func(struct{}) {
		debug.SetGCPercent(gcPercent)
		debug.SetMemoryLimit(memoryLimit)
	}, struct{}{})
}

// sentinel is big enough not to share a tiny-allocator block, whose
// cleanups may never run.
type sentinel [32]byte
