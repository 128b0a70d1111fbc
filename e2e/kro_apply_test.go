package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestKroApplyWebapp walks examples/webapp through its life with the real
// KRO controller: diff (all new) → apply → diff (clean) → re-apply (no-op)
// → change replicas → diff → apply → status → delete.
func TestKroApplyWebapp(t *testing.T) {
	ex := copyExample(t, "webapp", createdByApply(t))
	dir, nss := ex.Dir, ex.Namespaces
	prod, dev := nss["production"], nss["development"]
	typekroDeleteAtEnd(t, nil, dir)

	// Nothing exists yet: every object is new, diff exits 1.
	r := typekro(t, 1, "diff", dir, "--create-namespace")
	mustContain(t, "diff", r.Stdout,
		"+++ merged/resourcegraphdefinition.kro.run/kro-webapp",
		"+++ merged/krowebapp.example.com/webapp -n "+prod,
		"+++ merged/namespace/"+prod)

	start := time.Now()
	r = typekro(t, 0, "apply", dir, "--create-namespace", "--timeout", "3m")
	t.Logf("apply to Ready: %s", time.Since(start).Round(time.Millisecond))
	changes := strings.Join(changeLines(r.Stdout), "\n")
	if !regexp.MustCompile(`(?m)^resourcegraphdefinition\.kro\.run/kro-webapp (created|configured|unchanged)$`).MatchString(changes) {
		t.Errorf("change set lacks the RGD:\n%s", changes)
	}
	mustContain(t, "change set", changes,
		"namespace/"+prod+" created",
		"namespace/"+dev+" created",
		"krowebapp.example.com/webapp -n "+prod+" created",
		"krowebapp.example.com/webapp-dev -n "+dev+" created")
	mustContain(t, "apply stdout", r.Stdout, "KroWebApp/webapp -n "+prod+": ACTIVE", "readyReplicas: 3")
	mustContain(t, "apply stderr", r.Stderr, "ResourceGraphDefinition/kro-webapp: Active", "KroWebApp/webapp -n "+prod+": ACTIVE")

	// apply returned only once KRO reported everything ready: check it
	// without waiting.
	rgd := getRGD(t, "kro-webapp")
	if state(rgd) != "Active" || e2eutil.Condition(rgd, "Ready") != "True" {
		t.Errorf("RGD after apply: state %s, Ready %s", state(rgd), e2eutil.Condition(rgd, "Ready"))
	}
	checkWebapp(t, prod, "webapp", 3)
	checkWebapp(t, dev, "webapp-dev", 1)

	// In sync: diff exits 0, a second apply changes nothing.
	typekro(t, 0, "diff", dir)
	r = typekro(t, 0, "apply", dir, "--timeout", "1m")
	for _, l := range changeLines(r.Stdout) {
		if !strings.HasSuffix(l, " unchanged") {
			t.Errorf("re-apply changed something: %q", l)
		}
	}

	// Scale production down: diff shows it, apply waits for the new generation.
	inst := filepath.Join(dir, "instances", "production.yaml")
	b, err := os.ReadFile(inst)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inst, []byte(strings.Replace(string(b), "replicas: 3", "replicas: 2", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r = typekro(t, 1, "diff", dir)
	mustContain(t, "diff", r.Stdout, "-  replicas: 3", "+  replicas: 2")
	r = typekro(t, 0, "apply", dir, "--timeout", "2m", "-o", "json")
	mustContain(t, "apply stderr", r.Stderr, "krowebapp.example.com/webapp -n "+prod+" configured", "krowebapp.example.com/webapp-dev -n "+dev+" unchanged")
	var list struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil || len(list.Items) != 2 {
		t.Fatalf("apply -o json: %v, %d items\n%s", err, len(list.Items), r.Stdout)
	}
	checkWebapp(t, prod, "webapp", 2)
	typekro(t, 0, "diff", dir)

	// status: by kubectl-style name and from the files.
	r = typekro(t, 0, "status", "krowebapp/webapp", "-n", prod, "-o", "json")
	var one struct {
		Items []struct {
			Status map[string]any `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &one); err != nil || len(one.Items) != 1 {
		t.Fatalf("status -o json: %v\n%s", err, r.Stdout)
	}
	if st := one.Items[0].Status; st["state"] != "ACTIVE" || st["readyReplicas"] != float64(2) {
		t.Errorf("status of webapp: %v", st)
	}
	// -o through cli-runtime's printers: jsonpath over the List, names,
	// the wide table; apply -o name prints only the applied instances.
	r = typekro(t, 0, "status", "krowebapp/webapp", "-n", prod, "-o", "jsonpath={.items[0].status.state} {.items[0].spec.replicas}")
	if r.Stdout != "ACTIVE 2" {
		t.Errorf("status -o jsonpath: %q, want %q", r.Stdout, "ACTIVE 2")
	}
	r = typekro(t, 0, "status", "-f", dir, "-o", "name")
	if want := "resourcegraphdefinition.kro.run/kro-webapp\nkrowebapp.example.com/webapp-dev\nkrowebapp.example.com/webapp\n"; r.Stdout != want {
		t.Errorf("status -f -o name:\n%s\nwant:\n%s", r.Stdout, want)
	}
	r = typekro(t, 0, "status", "krowebapp", "-n", prod, "-o", "wide")
	if !regexp.MustCompile(`(?m)^NAMESPACE +NAME +STATE +READY +GENERATION +OBSERVED +CONDITIONS +RESOURCES +MESSAGE\n` + prod + ` +krowebapp\.example\.com/webapp +ACTIVE +True +2 +2 `).MatchString(r.Stdout) {
		t.Errorf("status -o wide:\n%s", r.Stdout)
	}
	r = typekro(t, 0, "apply", dir, "--timeout", "1m", "-o", "name")
	if want := "krowebapp.example.com/webapp-dev\nkrowebapp.example.com/webapp\n"; r.Stdout != want {
		t.Errorf("apply -o name: stdout %q, want %q", r.Stdout, want)
	}
	mustContain(t, "apply -o name stderr", r.Stderr, "krowebapp.example.com/webapp -n "+prod+" unchanged")
	r = typekro(t, 0, "status", "-f", dir)
	mustContain(t, "status -f", r.Stdout,
		"ResourceGraphDefinition/kro-webapp: Active",
		"KroWebApp/webapp -n "+prod+": ACTIVE",
		"KroWebApp/webapp-dev -n "+dev+": ACTIVE",
		"url: http://")
	r = typekro(t, 0, "status", "krowebapps.example.com/webapp", "-n", prod, "--watch", "--timeout", "2s")
	mustContain(t, "status --watch", r.Stdout, "KroWebApp/webapp -n "+prod+": ACTIVE")
	// status KIND --watch follows the collection: an instance created after
	// it started is shown, and so is its deletion.
	w := e2eutil.StartTypekro(t, 2*time.Minute, "status", "krowebapp", "-n", prod, "--watch")
	w.WaitOutput(t, 30*time.Second, "KroWebApp/webapp -n "+prod+": ACTIVE")
	late := "apiVersion: example.com/v1alpha1\nkind: KroWebApp\nmetadata: {name: webapp-late}\nspec: {name: webapp-late, image: nginx}\n"
	e2eutil.Clients(t).ApplyYAML(t, prod, late)
	w.WaitOutput(t, time.Minute, "KroWebApp/webapp-late -n "+prod+":")
	if _, stderr, code := e2eutil.RunKubectl(t, "delete", "krowebapp", "webapp-late", "-n", prod, "--wait=false"); code != 0 {
		t.Fatalf("kubectl delete: %s", stderr)
	}
	w.WaitOutput(t, time.Minute, "KroWebApp/webapp-late -n "+prod+": deleted")
	typekro(t, 1, "status", "krowebapp/nosuch", "-n", prod)
	// Shell completion from the live cluster: namespaces, instance kinds
	// (the RGDs'), and names of a kind.
	mustContain(t, "complete -n", typekro(t, 0, "__complete", "status", "-n", "").Stdout, "\n"+prod+"\n")
	mustContain(t, "complete kinds", typekro(t, 0, "__complete", "status", "").Stdout, "krowebapp\n")
	mustContain(t, "complete names", typekro(t, 0, "__complete", "-n", prod, "status", "krowebapp", "").Stdout, "webapp\n")

	// delete: instances first (KRO deletes their Deployments and Services),
	// then the RGD.
	r = typekro(t, 0, "delete", dir)
	mustContain(t, "delete", r.Stdout,
		"krowebapp.example.com/webapp -n "+prod+" deleted",
		"resourcegraphdefinition.kro.run/kro-webapp deleted")
	for _, ns := range []string{prod, dev} {
		if got := names(t, deploymentGVK, ns); len(got) > 0 {
			t.Errorf("deployments left in %s: %v", ns, got)
		}
		if got := names(t, serviceGVK, ns); len(got) > 0 {
			t.Errorf("services left in %s: %v", ns, got)
		}
		if got := names(t, webappGVK, ns); len(got) > 0 {
			t.Errorf("instances left in %s: %v", ns, got)
		}
	}
	if getRGD(t, "kro-webapp") != nil {
		t.Error("RGD kro-webapp still exists after delete")
	}
	// Deleting again finds nothing and succeeds.
	r = typekro(t, 0, "delete", dir)
	mustContain(t, "second delete", r.Stdout, "not found")
}

// checkWebapp asserts a KroWebApp instance is ACTIVE with the expected
// ready replicas and the Service's clusterIP in status.url.
func checkWebapp(t *testing.T, ns, name string, replicas int64) {
	t.Helper()
	inst := get(t, webappGVK, ns, name)
	if state(inst) != "ACTIVE" || e2eutil.Condition(inst, "Ready") != "True" {
		t.Errorf("%s/%s: state %s, Ready %s", ns, name, state(inst), e2eutil.Condition(inst, "Ready"))
		return
	}
	if got := statusInt(inst, "readyReplicas"); got != replicas {
		t.Errorf("%s/%s: status.readyReplicas = %d, want %d", ns, name, got, replicas)
	}
	svc := get(t, serviceGVK, ns, name+"-service")
	if svc == nil {
		t.Fatalf("%s/%s: no Service %s-service", ns, name, name)
	}
	ip, _, _ := unstructured.NestedString(svc.Object, "spec", "clusterIP")
	if want := "http://" + ip; ip == "" || statusString(inst, "url") != want {
		t.Errorf("%s/%s: status.url = %q, want %q", ns, name, statusString(inst, "url"), want)
	}
	dep := get(t, deploymentGVK, ns, name)
	if dep == nil {
		t.Fatalf("%s/%s: no Deployment", ns, name)
	}
	if got, _, _ := unstructured.NestedInt64(dep.Object, "status", "readyReplicas"); got != replicas {
		t.Errorf("%s/%s: Deployment readyReplicas = %d, want %d", ns, name, got, replicas)
	}
}

var configMapGVK = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}

// invalidRGD is a valid composition; the tests pair it with bad objects.
const invalidRGD = `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata:
  name: e2e-nothing-written
spec:
  apiVersion: e2e.typekro.dev/v1alpha1
  kind: NothingWritten
  schema:
    spec:
      name: string | required=true
      replicas: integer | default=1
  resources:
    - id: config
      ConfigMap:
        name: ${schema.spec.name}
        data:
          replicas: ${string(schema.spec.replicas)}
`

// TestKroApplyInvalidWritesNothing: input the offline check rejects, and
// input only the API server rejects (found by the dry run of everything
// before the first write), both leave the cluster untouched.
func TestKroApplyInvalidWritesNothing(t *testing.T) {
	ns := e2eutil.Namespace(t)
	newNS := ns + "-new"

	t.Run("offline", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "composition.yaml", invalidRGD)
		writeFile(t, dir, "instance.yaml", `apiVersion: e2e.typekro.dev/v1alpha1
kind: NothingWritten
metadata: {name: a, namespace: `+newNS+`}
spec: {name: a, replicas: "three"}
`)
		r := typekro(t, 1, "apply", dir, "--create-namespace")
		mustContain(t, "stderr", r.Stderr, "replicas")
		if r.Stdout != "" {
			t.Errorf("stdout not empty: %s", r.Stdout)
		}
	})
	// Rejected only by the API server's validation, in an existing namespace
	// (dry-run in place) and in one the apply would create (preflight
	// dry-run create elsewhere, since the namespace does not exist yet).
	for _, target := range []string{ns, newNS} {
		t.Run("server/"+target, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "composition.yaml", invalidRGD)
			writeFile(t, dir, "instance.yaml", `apiVersion: e2e.typekro.dev/v1alpha1
kind: NothingWritten
metadata: {name: a, namespace: `+target+`}
spec: {name: a}
`)
			writeFile(t, dir, "configmap.yaml", `apiVersion: v1
kind: ConfigMap
metadata: {name: bad-keys, namespace: `+target+`}
data:
  "not a valid key!": x
`)
			r := typekro(t, 1, "apply", dir, "--create-namespace")
			mustContain(t, "stderr", r.Stderr, "nothing was written", "configmap/bad-keys -n "+target, "a valid config key")
			if r.Stdout != "" {
				t.Errorf("stdout not empty: %s", r.Stdout)
			}
			if target == ns && get(t, configMapGVK, ns, "bad-keys") != nil {
				t.Error("the rejected ConfigMap exists")
			}
		})
	}
	if rgd := getRGD(t, "e2e-nothing-written"); rgd != nil {
		t.Errorf("RGD e2e-nothing-written was created by an invalid apply")
	}
	if namespaceExists(t, newNS) {
		t.Errorf("namespace %s was created by an invalid apply", newNS)
	}
}

// TestKroApplyConflict: a field another manager owns is not taken over
// without --force-conflicts.
func TestKroApplyConflict(t *testing.T) {
	ex := copyExample(t, "webapp", createdByApply(t))
	dir, nss := ex.Dir, ex.Namespaces
	prod := nss["production"]
	typekroDeleteAtEnd(t, nil, dir)
	typekro(t, 0, "apply", dir, "--create-namespace", "--timeout", "3m")

	c := e2eutil.Clients(t)
	other := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": webappGVK.GroupVersion().String(), "kind": webappGVK.Kind,
		"metadata": map[string]any{"name": "webapp", "namespace": prod},
		"spec":     map[string]any{"replicas": int64(5)},
	}}
	if _, err := c.ResourceFor(t, webappGVK, prod).Apply(t.Context(), "webapp", other, metav1.ApplyOptions{FieldManager: "other", Force: true}); err != nil {
		t.Fatalf("apply as manager other: %v", err)
	}

	r := typekro(t, 1, "apply", dir, "--timeout", "1m")
	mustContain(t, "stderr", r.Stderr, "conflict", "other", "--force-conflicts", "nothing was written")
	if got, _, _ := unstructured.NestedInt64(get(t, webappGVK, prod, "webapp").Object, "spec", "replicas"); got != 5 {
		t.Errorf("spec.replicas = %d after a refused apply, want 5 (other's value)", got)
	}

	r = typekro(t, 0, "apply", dir, "--force-conflicts", "--timeout", "2m")
	mustContain(t, "stdout", r.Stdout, "krowebapp.example.com/webapp -n "+prod+" configured")
	checkWebapp(t, prod, "webapp", 3)
}

// slowRGD never becomes ready: its Deployment's pods select a node label
// no node has, so they stay Pending.
const slowRGD = `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata:
  name: e2e-never-ready
spec:
  apiVersion: e2e.typekro.dev/v1alpha1
  kind: NeverReady
  schema:
    spec:
      name: string | required=true
  resources:
    - id: deployment
      readyWhen:
        - ${deployment.status.?availableReplicas.orValue(0) == deployment.spec.replicas}
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
              nodeSelector: {e2e.typekro.dev/no-such-node: "true"}
              containers:
                - name: app
                  image: nginx:1.27
`

// TestKroApplyTimeout: a --timeout shorter than readiness exits 1 and says
// what it was waiting for and what KRO reported last.
func TestKroApplyTimeout(t *testing.T) {
	ns := e2eutil.Namespace(t)
	dir := t.TempDir()
	writeFile(t, dir, "composition.yaml", slowRGD)
	writeFile(t, dir, "instance.yaml", "apiVersion: e2e.typekro.dev/v1alpha1\nkind: NeverReady\nmetadata: {name: stuck}\nspec: {name: stuck}\n")
	typekroDeleteAtEnd(t, []string{"-n", ns}, dir)

	start := time.Now()
	r := typekro(t, 1, "apply", dir, "-n", ns, "--timeout", "20s")
	took := time.Since(start)
	mustContain(t, "stderr", r.Stderr,
		"--timeout 20s reached: timed out",
		"waiting for NeverReady/stuck -n "+ns+" to be ACTIVE",
		"state IN_PROGRESS")
	if took > 40*time.Second {
		t.Errorf("apply --timeout 20s took %s", took)
	}
	// The last status is still printed, and the RGD did get Active.
	mustContain(t, "stdout", r.Stdout, "NeverReady/stuck -n "+ns+": IN_PROGRESS")
	if rgd := getRGD(t, "e2e-never-ready"); state(rgd) != "Active" {
		t.Errorf("RGD state %s, want Active", state(rgd))
	}
}

// omitRGD uses omit(), which KRO accepts only with the CELOmitFunction
// feature gate. typekro is told the gate is on, so its offline check
// passes; the cluster's KRO runs without it and rejects the graph — the
// case of a check that only the live controller can make.
const omitRGD = `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata:
  name: e2e-rejected-by-kro
spec:
  apiVersion: e2e.typekro.dev/v1alpha1
  kind: RejectedByKro
  schema:
    spec:
      name: string | required=true
      note: string | default=""
  resources:
    - id: config
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}
        data:
          note: '${schema.spec.note == "" ? omit() : schema.spec.note}'
`

// TestKroApplyRejectedByKro: an RGD KRO refuses fails at once with KRO's
// GraphAccepted message, not after the timeout, and its instances are not
// written.
func TestKroApplyRejectedByKro(t *testing.T) {
	ns := e2eutil.Namespace(t)
	dir := t.TempDir()
	writeFile(t, dir, "composition.yaml", omitRGD)
	writeFile(t, dir, "instance.yaml", "apiVersion: e2e.typekro.dev/v1alpha1\nkind: RejectedByKro\nmetadata: {name: r}\nspec: {name: r}\n")
	gate := []string{"--kro-feature-gates", "CELOmitFunction=true"}
	typekroDeleteAtEnd(t, append([]string{"-n", ns}, gate...), dir)

	start := time.Now()
	r := typekro(t, 1, append([]string{"apply", dir, "-n", ns, "--timeout", "2m"}, gate...)...)
	took := time.Since(start)
	mustContain(t, "stderr", r.Stderr, "ResourceGraphDefinition/e2e-rejected-by-kro", "GraphAccepted=False", "CELOmitFunction")
	if took > 60*time.Second {
		t.Errorf("rejection took %s: should fail fast, not wait for the 2m timeout", took)
	}
	t.Logf("KRO's rejection reported after %s", took.Round(time.Millisecond))
	// KRO never served the kind, so the instance cannot have been written.
	crd := schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}
	if get(t, crd, "", "rejectedbykros.e2e.typekro.dev") != nil {
		t.Error("KRO created the CRD of a graph it rejected")
	}
}
