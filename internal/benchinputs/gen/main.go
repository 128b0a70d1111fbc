// Command gen writes benchmark inputs for scripts/bench.sh:
//
//	go run ./internal/benchinputs/gen DIR N   # issue 13's fleet: N instances
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/typekro/kubectl-typekro/internal/benchinputs"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gen DIR N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err == nil {
		err = os.MkdirAll(os.Args[1], 0o755)
	}
	if err == nil {
		err = benchinputs.WriteFleet(os.Args[1], n)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
