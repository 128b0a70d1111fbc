package render_test

import (
	"testing"

	"github.com/typekro/kubectl-typekro/internal/benchinputs"
	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

func writeBenchInputs(b *testing.B, instances int) string {
	dir := b.TempDir()
	if err := benchinputs.Write(dir, instances); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkRenderKro1000 measures load + KRO graph build + validation of
// 1,000 instances + YAML encoding: the whole of `render` minus process start.
func BenchmarkRenderKro1000(b *testing.B) {
	dir := writeBenchInputs(b, 1000)
	for b.Loop() {
		set, err := composition.Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		res, err := compile.Compile(set, compile.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := render.YAML(render.Unstructured(render.KroObjects(res))); err != nil {
			b.Fatal(err)
		}
	}
}
