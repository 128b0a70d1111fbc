package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
)

// invalidChildRGD renders a Deployment whose replicas come from the
// instance: typekro's offline check and the instance's dry run accept
// replicas -1 (the schema has no minimum), only the API server's
// validation of the Deployment KRO creates rejects it.
const invalidChildRGD = `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata:
  name: e2e-invalid-child
spec:
  apiVersion: e2e.typekro.dev/v1alpha1
  kind: InvalidChild
  schema:
    spec:
      name: string | required=true
      replicas: integer | default=1
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
            matchLabels: {app: "${schema.spec.name}"}
          template:
            metadata:
              labels: {app: "${schema.spec.name}"}
            spec:
              containers:
                - name: app
                  image: nginx:1.27
`

// TestKroApplyTerminalInstanceError: an instance KRO puts in ERROR for
// its current generation because the API server rejects a resource
// rendered from it (KRO retries, and gets the same answer forever) ends
// the wait at once with KRO's reason, not at --timeout.
func TestKroApplyTerminalInstanceError(t *testing.T) {
	ns := e2eutil.Namespace(t)
	dir := t.TempDir()
	writeFile(t, dir, "composition.yaml", invalidChildRGD)
	writeFile(t, dir, "instance.yaml", "apiVersion: e2e.typekro.dev/v1alpha1\nkind: InvalidChild\nmetadata: {name: bad}\nspec: {name: bad, replicas: -1}\n")
	typekroDeleteAtEnd(t, []string{"-n", ns}, dir)

	const timeout = 3 * time.Minute
	start := time.Now()
	r := typekro(t, 1, "apply", dir, "-n", ns, "--timeout", timeout.String())
	took := time.Since(start)
	mustContain(t, "stderr", r.Stderr,
		"InvalidChild/bad -n "+ns,
		"KRO cannot reconcile this generation (state ERROR)",
		`"bad" is invalid`, "spec.replicas")
	if strings.Contains(r.Stderr, "timed out") {
		t.Errorf("the wait timed out instead of failing on KRO's verdict:\n%s", r.Stderr)
	}
	t.Logf("apply failed after %s (--timeout %s):\n%s", took.Round(100*time.Millisecond), timeout, r.Stderr)
}

// quotaRGD's Deployment can never get a pod in a namespace whose
// ResourceQuota allows none: the ReplicaSet controller reports FailedCreate
// on the ReplicaSet, an object typekro does not wait on.
const quotaRGD = `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata:
  name: e2e-quota-held
spec:
  apiVersion: e2e.typekro.dev/v1alpha1
  kind: QuotaHeld
  schema:
    spec:
      name: string | required=true
  resources:
    - id: deployment
      readyWhen:
        - ${deployment.status.?availableReplicas.orValue(0) == 1}
      template:
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: ${schema.spec.name}
        spec:
          replicas: 1
          selector:
            matchLabels: {app: "${schema.spec.name}"}
          template:
            metadata:
              labels: {app: "${schema.spec.name}"}
            spec:
              containers:
                - name: app
                  image: nginx:1.27
`

// TestApplySlowWaitSaysWhy: while an apply waits on a Deployment that a
// ResourceQuota holds back, the progress names the quota: the FailedCreate
// Warning event on the Deployment's ReplicaSet, found through its owner
// reference (and KRO's instance label in kro mode), in both modes.
func TestApplySlowWaitSaysWhy(t *testing.T) {
	for _, mode := range []string{"kro", "direct"} {
		t.Run(mode, func(t *testing.T) {
			ns := e2eutil.Namespace(t)
			e2eutil.Clients(t).ApplyYAML(t, ns, "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: no-pods\nspec:\n  hard:\n    pods: \"0\"\n")
			dir := t.TempDir()
			writeFile(t, dir, "composition.yaml", quotaRGD)
			writeFile(t, dir, "instance.yaml", "apiVersion: e2e.typekro.dev/v1alpha1\nkind: QuotaHeld\nmetadata: {name: held}\nspec: {name: held}\n")
			if mode == "kro" {
				typekroDeleteAtEnd(t, []string{"-n", ns}, dir)
			} else {
				typekroDeleteAtEnd(t, []string{"-n", ns, "--mode", "direct"}, dir)
			}

			r := typekro(t, 1, "apply", "--mode", mode, dir, "-n", ns, "--timeout", "40s")
			mustContain(t, "stderr", r.Stderr, "why: Warning FailedCreate on ReplicaSet/held-", `exceeded quota: no-pods`)
			t.Logf("progress:\n%s", r.Stderr)
		})
	}
}
