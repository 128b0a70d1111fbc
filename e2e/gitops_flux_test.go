package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/pkg/apis/kustomize"
	fluxcel "github.com/fluxcd/pkg/runtime/cel"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
)

// A composition of its own (kind and RGD name used by no other test), so it
// cannot collide with the examples' RGDs while tests run.
const fluxComposition = `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata:
  name: e2e-gitops-flux
spec:
  apiVersion: example.com/v1alpha1
  kind: GitopsFluxApp
  schema:
    spec:
      name: string | required=true
      image: string | default="nginx:1.27"
      replicas: integer | default=1
    status:
      # ${...} here is why the RGD must not go through Flux's postBuild substitution.
      url: ${"http://" + service.spec.clusterIP}
  resources:
    - id: deployment
      Deployment:
        name: ${schema.spec.name}
        image: ${schema.spec.image}
        replicas: ${schema.spec.replicas}
        ports: [80]
    - id: service
      Service:
        name: ${schema.spec.name}
        selector:
          app: ${schema.spec.name}
        ports:
          - port: 80
            targetPort: 80
`

const fluxInstances = `apiVersion: example.com/v1alpha1
kind: GitopsFluxApp
metadata:
  name: shop
spec:
  name: shop
  replicas: 2
---
apiVersion: example.com/v1alpha1
kind: GitopsFluxApp
metadata:
  name: blog
spec:
  name: blog
`

// fluxKustomization is the part of a Flux Kustomization the test reads.
type fluxKustomization struct {
	Metadata struct{ Name, Namespace string }
	Spec     struct {
		Path             string
		Wait             bool
		DependsOn        []struct{ Name string }
		SourceRef        struct{ Kind, Name string }
		HealthCheckExprs []kustomize.CustomHealthCheck
	}
}

// TestGitOpsFluxTree renders the Flux tree, checks it is kept honest by
// render --check, then applies its two layers in the order Flux would
// (definitions, wait until healthy, then instances) to the real cluster and
// waits on every object with the layer's own healthCheckExprs, evaluated by
// Flux's CEL status evaluator (fluxcd/pkg/runtime/cel, what
// kustomize-controller runs), and checks KRO made the instances ACTIVE.
func TestGitOpsFluxTree(t *testing.T) {
	c := e2eutil.Clients(t)
	ns := e2eutil.Namespace(t)

	repo := t.TempDir()
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(repo, "src"), "composition.yaml", fluxComposition)
	writeFile(t, filepath.Join(repo, "src"), "instances.yaml", fluxInstances)
	out := filepath.Join(repo, "clusters", "e2e", "shop")
	render := func(extra ...string) e2eutil.Result {
		args := append([]string{"render", "--target", "flux", "--flux-source", "platform", "-n", ns, "--output-dir", out, filepath.Join(repo, "src")}, extra...)
		return e2eutil.Run(t, e2eutil.Cmd{Bin: e2eutil.TypekroBin(t), Args: args})
	}
	if r := render(); r.ExitCode != 0 {
		t.Fatalf("render --target flux: exit %d\n%s", r.ExitCode, r.Stderr)
	}
	if r := render("--check"); r.ExitCode != 0 {
		t.Fatalf("render --check right after render: exit %d\n%s", r.ExitCode, r.Stderr)
	}
	rgdFile := filepath.Join(out, "definitions", "rgds", "e2e-gitops-flux.yaml")
	orig, err := os.ReadFile(rgdFile)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Dir(rgdFile), filepath.Base(rgdFile), string(orig)+"# edited by hand\n")
	if r := render("--check"); r.ExitCode != 1 || !strings.Contains(r.Stderr, "definitions/rgds/e2e-gitops-flux.yaml") {
		t.Fatalf("render --check after a hand edit: exit %d, want 1 naming the file\n%s", r.ExitCode, r.Stderr)
	}
	// render never overwrites a hand edit: it refuses, naming the file,
	// until the edit is undone (here: the file removed).
	if r := render(); r.ExitCode != 2 || !strings.Contains(r.Stderr, "definitions/rgds/e2e-gitops-flux.yaml: was changed since typekro wrote it") {
		t.Fatalf("render over a hand edit: exit %d, want 2 naming the file\n%s", r.ExitCode, r.Stderr)
	}
	if err := os.Remove(rgdFile); err != nil {
		t.Fatal(err)
	}
	if r := render(); r.ExitCode != 0 {
		t.Fatalf("render: exit %d\n%s", r.ExitCode, r.Stderr)
	}

	defs := readFluxKustomization(t, filepath.Join(out, "flux", "definitions.yaml"))
	insts := readFluxKustomization(t, filepath.Join(out, "flux", "instances.yaml"))
	if defs.Spec.Path != "./clusters/e2e/shop/definitions" || insts.Spec.Path != "./clusters/e2e/shop/instances" ||
		defs.Spec.SourceRef.Name != "platform" || !defs.Spec.Wait || !insts.Spec.Wait ||
		len(insts.Spec.DependsOn) != 1 || insts.Spec.DependsOn[0].Name != defs.Metadata.Name {
		t.Fatalf("Flux Kustomizations:\n%+v\n%+v", defs, insts)
	}

	// The layers have no kustomization.yaml (kustomize-controller generates
	// one from the files there); the instance layer has a Namespace for the
	// instances' namespace, which Flux must never prune.
	for _, layer := range []string{"definitions", "instances"} {
		if _, err := os.Stat(filepath.Join(out, layer, "kustomization.yaml")); err == nil {
			t.Errorf("%s/kustomization.yaml written: a file deleted by hand would break Flux's build", layer)
		}
	}
	nsObj, err := os.ReadFile(filepath.Join(out, "instances", "namespaces", ns+".yaml"))
	if err != nil || !strings.Contains(string(nsObj), "kustomize.toolkit.fluxcd.io/prune: disabled") {
		t.Errorf("instance layer Namespace %s: %v\n%s", ns, err, nsObj)
	}

	// Clean up in reverse order: instances (KRO removes what they made), then the RGD.
	deleteLayerAtEnd(t, filepath.Join(out, "definitions"))
	deleteLayerAtEnd(t, filepath.Join(out, "instances"))

	// As kustomize-controller applies a layer: every manifest under it,
	// Namespaces (and CRDs) first.
	applyLayer := func(layer string) {
		t.Helper()
		for _, dir := range layerDirs(t, filepath.Join(out, layer), true) {
			r := e2eutil.Run(t, e2eutil.Cmd{Bin: e2eutil.KubectlBin(t), Args: []string{"apply", "--server-side", "--field-manager", "kustomize-controller", "-R", "-f", dir}})
			if r.ExitCode != 0 {
				t.Fatalf("apply %s: exit %d\n%s%s", dir, r.ExitCode, r.Stdout, r.Stderr)
			}
		}
	}

	start := time.Now()
	applyLayer("definitions")
	rgd := waitHealthy(t, c, defs, e2eutil.RGDGVK, "", "e2e-gitops-flux")
	if rgd.GetAnnotations()["kustomize.toolkit.fluxcd.io/substitute"] != "disabled" {
		t.Errorf("live RGD lacks kustomize.toolkit.fluxcd.io/substitute: disabled: %v", rgd.GetAnnotations())
	}
	t.Logf("definitions layer healthy in %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	applyLayer("instances")
	gvk := schema.GroupVersionKind{Group: "example.com", Version: "v1alpha1", Kind: "GitopsFluxApp"}
	for _, name := range []string{"shop", "blog"} {
		inst := waitHealthy(t, c, insts, gvk, ns, name)
		if got, _, _ := unstructured.NestedString(inst.Object, "status", "state"); got != "ACTIVE" {
			t.Errorf("%s: state %q", name, got)
		}
	}
	t.Logf("instances layer healthy in %s", time.Since(start).Round(time.Millisecond))
	if d := get(t, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, ns, "shop"); d == nil {
		t.Error("KRO did not create the shop Deployment")
	}
}

