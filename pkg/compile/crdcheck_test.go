package compile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
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
			set, err := composition.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = compile.Compile(set, compile.Options{})
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error\n  %v\nwant\n  %s", err, tt.want)
			}
		})
	}
}
