package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// smokeRGD is a WebApp-style ResourceGraphDefinition: a Deployment whose
// replica count comes from the instance spec, plus a Service. Its kind is
// SmokeWebApp so it cannot clash with a WebApp RGD of another test running
// in parallel (RGDs and their CRDs are cluster-scoped).
const smokeRGD = `
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: e2e-harness-smokewebapp
spec:
  schema:
    apiVersion: v1alpha1
    kind: SmokeWebApp
    spec:
      name: string
      image: string | default="nginx:1.27"
      replicas: integer | default=1
    status:
      availableReplicas: ${deployment.status.availableReplicas}
  resources:
  - id: deployment
    template:
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: ${schema.spec.name}
      spec:
        replicas: ${schema.spec.replicas}
        selector:
          matchLabels:
            app: ${schema.spec.name}
        template:
          metadata:
            labels:
              app: ${schema.spec.name}
          spec:
            containers:
            - name: web
              image: ${schema.spec.image}
              ports:
              - containerPort: 80
  - id: service
    template:
      apiVersion: v1
      kind: Service
      metadata:
        name: ${schema.spec.name}
      spec:
        selector: ${deployment.spec.selector.matchLabels}
        ports:
        - port: 80
          targetPort: 80
`

var (
	smokeGVK        = schema.GroupVersionKind{Group: "kro.run", Version: "v1alpha1", Kind: "SmokeWebApp"}
	deploymentGVK   = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	smokeReplicas   = int64(3)
	smokeInstanceNm = "smoke"
)

// TestHarnessSmoke checks the local cluster end to end: the fake node is
// Ready, KRO turns an RGD Active, and an instance of it becomes ACTIVE with
// its Deployment's pods scheduled on the kwok node and reported ready.
func TestHarnessSmoke(t *testing.T) {
	c := e2eutil.Clients(t)

	e2eutil.WaitFor(t, time.Minute, func(ctx context.Context) (bool, error) {
		nodes, err := c.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, n := range nodes.Items {
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
					return true, nil
				}
			}
		}
		return false, fmt.Errorf("no Ready node among %d nodes", len(nodes.Items))
	})

	ns := e2eutil.Namespace(t)

	start := time.Now()
	rgd := c.Apply(t, e2eutil.Object(t, smokeRGD))
	rgdClient := c.Dynamic.Resource(e2eutil.RGDGVR)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = rgdClient.Delete(ctx, rgd.GetName(), metav1.DeleteOptions{})
	})
	e2eutil.WaitForObject(t, rgdClient, rgd.GetName(), 2*time.Minute, func(obj *unstructured.Unstructured) (bool, error) {
		if obj == nil {
			return false, nil
		}
		state, _, _ := unstructured.NestedString(obj.Object, "status", "state")
		return state == "Active", nil
	})
	t.Logf("RGD Active after %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	instance := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": smokeGVK.GroupVersion().String(),
		"kind":       smokeGVK.Kind,
		"metadata":   map[string]any{"name": smokeInstanceNm, "namespace": ns},
		"spec":       map[string]any{"name": smokeInstanceNm, "replicas": smokeReplicas},
	}}
	c.Apply(t, instance)
	e2eutil.WaitForObject(t, c.ResourceFor(t, smokeGVK, ns), smokeInstanceNm, 2*time.Minute, func(obj *unstructured.Unstructured) (bool, error) {
		if obj == nil {
			return false, nil
		}
		state, _, _ := unstructured.NestedString(obj.Object, "status", "state")
		return state == "ACTIVE", nil
	})
	t.Logf("instance ACTIVE after %s", time.Since(start).Round(time.Millisecond))

	dep := e2eutil.WaitForObject(t, c.ResourceFor(t, deploymentGVK, ns), smokeInstanceNm, 2*time.Minute, func(obj *unstructured.Unstructured) (bool, error) {
		if obj == nil {
			return false, nil
		}
		ready, _, _ := unstructured.NestedInt64(obj.Object, "status", "readyReplicas")
		return ready == smokeReplicas, nil
	})
	replicas, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas")
	if replicas != smokeReplicas {
		t.Errorf("deployment spec.replicas = %d, want %d", replicas, smokeReplicas)
	}
	t.Logf("deployment %d/%d ready after %s", smokeReplicas, smokeReplicas, time.Since(start).Round(time.Millisecond))

	svc, err := c.Kube.CoreV1().Services(ns).Get(t.Context(), smokeInstanceNm, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("service of the instance: %v", err)
	}
	if got := svc.Spec.Selector["app"]; got != smokeInstanceNm {
		t.Errorf("service selector app=%q, want %q", got, smokeInstanceNm)
	}
	pods, err := c.Kube.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=" + smokeInstanceNm})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName == "" || p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s: node %q phase %s, want scheduled and Running", p.Name, p.Spec.NodeName, p.Status.Phase)
		}
	}
}

// TestHarnessKubectl checks that the kubectl built for the harness talks to
// the cluster and that the control plane reports the expected version.
func TestHarnessKubectl(t *testing.T) {
	e2eutil.Kubeconfig(t)
	stdout, stderr, code := e2eutil.RunKubectl(t, "version", "-o", "json")
	if code != 0 {
		t.Fatalf("kubectl version: exit %d: %s", code, stderr)
	}
	var v struct {
		ClientVersion struct{ GitVersion string } `json:"clientVersion"`
		ServerVersion struct{ GitVersion string } `json:"serverVersion"`
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("kubectl version output: %v\n%s", err, stdout)
	}
	t.Logf("kubectl %s, server %s", v.ClientVersion.GitVersion, v.ServerVersion.GitVersion)
	if !strings.HasPrefix(v.ServerVersion.GitVersion, "v1.") {
		t.Errorf("server version %q does not look like a release version", v.ServerVersion.GitVersion)
	}
	stdout, stderr, code = e2eutil.RunKubectl(t, "get", "nodes", "-o", "name")
	if code != 0 || !strings.Contains(stdout, "node/") {
		t.Fatalf("kubectl get nodes: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}
