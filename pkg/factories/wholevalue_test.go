package factories

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/kubernetes-sigs/kro/api/v1alpha1"
	"github.com/kubernetes-sigs/kro/pkg/graph"
	krort "github.com/kubernetes-sigs/kro/pkg/runtime"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// exprSchema types the whole-map and whole-list expressions below.
const exprSchema = `{"name": "string", "tags": "map[string]string", "cmd": "[]string", "count": "integer"}`

// TestWholeValueExpressions: a single ${...} is accepted for map- and
// list-valued settings, and KRO's builder type-checks it against the field
// (a string where a map belongs is refused).
func TestWholeValueExpressions(t *testing.T) {
	cases := []struct {
		kind string
		cfg  map[string]any
		want string // "" = KRO accepts; otherwise part of its error
	}{
		{"Deployment", map[string]any{"name": "web", "image": "i", "labels": "${schema.spec.tags}", "annotations": "${schema.spec.tags}",
			"podAnnotations": "${schema.spec.tags}", "nodeSelector": "${schema.spec.tags}", "command": "${schema.spec.cmd}", "args": "${schema.spec.cmd}"}, ""},
		{"StatefulSet", map[string]any{"name": "${schema.spec.name}-db", "image": "i", "labels": "${schema.spec.tags}"}, ""},
		{"ConfigMap", map[string]any{"name": "c", "labels": "${schema.spec.tags}", "data": "${schema.spec.tags}"}, ""},
		{"Service", map[string]any{"name": "s", "selector": "${schema.spec.tags}", "ports": []any{80}, "annotations": "${schema.spec.tags}"}, ""},
		{"Pvc", map[string]any{"name": "p", "size": "1Gi", "accessModes": "${schema.spec.cmd}"}, ""},
		{"ConfigMap", map[string]any{"name": "c", "labels": "${schema.spec.name}"}, "labels"},
		{"Deployment", map[string]any{"name": "web", "image": "i", "command": "${schema.spec.count}"}, "command"},
	}
	for _, tc := range cases {
		t.Run(tc.kind+"/"+tc.want, func(t *testing.T) {
			m, err := Expand(tc.kind, tc.cfg)
			if err != nil {
				t.Fatalf("Expand: %v", err)
			}
			_, err = buildRGD(t, exprRGD(t, m))
			if tc.want == "" && err != nil {
				t.Fatalf("KRO rejected %v: %v", m, err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

// TestLabelsExpressionRuntime evaluates a workload whose labels are one
// expression with KRO's runtime: the object gets {app: name} under the
// user's labels, and the pods always carry the app label the selector uses.
func TestLabelsExpressionRuntime(t *testing.T) {
	m, err := Expand("Deployment", map[string]any{"name": "${schema.spec.name}-web", "image": "i", "labels": "${schema.spec.tags}"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := buildRGD(t, exprRGD(t, m))
	if err != nil {
		t.Fatal(err)
	}
	inst := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kro.run/v1alpha1", "kind": "Expr", "metadata": map[string]any{"name": "x", "namespace": "default"},
		"spec": map[string]any{"name": "shop", "tags": map[string]any{"team": "a", "app": "mine"}, "cmd": []any{}, "count": int64(1)},
	}}
	rt, err := krort.FromGraph(g, graph.Config{MaxCollectionSize: 10, MaxCollectionDimensionSize: 2}, krort.WithInstance(inst))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range rt.Nodes() {
		desired, err := n.GetDesired()
		if err != nil {
			t.Fatal(err)
		}
		obj := desired[0].Object
		labels, _, _ := unstructured.NestedStringMap(obj, "metadata", "labels")
		pod, _, _ := unstructured.NestedStringMap(obj, "spec", "template", "metadata", "labels")
		sel, _, _ := unstructured.NestedStringMap(obj, "spec", "selector", "matchLabels")
		if want := map[string]string{"team": "a", "app": "mine"}; !reflect.DeepEqual(labels, want) {
			t.Errorf("object labels %v, want %v (user labels win)", labels, want)
		}
		if want := map[string]string{"team": "a", "app": "shop-web"}; !reflect.DeepEqual(pod, want) || sel["app"] != "shop-web" {
			t.Errorf("pod labels %v, selector %v: want %v and app=shop-web", pod, sel, want)
		}
	}
}

func exprRGD(t *testing.T, m map[string]any) *v1alpha1.ResourceGraphDefinition {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return &v1alpha1.ResourceGraphDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "expr"},
		Spec: v1alpha1.ResourceGraphDefinitionSpec{
			Schema:    &v1alpha1.Schema{Kind: "Expr", APIVersion: "v1alpha1", Spec: runtime.RawExtension{Raw: []byte(exprSchema)}},
			Resources: []*v1alpha1.Resource{{ID: "obj", Template: runtime.RawExtension{Raw: raw}}},
		},
	}
}
