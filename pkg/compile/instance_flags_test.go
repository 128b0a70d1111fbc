package compile

import (
	"strings"
	"testing"

	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// TestInstanceSchemaSkipsOnlyChecksThatCannotFail: objectmeta's and
// listtype's checks are skipped only for schemas without embedded
// resources or set/map lists, and still report errors where they exist.
func TestInstanceSchemaSkipsOnlyChecksThatCannotFail(t *testing.T) {
	const plain = `{type: object, properties: {spec: {type: object, properties: {name: {type: string}, tags: {type: array, items: {type: string}}}}}}`
	const special = `{type: object, properties: {spec: {type: object, properties: {
  tags: {type: array, x-kubernetes-list-type: set, items: {type: string}},
  template: {type: object, x-kubernetes-embedded-resource: true, x-kubernetes-preserve-unknown-fields: true}}}}}`
	cases := []struct {
		name, schema, obj   string
		embedded, listTypes bool
		wantErrs            []string
	}{
		{"plain", plain, `{apiVersion: x/v1, kind: X, metadata: {name: a}, spec: {name: a, tags: [x, x]}}`, false, false, nil},
		{"set and embedded", special, `{apiVersion: x/v1, kind: X, metadata: {name: a}, spec: {tags: [x, x], template: {apiVersion: v1, metadata: {name: 5}}}}`,
			true, true, []string{"spec.tags[1]: Duplicate value", "spec.template.kind: Required value"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var props extv1.JSONSchemaProps
			if err := yaml.Unmarshal([]byte(c.schema), &props); err != nil {
				t.Fatal(err)
			}
			crd := &extv1.CustomResourceDefinition{Spec: extv1.CustomResourceDefinitionSpec{Scope: extv1.NamespaceScoped,
				Versions: []extv1.CustomResourceDefinitionVersion{{Name: "v1", Schema: &extv1.CustomResourceValidation{OpenAPIV3Schema: &props}}}}}
			s, err := newInstanceSchema(crd)
			if err != nil {
				t.Fatal(err)
			}
			if s.embedded != c.embedded || s.listTypes != c.listTypes {
				t.Errorf("embedded, listTypes = %v, %v; want %v, %v", s.embedded, s.listTypes, c.embedded, c.listTypes)
			}
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(c.obj), &obj); err != nil {
				t.Fatal(err)
			}
			errs, _ := s.validate(obj)
			got := errs.ToAggregate()
			for _, want := range c.wantErrs {
				if got == nil || !strings.Contains(got.Error(), want) {
					t.Errorf("errors %v, want one with %q", got, want)
				}
			}
			if len(c.wantErrs) == 0 && got != nil {
				t.Errorf("errors %v, want none", got)
			}
		})
	}
}
