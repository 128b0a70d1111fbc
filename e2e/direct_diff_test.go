package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
)

// TestDirectDiff: diff --mode direct reports what apply --mode direct
// would write (exit 1), nothing once it is applied (exit 0), and a
// changed instance field as a change of the resource it feeds.
func TestDirectDiff(t *testing.T) {
	ns := e2eutil.Namespace(t)
	dir := copyExample(t, "webapp", inNamespace(ns)).Dir
	deleted := false
	t.Cleanup(func() {
		if deleted {
			return
		}
		if out, errOut, code := e2eutil.RunTypekro(t, "delete", "--mode", "direct", dir); code != 0 {
			t.Errorf("cleanup: delete --mode direct: exit %d\n%s\n%s", code, out, errOut)
		}
	})

	// A plain object among the inputs: apply --mode direct writes it, and
	// delete --mode direct must remove it too.
	writeFile(t, dir, "plain.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: direct-diff-plain, namespace: "+ns+"}\ndata: {a: b}\n")
	cm := schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}

	out, errOut, code := e2eutil.RunTypekro(t, "diff", "--mode", "direct", dir)
	if code != 1 {
		t.Fatalf("diff before apply: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"+++ merged/deployment.apps/webapp -n " + ns, "+++ merged/service/webapp-service -n " + ns} {
		if !strings.Contains(out, want) {
			t.Errorf("diff before apply does not show %q:\n%s", want, out)
		}
	}

	if out, errOut, code := e2eutil.RunTypekro(t, "apply", "--mode", "direct", dir, "--timeout", "3m"); code != 0 {
		t.Fatalf("apply --mode direct: exit %d\n%s\n%s", code, out, errOut)
	}
	if get(t, cm, ns, "direct-diff-plain") == nil {
		t.Fatal("apply --mode direct did not write the plain ConfigMap of the inputs")
	}
	if out, errOut, code := e2eutil.RunTypekro(t, "diff", "--mode", "direct", dir); code != 0 {
		t.Fatalf("diff after apply: exit %d, want 0\n%s\n%s", code, out, errOut)
	}

	// copyExample rewrites instances as YAML: production's webapp has 3 replicas.
	file := filepath.Join(dir, "instances", "production.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(data), "replicas: 3", "replicas: 2", 1)
	if changed == string(data) {
		t.Fatalf("no replicas: 3 in %s:\n%s", file, data)
	}
	if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = e2eutil.RunTypekro(t, "diff", "--mode", "direct", dir)
	if code != 1 {
		t.Fatalf("diff after changing replicas: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "replicas") || !strings.Contains(out, "--- live/deployment.apps/webapp -n "+ns) {
		t.Errorf("diff after changing replicas does not show the Deployment's replicas:\n%s", out)
	}
	if !strings.Contains(out, "-  replicas: 3") || !strings.Contains(out, "+  replicas: 2") {
		t.Errorf("diff does not show replicas 3 -> 2:\n%s", out)
	}

	out, errOut, code = e2eutil.RunTypekro(t, "delete", "--mode", "direct", dir)
	if code != 0 {
		t.Fatalf("delete --mode direct: exit %d\n%s\n%s", code, out, errOut)
	}
	deleted = true
	if get(t, cm, ns, "direct-diff-plain") != nil {
		t.Error("delete --mode direct left the plain ConfigMap of the inputs")
	}
	if left := created(t, ns); len(left) > 0 {
		t.Errorf("left after delete: %v", left)
	}
}
