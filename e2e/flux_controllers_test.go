package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
)

// The tests in this file run the README's Flux walkthrough against Flux's
// own source-controller and kustomize-controller (v1.9.6, started by the
// cluster harness) and the real KRO controller: a Git repository served over
// smart HTTP from the test process holds what `kubectl typekro render
// --target flux` and `kubectl typekro bootstrap --target flux` write, and
// every change reaches the cluster through a commit. Each test has its own
// Composition kind, RGD, namespace, GitRepository and Kustomization names,
// so they run in parallel with each other and with any other test.

// fluxWalkComposition is the walkthrough's app. tierField is replaced to
// add a schema field (an RGD change).
const fluxWalkComposition = `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata:
  name: e2e-flux-walk
spec:
  apiVersion: example.com/v1alpha1
  kind: FluxWalkApp
  schema:
    spec:
      name: string | required=true
      image: string | default="nginx:1.27"
      replicas: integer | default=1
      # tierField
    status:
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

func fluxWalkInstance(name string, replicas int) string {
	return fmt.Sprintf("apiVersion: example.com/v1alpha1\nkind: FluxWalkApp\nmetadata:\n  name: %s\nspec:\n  name: %s\n  replicas: %d\n", name, name, replicas)
}

var (
	fluxWalkGVK    = schema.GroupVersionKind{Group: "example.com", Version: "v1alpha1", Kind: "FluxWalkApp"}
	fluxWalkCRD    = "fluxwalkapps.example.com"
	fluxWalkSource = "e2e-flux-walk"
)

// TestFluxControllersWalkthrough is the README's Flux walkthrough, command
// for command: bootstrap KRO's Flux tree, render the app's tree, check it
// (CI), commit, and let Flux reconcile; then one commit per change: an
// instance's spec, a change a ResourceQuota holds back, an RGD change, an
// instance removed. At every point Flux calls a layer Ready, the cluster is
// checked to be what Ready promises (waitFluxReady's invariants).
func TestFluxControllersWalkthrough(t *testing.T) {
	t.Parallel()
	c := requireFlux(t)
	ns := e2eutil.Namespace(t)
	repo := newServedRepo(t)
	run := func(want int, args ...string) e2eutil.Result {
		t.Helper()
		return typekroIn(t, repo.Dir, want, args...)
	}
	// The walkthrough's commands (README "Flux"), with the test's
	// GitRepository as source and the test namespace for the instances.
	render := []string{"render", "--target", "flux", "--flux-source", fluxWalkSource, "-n", ns,
		"--output-dir", "clusters/e2e/flux-walk", "apps/flux-walk"}
	check := append(append([]string(nil), render...), "--check")
	writeApp := func(composition string, instances ...string) {
		writeFile(t, filepath.Join(repo.Dir, "apps", "flux-walk"), "composition.yaml", composition)
		writeFile(t, filepath.Join(repo.Dir, "apps", "flux-walk"), "instances.yaml", strings.Join(instances, "---\n"))
	}

	// KRO's tree: Flux installs its Deployment, whose pod kwok fakes; the
	// KRO that reconciles is the harness's process, with the same CRDs.
	// Its Namespace is never pruned (prune: disabled); when this test made
	// it, it goes at the end (after the root's pruning, cleanups are LIFO),
	// so TestBootstrap finds the cluster as before on a later run.
	if !namespaceExists(t, "kro-system") {
		deleteNamespacesAtEnd(t, "kro-system")
	}
	run(0, "bootstrap", "--output-dir", "clusters/e2e/kro", "--target", "flux", "--flux-source", fluxWalkSource)
	writeApp(fluxWalkComposition, fluxWalkInstance("shop", 2), fluxWalkInstance("blog", 1))
	run(0, render...)
	run(0, check...)
	rev, pushed := repo.commit("kro and the flux-walk app")

	// What `flux bootstrap` creates for a real repository: the source and a
	// Kustomization syncing the cluster's directory (which applies the Flux
	// Kustomizations that bootstrap and render wrote).
	source := fluxObject{gitRepositoryGVK, fluxWalkSource}
	root := fluxObject{fluxKustomizationGVK, fluxWalkSource}
	kroKs := fluxObject{fluxKustomizationGVK, "kro"}
	defs := fluxObject{fluxKustomizationGVK, "flux-walk-definitions"}
	insts := fluxObject{fluxKustomizationGVK, "flux-walk-instances"}
	c.ApplyYAML(t, "", gitRepositoryYAML(source.name, repo.URL))
	c.ApplyYAML(t, "", fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: %s
  namespace: %s
spec:
  interval: 10m
  path: ./clusters/e2e
  prune: true
  sourceRef:
    kind: GitRepository
    name: %s
`, root.name, fluxNamespace, source.name))
	// Cleanups run LIFO: the instances layer goes first (KRO deletes what
	// the instances made while their RGD still exists), then the root,
	// whose pruning deletes the other Kustomizations and so the RGD and
	// KRO's Deployment (CRDs and Namespaces are marked prune: disabled).
	t.Cleanup(func() { deleteFluxObject(t, c, source) })
	t.Cleanup(func() {
		deleteFluxObject(t, c, root)
		// The root's pruning removed the other Kustomizations and theirs
		// the RGD: nothing is left for a later run to trip over.
		for _, o := range []fluxObject{defs, kroKs} {
			waitFluxGoneAtEnd(t, c, o)
		}
		waitRGDGoneAtEnd(t, c, "e2e-flux-walk", fluxWalkCRD)
	})
	// The root is not suspended for this: Flux does not prune when it
	// deletes a suspended Kustomization. Nothing makes the root reconcile
	// (and re-create the instances layer) in between: no commit, no change.
	t.Cleanup(func() {
		deleteFluxObject(t, c, insts)
		waitGoneAtEnd(t, c, fluxWalkGVK, ns)
	})

	var lifted time.Time
	logSince := func(what string, since time.Time, at time.Time) {
		after := "the commit"
		if since.Equal(lifted) {
			after = "the quota was lifted"
		}
		t.Logf("reconcile time: %s %s after %s", what, at.Sub(since).Round(10*time.Millisecond), after)
	}
	logSince("source Ready", pushed, waitFluxReady(t, c, source, rev, 2*time.Minute, nil))
	logSince("kro (bootstrap --target flux) Ready", pushed, waitFluxReady(t, c, kroKs, rev, 3*time.Minute, nil))
	logSince("definitions Ready", pushed, waitFluxReady(t, c, defs, rev, 3*time.Minute, rgdActive(t, c, "e2e-flux-walk")))
	logSince("instances Ready", pushed, waitFluxReady(t, c, insts, rev, 4*time.Minute, instancesReady(t, c, ns, map[string]int64{"shop": 2, "blog": 1})))

	// A commit changing an instance's spec rolls through.
	writeApp(fluxWalkComposition, fluxWalkInstance("shop", 3), fluxWalkInstance("blog", 1))
	run(0, render...)
	rev, pushed = repo.commit("shop: 3 replicas")
	requestReconcile(t, c, source)
	logSince("instances Ready (spec change)", pushed, waitFluxReady(t, c, insts, rev, 4*time.Minute, instancesReady(t, c, ns, map[string]int64{"shop": 3, "blog": 1})))

	// A change that cannot become ready: the quota admits the 4 pods that
	// run, so shop cannot scale to 5. The instances layer must not turn
	// Ready while KRO reports the instance not Ready for the new generation.
	c.ApplyYAML(t, ns, "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: pods\nspec:\n  hard:\n    pods: \"4\"\n")
	writeApp(fluxWalkComposition, fluxWalkInstance("shop", 5), fluxWalkInstance("blog", 1))
	run(0, render...)
	rev, pushed = repo.commit("shop: 5 replicas (over the quota)")
	requestReconcile(t, c, source)
	e2eutil.WaitForObject(t, c.ResourceFor(t, fluxKustomizationGVK, fluxNamespace), insts.name, 3*time.Minute, func(obj *unstructured.Unstructured) (bool, error) {
		attempted, _, _ := unstructured.NestedString(obj.Object, "status", "lastAttemptedRevision")
		if attempted != rev {
			return false, nil
		}
		if fluxReadyAt(obj, rev) {
			return false, fmt.Errorf("instances Ready at %s although the quota holds shop at 4 of 5 pods", rev)
		}
		return true, nil
	})
	shopGen := e2eutil.WaitForObject(t, c.ResourceFor(t, fluxWalkGVK, ns), "shop", 2*time.Minute, func(obj *unstructured.Unstructured) (bool, error) {
		d := get(t, deploymentGVK, ns, "shop")
		if obj == nil || d == nil {
			return false, nil
		}
		replicas, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
		return replicas == 5 && !readyForGeneration(obj, "Ready"), nil
	})
	t.Logf("held by the quota: shop %s; flux-walk-instances: %s", state(shopGen),
		conditionMessage(get(t, fluxKustomizationGVK, fluxNamespace, insts.name), "Ready"))
	// Lift the quota: only now may the instances layer turn Ready.
	c.ApplyYAML(t, ns, "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: pods\nspec:\n  hard:\n    pods: \"10\"\n")
	lifted = time.Now()
	logSince("instances Ready (quota lifted)", lifted, waitFluxReady(t, c, insts, rev, 5*time.Minute, instancesReady(t, c, ns, map[string]int64{"shop": 5, "blog": 1})))

	// An RGD change: the definitions layer turns Ready only once the CRD
	// serves the new field.
	writeApp(strings.Replace(fluxWalkComposition, "# tierField", `tier: string | default="web"`, 1), fluxWalkInstance("shop", 5), fluxWalkInstance("blog", 1))
	run(0, render...)
	rev, pushed = repo.commit("FluxWalkApp: spec.tier")
	requestReconcile(t, c, source)
	logSince("definitions Ready (RGD change)", pushed, waitFluxReady(t, c, defs, rev, 3*time.Minute, func() error {
		if err := rgdActive(t, c, "e2e-flux-walk")(); err != nil {
			return err
		}
		return crdServesField(t, c, ns, "tier")
	}))
	logSince("instances Ready (RGD change)", pushed, waitFluxReady(t, c, insts, rev, 4*time.Minute, instancesReady(t, c, ns, map[string]int64{"shop": 5, "blog": 1})))

	// A commit removing an instance prunes it (and KRO then deletes what it made).
	writeApp(strings.Replace(fluxWalkComposition, "# tierField", `tier: string | default="web"`, 1), fluxWalkInstance("shop", 5))
	run(0, render...)
	run(0, check...)
	if _, err := os.Stat(filepath.Join(repo.Dir, "clusters", "e2e", "flux-walk", "instances", "instances", ns, "fluxwalkapp-blog.yaml")); err == nil {
		t.Fatal("render left the removed instance's file behind")
	}
	rev, pushed = repo.commit("remove blog")
	requestReconcile(t, c, source)
	logSince("instances Ready (instance removed)", pushed, waitFluxReady(t, c, insts, rev, 4*time.Minute, instancesReady(t, c, ns, map[string]int64{"shop": 5})))
	e2eutil.WaitForObject(t, c.ResourceFor(t, fluxWalkGVK, ns), "blog", 2*time.Minute, func(obj *unstructured.Unstructured) (bool, error) { return obj == nil, nil })
	e2eutil.WaitForObject(t, c.ResourceFor(t, deploymentGVK, ns), "blog", 2*time.Minute, func(obj *unstructured.Unstructured) (bool, error) { return obj == nil, nil })
	logSince("blog and its Deployment pruned", pushed, time.Now())
}

