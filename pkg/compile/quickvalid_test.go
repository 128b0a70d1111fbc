package compile

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
	"sigs.k8s.io/yaml"
)

// quickSchemas cover every keyword quickNode checks, and some it leaves to
// kube-openapi.
var quickSchemas = []string{
	`{type: object, required: [spec], properties: {apiVersion: {type: string}, kind: {type: string}, metadata: {type: object},
  spec: {type: object, required: [name], properties: {
    name: {type: string, minLength: 2, maxLength: 5, pattern: "^[a-z]+$"},
    env: {type: string, enum: [dev, prod]},
    replicas: {type: integer, minimum: 1, maximum: 3},
    ratio: {type: number, minimum: 0.5, exclusiveMaximum: true, maximum: 2},
    half: {type: integer, maximum: 2.5},
    on: {type: boolean},
    tags: {type: array, minItems: 1, maxItems: 2, items: {type: string}},
    labels: {type: object, additionalProperties: {type: string}},
    closed: {type: object, additionalProperties: false, properties: {a: {type: integer}}},
    free: {type: object, x-kubernetes-preserve-unknown-fields: true},
    any: {x-kubernetes-preserve-unknown-fields: true},
    fmt: {type: string, format: date-time},
    either: {x-kubernetes-int-or-string: true, anyOf: [{type: integer}, {type: string}]},
    maybe: {type: string, nullable: true}}}}}`,
	`{type: array, items: {type: object, properties: {n: {type: number, enum: [1.5, 2]}, i: {type: integer, enum: [1, 2]}, b: {type: boolean, enum: [true]}}}}`,
}

var quickValues = []any{"ab", "AB", "a1", "abcdef", "A", "", "dev", "qa", true, false, nil, int64(0), int64(1), int64(2), int64(3), int64(4),
	0.5, 1.5, 2.0, 2.5, 1e300, []any{}, []any{"x"}, []any{"x", "y", "z"}, []any{int64(1)}, map[string]any{}}

// randomValue makes a value shaped like s (most of the time), with
// scalars from quickValues.
func randomValue(r *rand.Rand, s *spec.Schema, depth int) any {
	if depth > 4 || r.IntN(16) == 0 {
		return quickValues[r.IntN(len(quickValues))]
	}
	switch {
	case len(s.Properties) > 0 || (s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil):
		m := map[string]any{}
		for k, p := range s.Properties {
			if r.IntN(3) == 0 || slices.Contains(s.Required, k) && r.IntN(16) != 0 {
				m[k] = randomValue(r, &p, depth+1)
			}
		}
		if r.IntN(4) == 0 {
			extra := &spec.Schema{}
			if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
				extra = s.AdditionalProperties.Schema
			}
			m[fmt.Sprint("x", r.IntN(3))] = randomValue(r, extra, depth+1)
		}
		return m
	case s.Items != nil && s.Items.Schema != nil:
		l := make([]any, r.IntN(4))
		for i := range l {
			l[i] = randomValue(r, s.Items.Schema, depth+1)
		}
		return l
	}
	if len(s.Type) == 1 && r.IntN(4) != 0 {
		var typed []any
		for _, v := range quickValues {
			switch v.(type) {
			case string:
				if s.Type[0] == "string" {
					typed = append(typed, v)
				}
			case bool:
				if s.Type[0] == "boolean" {
					typed = append(typed, v)
				}
			case int64:
				if s.Type[0] == "integer" || s.Type[0] == "number" {
					typed = append(typed, v)
				}
			case float64:
				if s.Type[0] == "number" {
					typed = append(typed, v)
				}
			}
		}
		if len(typed) > 0 {
			return typed[r.IntN(len(typed))]
		}
	}
	return quickValues[r.IntN(len(quickValues))]
}

// TestQuickValidOnlyWhenKubeOpenAPIAgrees: on random values of every
// schema, quickNode calls valid only what kube-openapi's validator (the
// API server's) finds no error in; and it does call many valid (else it
// saves nothing).
func TestQuickValidOnlyWhenKubeOpenAPIAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i, y := range quickSchemas {
		j, err := yaml.YAMLToJSON([]byte(y))
		if err != nil {
			t.Fatal(err)
		}
		s := &spec.Schema{}
		if err := s.UnmarshalJSON(j); err != nil {
			t.Fatal(err)
		}
		q := newQuickNode(s)
		var quick, valid int
		for n := 0; n < 5000; n++ {
			v := randomValue(r, s, 0)
			res := validate.NewSchemaValidator(s, nil, "", strfmt.Default).Validate(v)
			if res.IsValid() {
				valid++
			}
			if q.valid(v) {
				quick++
				if !res.IsValid() {
					t.Fatalf("schema %d: quickNode calls %#v valid; kube-openapi: %v", i, v, res.Errors)
				}
			}
		}
		t.Logf("schema %d: %d of 5000 values valid, %d of them found by quickNode", i, valid, quick)
		if quick == 0 || quick < valid/4 {
			t.Errorf("schema %d: quickNode called %d of %d valid values valid", i, quick, valid)
		}
	}
}

// TestQuickValidFleetInstance: a plain instance (the fleet's) takes the
// quick path.
func TestQuickValidFleetInstance(t *testing.T) {
	y := `{type: object, properties: {apiVersion: {type: string}, kind: {type: string}, metadata: {type: object},
  spec: {type: object, required: [name, image], properties: {name: {type: string}, image: {type: string},
  replicas: {type: integer, default: 2}, external: {type: boolean}}}}}`
	j, _ := yaml.YAMLToJSON([]byte(y))
	s := &spec.Schema{}
	if err := s.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	obj := map[string]any{"apiVersion": "x/v1", "kind": "X", "metadata": map[string]any{"name": "a", "labels": map[string]any{"a": "b"}},
		"spec": map[string]any{"name": "a", "image": "i", "replicas": int64(2), "external": true}}
	if !newQuickNode(s).valid(obj) {
		t.Error("a valid plain instance does not take the quick path")
	}
	delete(obj["spec"].(map[string]any), "image")
	if newQuickNode(s).valid(obj) {
		t.Error("an instance without a required field takes the quick path")
	}
}
