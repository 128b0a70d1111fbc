package live

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

func obj(s map[string]any) *unstructured.Unstructured { return &unstructured.Unstructured{Object: s} }

func TestInstanceFromParent(t *testing.T) {
	gvk := schema.GroupVersionKind{Group: "platform.example.com", Version: "v1alpha1", Kind: "Infrastructure"}
	cm := obj(map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "typekro-infrastructure-shared", "namespace": "apps", "uid": "u-1",
			"annotations": map[string]any{ssa.ApplySetTooling: ssa.Tooling}},
		"data": map[string]any{
			dataInstance: "Infrastructure.platform.example.com/shared",
			dataSpec:     `{"redisImage":"redis:7"}`,
			dataStatus:   `{"databaseEndpoint":"10.0.0.1:5432","state":"ACTIVE"}`,
		},
	})
	u := instanceFromParent(cm, gvk)
	if u == nil {
		t.Fatal("no instance")
	}
	if u.GroupVersionKind() != gvk || u.GetName() != "shared" || u.GetNamespace() != "apps" || u.GetUID() != "u-1" {
		t.Errorf("identity: %v %s/%s %s", u.GroupVersionKind(), u.GetNamespace(), u.GetName(), u.GetUID())
	}
	if ep, _, _ := unstructured.NestedString(u.Object, "status", "databaseEndpoint"); ep != "10.0.0.1:5432" {
		t.Errorf("status.databaseEndpoint = %q", ep)
	}
	if img, _, _ := unstructured.NestedString(u.Object, "spec", "redisImage"); img != "redis:7" {
		t.Errorf("spec.redisImage = %q", img)
	}
	// Another tool's configmap of the same name is not an instance.
	cm.SetAnnotations(nil)
	if instanceFromParent(cm, gvk) != nil {
		t.Error("a configmap without typekro's tooling annotation was read as an instance")
	}
}

func TestCollectionOf(t *testing.T) {
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot)
	d := &Deployer{Mapper: mapper}
	tmpl := func(kind, ns string, selector any) *unstructured.Unstructured {
		md := map[string]any{}
		if ns != "" {
			md["namespace"] = ns
		}
		if selector != nil {
			md["selector"] = selector
		}
		return obj(map[string]any{"apiVersion": "v1", "kind": kind, "metadata": md})
	}
	tests := []struct {
		name     string
		tmpl     *unstructured.Unstructured
		ns, sel  string
		errMatch string
	}{
		{"labels in a namespace", tmpl("ConfigMap", "apps", map[string]any{"matchLabels": map[string]any{"team": "blue"}}), "apps", "team=blue", ""},
		{"no selector selects everything", tmpl("ConfigMap", "apps", nil), "apps", "", ""},
		{"no namespace: all namespaces", tmpl("ConfigMap", "", map[string]any{"matchLabels": map[string]any{"a": "b"}}), "", "a=b", ""},
		{"cluster-scoped ignores the namespace", tmpl("Namespace", "apps", map[string]any{"matchExpressions": []any{map[string]any{"key": "env", "operator": "Exists"}}}), "", "env", ""},
		{"a misspelled field must not select everything", tmpl("ConfigMap", "apps", map[string]any{"matchLabel": map[string]any{"a": "b"}}), "", "", `unknown field "matchLabel"`},
		{"bad operator", tmpl("ConfigMap", "apps", map[string]any{"matchExpressions": []any{map[string]any{"key": "a", "operator": "Near"}}}), "", "", "not a valid label selector operator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := d.collectionOf(tt.tmpl)
			if tt.errMatch != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errMatch) {
					t.Fatalf("error %v, want one containing %q", err, tt.errMatch)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.namespace != tt.ns || c.selector.String() != tt.sel {
				t.Errorf("namespace %q selector %q, want %q %q", c.namespace, c.selector.String(), tt.ns, tt.sel)
			}
		})
	}
}

func TestEqualDesiredIgnoresLabels(t *testing.T) {
	a := obj(map[string]any{"kind": "ConfigMap", "metadata": map[string]any{"name": "x", "labels": map[string]any{"a": "1"}}, "data": map[string]any{"k": "v"}})
	b := a.DeepCopy()
	b.SetLabels(map[string]string{"applyset.kubernetes.io/part-of": "p"})
	if !equalDesired([]*unstructured.Unstructured{a}, []*unstructured.Unstructured{b}) {
		t.Error("objects differing only in labels are not equal")
	}
	unstructured.SetNestedField(b.Object, "w", "data", "k")
	if equalDesired([]*unstructured.Unstructured{a}, []*unstructured.Unstructured{b}) {
		t.Error("different data compared equal")
	}
	if equalDesired([]*unstructured.Unstructured{a}, nil) {
		t.Error("different lengths compared equal")
	}
}

func TestLastConditions(t *testing.T) {
	u := obj(map[string]any{"status": map[string]any{"conditions": []any{
		map[string]any{"type": "Available", "status": "True"},
		map[string]any{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "too slow"},
	}}})
	got := lastConditions([]*unstructured.Unstructured{u, nil})
	if got != "; last conditions: Progressing=False ProgressDeadlineExceeded: too slow" {
		t.Errorf("got %q", got)
	}
	if lastConditions(nil) != "" {
		t.Error("no objects, yet conditions")
	}
}

// A nested instance's parent is read back from its annotations for delete.
func TestParseApplySetParent(t *testing.T) {
	set := ssa.NewApplySet("p", "n")
	inv, err := ssa.ParseApplySet(obj(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "p", "namespace": "n",
		"labels":      map[string]any{ssa.ApplySetIDLabel: set.ID},
		"annotations": map[string]any{ssa.ApplySetGroupKinds: "ConfigMap,Deployment.apps", ssa.ApplySetNamespaces: "a, b"}}}))
	if err != nil {
		t.Fatal(err)
	}
	if inv.ID != set.ID || !inv.Kinds.Has(schema.GroupKind{Group: "apps", Kind: "Deployment"}) || !inv.Namespaces.Has("b") || inv.Namespaces.Len() != 2 {
		t.Errorf("inventory %+v", inv)
	}
}