func readFluxKustomization(t *testing.T, path string) fluxKustomization {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var k fluxKustomization
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	return k
}

// waitHealthy waits until Flux's CEL evaluator, with the Kustomization's
// healthCheckExprs for the object's kind, says Current; Failed fails the test.
func waitHealthy(t *testing.T, c *e2eutil.ClientSet, k fluxKustomization, gvk schema.GroupVersionKind, ns, name string) *unstructured.Unstructured {
	t.Helper()
	var eval *fluxcel.StatusEvaluator
	for _, hc := range k.Spec.HealthCheckExprs {
		if hc.APIVersion == gvk.GroupVersion().String() && hc.Kind == gvk.Kind {
			e, err := fluxcel.NewStatusEvaluator(&hc.HealthCheckExpressions)
			if err != nil {
				t.Fatalf("%s healthCheckExprs for %s: %v", k.Metadata.Name, gvk.Kind, err)
			}
			eval = e
		}
	}
	if eval == nil {
		t.Fatalf("%s has no healthCheckExprs for %s", k.Metadata.Name, gvk)
	}
	return e2eutil.WaitForObject(t, c.ResourceFor(t, gvk, ns), name, 3*time.Minute, func(obj *unstructured.Unstructured) (bool, error) {
		if obj == nil {
			return false, nil
		}
		res, err := eval.Evaluate(context.Background(), obj)
		if err != nil {
			// An expression that cannot be evaluated yet (KRO has not
			// written a status) is polled again, as Flux polls.
			return false, nil
		}
		if res.Status == status.FailedStatus {
			return false, fmt.Errorf("%s %s/%s: Flux health check says Failed: %v", gvk.Kind, ns, name, obj.Object["status"])
		}
		return res.Status == status.CurrentStatus, nil
	})
}

// layerDirs lists a layer's subdirectories, namespaces/ and crds/ first as
// kustomize-controller's staged apply orders them; withNamespaces false
// leaves namespaces/ out.
func layerDirs(t *testing.T, layer string, withNamespaces bool) []string {
	t.Helper()
	entries, err := os.ReadDir(layer)
	if err != nil {
		t.Fatal(err)
	}
	var first, rest []string
	for _, e := range entries {
		switch {
		case !e.IsDir():
		case e.Name() == "namespaces" || e.Name() == "crds":
			if withNamespaces || e.Name() != "namespaces" {
				first = append(first, filepath.Join(layer, e.Name()))
			}
		default:
			rest = append(rest, filepath.Join(layer, e.Name()))
		}
	}
	return append(first, rest...)
}

// deleteLayerAtEnd deletes a layer's objects when the test ends (cleanups
// run LIFO), except its Namespaces, which carry prune: disabled (the test
// namespace has its own cleanup). Not e2eutil.Run: t.Context() is cancelled
// while cleanups run.
func deleteLayerAtEnd(t *testing.T, layer string) {
	kubectl := e2eutil.KubectlBin(t)
	dirs := layerDirs(t, layer, false)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for _, dir := range dirs {
			out, err := exec.CommandContext(ctx, kubectl, "delete", "--ignore-not-found", "--wait", "--timeout", "90s", "-R", "-f", dir).CombinedOutput()
			if err != nil {
				t.Errorf("cleanup: kubectl delete -R -f %s: %v\n%s", dir, err, out)
			}
		}
	})
}
