package compile

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
)

// splitSchema has large lists and maps at several depths, below properties,
// items and map values.
const splitSchema = `{"type": "object", "properties": {"spec": {"type": "object", "required": ["name"], "properties": {
  "name": {"type": "string"},
  "items": {"type": "array", "maxItems": 1100, "items": {"type": "object", "required": ["id"], "properties": {
    "id": {"type": "integer", "minimum": 0},
    "tags": {"type": "object", "additionalProperties": {"type": "string", "enum": ["a", "b"]}},
    "ports": {"type": "array", "items": {"type": "integer", "maximum": 10}}}}},
  "byName": {"type": "object", "maxProperties": 1100, "additionalProperties": {"type": "object", "properties": {
    "size": {"type": "integer"},
    "hosts": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}}}}}}}}}`

// TestOpenAPIValidatorMatchesServer: validating the elements of large
// lists and maps one by one gives exactly the errors (paths and messages)
// of the API server's validator on the whole object.
func TestOpenAPIValidatorMatchesServer(t *testing.T) {
	var v1 extv1.JSONSchemaProps
	if err := json.Unmarshal([]byte(splitSchema), &v1); err != nil {
		t.Fatal(err)
	}
	var internal apiextensions.JSONSchemaProps
	if err := extv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(&v1, &internal, nil); err != nil {
		t.Fatal(err)
	}
	server, _, err := validation.NewSchemaValidator(&internal)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := newOpenAPIValidator(&internal)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		n     int // elements of each large list or map
		split bool
	}{
		{"small: the server's validator itself", 10, false},
		{"large, over maxItems: elements one by one", splitAt + 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := splitObject(tt.n)
			counts := map[string]int{}
			countElements(obj, ours.schema, "", counts)
			if split := counts[".spec.items[]"] > splitAt; split != tt.split {
				t.Fatalf("split = %v, want %v (counts %v)", split, tt.split, counts)
			}
			want := errorStrings(validation.ValidateCustomResource(nil, obj, server))
			got := errorStrings(ours.Validate(obj))
			if len(want) == 0 {
				t.Fatal("the test object should have errors")
			}
			if !slices.Equal(got, want) {
				t.Fatalf("errors differ from the server's: got %d, want %d\nfirst got:  %q\nfirst want: %q", len(got), len(want), first(got, 5), first(want, 5))
			}
		})
	}
}

// splitObject builds an instance with n items and n map entries, one in
// three wrong in some way.
func splitObject(n int) map[string]any {
	items := make([]any, n)
	byName := map[string]any{}
	for i := range n {
		item := map[string]any{"id": int64(i), "tags": map[string]any{"t": "a"}, "ports": []any{int64(1)}}
		switch i % 3 {
		case 1:
			item["id"] = "x"
			item["tags"] = map[string]any{"t": "c", "u": int64(1)}
		case 2:
			delete(item, "id")
			item["ports"] = []any{int64(11), "y"}
		}
		items[i] = item
		entry := map[string]any{"size": int64(i), "hosts": []any{"ok"}}
		if i%3 == 1 {
			entry = map[string]any{"size": "big", "hosts": []any{"NO", int64(2)}}
		}
		byName[fmt.Sprintf("k%d", i)] = entry
	}
	return map[string]any{"apiVersion": "example.com/v1", "kind": "X", "spec": map[string]any{"items": items, "byName": byName}}
}

func errorStrings[E interface{ Error() string }](errs []E) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	slices.Sort(out)
	return out
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }
