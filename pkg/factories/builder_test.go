package factories

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubernetes-sigs/kro/api/v1alpha1"
	"github.com/kubernetes-sigs/kro/pkg/graph"
	yaml3 "go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/typekro/kubectl-typekro/pkg/schemas"
)

// rgdSchemaSpec declares every schema.spec field the golden inputs use.
const rgdSchemaSpec = `{
  "name": "string", "image": "string | default=\"nginx\"", "replicas": "integer | default=1",
  "metricsPort": "integer | default=9090", "shards": "integer | default=1",
  "schedule": "string | default=\"0 * * * *\"", "paused": "boolean | default=false",
  "hostname": "string", "dbPassword": "string", "storageSize": "string | default=\"1Gi\"",
  "maxReplicas": "integer | default=5", "type": "string | default=\"ClusterIP\""
}`

var nonIdent = regexp.MustCompile(`[^A-Za-z0-9]`)

// TestKROGraphBuilder puts every golden case (literal and CEL) into one
// ResourceGraphDefinition, each with its DefaultReadyWhen, and builds it with
// KRO's graph builder against the built-in OpenAPI schemas: templates must
// validate and type-check against the real kind schemas, and every readyWhen
// must reference only its resource and type-check to bool.
func TestKROGraphBuilder(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*/*.in.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	var resources []*v1alpha1.Resource
	withReady := map[string]bool{}
	add := func(id string, m map[string]any, readyWhen []string) {
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		resources = append(resources, &v1alpha1.Resource{ID: id, Template: runtime.RawExtension{Raw: raw}, ReadyWhen: readyWhen})
	}
	for _, in := range inputs {
		kind := filepath.Base(filepath.Dir(in))
		src, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		if err := yaml3.Unmarshal(src, &cfg); err != nil {
			t.Fatal(err)
		}
		m, err := Expand(kind, cfg)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		c := nonIdent.ReplaceAllString(strings.TrimSuffix(filepath.Base(in), ".in.yaml"), "")
		id := strings.ToLower(kind[:1]) + kind[1:] + strings.ToUpper(c[:1]) + c[1:]
		ready := DefaultReadyWhen(id, m)
		withReady[m["kind"].(string)] = withReady[m["kind"].(string)] || len(ready) > 0
		add(id, m, ready)
	}
	for _, k := range []string{"Deployment", "StatefulSet", "DaemonSet", "Job", "Service"} {
		if !withReady[k] {
			t.Errorf("no golden case of %s exercises its default readyWhen", k)
		}
	}

	rgd := &v1alpha1.ResourceGraphDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "factories"},
		Spec: v1alpha1.ResourceGraphDefinitionSpec{
			Schema: &v1alpha1.Schema{
				Kind: "FactoryTest", APIVersion: "v1alpha1",
				Spec: runtime.RawExtension{Raw: []byte(rgdSchemaSpec)},
			},
			Resources: resources,
		},
	}
	g, err := buildRGD(t, rgd)
	if err != nil {
		t.Fatalf("KRO rejected the expanded factories: %v", err)
	}
	for _, r := range resources {
		n := g.Nodes[r.ID]
		if n == nil {
			t.Errorf("resource %s missing from the graph", r.ID)
			continue
		}
		if len(n.ReadyWhen) != len(r.ReadyWhen) {
			t.Errorf("%s: %d compiled readyWhen, want %d", r.ID, len(n.ReadyWhen), len(r.ReadyWhen))
		}
	}
}

func buildRGD(t *testing.T, rgd *v1alpha1.ResourceGraphDefinition) (*graph.Graph, error) {
	t.Helper()
	reg := schemas.Builtin()
	b, err := graph.NewBuilder(nil, nil, graph.WithSchemaResolver(reg), graph.WithRESTMapper(reg.RESTMapper()))
	if err != nil {
		t.Fatal(err)
	}
	return b.NewResourceGraphDefinition(rgd, graph.Config{MaxCollectionSize: 1000, MaxCollectionDimensionSize: 10})
}

// TestKROGraphBuilderIsStrict shows the builder test above really
// type-checks: the same Deployment is rejected once something is wrong.
func TestKROGraphBuilderIsStrict(t *testing.T) {
	cases := []struct {
		name      string
		cfg       map[string]any
		readyWhen []string
		want      string
	}{
		{"readyWhen on schema", map[string]any{"name": "a", "image": "b"}, []string{"${schema.spec.replicas == 1}"}, "readyWhen"},
		{"readyWhen unknown status field", map[string]any{"name": "a", "image": "b"}, []string{"${web.status.readyPods == 1}"}, "readyPods"},
		{"readyWhen not bool", map[string]any{"name": "a", "image": "b"}, []string{"${web.status.?readyReplicas.orValue(0)}"}, "bool"},
		{"string into replicas", map[string]any{"name": "a", "image": "b", "replicas": "${schema.spec.name}"}, nil, "replicas"},
	}
	for _, tc := range cases {
		m, err := Expand("Deployment", tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(m)
		rgd := &v1alpha1.ResourceGraphDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: "strict"},
			Spec: v1alpha1.ResourceGraphDefinitionSpec{
				Schema:    &v1alpha1.Schema{Kind: "Strict", APIVersion: "v1alpha1", Spec: runtime.RawExtension{Raw: []byte(rgdSchemaSpec)}},
				Resources: []*v1alpha1.Resource{{ID: "web", Template: runtime.RawExtension{Raw: raw}, ReadyWhen: tc.readyWhen}},
			},
		}
		_, err = buildRGD(t, rgd)
		t.Logf("%s: %v", tc.name, err)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

// TestKROReadinessRuntime builds the readiness subjects into an RGD and
// evaluates the readyWhen programs KRO compiled (typed against the real
// schemas) on raw observed objects, as KRO's runtime does.
func TestKROReadinessRuntime(t *testing.T) {
	subjects := readinessSubjects(t)
	rgd := &v1alpha1.ResourceGraphDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "readiness"},
		Spec: v1alpha1.ResourceGraphDefinitionSpec{
			Schema: &v1alpha1.Schema{Kind: "Readiness", APIVersion: "v1alpha1", Spec: runtime.RawExtension{Raw: []byte(rgdSchemaSpec)}},
		},
	}
	for _, id := range sortedKeys(subjects) {
		raw, err := json.Marshal(subjects[id])
		if err != nil {
			t.Fatal(err)
		}
		rgd.Spec.Resources = append(rgd.Spec.Resources, &v1alpha1.Resource{
			ID: id, Template: runtime.RawExtension{Raw: raw}, ReadyWhen: DefaultReadyWhen(id, subjects[id])})
	}
	g, err := buildRGD(t, rgd)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range readinessScenarios {
		got := true
		for _, e := range g.Nodes[tc.id].ReadyWhen {
			v, err := e.Eval(map[string]any{tc.id: obj(t, tc.object)})
			if err != nil && !isDataPending(err) {
				t.Fatalf("%s: %q: non-pending error %v", tc.name, e.Original, err)
			}
			if err != nil || v != true {
				got = false
				break
			}
		}
		if got != tc.want {
			t.Errorf("%s: ready=%v, want %v", tc.name, got, tc.want)
		}
	}
}
