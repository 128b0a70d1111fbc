package compile

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestSimpleMetaAsConverter: where simpleMeta converts, it gives what the
// unstructured converter gives; it declines everything else.
func TestSimpleMetaAsConverter(t *testing.T) {
	tests := []struct {
		meta map[string]any
		ok   bool
	}{
		{map[string]any{"name": "a", "namespace": "n", "labels": map[string]any{"app": "x"}, "annotations": map[string]any{"a/b": ""}}, true},
		{map[string]any{"generateName": "a-"}, true},
		{map[string]any{}, true},
		{map[string]any{"labels": map[string]any{}}, true},
		{map[string]any{"name": int64(1)}, false},
		{map[string]any{"labels": nil}, false},
		{map[string]any{"labels": map[string]any{"n": int64(1)}}, false},
		{map[string]any{"finalizers": []any{"x"}}, false},
		{map[string]any{"uid": "u"}, false},
	}
	for _, tt := range tests {
		got, ok := simpleMeta(tt.meta)
		if ok != tt.ok {
			t.Errorf("%v: ok = %v, want %v", tt.meta, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		want := &metav1.ObjectMeta{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tt.meta, want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%v: simpleMeta = %+v, converter = %+v", tt.meta, got, want)
		}
	}
}
