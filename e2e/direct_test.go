package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestDirectDatabaseStack: runtime references resolve from live objects,
// status is hydrated, prune and delete clean up.
func TestDirectDatabaseStack(t *testing.T) {
	ns := e2eutil.Namespace(t)
	dir := copyExample(t, "database-stack", inNamespace(ns)).Dir
	out, errOut, code := e2eutil.RunTypekro(t, "apply", "--mode", "direct", dir, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	c := e2eutil.Clients(t)
	svc, err := c.ResourceFor(t, schema.GroupVersionKind{Version: "v1", Kind: "Service"}, ns).Get(t.Context(), "orders-db-service", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip, _, _ := unstructured.NestedString(svc.Object, "spec", "clusterIP")
	app, err := c.ResourceFor(t, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, ns).Get(t.Context(), "orders", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	containers, _, _ := unstructured.NestedSlice(app.Object, "spec", "template", "spec", "containers")
	env, _ := containers[0].(map[string]any)["env"].([]any)
	var url string
	for _, e := range env {
		if m := e.(map[string]any); m["name"] == "DATABASE_URL" {
			url, _ = m["value"].(string)
		}
	}
	if ip == "" || !strings.Contains(url, "@"+ip+":5432/") {
		t.Errorf("DATABASE_URL %q does not hold the Service clusterIP %q", url, ip)
	}
	if !strings.Contains(out, `"databaseEndpoint": "`+ip+`:5432"`) || !strings.Contains(out, `"fullyOperational": true`) {
		t.Errorf("status not hydrated:\n%s", out)
	}
	// Re-apply is idempotent.
	out2, errOut, code := e2eutil.RunTypekro(t, "apply", "--mode", "direct", dir)
	if code != 0 || strings.Contains(out2, " created") || strings.Contains(out2, " configured") {
		t.Errorf("re-apply changed something (exit %d):\n%s\n%s", code, out2, errOut)
	}
	// -o name prints the instance only; the change set goes to stderr.
	out3, errOut, code := e2eutil.RunTypekro(t, "apply", "--mode", "direct", dir, "-o", "name")
	if code != 0 || out3 != "databasestack.data.example.com/orders\n" || !strings.Contains(errOut, " unchanged") {
		t.Errorf("apply --mode direct -o name (exit %d): stdout %q\n%s", code, out3, errOut)
	}
	st, errOut, code := e2eutil.RunTypekro(t, "status", "--mode", "direct", "-f", dir, "-o", "jsonpath={.items[0].status.databaseEndpoint}")
	if code != 0 || st != ip+":5432" {
		t.Errorf("status --mode direct -o jsonpath (exit %d): %q, want %q\n%s", code, st, ip+":5432", errOut)
	}
	// status --mode direct recomputes the same status from live objects.
	st, errOut, code = e2eutil.RunTypekro(t, "status", "--mode", "direct", "-f", dir, "-o", "json")
	if code != 0 || !strings.Contains(st, `"databaseEndpoint": "`+ip+`:5432"`) {
		t.Errorf("status --mode direct (exit %d):\n%s\n%s", code, st, errOut)
	}
	// Prune: drop the app's Service from the composition.
	comp := filepath.Join(dir, "composition.yaml")
	data, _ := os.ReadFile(comp)
	i := strings.Index(string(data), "    - id: appService")
	if i < 0 {
		t.Fatal("no appService in the composition")
	}
	withoutSvc := strings.Replace(string(data[:i]), "      appEndpoint: ${\"http://\" + appService.spec.clusterIP}\n", "", 1)
	if err := os.WriteFile(comp, []byte(withoutSvc), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = e2eutil.RunTypekro(t, "apply", "--mode", "direct", "--prune", dir)
	if code != 0 || !strings.Contains(out, "service/orders-service -n "+ns+" deleted") {
		t.Errorf("prune (exit %d):\n%s\n%s", code, out, errOut)
	}
	// Delete leaves nothing.
	out, errOut, code = e2eutil.RunTypekro(t, "delete", "--mode", "direct", dir)
	if code != 0 {
		t.Fatalf("delete: exit %d\n%s\n%s", code, out, errOut)
	}
	if left := created(t, ns); len(left) > 0 {
		t.Errorf("left after delete: %v", left)
	}
	if _, err := c.ResourceFor(t, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns).Get(t.Context(), "typekro-databasestack-orders", metav1.GetOptions{}); err == nil {
		t.Error("ApplySet parent left after delete")
	}
}
