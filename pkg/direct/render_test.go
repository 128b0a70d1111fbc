package direct_test

import (
	"errors"
	"github.com/typekro/kubectl-typekro/internal/compiletest"
	"github.com/typekro/kubectl-typekro/internal/golden"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// compileDir loads and compiles dir (instances default to namespace default).
var compileDir = compiletest.Dir

// goldenCases are the examples with instances, and KRO's own examples
// from its module (golden files kro-<dir>.yaml).
func goldenCases(t *testing.T) map[string]string {
	cases := map[string]string{}
	dirs, err := filepath.Glob("../../examples/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "instances")); err == nil {
			cases[filepath.Base(dir)] = dir // examples/kustomize has none: not a composition example
		}
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/kubernetes-sigs/kro").Output()
	if err != nil {
		t.Fatalf("locating the kro module: %v", err)
	}
	kro := filepath.Join(strings.TrimSpace(string(out)), "examples", "kubernetes")
	for _, d := range []string{
		"additionalPrinterColumns", "cel-functions", "defaults", "job-example", "webapp",
		"dogsvscats/result-app", "dogsvscats/vote-app", "dogsvscats/worker-app",
		"saas-multi-tenant", // nested instances: Tenant creates TenantEnvironment and TenantApplication
		// core-dns is left out: its YAML has a duplicate "selector" key, which KRO's own loader rejects too.
	} {
		cases["kro-"+strings.ReplaceAll(d, "/", "-")] = filepath.Join(kro, d)
	}
	return cases
}

// golden renders every example with --allow-pending; the pending fields
// are part of the golden file as a leading comment.
func TestGoldenExamples(t *testing.T) {
	for name, dir := range goldenCases(t) {
		t.Run(name, func(t *testing.T) {
			res := compileDir(t, dir)
			r, err := direct.Render(res, direct.Options{AllowPending: true})
			if err != nil {
				t.Fatal(err)
			}
			y, err := render.YAML(render.Unstructured(direct.Objects(res, r)))
			if err != nil {
				t.Fatal(err)
			}
			var head strings.Builder
			for _, p := range r.Pending {
				head.WriteString("# pending: " + p.String() + "\n")
			}
			for _, s := range r.Skipped {
				head.WriteString("# skipped (includeWhen): " + s + "\n")
			}
			got := append([]byte(head.String()), y...)
			golden.Assert(t, filepath.Join("testdata", "golden", name+".yaml"), got)
			// Deterministic: a second render gives the same bytes.
			r2, err := direct.Render(compileDir(t, dir), direct.Options{AllowPending: true})
			if err != nil {
				t.Fatal(err)
			}
			y2, _ := render.YAML(render.Unstructured(direct.Objects(res, r2)))
			if string(y2) != string(y) {
				t.Error("two renders differ")
			}
		})
	}
}

// TestPendingNamesFieldAndReference: without --allow-pending the database
// stack fails, naming the app's env var and the Service's clusterIP.
func TestPendingNamesFieldAndReference(t *testing.T) {
	res := compileDir(t, "../../examples/database-stack")
	_, err := direct.Render(res, direct.Options{})
	var pe *direct.PendingError
	if !errors.As(err, &pe) {
		t.Fatalf("want a PendingError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`resource "app" (Deployment)`,
		"field spec.template.spec.containers[0].env[1].value",
		"databaseService.spec.clusterIP",
		"database.status.readyReplicas",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
	// The app's Service waits on the app, itself pending.
	if !strings.Contains(msg, `resource "appService" (Service) waits on resource(s) app`) {
		t.Errorf("error does not say appService waits on app:\n%s", msg)
	}
}

// TestNamespaceAndLabels: namespaced resources get the instance namespace
// and KRO's identity labels, with managed-by typekro.
func TestNamespaceAndLabels(t *testing.T) {
	res := compileDir(t, "../../examples/webapp")
	r, err := direct.Render(res, direct.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Resources) == 0 {
		t.Fatal("no resources")
	}
	for _, rs := range r.Resources {
		o := rs.Object
		if o.GetNamespace() != rs.Instance.Object.GetNamespace() {
			t.Errorf("%s/%s: namespace %q, want the instance's %q", o.GetKind(), o.GetName(), o.GetNamespace(), rs.Instance.Object.GetNamespace())
		}
		l := o.GetLabels()
		if l["kro.run/instance-name"] != rs.Instance.Object.GetName() || l["kro.run/node-id"] != rs.NodeID || l["app.kubernetes.io/managed-by"] != "typekro" {
			t.Errorf("%s/%s: labels %v", o.GetKind(), o.GetName(), l)
		}
	}
}
