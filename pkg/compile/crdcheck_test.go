package compile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedCRDValidation: a composition whose generated CRD the API
// server would refuse (here a validation rule over its cost budget, so
// the RGD would never turn Active) fails offline, at the schema field.
func TestGeneratedCRDValidation(t *testing.T) {
	tests := []struct {
		name  string
		field string
		want  string // "" means valid
	}{
		{"cubic rule on an unbounded list", `'[]string | validation="self.all(a, self.all(b, self.all(c, a + b + c != \"\")))"'`,
			`rgd.yaml:11: ResourceGraphDefinition/rules.example.com: spec.schema.spec.tags: the API server would reject the generated CRD: x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x`},
		{"linear rule on an unbounded list", `'[]string | validation="self.all(a, a != \"\")"'`, ""},
		{"cubic rule on a short list of numbers", `'[]integer | maxItems=10 validation="self.all(a, self.all(b, self.all(c, a + b + c > 0)))"'`, ""},
		{"rule that does not compile", `'string | validation="self.nope()"'`,
			`spec.schema.spec.tags: the API server would reject the generated CRD: x-kubernetes-validations[0].rule: Invalid value:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			rgd := `apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: rules.example.com
spec:
  schema:
    apiVersion: v1alpha1
    kind: Rule
    group: example.com
    spec:
      tags: ` + tt.field + `
  resources:
    - id: cm
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.metadata.name}
`
			if err := os.WriteFile(filepath.Join(dir, "rgd.yaml"), []byte(rgd), 0o644); err != nil {
				t.Fatal(err)
			}
			errs := compileDir(t, dir)
			if tt.want == "" {
				if len(errs) > 0 {
					t.Fatal(errs)
				}
				return
			}
			if len(errs) == 0 || !strings.Contains(errs.Error(), tt.want) {
				t.Fatalf("error\n  %v\nwant\n  %s", errs, tt.want)
			}
		})
	}
}
