package compile_test

import (
	"os"
	"strings"
	"testing"
)

// Regression (issue 9.10): a wrong-typed number added a "<nil>: Checked
// value must be of type integer" line (kube-openapi's format check has no
// field path) at line 1 next to the real error. One error, at the field.
func TestNoNilFieldPath(t *testing.T) {
	comp, err := os.ReadFile("../../examples/webapp/composition.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write(t, dir, "c.yaml", string(comp))
	write(t, dir, "i.yaml", "apiVersion: example.com/v1alpha1\nkind: KroWebApp\nmetadata:\n  name: w\nspec:\n  name: w\n  image: nginx\n  replicas: 1.5\n")
	errs := compileDir(t, dir)
	if len(errs) != 1 || errs[0].Field != "spec.replicas" || errs[0].Line != 8 || strings.Contains(errs.Error(), "<nil>") {
		t.Errorf("want one error at i.yaml:8 spec.replicas, got:\n%v", errs)
	}
}
