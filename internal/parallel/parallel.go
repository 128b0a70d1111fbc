// Package parallel runs independent pieces of work on every core.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Each calls fn(i) for every i in [0, n) on GOMAXPROCS workers and returns
// when all are done. fn writes its result to slot i of a slice the caller
// owns, so results keep input order whatever the scheduling. Workers take
// the next index from a shared counter: no goroutine hands them out, and
// no channel wakes a worker per piece (10,000 instances are 10,000 pieces).
func Each(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(&next, n, fn)
		}()
	}
	if workers > 0 {
		work(&next, n, fn) // the caller is a worker too
	}
	wg.Wait()
}

func work(next *atomic.Int64, n int, fn func(i int)) {
	for {
		i := int(next.Add(1) - 1)
		if i >= n {
			return
		}
		fn(i)
	}
}
