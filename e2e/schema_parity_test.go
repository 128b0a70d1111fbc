package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// parityComposition uses every SimpleSchema form; pkg/compile's
// TestInstanceSchemaParity checks the same instances offline.
const parityComposition = "../pkg/compile/testdata/every-simpleschema-type.yaml"

// TestSchemaParity applies the composition's RGD, lets the real KRO
// controller create the CRD, and checks that typekro's verdict on each
// instance (validate) equals the API server's (a server-side dry-run create
// with kubectl's default strict field validation), case by case.
func TestSchemaParity(t *testing.T) {
	comp := parityComposition
	rgd := typekro(t, 0, "render", "--mode", "kro", comp)
	c := e2eutil.Clients(t)
	c.ApplyYAML(t, "", rgd.Stdout)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := c.Dynamic.Resource(e2eutil.RGDGVR).Delete(ctx, "e2e-schema-parity", metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete RGD: %v", err)
		}
	})
	crds := c.Dynamic.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	e2eutil.WaitForObject(t, crds, "schemaparities.parity.e2e.typekro.dev", 2*time.Minute, func(obj *unstructured.Unstructured) (bool, error) {
		return obj != nil && e2eutil.Condition(obj, "Established") == "True", nil
	})
	ns := e2eutil.Namespace(t)

	tests := []struct {
		name string
		spec string // the instance's spec, indented by two; name: app is added when absent
	}{
		{"map of strings", "  tags: {team: a, cost-center: b}\n"},
		{"map of integers", "  limits: {cpu: 2, memory: 4}\n"},
		{"map of custom type", "  ports: {http: {name: http, number: 80}}\n"},
		{"list of maps", "  routes: [{path: /, to: web}, {}]\n"},
		{"nested object with a map", "  db: {engine: mysql, size: 3, labels: {a: b}}\n"},
		{"custom type", "  primary: {name: http, number: 8080}\n"},
		{"defaults only", ""},
		{"every field", "  replicas: 3\n  tier: worker\n  ratio: 1.5\n  enabled: false\n  tags: {a: b}\n  limits: {a: 1}\n  hosts: [a, b]\n  primary: {name: p}\n  db: {size: 1}\n"},
		{"map value of wrong type", "  tags: {team: 1}\n"},
		{"map of integers with a string", "  limits: {cpu: lots}\n"},
		{"custom type in map: required", "  ports: {http: {number: 80}}\n"},
		{"custom type in map: maximum", "  ports: {http: {name: h, number: 70000}}\n"},
		{"list of maps: wrong value", "  routes: [{path: [1]}]\n"},
		{"enum", "  tier: gpu\n"},
		{"nested enum", "  db: {engine: oracle}\n"},
		{"minimum", "  replicas: -1\n"},
		{"maximum", "  replicas: 11\n"},
		{"pattern", "  name: Ab\n"},
		{"minLength", "  name: a\n"},
		{"required missing", "  tier: web\n  name: null\n"},
		{"maxItems", "  hosts: [a, b, c, d]\n"},
		{"validation rule", "  db: {size: 0}\n"},
		{"validation rule holds", "  db: {size: 5}\n"},
		{"wrong type", "  replicas: two\n"},
		{"float for integer", "  replicas: 1.5\n"},
		{"integer for float", "  ratio: 2\n"},
		{"list where a map is expected", "  tags: [a]\n"},
		{"unknown field", "  tagz: {a: b}\n"},
		{"unknown field in custom type", "  primary: {name: a, nuber: 1}\n"},
		{"bad name", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			if !strings.Contains(spec, "  name:") {
				spec = "  name: app\n" + spec
			}
			name := "x"
			if tt.name == "bad name" {
				name = "Not_A_Name"
			}
			inst := filepath.Join(t.TempDir(), "instance.yaml")
			body := fmt.Sprintf("apiVersion: parity.e2e.typekro.dev/v1\nkind: SchemaParity\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n%s", name, ns, spec)
			if err := os.WriteFile(inst, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			tk := e2eutil.Run(t, e2eutil.Cmd{Bin: e2eutil.TypekroBin(t), Args: []string{"validate", comp, inst}})
			srv := e2eutil.Run(t, e2eutil.Cmd{Bin: e2eutil.KubectlBin(t), Args: []string{"create", "--dry-run=server", "-f", inst}})
			if tk.ExitCode > 1 || srv.ExitCode > 1 {
				t.Fatalf("a command failed to run:\ntypekro (exit %d):\n%s\nkubectl (exit %d):\n%s", tk.ExitCode, tk.Stderr, srv.ExitCode, srv.Stderr)
			}
			verdict := func(code int) string {
				if code == 0 {
					return "accepted"
				}
				return "refused"
			}
			if verdict(tk.ExitCode) != verdict(srv.ExitCode) {
				t.Errorf("typekro %s, API server %s\ninstance:\n%s\ntypekro:\n%s\nAPI server:\n%s%s",
					verdict(tk.ExitCode), verdict(srv.ExitCode), body, tk.Stderr, srv.Stdout, srv.Stderr)
			} else {
				t.Logf("both %s", verdict(tk.ExitCode))
			}
		})
	}
}
