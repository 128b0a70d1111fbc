package direct_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/pkg/celexpr"
	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/direct"
)

// costInputs writes a definition whose ConfigMap holds one expression per key;
// the instance gives it a list of n items and a string s.
func costInputs(t *testing.T, data map[string]string, items int, s string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(`apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: costs.example.com
spec:
  schema:
    apiVersion: v1alpha1
    kind: Cost
    group: example.com
    spec:
      items: "[]string"
      s: string
  resources:
    - id: cm
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.metadata.name}
        data:
`)
	for k, v := range data {
		fmt.Fprintf(&b, "          %s: %q\n", k, v)
	}
	b.WriteString("---\napiVersion: example.com/v1alpha1\nkind: Cost\nmetadata:\n  name: c\n  namespace: default\nspec:\n")
	if items == 0 {
		b.WriteString("  items: []\n")
	} else {
		b.WriteString("  items:\n")
	}
	for i := range items {
		fmt.Fprintf(&b, "    - i%d\n", i)
	}
	fmt.Fprintf(&b, "  s: %q\n", s)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func compileWith(t *testing.T, dir string, limit uint64) *compile.Result {
	t.Helper()
	return compileDir(t, dir, func(o *compile.Options) { o.CELCostLimit = limit })
}

// TestCELCostLimit: expressions that would run for minutes or exhaust
// memory stop at the cost limit, with an error naming the instance, the
// resource, the field, the expression and the limit.
func TestCELCostLimit(t *testing.T) {
	chained := "${schema.spec.s" + strings.Repeat(`.replace("a", "aa")`, 40) + "}"
	tests := []struct {
		name  string
		expr  string
		items int
		s     string
		limit uint64
	}{
		// Each ran out of memory or time before the limit (issue 9 item 3).
		{"nested map over 1,000 items", "${string(size(schema.spec.items.map(a, schema.spec.items.map(b, schema.spec.items.map(c, a + b + c)))))}", 1000, "", 0},
		{"nested all over 1,000 items", `${string(schema.spec.items.all(a, schema.spec.items.all(b, schema.spec.items.all(c, a + b + c != ""))))}`, 1000, "", 0},
		{"chained replace doubling a string", chained, 0, "aaaaaaaaaaaaaaaa", 0},
		// A lower --cel-cost-limit applies to cheap expressions too.
		{"limit set by the user", "${string(size(schema.spec.items.map(a, a + a)))}", 1000, "", 100},
		// A field selection is evaluated without a cost tracker only when
		// it cannot reach the limit. (The template's metadata.name is a
		// selection too: either may be the one reported.)
		{"selection over a limit of 1", "${schema.spec.s}", 0, "abc", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := compileWith(t, costInputs(t, map[string]string{"x": tt.expr}, tt.items, tt.s), tt.limit)
			_, err := direct.Render(res, direct.Options{})
			if err == nil {
				t.Fatal("rendered without error")
			}
			limit := tt.limit
			if limit == 0 {
				limit = 1000000
			}
			want := fmt.Sprintf(`Cost/default/c: resource "cm" (ConfigMap): data.x: %s: CEL cost limit %d exceeded (--cel-cost-limit)`, tt.expr, limit)
			if len(tt.expr) > 200 {
				want = fmt.Sprintf(`Cost/default/c: resource "cm" (ConfigMap): data.x: %s...: CEL cost limit %d exceeded`, tt.expr[:200], limit)
			}
			if tt.limit == 1 {
				want = "${schema.metadata.name}: CEL cost limit 1 exceeded"
				if strings.Contains(err.Error(), "data.x:") {
					want = "data.x: ${schema.spec.s}: CEL cost limit 1 exceeded"
				}
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error\n  %v\nwant\n  %s", err, want)
			}
		})
	}
}

// TestCELCostLimitOff: the same expression renders once the limit is
// raised or turned off, so the limit, not the expression, stopped it.
func TestCELCostLimitOff(t *testing.T) {
	expr := "${string(size(schema.spec.items.map(a, a + a)))}"
	for _, limit := range []uint64{0, celexpr.Unlimited} {
		res := compileWith(t, costInputs(t, map[string]string{"x": expr}, 1000, ""), limit)
		r, err := direct.Render(res, direct.Options{})
		if err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
		if got, _, _ := unstructuredString(r.Resources[0].Object.Object, "data", "x"); got != "1000" {
			t.Fatalf("limit %d: data.x = %q, want 1000", limit, got)
		}
	}
}

func unstructuredString(obj map[string]any, path ...string) (string, bool, error) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		cur = m[p]
	}
	s, ok := cur.(string)
	return s, ok, nil
}

// TestObjectSizeCap: a rendered object over the API server's request limit
// is an error naming the instance and resource, not a 4 MB manifest.
func TestObjectSizeCap(t *testing.T) {
	big := strings.Repeat("x", 256*1024)
	tests := []struct {
		name    string
		keys    int
		wantErr bool
	}{
		{"16 copies of 256 KiB: over 3 MiB", 16, true},
		{"8 copies of 256 KiB: under", 8, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := map[string]string{}
			for i := range tt.keys {
				data[fmt.Sprintf("k%d", i)] = "${schema.spec.s}"
			}
			res := compileWith(t, costInputs(t, data, 0, big), 0)
			_, err := direct.Render(res, direct.Options{})
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			for _, want := range []string{
				`Cost/default/c: resource "cm" (ConfigMap c): the rendered object is `,
				fmt.Sprintf("bytes, over the API server's request limit of %d bytes", direct.MaxObjectBytes),
			} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error %v, want %q", err, want)
				}
			}
		})
	}
}
