package e2e

import (
	"context"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	crdGVK       = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}
	kroCRDs      = []string{"resourcegraphdefinitions.kro.run", "graphrevisions.internal.kro.run"}
	bootstrapNS  = "kro-system"
	bootstrapDep = "kro"
)

// TestBootstrap installs KRO's chart into the test cluster, which already
// runs a KRO controller as a process and has KRO's CRDs (the harness
// applied them from the same chart): the CRDs stay as they are, the
// controller Deployment is created in kro-system and kwok makes it
// Available. The second controller's pods are fake (kwok runs nothing), so
// they never compete with the real controller. The test removes what it
// installed, but never the harness's CRDs (--keep-crds).
func TestBootstrap(t *testing.T) {
	if d := get(t, deploymentGVK, bootstrapNS, bootstrapDep); d != nil {
		t.Fatalf("deployment %s/%s exists before the test: a KRO bootstrapped by someone else would be uninstalled at the end", bootstrapNS, bootstrapDep)
	}
	gens := map[string]int64{}
	for _, n := range kroCRDs {
		crd := get(t, crdGVK, "", n)
		if crd == nil {
			t.Fatalf("the harness did not install CRD %s", n)
		}
		gens[n] = crd.GetGeneration()
	}

	// What bootstrap applies is the embedded helm template output with
	// the chart's default values, plus the Namespace.
	rendered := e2eutil.Objects(t, typekro(t, 0, "bootstrap", "--render").Stdout)
	text, err := os.ReadFile("../pkg/bootstrap/kro-v0.9.4.yaml")
	if err != nil {
		t.Fatal(err)
	}
	helm := e2eutil.Objects(t, string(text))
	var withoutNS []*unstructured.Unstructured
	for _, o := range rendered {
		if o.GetKind() != "Namespace" {
			withoutNS = append(withoutNS, o)
		}
	}
	if len(withoutNS) != len(helm) {
		t.Fatalf("bootstrap --render: %d objects besides the Namespace, helm template: %d", len(withoutNS), len(helm))
	}
	byName := map[string]*unstructured.Unstructured{}
	for _, o := range helm {
		byName[o.GetKind()+"/"+o.GetName()] = o
	}
	for _, o := range withoutNS {
		if h := byName[o.GetKind()+"/"+o.GetName()]; h == nil || !reflect.DeepEqual(h.Object, o.Object) {
			t.Errorf("bootstrap --render's %s/%s differs from helm template's", o.GetKind(), o.GetName())
		}
	}

	bootstrapUninstallAtEnd(t)

	// A server-side dry run stores nothing.
	r := typekro(t, 0, "bootstrap", "--dry-run=server")
	mustContain(t, "dry run", r.Stdout, "namespace/kro-system created (server dry run)", "deployment.apps/kro -n kro-system created (server dry run)")
	if get(t, deploymentGVK, bootstrapNS, bootstrapDep) != nil {
		t.Fatal("--dry-run=server created the Deployment")
	}

	start := time.Now()
	r = typekro(t, 0, "bootstrap", "--timeout", "3m")
	t.Logf("bootstrap to Available: %s", time.Since(start).Round(time.Millisecond))
	mustContain(t, "bootstrap stdout", r.Stdout,
		"namespace/kro-system created",
		"serviceaccount/kro -n kro-system created",
		"clusterrolebinding.rbac.authorization.k8s.io/kro-cluster-role-binding created",
		"deployment.apps/kro -n kro-system created",
		"KRO: 0.9.4 installed as deployment.apps/kro -n kro-system, Available; matches the version typekro validates against (v0.9.4)")
	mustContain(t, "bootstrap stderr", r.Stderr, "customresourcedefinition.apiextensions.k8s.io/resourcegraphdefinitions.kro.run: Established",
		"deployment.apps/kro -n kro-system: Available")
	for _, n := range kroCRDs {
		// Same chart, same CRD: the spec did not change.
		if !regexp.MustCompile(`(?m)^customresourcedefinition\.apiextensions\.k8s\.io/` + regexp.QuoteMeta(n) + ` (configured|unchanged)$`).MatchString(r.Stdout) {
			t.Errorf("CRD %s not reported configured/unchanged:\n%s", n, r.Stdout)
		}
		if g := get(t, crdGVK, "", n).GetGeneration(); g != gens[n] {
			t.Errorf("CRD %s: generation %d → %d: bootstrap changed the harness's CRD", n, gens[n], g)
		}
	}
	d := get(t, deploymentGVK, bootstrapNS, bootstrapDep)
	if d == nil || e2eutil.Condition(d, "Available") != "True" {
		t.Fatalf("Deployment not Available after bootstrap returned: %v", d)
	}

	// Re-running changes nothing.
	r = typekro(t, 0, "bootstrap", "--timeout", "1m")
	for _, l := range changeLines(r.Stdout) {
		if strings.HasPrefix(l, "KRO: ") {
			continue
		}
		if !strings.HasSuffix(l, " unchanged") {
			t.Errorf("second bootstrap changed something: %s", l)
		}
	}

	// status without arguments reports the installation.
	r = typekro(t, 0, "status")
	mustContain(t, "status", r.Stdout, "KRO: 0.9.4 installed as deployment.apps/kro -n kro-system, Available; matches the version typekro validates against (v0.9.4)")

	// With an RGD in the cluster, uninstalling KRO's CRDs (which would
	// delete every RGD) is refused; nothing is deleted.
	e2eutil.Clients(t).ApplyYAML(t, "", bootstrapGuardRGD)
	t.Cleanup(func() {
		deleteCluster(t, e2eutil.RGDGVR, "bootstrap-guard")
		deleteCluster(t, crdGVR, "bootstrapguards.kro.run")
	})
	r = typekro(t, 1, "bootstrap", "--uninstall")
	mustContain(t, "uninstall refusal", r.Stderr, "refusing to uninstall KRO", "bootstrap-guard")
	if get(t, deploymentGVK, bootstrapNS, bootstrapDep) == nil {
		t.Error("the refused uninstall deleted the Deployment")
	}
}

