package compile_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// everyType uses every SimpleSchema form; the e2e test TestSchemaParity
// checks the same instances against a real API server.
const everyType = "testdata/every-simpleschema-type.yaml"

// TestInstanceSchemaParity: instances are accepted or refused as the API
// server does with the CRD KRO generates. Keys of map[string]X fields are
// not fields: they used to be "forbidden properties".
func TestInstanceSchemaParity(t *testing.T) {
	tests := []struct {
		name string
		spec string // the instance's spec, indented by two
		want string // "" when valid, else a part of the error
	}{
		{"map of strings", "  tags: {team: a, cost-center: b}\n", ""},
		{"map of integers", "  limits: {cpu: 2, memory: 4}\n", ""},
		{"map of custom type", "  ports: {http: {name: http, number: 80}}\n", ""},
		{"list of maps", "  routes: [{path: /, to: web}, {}]\n", ""},
		{"nested object with a map", "  db: {engine: mysql, size: 3, labels: {a: b}}\n", ""},
		{"custom type", "  primary: {name: http, number: 8080}\n", ""},
		{"defaults only", "", ""},
		{"map value of wrong type", "  tags: {team: 1}\n", "spec.tags.team"},
		{"map of integers with a string", "  limits: {cpu: lots}\n", "spec.limits.cpu"},
		{"custom type in map: required", "  ports: {http: {number: 80}}\n", "spec.ports.http.name"},
		{"custom type in map: maximum", "  ports: {http: {name: h, number: 70000}}\n", "spec.ports.http.number"},
		{"list of maps: wrong value", "  routes: [{path: [1]}]\n", "spec.routes[0].path"},
		{"enum", "  tier: gpu\n", "spec.tier"},
		{"nested enum", "  db: {engine: oracle}\n", "spec.db.engine"},
		{"minimum", "  replicas: -1\n", "spec.replicas"},
		{"maximum", "  replicas: 11\n", "spec.replicas"},
		{"pattern", "  name: Ab\n", "spec.name"},
		{"minLength", "  name: a\n", "spec.name"},
		{"maxItems", "  hosts: [a, b, c, d]\n", "spec.hosts"},
		{"validation rule", "  db: {size: 0}\n", "spec.db.size"},
		{"wrong type", "  replicas: two\n", "spec.replicas"},
		{"object where a map is expected", "  tags: [a]\n", "spec.tags"},
		{"unknown field (a typo, not a map key)", "  tagz: {a: b}\n", "spec.tagz"},
		{"unknown field in custom type", "  primary: {name: a, nuber: 1}\n", "spec.primary.nuber"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			spec := tt.spec
			if !strings.Contains(spec, "  name:") {
				spec = "  name: app\n" + spec
			}
			inst := "apiVersion: parity.e2e.typekro.dev/v1\nkind: SchemaParity\nmetadata:\n  name: x\nspec:\n" + spec
			comp, err := os.ReadFile(everyType)
			if err != nil {
				t.Fatal(err)
			}
			write(t, dir, "c.yaml", string(comp))
			write(t, dir, "i.yaml", inst)
			errs := compileDir(t, dir)
			switch {
			case tt.want == "" && len(errs) > 0:
				t.Fatalf("valid instance refused:\n%v", errs)
			case tt.want != "" && len(errs) == 0:
				t.Fatalf("invalid instance accepted, want an error at %s", tt.want)
			case tt.want != "" && !strings.Contains(errs.Error(), tt.want):
				t.Fatalf("want an error at %s, got:\n%v", tt.want, errs)
			}
			for _, e := range errs {
				if strings.Contains(e.Msg, "forbidden property") {
					t.Errorf("map key called a forbidden property: %v", e)
				}
			}
		})
	}
}

// TestManyErrorsCapped: a document with thousands of wrong items reports
// the first composition.MaxErrorsPerDocument, in line order, and one line
// counting the rest.
func TestManyErrorsCapped(t *testing.T) {
	tests := []struct {
		name  string
		field string // the field holding n wrong values
		item  func(i int) string
	}{
		{"list", "items", func(i int) string { return fmt.Sprintf("  - x%d\n", i) }},
		{"map", "limits", func(i int) string { return fmt.Sprintf("    k%05d: x\n", i) }},
	}
	const n = 3000 // above the size at which elements are validated one by one
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var b strings.Builder
			b.WriteString("apiVersion: example.com/v1\nkind: App\nmetadata:\n  name: x\nspec:\n  name: x\n")
			if tt.field == "items" {
				b.WriteString("  items:\n")
			} else {
				b.WriteString("  limits:\n")
			}
			for i := 0; i < n; i++ {
				b.WriteString(tt.item(i))
			}
			write(t, dir, "c.yaml", compose("      items: \"[]integer\"\n      limits: \"map[string]integer\"\n", okDeployment))
			write(t, dir, "i.yaml", b.String())
			errs := compileDir(t, dir)
			max := composition.MaxErrorsPerDocument
			if len(errs) != max+1 {
				t.Fatalf("%d errors listed, want %d and a summary; the first:\n%v", len(errs), max, errs[:min(5, len(errs))])
			}
			last := errs[max]
			if !strings.Contains(last.Msg, fmt.Sprintf("and %d more errors in this document", n-max)) {
				t.Errorf("summary %+v", last)
			}
			for i, e := range errs[:max] {
				if want := 8 + i; e.Line != want { // the first value is on line 8
					t.Fatalf("error %d at line %d, want %d (the first errors in document order): %v", i, e.Line, want, e)
				}
			}
		})
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
