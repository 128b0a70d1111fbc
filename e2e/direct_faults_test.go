package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// TestDirectKilledApplyConverges kills `apply --mode direct` with SIGKILL
// once it has written its first object (nothing can clean up after that),
// then checks a second apply completes the stack.
func TestDirectKilledApplyConverges(t *testing.T) {
	ns := e2eutil.Namespace(t)
	dir := copyExample(t, "database-stack", inNamespace(ns)).Dir
	c := e2eutil.Clients(t)
	secrets := c.ResourceFor(t, schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, ns)

	cmd := exec.Command(e2eutil.TypekroBin(t), "apply", "--mode", "direct", dir, "--timeout", "2m")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	e2eutil.WaitFor(t, time.Minute, func(ctx context.Context) (bool, error) {
		_, err := secrets.Get(ctx, "orders-db", metav1.GetOptions{})
		return err == nil, nil
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited

	out, errOut, code := e2eutil.RunTypekro(t, "apply", "--mode", "direct", dir, "--timeout", "2m")
	if code != 0 {
		t.Fatalf("apply after a killed apply: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("second apply:\n%s", out)
	app, err := c.ResourceFor(t, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, ns).Get(t.Context(), "orders", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the app Deployment is missing after the second apply: %v", err)
	}
	if b, _ := json.Marshal(app.Object); !strings.Contains(string(b), "DATABASE_URL") {
		t.Errorf("app Deployment has no DATABASE_URL")
	}
	if _, errOut, code := e2eutil.RunTypekro(t, "delete", "--mode", "direct", dir); code != 0 {
		t.Fatalf("delete: exit %d\n%s", code, errOut)
	}
}

// TestDirectNeverReady: a resource whose readyWhen can never hold fails the
// apply in time, naming the resource and what it waits for.
func TestDirectNeverReady(t *testing.T) {
	ns := e2eutil.Namespace(t)
	dir := t.TempDir()
	writeFile(t, dir, "composition.yaml", `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata:
  name: never-ready
spec:
  apiVersion: e2e.example.com/v1alpha1
  kind: NeverReady
  schema:
    spec:
      name: string | required=true
  resources:
    - id: deployment
      readyWhen:
        - ${deployment.status.?readyReplicas.orValue(0) > 100}
      Deployment:
        name: ${schema.spec.name}
        image: nginx:1.27
`)
	writeFile(t, dir, "instance.yaml", `apiVersion: e2e.example.com/v1alpha1
kind: NeverReady
metadata:
  name: stuck
  namespace: `+ns+`
spec:
  name: stuck
`)
	out, errOut, code := e2eutil.RunTypekro(t, "apply", "--mode", "direct", dir, "--timeout", "5s")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	mustContain(t, "apply's error", errOut, "Deployment/stuck", "orValue(0) > 100")
	t.Logf("apply's error:\n%s", errOut)
	// --wait=false returns once everything is applied, without waiting for
	// a readiness that never comes.
	out, errOut, code = e2eutil.RunTypekro(t, "apply", "--mode", "direct", dir, "--wait=false", "--timeout", "1m")
	if code != 0 {
		t.Fatalf("apply --wait=false: exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	mustContain(t, "apply --wait=false", errOut, "1 instance(s) applied (--wait=false")
	if get(t, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, ns, "stuck") == nil {
		t.Error("apply --wait=false did not write the Deployment")
	}
	if _, errOut, code := e2eutil.RunTypekro(t, "delete", "--mode", "direct", dir); code != 0 {
		t.Fatalf("delete: exit %d\n%s", code, errOut)
	}
}

// TestDirectInvalidWritesNothing: input that fails offline validation, and
// input only the API server rejects (found by the server-side dry run
// before any write), leave the namespace untouched, ApplySet parent
// included.
func TestDirectInvalidWritesNothing(t *testing.T) {
	const rgd = `apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: pairs.e2e.typekro.dev
spec:
  schema:
    apiVersion: v1alpha1
    kind: Pair
    group: e2e.typekro.dev
    spec:
      name: string
      replicas: integer | default=1 minimum=0
      type: string | default="ClusterIP"
  resources:
    - id: config
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-config
        data:
          replicas: ${string(schema.spec.replicas)}
    - id: app
      template:
        apiVersion: v1
        kind: Service
        metadata:
          name: ${schema.spec.name}
        spec:
          type: ${schema.spec.type}
          ports:
            - port: 80
`
	for _, tc := range []struct {
		name, spec string
		stderr     []string
	}{
		{"offline: schema", "name: good\n  replicas: -1", []string{"pair.yaml:8: Pair/p: spec.replicas"}},
		{"offline: rendered object name", "name: Bad_Name", []string{"rgd.yaml:20: ResourceGraphDefinition/pairs.e2e.typekro.dev: spec.resources[0].template.metadata.name: instance Pair/", `resource "config" (ConfigMap): rendered metadata.name "Bad_Name-config"`}},
		// Only the API server knows the Service types: found by the
		// server-side dry run, before anything is written.
		{"server: service type", "name: good\n  type: Bogus", []string{"pair.yaml:1: Pair/", `: resource "app": service/good`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := e2eutil.Namespace(t)
			dir := t.TempDir()
			writeFile(t, dir, "rgd.yaml", rgd)
			writeFile(t, dir, "pair.yaml", "apiVersion: e2e.typekro.dev/v1alpha1\nkind: Pair\nmetadata:\n  name: p\n  namespace: "+ns+"\nspec:\n  "+tc.spec+"\n")
			r := typekro(t, 1, "apply", "--mode", "direct", dir, "--timeout", "1m")
			mustContain(t, "stderr", r.Stderr, tc.stderr...)
			if r.Stdout != "" {
				t.Errorf("stdout not empty:\n%s", r.Stdout)
			}
			cms := e2eutil.Clients(t).ResourceFor(t, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns)
			list, err := cms.List(t.Context(), metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, cm := range list.Items {
				if cm.GetName() != "kube-root-ca.crt" {
					t.Errorf("written although the input is invalid: configmap/%s", cm.GetName())
				}
			}
			if svcs := names(t, schema.GroupVersionKind{Version: "v1", Kind: "Service"}, ns); len(svcs) > 0 {
				t.Errorf("written although the input is invalid: services %v", svcs)
			}
		})
	}
}

// A gate the test opens: readyWhen holds once the ConfigMap is annotated,
// and the second resource depends on the gate.
const gateRGD = `apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: gates.e2e.typekro.dev
spec:
  schema:
    apiVersion: v1alpha1
    kind: Gate
    group: e2e.typekro.dev
    spec: {}
  resources:
    - id: gate
      readyWhen:
        - ${gate.metadata.?annotations[?"e2e.typekro.dev/open"].orValue("") == "yes"}
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.metadata.name}-gate
    - id: after
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.metadata.name}-after
        data:
          gate: ${gate.metadata.name}
`

// TestDirectInterruptedApplyContinues: Ctrl-C (SIGINT) and --timeout in the
// middle of a wait stop apply with exit 1, naming what it waited for; a
// later apply continues where they stopped.
func TestDirectInterruptedApplyContinues(t *testing.T) {
	ns := e2eutil.Namespace(t)
	dir := t.TempDir()
	writeFile(t, dir, "rgd.yaml", gateRGD)
	writeFile(t, dir, "gate.yaml", "apiVersion: e2e.typekro.dev/v1alpha1\nkind: Gate\nmetadata:\n  name: g\n  namespace: "+ns+"\nspec: {}\n")
	cms := e2eutil.Clients(t).ResourceFor(t, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns)

	cmd := exec.Command(e2eutil.TypekroBin(t), "apply", "--mode", "direct", dir, "--timeout", "2m")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	e2eutil.WaitFor(t, time.Minute, func(ctx context.Context) (bool, error) {
		_, err := cms.Get(ctx, "g-gate", metav1.GetOptions{})
		return err == nil, nil
	})
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := <-exited
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("apply after Ctrl-C: %v, want exit 1\n%s", err, stderr.String())
	}
	mustContain(t, "stderr after Ctrl-C", stderr.String(), "interrupted", "gate (ConfigMap/g-gate)", "e2e.typekro.dev/open")
	if get(t, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns, "g-after") != nil {
		t.Fatal("the dependent ConfigMap exists although its dependency never became ready")
	}

	r := typekro(t, 1, "apply", "--mode", "direct", dir, "--timeout", "2s")
	mustContain(t, "stderr after --timeout", r.Stderr, "timed out waiting", "gate (ConfigMap/g-gate)")

	patch := []byte(`{"metadata":{"annotations":{"e2e.typekro.dev/open":"yes"}}}`)
	if _, err := cms.Patch(t.Context(), "g-gate", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	typekro(t, 0, "apply", "--mode", "direct", dir, "--timeout", "1m")
	after := get(t, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns, "g-after")
	if after == nil {
		t.Fatal("the dependent ConfigMap was not created once the gate opened")
	}
	typekro(t, 0, "delete", "--mode", "direct", dir)
}