const bootstrapGuardRGD = `apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: bootstrap-guard
spec:
  schema:
    apiVersion: v1alpha1
    kind: BootstrapGuard
    spec:
      name: string
  resources:
  - id: cm
    template:
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: ${schema.spec.name}
`

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// deleteCluster deletes a cluster-scoped object in a cleanup (t.Context()
// is already cancelled then).
func deleteCluster(t *testing.T, gvr schema.GroupVersionResource, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := e2eutil.Clients(t).Dynamic.Resource(gvr).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("cleanup: delete %s %s: %v", gvr.Resource, name, err)
	}
}

// bootstrapUninstallAtEnd removes what the test bootstrapped, never the
// harness's CRDs, and checks that it did. Not e2eutil.Run or get: they use
// t.Context(), which is cancelled while cleanups run.
func bootstrapUninstallAtEnd(t *testing.T) {
	bin := e2eutil.TypekroBin(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		args := []string{"bootstrap", "--uninstall", "--keep-crds", "--timeout", "2m"}
		if out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil {
			t.Errorf("cleanup: typekro %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		dyn := e2eutil.Clients(t).Dynamic
		if _, err := dyn.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).Namespace(bootstrapNS).Get(ctx, bootstrapDep, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("cleanup: deployment %s/%s still there after --uninstall (err %v)", bootstrapNS, bootstrapDep, err)
		}
		for _, n := range kroCRDs {
			if _, err := dyn.Resource(crdGVR).Get(ctx, n, metav1.GetOptions{}); err != nil {
				t.Errorf("cleanup: the harness's CRD %s after --uninstall --keep-crds: %v", n, err)
			}
		}
	})
}
