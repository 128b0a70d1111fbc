package kustomize_test

import (
	"os"
	"testing"

	"github.com/typekro/kubectl-typekro/pkg/kustomize"
)

// BenchmarkProcess is the function's own work on a small ResourceList (one
// composition, three instances), without process start-up. The budget for
// a whole `kubectl-typekro fn` run is in scripts/bench.sh.
func BenchmarkProcess(b *testing.B) {
	input, err := os.ReadFile("testdata/generator/input.yaml")
	if err != nil {
		b.Fatal(err)
	}
	p := &kustomize.Processor{Root: "testdata/generator"}
	for i := 0; i < b.N; i++ {
		if _, err := execute(b, p, string(input)); err != nil {
			b.Fatal(err)
		}
	}
}
