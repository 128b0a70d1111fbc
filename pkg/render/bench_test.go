package render_test

import (
	"strconv"
	"testing"

	"github.com/typekro/kubectl-typekro/internal/benchinputs"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// BenchmarkRenderKro1000 measures load + KRO graph build + validation of
// 1,000 instances + YAML encoding: the whole of `render` minus process start.
func BenchmarkRenderKro1000(b *testing.B) {
	dir := benchinputs.Dir(b, 1000)
	for b.Loop() {
		res := benchinputs.Compile(b, dir)
		if _, err := render.YAML(render.Unstructured(render.KroObjects(res))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderKroFleet is issue 13's kro-mode budget minus process start:
// n instances of the fleet composition, validated and encoded.
func BenchmarkRenderKroFleet(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			dir := benchinputs.FleetDir(b, n)
			for b.Loop() {
				res := benchinputs.Compile(b, dir)
				if _, err := render.YAML(render.Unstructured(render.KroObjects(res))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
