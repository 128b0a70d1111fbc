package direct_test

import (
	"bytes"
	"reflect"
	"testing"

	yamlv2 "go.yaml.in/yaml/v2"

	"github.com/typekro/kubectl-typekro/internal/benchinputs"
	"github.com/typekro/kubectl-typekro/pkg/direct"
)

// TestRenderYAMLMatchesRender: the streaming render `render --mode direct`
// uses (encoded per object on the workers, no deep copies, fast YAML
// writer) gives byte for byte what Render, Objects and plain yaml.v2 give,
// on every golden example and on large generated inputs.
func TestRenderYAMLMatchesRender(t *testing.T) {
	cases := goldenCases(t)
	fleet, bench := t.TempDir(), t.TempDir()
	if err := benchinputs.WriteFleet(fleet, 600); err != nil {
		t.Fatal(err)
	}
	if err := benchinputs.Write(bench, 300); err != nil {
		t.Fatal(err)
	}
	cases["generated-fleet-600"], cases["generated-bench-300"] = fleet, bench
	for name, dir := range cases {
		t.Run(name, func(t *testing.T) {
			opts := direct.Options{AllowPending: true}
			r, err := direct.Render(compileDir(t, dir), opts)
			if err != nil {
				t.Fatal(err)
			}
			res := compileDir(t, dir)
			var want bytes.Buffer
			for i, o := range direct.Objects(res, r) {
				b, err := yamlv2.Marshal(o.Object.Object)
				if err != nil {
					t.Fatal(err)
				}
				if i > 0 {
					want.WriteString("---\n")
				}
				want.Write(b)
			}
			e, err := direct.RenderYAML(compileDir(t, dir), opts)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if _, err := e.WriteTo(&got); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("RenderYAML differs from Render + Objects + yaml.v2 (%d vs %d bytes)", got.Len(), want.Len())
			}
			if !reflect.DeepEqual(e.Pending, r.Pending) {
				t.Errorf("pending: RenderYAML %v, Render %v", e.Pending, r.Pending)
			}
		})
	}
}

// TestRenderYAMLPending: without AllowPending, RenderYAML refuses like
// Render, with the same PendingError.
func TestRenderYAMLPending(t *testing.T) {
	dir := "../../examples/database-stack" // has fields that need live state
	_, rerr := direct.Render(compileDir(t, dir), direct.Options{})
	_, yerr := direct.RenderYAML(compileDir(t, dir), direct.Options{})
	if rerr == nil || yerr == nil || rerr.Error() != yerr.Error() {
		t.Errorf("Render: %v\nRenderYAML: %v", rerr, yerr)
	}
}
