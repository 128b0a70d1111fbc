package factories

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/kubernetes-sigs/kro/api/v1alpha1"
	"github.com/kubernetes-sigs/kro/pkg/graph"
	"github.com/kubernetes-sigs/kro/pkg/graph/parser"
	krort "github.com/kubernetes-sigs/kro/pkg/runtime"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestScan(t *testing.T) {
	cases := []struct {
		in       string
		exprs    []string
		unclosed int
		nested   bool
	}{
		{"plain", nil, -1, false},
		{"${a}", []string{"a"}, -1, false},
		{"x-${a}-${b.c}", []string{"a", "b.c"}, -1, false},
		{`${{"k": "}"}}`, []string{`{"k": "}"}`}, -1, false},
		{`${"a\"}" + b}`, []string{`"a\"}" + b`}, -1, false},
		{"${schema.spec.name", nil, 0, false},
		{"ok ${a} then ${b", []string{"a"}, 13, false},
		{`${"${" + a`, nil, 0, false},
		{"${a ${b}}", nil, -1, true},
		{`${f("${x}")}`, []string{`f("${x}")`}, -1, false},
		{"$ {a} $", nil, -1, false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			spans, unclosed, nested := Scan(tc.in)
			var exprs []string
			for _, sp := range spans {
				exprs = append(exprs, sp.Expr)
				if tc.in[sp.Start:sp.End] != "${"+sp.Expr+"}" {
					t.Errorf("span %+v does not cover ${%s}", sp, sp.Expr)
				}
			}
			if !reflect.DeepEqual(exprs, tc.exprs) || unclosed != tc.unclosed || nested != tc.nested {
				t.Errorf("Scan = %q, %d, %v; want %q, %d, %v", exprs, unclosed, nested, tc.exprs, tc.unclosed, tc.nested)
			}
			// Where nothing is unclosed or nested, KRO's own parser must agree.
			if tc.unclosed < 0 && !tc.nested {
				kro, err := parser.ExtractExpressions(tc.in)
				if err != nil || len(kro) != len(exprs) || (len(kro) > 0 && !reflect.DeepEqual(kro, exprs)) {
					t.Errorf("KRO's parser found %q (%v), Scan %q", kro, err, exprs)
				}
			}
		})
	}
}

func TestCelString(t *testing.T) {
	for in, want := range map[string]string{
		"web":                  `"web"`,
		"${schema.spec.name}":  `(schema.spec.name)`,
		"${schema.spec.n}-web": `(schema.spec.n) + "-web"`,
		`a"b`:                  `"a\"b"`,
		"":                     `""`,
	} {
		if got := celString(in); got != want {
			t.Errorf("celString(%q) = %s, want %s", in, got, want)
		}
	}
}

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