// rgdActive is the definitions layer's invariant: the RGD is Active and
// Ready for its current generation.
func rgdActive(t *testing.T, c *e2eutil.ClientSet, name string) func() error {
	return func() error {
		rgd, err := c.Dynamic.Resource(e2eutil.RGDGVR).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("RGD %s: %w", name, err)
		}
		if state(rgd) != "Active" || !readyForGeneration(rgd, "Ready") {
			return fmt.Errorf("RGD %s is %s at generation %d (Ready: %s)", name, state(rgd), rgd.GetGeneration(), conditionMessage(rgd, "Ready"))
		}
		return nil
	}
}

// instancesReady is the instances layer's invariant: exactly the named
// FluxWalkApps exist, each ACTIVE and Ready for its current generation,
// its Deployment scaled to the wanted replicas, all available.
func instancesReady(t *testing.T, c *e2eutil.ClientSet, ns string, want map[string]int64) func() error {
	return func() error {
		list, err := c.ResourceFor(t, fluxWalkGVK, ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		var errs []error
		seen := map[string]bool{}
		for i := range list.Items {
			inst := &list.Items[i]
			seen[inst.GetName()] = true
			replicas, ok := want[inst.GetName()]
			switch {
			case !ok:
				if inst.GetDeletionTimestamp() == nil {
					errs = append(errs, fmt.Errorf("instance %s still exists", inst.GetName()))
				}
				continue
			case state(inst) != "ACTIVE" || !readyForGeneration(inst, "Ready"):
				errs = append(errs, fmt.Errorf("instance %s is %s at generation %d (Ready: %s)", inst.GetName(), state(inst), inst.GetGeneration(), conditionMessage(inst, "Ready")))
				continue
			}
			d, err := c.ResourceFor(t, deploymentGVK, ns).Get(t.Context(), inst.GetName(), metav1.GetOptions{})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			spec, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
			avail, _, _ := unstructured.NestedInt64(d.Object, "status", "availableReplicas")
			if spec != replicas || avail != replicas {
				errs = append(errs, fmt.Errorf("Deployment %s has %d of %d replicas available, want %d", inst.GetName(), avail, spec, replicas))
			}
		}
		for name := range want {
			if !seen[name] {
				errs = append(errs, fmt.Errorf("instance %s does not exist", name))
			}
		}
		return errors.Join(errs...)
	}
}

// crdServesField reports whether the API server accepts a FluxWalkApp with
// spec.<field> under strict field validation (a dry run): the CRD that KRO
// generates from the RGD serves the new schema.
func crdServesField(t *testing.T, c *e2eutil.ClientSet, ns, field string) error {
	obj := e2eutil.Object(t, fmt.Sprintf("apiVersion: example.com/v1alpha1\nkind: FluxWalkApp\nmetadata:\n  name: probe\n  namespace: %s\nspec:\n  name: probe\n  %s: x\n", ns, field))
	_, err := c.ResourceFor(t, fluxWalkGVK, ns).Create(t.Context(), obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
	if err != nil {
		return fmt.Errorf("the CRD does not serve spec.%s yet: %w", field, err)
	}
	return nil
}

// fluxSubstComposition is the substitution test's app; its RGD is full of
// ${...} that Flux's postBuild substitution must leave alone.
const fluxSubstComposition = `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata:
  name: e2e-flux-subst
spec:
  apiVersion: example.com/v1alpha1
  kind: FluxSubstApp
  schema:
    spec:
      name: string | required=true
      replicas: integer | default=1
    status:
      url: ${"http://" + service.spec.clusterIP}
  resources:
    - id: deployment
      Deployment:
        name: ${schema.spec.name}
        image: nginx:1.27
        replicas: ${schema.spec.replicas}
    - id: service
      Service:
        name: ${schema.spec.name}
        selector:
          app: ${schema.spec.name}
        ports:
          - port: 80
`

// TestFluxControllersSubstitution shows why render marks RGDs
// kustomize.toolkit.fluxcd.io/substitute: disabled: the rendered definitions
// Kustomization with a postBuild.substitute (as users add for cluster
// variables) applies the RGD with KRO's ${...} intact and KRO accepts it,
// while the same RGD without the annotation (another name and kind) is
// mangled by the substitution. Then a breaking RGD change committed to the
// repository (a field's type changed by hand in the rendered RGD): what KRO
// and Flux report, and that the CI check (render --check) fails first.
func TestFluxControllersSubstitution(t *testing.T) {
	t.Parallel()
	c := requireFlux(t)
	ns := e2eutil.Namespace(t)
	repo := newServedRepo(t)
	run := func(want int, args ...string) e2eutil.Result {
		t.Helper()
		return typekroIn(t, repo.Dir, want, args...)
	}
	const out = "clusters/e2e-subst/flux-subst"
	render := []string{"render", "--target", "flux", "--flux-source", "e2e-flux-subst", "-n", ns, "--output-dir", out, "apps/flux-subst"}
	writeFile(t, filepath.Join(repo.Dir, "apps", "flux-subst"), "composition.yaml", fluxSubstComposition)
	writeFile(t, filepath.Join(repo.Dir, "apps", "flux-subst"), "instances.yaml",
		"apiVersion: example.com/v1alpha1\nkind: FluxSubstApp\nmetadata:\n  name: web\nspec:\n  name: web\n  replicas: 2\n")
	run(0, render...)
	rgdFile := filepath.Join(repo.Dir, out, "definitions", "rgds", "e2e-flux-subst.yaml")
	rendered, err := os.ReadFile(rgdFile)
	if err != nil {
		t.Fatal(err)
	}
	const annotation = "kustomize.toolkit.fluxcd.io/substitute: disabled"
	if !strings.Contains(string(rendered), annotation) {
		t.Fatalf("rendered RGD lacks %s:\n%s", annotation, rendered)
	}
	// The same RGD without the annotation, under another name and kind.
	bare := strings.ReplaceAll(string(rendered), "    "+annotation+"\n", "")
	bare = strings.ReplaceAll(bare, "e2e-flux-subst", "e2e-flux-nosubst")
	bare = strings.ReplaceAll(bare, "FluxSubstApp", "FluxNoSubstApp")
	if strings.Contains(bare, annotation) {
		t.Fatalf("could not remove the annotation from:\n%s", rendered)
	}
	writeFile(t, filepath.Join(repo.Dir, "nosubst"), "rgd.yaml", bare)
	rev, pushed := repo.commit("flux-subst definitions, and a copy without the substitute annotation")

	source := fluxObject{gitRepositoryGVK, "e2e-flux-subst"}
	c.ApplyYAML(t, "", gitRepositoryYAML(source.name, repo.URL))
	t.Cleanup(func() { deleteFluxObject(t, c, source) })
	// The rendered definitions Kustomization plus a user's postBuild
	// substitution; the health-check timeout is shortened from 5m so the
	// breaking change below is reported within the test.
	defsObj := e2eutil.Object(t, readFile(t, filepath.Join(repo.Dir, out, "flux", "definitions.yaml")))
	must(t, unstructured.SetNestedStringMap(defsObj.Object, map[string]string{"cluster_name": "e2e"}, "spec", "postBuild", "substitute"))
	must(t, unstructured.SetNestedField(defsObj.Object, "1m", "spec", "timeout"))
	defs := fluxObject{fluxKustomizationGVK, defsObj.GetName()}
	c.Apply(t, defsObj)
	t.Cleanup(func() {
		deleteFluxObject(t, c, defs)
		waitRGDGoneAtEnd(t, c, "e2e-flux-subst", "fluxsubstapps.example.com")
	})
	nosubst := fluxObject{fluxKustomizationGVK, "e2e-flux-nosubst"}
	c.ApplyYAML(t, "", fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: %s
  namespace: %s
spec:
  interval: 10m
  path: ./nosubst
  prune: true
  sourceRef:
    kind: GitRepository
    name: %s
  postBuild:
    substitute:
      cluster_name: e2e
`, nosubst.name, fluxNamespace, source.name))
	t.Cleanup(func() { deleteFluxObject(t, c, nosubst) })

	t.Logf("reconcile time: definitions with postBuild.substitute Ready %s after the commit",
		waitFluxReady(t, c, defs, rev, 3*time.Minute, rgdActive(t, c, "e2e-flux-subst")).Sub(pushed).Round(10*time.Millisecond))
	live := getRGD(t, "e2e-flux-subst")
	if url, _, _ := unstructured.NestedString(live.Object, "spec", "schema", "status", "url"); url != `${"http://" + service.spec.clusterIP}` {
		t.Errorf("live RGD e2e-flux-subst: status.url %q, Flux's substitution changed it", url)
	}
	for _, expr := range []string{"name: ${schema.spec.name}", "replicas: ${schema.spec.replicas}"} {
		if b, _ := yaml.Marshal(live.Object["spec"]); !strings.Contains(string(b), expr) {
			t.Errorf("live RGD e2e-flux-subst lost %q to Flux's substitution", expr)
		}
	}

	// Without the annotation: what Flux makes of the same RGD.
	noSubstObj := e2eutil.WaitForObject(t, c.ResourceFor(t, fluxKustomizationGVK, fluxNamespace), nosubst.name, 3*time.Minute, func(obj *unstructured.Unstructured) (bool, error) {
		if obj == nil {
			return false, nil
		}
		attempted, _, _ := unstructured.NestedString(obj.Object, "status", "lastAttemptedRevision")
		ready := e2eutil.Condition(obj, "Ready")
		return attempted == rev && (ready == "True" || ready == "False"), nil
	})
	t.Logf("without the annotation: %s: %s", nosubst.name, conditionMessage(noSubstObj, "Ready"))
	checkNoSubst(t, noSubstObj)

	// A breaking change committed by hand: a required field added to the
	// rendered RGD (the source was not changed, so CI's render would not
	// have produced it). KRO refuses to update the CRD; Flux applied the RGD
	// and then reports the health check.
	broken := strings.Replace(string(rendered), "      name: string | required=true\n",
		"      name: string | required=true\n      owner: string | required=true\n", 1)
	if broken == string(rendered) {
		t.Fatalf("schema line not found in the rendered RGD:\n%s", rendered)
	}
	writeFile(t, filepath.Dir(rgdFile), filepath.Base(rgdFile), broken)
	// The CI checks fail first: render --check names the hand-edited file,
	// and validate --against the last commit reports KRO's verdict on the
	// schema change (the committed tree is the input).
	r := run(1, append(render, "--check")...)
	mustContain(t, "render --check on the hand-edited tree", r.Stderr, "definitions/rgds/e2e-flux-subst.yaml")
	r = run(1, "validate", out+"/definitions", "--against", "HEAD")
	mustContain(t, "validate --against HEAD on the hand-edited tree", r.Stdout, "definitions/rgds/e2e-flux-subst.yaml", "spec.owner", "BREAKING")
	// ...and the same change made in the source fails to render at all: the
	// committed instance lacks the new required field.
	writeFile(t, filepath.Join(repo.Dir, "apps", "flux-subst"), "composition.yaml",
		strings.Replace(fluxSubstComposition, "      name: string | required=true\n", "      name: string | required=true\n      owner: string | required=true\n", 1))
	r = run(1, append(render, "--check")...)
	mustContain(t, "render --check with the breaking change in the source", r.Stderr, "instances.yaml", "owner")
	writeFile(t, filepath.Join(repo.Dir, "apps", "flux-subst"), "composition.yaml", fluxSubstComposition)

	rev, pushed = repo.commit("breaking: FluxSubstApp spec.owner required (hand edit)")
	requestReconcile(t, c, source)
	// KRO refuses to update the CRD: KindReady turns False for the new
	// generation, and the RGD never becomes Ready for it.
	rgd := e2eutil.WaitForObject(t, c.Dynamic.Resource(e2eutil.RGDGVR), "e2e-flux-subst", 3*time.Minute, func(obj *unstructured.Unstructured) (bool, error) {
		if obj == nil {
			return false, nil
		}
		if owner, _, _ := unstructured.NestedString(obj.Object, "spec", "schema", "spec", "owner"); owner == "" {
			return false, nil // Flux has not applied the change yet
		}
		if readyForGeneration(obj, "Ready") {
			return false, fmt.Errorf("RGD Ready with the breaking change: %v", obj.Object["status"])
		}
		return e2eutil.Condition(obj, "KindReady") == "False" && conditionObservedGeneration(obj, "KindReady") == obj.GetGeneration(), nil
	})
	t.Logf("KRO on the breaking change: state %s; KindReady: %s; Ready: %s", state(rgd), conditionMessage(rgd, "KindReady"), conditionMessage(rgd, "Ready"))
	mustContain(t, "KRO's KindReady condition", conditionMessage(rgd, "KindReady"), "breaking changes detected", "owner")
	ks := e2eutil.WaitForObject(t, c.ResourceFor(t, fluxKustomizationGVK, fluxNamespace), defs.name, 3*time.Minute, func(obj *unstructured.Unstructured) (bool, error) {
		if obj == nil {
			return false, nil
		}
		attempted, _, _ := unstructured.NestedString(obj.Object, "status", "lastAttemptedRevision")
		return attempted == rev && e2eutil.Condition(obj, "Ready") == "False", nil
	})
	t.Logf("Flux on the breaking change (%s after the commit): %s: %s", time.Since(pushed).Round(10*time.Millisecond), defs.name, conditionMessage(ks, "Ready"))
	// The rendered failed expression looks at GraphAccepted, which stays
	// True here, so Flux reports the refusal only when spec.timeout ends.
	mustContain(t, defs.name+"'s Ready condition", conditionMessage(ks, "Ready"), "HealthCheckFailed", "ResourceGraphDefinition/e2e-flux-subst")
	crd, err := c.Dynamic.Resource(crdGVR).Get(t.Context(), "fluxsubstapps.example.com", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	if len(versions) != 1 {
		t.Fatalf("CRD fluxsubstapps.example.com has %d versions", len(versions))
	}
	if _, found, _ := unstructured.NestedMap(versions[0].(map[string]any), "schema", "openAPIV3Schema", "properties", "spec", "properties", "owner"); found {
		t.Errorf("KRO applied the breaking change to the CRD fluxsubstapps.example.com")
	}
}

// conditionObservedGeneration returns the observedGeneration of condType, -1 when absent.
func conditionObservedGeneration(obj *unstructured.Unstructured, condType string) int64 {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == condType {
			if og, ok := m["observedGeneration"].(int64); ok {
				return og
			}
		}
	}
	return -1
}

// checkNoSubst checks what Flux does with an RGD without the substitute
// annotation: Flux's envsubst fails on KRO's CEL expressions ("missing
// closing brace"), the whole build fails and nothing of the Kustomization
// is applied.
func checkNoSubst(t *testing.T, ks *unstructured.Unstructured) {
	t.Helper()
	mustContain(t, ks.GetName()+"'s Ready condition", conditionMessage(ks, "Ready"), "False BuildFailed", "envsubst error", "e2e-flux-nosubst")
	if live := getRGD(t, "e2e-flux-nosubst"); live != nil {
		t.Errorf("RGD e2e-flux-nosubst applied although the build failed: %v", live.Object["spec"])
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
