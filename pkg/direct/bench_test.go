package direct_test

import (
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
