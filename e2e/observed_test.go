package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// TestObservedEqualsApply: `render --mode direct --observed` resolves the
// database stack's DATABASE_URL (the database Service's clusterIP, set by
// the API server) and its status offline, from the live objects that
// `apply --mode direct` left, equal to what apply wrote and reported; and
// `kubectl typekro test` with those objects as observedFiles passes with
// the same expectations.
func TestObservedEqualsApply(t *testing.T) {
	ns := e2eutil.Namespace(t)
	dir := copyExample(t, "database-stack", inNamespace(ns)).Dir
	applied := typekro(t, 0, "apply", "--mode", "direct", dir, "-o", "json")
	applyStatus := instanceStatus(t, applied.Stdout, "DatabaseStack", "orders")

	// Dump the live objects of the namespace, status included, as a List.
	c := e2eutil.Clients(t)
	var items []any
	for _, gvk := range []schema.GroupVersionKind{
		{Version: "v1", Kind: "Secret"},
		{Version: "v1", Kind: "ConfigMap"}, // the ApplySet parent: the instance's UID
		{Version: "v1", Kind: "Service"},
		{Group: "apps", Version: "v1", Kind: "Deployment"},
	} {
		list, err := c.ResourceFor(t, gvk, ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Items {
			o.SetAPIVersion(gvk.GroupVersion().String())
			o.SetKind(gvk.Kind)
			items = append(items, o.Object)
		}
	}
	data, err := yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	if err != nil {
		t.Fatal(err)
	}
	observed := filepath.Join(t.TempDir(), "live.yaml")
	if err := os.WriteFile(observed, data, 0o644); err != nil {
		t.Fatal(err)
	}

	rendered := typekro(t, 0, "render", "--mode", "direct", "--observed", observed, "--status", dir, "-o", "json")
	var out struct{ Items []map[string]any }
	if err := json.Unmarshal([]byte(rendered.Stdout), &out); err != nil {
		t.Fatalf("%v\n%s", err, rendered.Stdout)
	}
	var renderedURL string
	var renderedStatus map[string]any
	for _, item := range out.Items {
		u := &unstructured.Unstructured{Object: item}
		switch {
		case u.GetKind() == "Deployment" && u.GetName() == "orders":
			renderedURL = envValue(t, u, "DATABASE_URL")
		case u.GetKind() == "DatabaseStack":
			renderedStatus, _ = item["status"].(map[string]any)
		}
	}
	live := get(t, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, ns, "orders")
	liveURL := envValue(t, live, "DATABASE_URL")
	svc := get(t, serviceGVK, ns, "orders-db-service")
	ip, _, _ := unstructured.NestedString(svc.Object, "spec", "clusterIP")
	if ip == "" || !strings.Contains(liveURL, "@"+ip+":5432/") {
		t.Fatalf("applied DATABASE_URL %q lacks the Service clusterIP %q", liveURL, ip)
	}
	if renderedURL != liveURL {
		t.Errorf("DATABASE_URL offline %q, applied %q", renderedURL, liveURL)
	}
	if !reflect.DeepEqual(renderedStatus, applyStatus) {
		t.Errorf("status offline %v\napplied %v", renderedStatus, applyStatus)
	}
	if applyStatus["state"] != "ACTIVE" || applyStatus["databaseEndpoint"] != ip+":5432" {
		t.Errorf("apply's status is not the settled one: %v", applyStatus)
	}

	// The same live objects as a test's observedFiles.
	want, err := json.Marshal(applyStatus)
	if err != nil {
		t.Fatal(err)
	}
	test := fmt.Sprintf(`apiVersion: typekro.dev/v1alpha1
kind: Test
metadata: {name: observed-equals-apply}
spec:
  inputs: [%s]
  instanceFile: %s
  observedFiles: [%s]
  expect:
    resources:
      - {apiVersion: apps/v1, kind: Deployment, metadata: {name: orders, namespace: %s}, spec: {template: {spec: {containers: [{name: orders, env: [{name: POSTGRES_PASSWORD}, {name: DATABASE_URL, value: %q}, {name: WAIT_FOR_DB, value: ready}]}]}}}}
    status: %s
    ready: true
`, filepath.Join(dir, "composition.yaml"), filepath.Join(dir, "instances", "staging.yaml"), observed, ns, liveURL, want)
	testDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(testDir, "observed.yaml"), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	res := typekro(t, 0, "test", testDir)
	if !strings.Contains(res.Stdout, "1 passed, 0 failed") {
		t.Errorf("test:\n%s", res.Stdout)
	}
	typekro(t, 0, "delete", "--mode", "direct", dir)
}

// instanceStatus finds an instance in a -o json List (after apply's
// change lines) and returns its status.
func instanceStatus(t *testing.T, out, kind, name string) map[string]any {
	t.Helper()
	if i := strings.Index(out, "\n{\n"); i >= 0 {
		out = out[i+1:]
	}
	var list struct{ Items []map[string]any }
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, item := range list.Items {
		u := &unstructured.Unstructured{Object: item}
		if u.GetKind() == kind && u.GetName() == name {
			st, _ := item["status"].(map[string]any)
			return st
		}
	}
	t.Fatalf("no %s/%s in\n%s", kind, name, out)
	return nil
}

// envValue is the value of a container env var of a Deployment.
func envValue(t *testing.T, u *unstructured.Unstructured, name string) string {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		env, _ := c.(map[string]any)["env"].([]any)
		for _, e := range env {
			if m, _ := e.(map[string]any); m["name"] == name {
				v, _ := m["value"].(string)
				return v
			}
		}
	}
	t.Fatalf("%s/%s has no env %s", u.GetKind(), u.GetName(), name)
	return ""
}
