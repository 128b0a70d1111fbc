package direct

import (
	"maps"
	"testing"

	"github.com/kubernetes-sigs/kro/pkg/graph"
	"github.com/kubernetes-sigs/kro/pkg/runtime"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestDecorate: KRO's labels go on a new label map (the runtime keeps the
// old one as observed state), next to the object's own string labels;
// labels that are not all strings are replaced, as GetLabels/SetLabels did.
func TestDecorate(t *testing.T) {
	instance := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "App", "metadata": map[string]any{"name": "a", "namespace": "ns"},
	}}
	n := &runtime.Node{Spec: &graph.Node{Meta: graph.NodeMeta{ID: "cm"}}}
	kro := map[string]string{
		"kro.run/instance-name": "a", "kro.run/instance-namespace": "ns", "kro.run/instance-group": "example.com",
		"kro.run/instance-version": "v1", "kro.run/instance-kind": "App", "app.kubernetes.io/managed-by": ManagedBy, "kro.run/node-id": "cm",
	}
	tests := []struct {
		name   string
		labels any
		want   map[string]string
	}{
		{"none", nil, kro},
		{"own labels kept", map[string]any{"team": "x"}, merge(kro, map[string]string{"team": "x"})},
		{"not all strings", map[string]any{"team": "x", "n": int64(1)}, kro},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			meta := map[string]any{"name": "cm"}
			var before map[string]any
			if tt.labels != nil {
				meta["labels"] = tt.labels
				before = maps.Clone(tt.labels.(map[string]any))
			}
			obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}}
			Decorate(obj, instance, n, 0, 1)
			if got := obj.GetLabels(); !maps.Equal(got, tt.want) {
				t.Errorf("labels %v, want %v", got, tt.want)
			}
			if tt.labels != nil && !maps.Equal(tt.labels.(map[string]any), before) {
				t.Errorf("the original label map changed: %v", tt.labels)
			}
		})
	}
}

// Objects whose metadata or labels have another shape are handled as
// SetLabels handles them: missing metadata or labels that are not a map get
// KRO's labels; metadata that is not a map is left alone.
func TestDecorateOddMetadata(t *testing.T) {
	instance := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "App", "metadata": map[string]any{"name": "a"},
	}}
	n := &runtime.Node{Spec: &graph.Node{Meta: graph.NodeMeta{ID: "cm"}}}
	kro := map[string]string{
		"kro.run/instance-name": "a", "kro.run/instance-group": "example.com", "kro.run/instance-version": "v1",
		"kro.run/instance-kind": "App", "app.kubernetes.io/managed-by": ManagedBy, "kro.run/node-id": "cm",
	}
	for _, tt := range []struct {
		name     string
		metadata any // nil: no metadata field
		want     map[string]string
	}{
		{"no metadata", nil, kro},
		{"labels not a map", map[string]any{"labels": "x"}, kro},
		{"metadata not a map", "oops", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			obj := &unstructured.Unstructured{Object: map[string]any{"kind": "ConfigMap"}}
			if tt.metadata != nil {
				obj.Object["metadata"] = tt.metadata
			}
			Decorate(obj, instance, n, 0, 1)
			if got := obj.GetLabels(); !maps.Equal(got, tt.want) {
				t.Errorf("labels %v, want %v", got, tt.want)
			}
			if tt.want == nil && obj.Object["metadata"] != tt.metadata {
				t.Errorf("metadata %v, want it left alone", obj.Object["metadata"])
			}
		})
	}
}

func merge(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}
