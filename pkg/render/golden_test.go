package render_test

import (
	"bytes"
	"github.com/typekro/kubectl-typekro/internal/golden"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kubernetes-sigs/kro/api/v1alpha1"
	"github.com/kubernetes-sigs/kro/pkg/graph"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/render"
	"github.com/typekro/kubectl-typekro/pkg/schemas"
)

const examplesDir = "../../examples"

func examples(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		// examples/kustomize is a kustomization (tested in pkg/kustomize), not a render input.
		if e.IsDir() && e.Name() != "kustomize" {
			out = append(out, e.Name())
		}
	}
	if len(out) < 6 {
		t.Fatalf("expected at least 6 examples, found %v", out)
	}
	return out
}

func renderDir(t *testing.T, dir string) ([]render.Object, []byte) {
	t.Helper()
	set, err := composition.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := compile.Compile(set, compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	objs := render.KroObjects(res)
	out, err := render.YAML(render.Unstructured(objs))
	if err != nil {
		t.Fatal(err)
	}
	return objs, out
}

// TestGoldenExamples renders every example in kro mode and compares with
// testdata/golden/<example>.yaml (go test ./pkg/render -update rewrites them).
func TestGoldenExamples(t *testing.T) {
	for _, ex := range examples(t) {
		t.Run(ex, func(t *testing.T) {
			_, got := renderDir(t, filepath.Join(examplesDir, ex))
			_, again := renderDir(t, filepath.Join(examplesDir, ex))
			if !bytes.Equal(got, again) {
				t.Fatal("two renders of the same input differ")
			}
			golden.Assert(t, filepath.Join("testdata", "golden", ex+".yaml"), got)
		})
	}
}

// TestRenderedRGDsBuild feeds every RGD that render prints back through a
// fresh KRO graph builder, as the KRO controller would receive it.
func TestRenderedRGDsBuild(t *testing.T) {
	for _, ex := range examples(t) {
		t.Run(ex, func(t *testing.T) {
			objs, _ := renderDir(t, filepath.Join(examplesDir, ex))
			reg := schemas.Builtin().Clone()
			var rgds []*v1alpha1.ResourceGraphDefinition
			for _, o := range objs {
				switch o.Role {
				case render.RoleCRD:
					if err := reg.AddCRDFromUnstructured(o.Object); err != nil {
						t.Fatal(err)
					}
				case render.RoleRGD:
					rgd := &v1alpha1.ResourceGraphDefinition{}
					if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object.Object, rgd); err != nil {
						t.Fatal(err)
					}
					rgds = append(rgds, rgd)
				}
			}
			if len(rgds) == 0 {
				t.Fatal("no RGD rendered")
			}
			// Cross-graph examples: build in an order where used kinds exist.
			for pending := rgds; len(pending) > 0; {
				var next []*v1alpha1.ResourceGraphDefinition
				var lastErr error
				for _, rgd := range pending {
					b, err := graph.NewBuilder(nil, nil, graph.WithSchemaResolver(reg), graph.WithRESTMapper(reg.RESTMapper()))
					if err != nil {
						t.Fatal(err)
					}
					g, err := b.NewResourceGraphDefinition(rgd, compile.GraphConfig)
					if err != nil {
						lastErr = err
						next = append(next, rgd)
						continue
					}
					if err := reg.AddCRD(g.CRD); err != nil {
						t.Fatal(err)
					}
				}
				if len(next) == len(pending) {
					t.Fatalf("KRO's builder rejects rendered RGD %s: %v", next[0].Name, lastErr)
				}
				pending = next
			}
		})
	}
}

// TestOutputDirCheck writes a tree, then checks it is current; a file it
// no longer renders is a difference, a file it did not write is not.
func TestOutputDirCheck(t *testing.T) {
	objs, _ := renderDir(t, filepath.Join(examplesDir, "webapp"))
	tree, err := render.TreeOf(objs)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	if diff, err := tree.Diff(dir); err != nil || len(diff) != 0 {
		t.Fatalf("fresh tree differs: %v %v", diff, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rgds", "stray.yaml"), []byte("x: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	paths := tree.Paths()
	smaller := render.Tree{}
	for _, p := range paths[1:] {
		smaller[p] = tree[p]
	}
	diff, err := smaller.Diff(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{render.OwnedFile, paths[0]}; !slices.Equal(diff, want) {
		t.Fatalf("diff %v, want %v", diff, want)
	}
	if err := smaller.Write(dir); err != nil {
		t.Fatal(err)
	}
	if diff, _ := smaller.Diff(dir); len(diff) != 0 {
		t.Fatalf("after write: %v", diff)
	}
	if _, err := os.Stat(filepath.Join(dir, "rgds", "stray.yaml")); err != nil {
		t.Fatalf("a file typekro did not write was touched: %v", err)
	}
}
