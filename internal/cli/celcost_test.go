package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// celInputs writes a definition with one ConfigMap field and one schema
// field, and an instance with a list of n items.
func celInputs(t *testing.T, schemaField, expr string, n int) string {
	t.Helper()
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf("i%d", i)
	}
	doc := fmt.Sprintf(`apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: cels.example.com
spec:
  schema:
    apiVersion: v1alpha1
    kind: Cel
    group: example.com
    spec:
      items: %s
  resources:
    - id: cm
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.metadata.name}
        data:
          x: %q
---
apiVersion: example.com/v1alpha1
kind: Cel
metadata:
  name: c
spec:
  items: [%s]
`, schemaField, expr, strings.Join(items, ", "))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cel.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCELLimits: --cel-cost-limit bounds direct-mode evaluation (default:
// the API server's per-expression budget, 0: off), and validate rejects a
// schema rule whose estimated cost the API server would refuse.
func TestCELLimits(t *testing.T) {
	cubic := "${string(size(schema.spec.items.map(a, schema.spec.items.map(b, schema.spec.items.map(c, a + b + c)))))}"
	linear := "${string(size(schema.spec.items.map(a, a + a)))}"
	expensiveRule := `'[]string | validation="self.all(a, self.all(b, self.all(c, a + b + c != \"\")))"'`
	tests := []struct {
		name   string
		args   []string
		field  string
		expr   string
		items  int
		code   int
		stdout string
		stderr string
	}{
		{"nested map over 1,000 items stops at the default limit", []string{"render", "--mode", "direct"}, "'[]string'", cubic, 1000, 1, "",
			`Cel/default/c: resource "cm" (ConfigMap): data.x: ` + cubic + `: CEL cost limit 1000000 exceeded (--cel-cost-limit)`},
		{"a lower limit", []string{"render", "--mode", "direct", "--cel-cost-limit", "100"}, "'[]string'", linear, 1000, 1, "", "CEL cost limit 100 exceeded"},
		{"0 is unlimited", []string{"render", "--mode", "direct", "--cel-cost-limit", "0"}, "'[]string'", linear, 1000, 0, `x: "1000"`, ""},
		{"validate: rule over the API server's budget", []string{"validate"}, expensiveRule, "${schema.metadata.name}", 1, 1, "",
			"spec.schema.spec.items: the API server would reject the generated CRD: x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := celInputs(t, tt.field, tt.expr, tt.items)
			stdout, stderr, code := run(t, append(tt.args, dir)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tt.code, stderr)
			}
			if tt.stdout != "" && !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout, tt.stdout)
			}
			if tt.stderr != "" && !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.stderr)
			}
		})
	}
}
