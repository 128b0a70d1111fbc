package direct_test

import (
	"io"
	"strconv"
	"testing"

	"github.com/typekro/kubectl-typekro/internal/benchinputs"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// BenchmarkRenderDirect1000 measures `render --mode direct --allow-pending`
// of 1,000 instances minus process start: load, KRO graph build, instance
// validation, KRO's runtime per instance, YAML encoding. (The Service's
// clusterIP in the status is the only live field; status is not rendered.)
func BenchmarkRenderDirect1000(b *testing.B) {
	dir := benchinputs.Dir(b, 1000)
	for b.Loop() {
		res := benchinputs.Compile(b, dir)
		r, err := direct.Render(res, direct.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Resources) != 5000 {
			b.Fatalf("%d resources, want 5000", len(r.Resources))
		}
		if _, err := render.YAML(render.Unstructured(direct.Objects(res, r))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderDirectFleet is issue 13's direct-mode budget minus process
// start: n instances of the 4-resource fleet composition (an Ingress behind
// includeWhen on every third), rendered and encoded as `render --mode direct`
// does (RenderYAML; before issue 13 it was Render, Objects and render.YAML).
func BenchmarkRenderDirectFleet(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			dir := benchinputs.FleetDir(b, n)
			for b.Loop() {
				res := benchinputs.Compile(b, dir)
				e, err := direct.RenderYAML(res, direct.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if len(e.Docs) != benchinputs.FleetObjects(n) {
					b.Fatalf("%d documents, want %d", len(e.Docs), benchinputs.FleetObjects(n))
				}
				if _, err := e.WriteTo(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
