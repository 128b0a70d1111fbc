package deploy

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/typekro/kubectl-typekro/internal/testobj"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// u parses a test object.
var u = testobj.YAML

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
		items = append(items, &item{Object: ssa.Object{Obj: u(t, `{apiVersion: kro.run/v1alpha1, kind: ResourceGraphDefinition, metadata: {name: `+d.Name+`}}`)}})
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
