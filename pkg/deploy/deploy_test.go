package deploy

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	"github.com/typekro/kubectl-typekro/pkg/deploy/client"
)

func u(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	// Through apimachinery's JSON, so integers become int64 as they do
	// from the API server.
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := utiljson.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func TestRGDWaves(t *testing.T) {
	infra := schema.GroupVersionKind{Group: "platform.example.com", Version: "v1alpha1", Kind: "Infrastructure"}
	app := schema.GroupVersionKind{Group: "platform.example.com", Version: "v1alpha1", Kind: "AppWithInfra"}
	deploy := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	defs := []Definition{
		{Name: "app-with-infra", GVK: app, Uses: []schema.GroupVersionKind{infra, deploy}},
		{Name: "infrastructure", GVK: infra, Uses: []schema.GroupVersionKind{deploy}},
		{Name: "webapp", GVK: schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "W"}, Uses: []schema.GroupVersionKind{deploy}},
	}
	var items []*item
	for _, d := range defs {
		items = append(items, &item{Object: client.Object{Obj: u(t, `{apiVersion: kro.run/v1alpha1, kind: ResourceGraphDefinition, metadata: {name: `+d.Name+`}}`)}})
	}
	waves := rgdWaves(items, defs)
	var got []string
	for _, w := range waves {
		var names []string
		for _, it := range w {
			names = append(names, it.Obj.GetName())
		}
		got = append(got, strings.Join(names, ","))
	}
	if want := "infrastructure,webapp|app-with-infra"; strings.Join(got, "|") != want {
		t.Errorf("waves = %v, want %s", got, want)
	}
}
