package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/kubernetes-sigs/kro/pkg/cel/library"
	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
)

// kroModule is the module whose examples/kubernetes/ the conformance test
// runs; the e2e module requires the version the cluster's controller is
// built from (KRO_VERSION in make/e2e.mk).
const kroModule = "github.com/kubernetes-sigs/kro"

// kroExamplesExcluded are the directories of KRO's examples/kubernetes/
// the conformance test leaves out, with the reason. (KRO's other example
// directories, aws/, azure/, gcp/ and apigateway/, need cloud controllers,
// and graph/ is the experimental Graph API that KRO v0.9.4 does not serve;
// they are not looked at.)
var kroExamplesExcluded = map[string]string{
	"core-dns": "invalid YAML: core-dns.yaml's Deployment spec has a duplicate `selector` key",
}

// conformanceCase is one example directory.
type conformanceCase struct {
	name, src string
}

// conformanceCases: every directory of examples/ and every example of KRO's
// examples/kubernetes/ (a directory with YAML files) but the excluded ones.
// examples/kustomize is read the way typekro reads it (its webapp/
// Composition and instance, without a namespace; the kustomization and the
// TypeKro function config are not inputs): building it with kustomize
// needs the standalone kustomize with exec functions, which the e2e
// environment does not have, and is tested by the gitops tests.
func conformanceCases(t *testing.T) []conformanceCase {
	t.Helper()
	var cases []conformanceCase
	entries, err := os.ReadDir(examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			cases = append(cases, conformanceCase{e.Name(), filepath.Join(examplesDir, e.Name())})
		}
	}
	root := filepath.Join(kroModuleDir(t), "examples", "kubernetes")
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || path == root {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if why, ok := kroExamplesExcluded[rel]; ok {
			t.Logf("KRO example %s excluded: %s", rel, why)
			return filepath.SkipDir
		}
		yamls, _ := filepath.Glob(filepath.Join(path, "*.yaml"))
		if len(yamls) > 0 {
			cases = append(cases, conformanceCase{"kro-" + strings.ReplaceAll(filepath.ToSlash(rel), "/", "-"), path})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// kroModuleDir is the directory of the KRO module in the module cache.
func kroModuleDir(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", kroModule).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -m %s: %v\n%s", kroModule, err, stderr)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatalf("module %s is not downloaded (go mod download %s)", kroModule, kroModule)
	}
	return dir
}

// TestDirectConformance creates the instances of every example through
// the KRO controller and through apply --mode direct, each in its own
// throw-away namespaces (one per namespace the example names), and
// compares every object created for them field by field; render --mode
// direct must match KRO's objects in every field it renders.
//
// The objects are found by KRO's label kro.run/instance-namespace (typekro
// direct mode sets it too) in every listable resource, cluster-scoped or in
// any namespace (saas-multi-tenant's objects are in the namespace it
// creates). Objects of kinds the example defines (instances made by
// instances, e.g. saas-multi-tenant's TenantApplication) exist only in KRO
// mode and are not compared; what they create is.
//
// Per example, the two runs are sequential: KRO mode (apply, snapshot,
// delete, wait until all is gone), then direct mode (apply, snapshot,
// delete --mode direct, wait until all is gone). Examples create
// cluster-scoped objects of fixed names (saas-multi-tenant's Namespace),
// which cannot exist twice. Examples run in parallel unless they define
// the same kind or RGD (KRO's cel-functions and defaults both define
// somethings.kro.run).
func TestDirectConformance(t *testing.T) {
	start := time.Now()
	for _, c := range conformanceCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			conformance(t, c)
		})
	}
	t.Cleanup(func() { t.Logf("all examples in %s", time.Since(start).Round(time.Second)) })
}

// caseLocks serialises examples that define the same kinds or RGDs.
var caseLocks sync.Map

func lockAll(t *testing.T, keys []string) {
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 && keys[i-1] == k {
			continue
		}
		v, _ := caseLocks.LoadOrStore(k, &sync.Mutex{})
		mu := v.(*sync.Mutex)
		mu.Lock()
		t.Cleanup(mu.Unlock) // registered first, runs after every other cleanup
	}
}

func conformance(t *testing.T, c conformanceCase) {
	start := time.Now()
	probe := copyExample(t, c.src, inNamespace("probe"))
	var keys []string
	for gk := range probe.Kinds {
		keys = append(keys, "kind "+gk.String())
	}
	for _, d := range probe.Definitions {
		keys = append(keys, "definition "+d)
	}
	lockAll(t, keys)
	waited := time.Since(start)

	newNS := func(string) string { return e2eutil.Namespace(t) }
	exK, exD := copyExample(t, c.src, newNS), copyExample(t, c.src, newNS)
	if len(exK.Instances) == 0 {
		t.Fatalf("example %s has no instances", c.src)
	}
	nsK, nsD := nsFlag(exK), nsFlag(exD)
	// KRO leaves the CRDs it generated when their RGD is deleted, and
	// refuses to give a kind a new incompatible schema: examples that
	// define the same kind need them gone.
	t.Cleanup(func() { deleteGeneratedCRDs(t, exK) })
	// Runs before the namespaces are deleted: leaves no RGD or
	// cluster-scoped object behind when the test fails half-way.
	typekroDeleteAtEnd(t, nsK, exK.Dir)
	typekroDeleteAtEnd(t, append([]string{"--mode", "direct"}, nsD...), exD.Dir)
	lengths := seededLengths(t, exK.Dir)

	// KRO mode.
	r := runTypekro(t, append([]string{"apply", exK.Dir, "--timeout", "2m"}, nsK...)...)
	if r.ExitCode != 0 {
		t.Fatalf("kro apply: exit %d\n%s\n%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	uidsK := map[string]string{}
	for _, inst := range exK.Instances {
		ns := inst.GetNamespace()
		if ns == "" {
			ns = exK.Namespaces[""]
		}
		live := get(t, inst.GroupVersionKind(), ns, inst.GetName())
		if live == nil {
			t.Fatalf("instance %s %s/%s not found after kro apply", inst.GetKind(), ns, inst.GetName())
		}
		uidsK[string(live.GetUID())] = instanceRef(exK, live)
	}
	kro := settledSnapshot(t, exK, uidsK, lengths)
	if len(kro.objs) == 0 && exK.Resources > 0 {
		t.Fatalf("KRO created nothing for %d instances", len(exK.Instances))
	}
	r = runTypekro(t, append([]string{"delete", exK.Dir, "--timeout", "2m"}, nsK...)...)
	if r.ExitCode != 0 {
		t.Fatalf("kro delete: exit %d\n%s\n%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	waitGone(t, kro)
	deleteGeneratedCRDs(t, exK)

	// render --mode direct == KRO's objects, in every rendered field.
	rendered, nestedRendered := 0, 0
	r = runTypekro(t, append([]string{"render", "--mode", "direct", "--allow-pending", exK.Dir, "-o", "json"}, nsK...)...)
	if r.ExitCode != 0 {
		t.Errorf("render --mode direct: exit %d\n%s", r.ExitCode, r.Stderr)
	} else {
		var list struct{ Items []map[string]any }
		if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil {
			t.Fatalf("render -o json: %v\n%s", err, r.Stdout)
		}
		for _, item := range list.Items {
			u := &unstructured.Unstructured{Object: item}
			if u.GetLabels()["kro.run/instance-name"] == "" {
				continue // not made for an instance (e.g. a CRD of the inputs)
			}
			if _, ok := exK.Kinds[u.GroupVersionKind().GroupKind()]; ok {
				nestedRendered++
				continue
			}
			k := kro.key(u)
			if kro.objs[k] == nil {
				t.Errorf("render: %s not created by KRO", k)
				continue
			}
			rendered++
			var d []string
			subset(k, kro.normalize(u), kro.normalize(kro.objs[k]), &d)
			for _, line := range d {
				t.Errorf("render vs KRO: %s", line)
			}
		}
	}

	// Direct mode.
	r = runTypekro(t, append([]string{"apply", "--mode", "direct", exD.Dir, "--timeout", "2m"}, nsD...)...)
	if r.ExitCode != 0 {
		t.Errorf("direct apply: exit %d\n%s\n%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	// The instance uid of direct mode is the uid of its ApplySet parent.
	uidsD := map[string]string{}
	for _, inst := range exD.Instances {
		ns := inst.GetNamespace()
		if ns == "" {
			ns = exD.Namespaces[""]
		}
		name := "typekro-" + strings.ToLower(inst.GetKind()) + "-" + inst.GetName()
		if cm := get(t, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns, name); cm != nil {
			u := inst.DeepCopy()
			u.SetNamespace(ns)
			uidsD[string(cm.GetUID())] = instanceRef(exD, u)
		} else if r.ExitCode == 0 {
			t.Errorf("direct apply: no ApplySet parent ConfigMap %s/%s", ns, name)
		}
	}
	dir := snapshot(t, "direct", exD, uidsD, lengths)
	r = runTypekro(t, append([]string{"delete", "--mode", "direct", exD.Dir, "--timeout", "2m"}, nsD...)...)
	if r.ExitCode != 0 {
		t.Errorf("delete --mode direct: exit %d\n%s\n%s", r.ExitCode, r.Stdout, r.Stderr)
	} else {
		waitGone(t, dir)
	}

	// KRO vs direct, object by object.
	all := sets.KeySet(kro.objs).Union(sets.KeySet(dir.objs))
	for _, k := range sets.List(all) {
		switch {
		case dir.objs[k] == nil:
			t.Errorf("%s: created by KRO, not by direct mode", k)
		case kro.objs[k] == nil:
			t.Errorf("%s: created by direct mode, not by KRO", k)
		default:
			var d []string
			diffPaths(k, kro.normalize(kro.objs[k]), dir.normalize(dir.objs[k]), &d)
			sort.Strings(d)
			for _, line := range d {
				t.Errorf("KRO vs direct: %s", line)
			}
		}
	}
	if len(kro.nested)+len(dir.nested) > 0 {
		t.Logf("instances made by instances (not compared: direct mode has no CRDs for them): KRO %v, direct %v", kro.nested, dir.nested)
	}
	t.Logf("%s: %d instances, %d objects by KRO %v, %d by direct mode, %d rendered objects checked (%d nested instances rendered); %s (%s waiting for examples of the same kinds)",
		c.name, len(exK.Instances), len(kro.objs), sets.List(sets.KeySet(kro.objs)), len(dir.objs), rendered, nestedRendered,
		time.Since(start).Round(100*time.Millisecond), waited.Round(100*time.Millisecond))
}

// nsFlag is -n for the instances of ex without a namespace.
func nsFlag(ex *example) []string {
	if ns, ok := ex.Namespaces[""]; ok {
		return []string{"-n", ns}
	}
	return nil
}

// runTypekro runs the binary under test; long enough for --timeout 2m.
func runTypekro(t *testing.T, args ...string) e2eutil.Result {
	t.Helper()
	return e2eutil.Run(t, e2eutil.Cmd{Bin: e2eutil.TypekroBin(t), Args: args, Timeout: 4 * time.Minute})
}

// instanceRef names an instance by its original namespace: Kind ns/name.
func instanceRef(ex *example, u *unstructured.Unstructured) string {
	return u.GetKind() + " " + origNamespace(ex, u.GetNamespace()) + "/" + u.GetName()
}

// origNamespace maps a test namespace back to a placeholder for the
// namespace the example names; other namespaces stay.
func origNamespace(ex *example, ns string) string {
	for orig, test := range ex.Namespaces {
		if test == ns {
			if orig == "" {
				return "<namespace of -n>"
			}
			return "<namespace " + orig + ">"
		}
	}
	return ns
}

var seededRE = regexp.MustCompile(`random\.seededString\(\s*(\d+)\s*,`)

// seededLengths lists the lengths of the random.seededString calls in the
// files of dir.
func seededLengths(t *testing.T, dir string) []int {
	var out []int
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		for _, m := range seededRE.FindAllSubmatch(b, -1) {
			n, _ := strconv.Atoi(string(m[1]))
			out = append(out, n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// seededString is KRO's random.seededString(n, seed), evaluated with KRO's
// own CEL library.
func seededString(t *testing.T, n int, seed string) string {
	t.Helper()
	env, err := cel.NewEnv(library.Random(), cel.Variable("seed", cel.StringType))
	if err != nil {
		t.Fatal(err)
	}
	ast, iss := env.Compile(fmt.Sprintf("random.seededString(%d, seed)", n))
	if iss.Err() != nil {
		t.Fatal(iss.Err())
	}
	prg, err := env.Program(ast)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := prg.Eval(map[string]any{"seed": seed})
	if err != nil {
		t.Fatal(err)
	}
	return v.Value().(string)
}

// side is what one mode created for an example's instances.
type side struct {
	mode string
	ex   *example
	// objs are the objects made for instances, by key (see key), except
	// nested instances: objects of a kind the example defines, which only
	// KRO mode creates as objects (direct mode expands them in place).
	objs       map[string]*unstructured.Unstructured
	nested     []string
	nestedObjs map[string]*unstructured.Unstructured
	gvr        map[string]schema.GroupVersionResource
	// repl replaces what legitimately differs between the modes (test
	// namespaces, clusterIPs, instance uids and values derived from them)
	// with placeholders.
	repl *strings.Replacer
}

// snapshot lists what mode created for the instances of ex. uids maps the
// instances' uids to their names, lengths are the random.seededString
// lengths the example uses.
func snapshot(t *testing.T, mode string, ex *example, uids map[string]string, lengths []int) *side {
	t.Helper()
	s := &side{mode: mode, ex: ex, objs: map[string]*unstructured.Unstructured{}, nestedObjs: map[string]*unstructured.Unstructured{}, gvr: map[string]schema.GroupVersionResource{}}
	var pairs []string
	for _, ns := range ex.Namespaces {
		pairs = append(pairs, ns, origNamespace(ex, ns))
	}
	s.repl = newReplacer(pairs) // for the keys: object names may hold namespaces
	var namespaces []string
	for _, ns := range ex.Namespaces {
		namespaces = append(namespaces, ns)
	}
	for _, o := range instanceObjects(t, namespaces) {
		k := s.key(o.obj)
		if _, ok := ex.Kinds[o.obj.GroupVersionKind().GroupKind()]; ok {
			s.nested = append(s.nested, k)
			s.nestedObjs[k] = o.obj
			uids[string(o.obj.GetUID())] = k
		} else {
			s.objs[k] = o.obj
		}
		s.gvr[k] = o.gvr
	}
	sort.Strings(s.nested)
	for k, o := range s.objs {
		if ip, _, _ := unstructured.NestedString(o.Object, "spec", "clusterIP"); ip != "" && ip != "None" {
			pairs = append(pairs, ip, "<clusterIP of "+k+">")
		}
	}
	for uid, ref := range uids {
		pairs = append(pairs, uid, "<uid of "+ref+">")
		for _, n := range lengths {
			pairs = append(pairs, seededString(t, n, uid), fmt.Sprintf("<random.seededString(%d, uid of %s)>", n, ref))
		}
	}
	s.repl = newReplacer(pairs)
	return s
}

// settledSnapshot is the KRO-mode snapshot once every nested instance (an
// instance another instance made) is ACTIVE too: apply waits only for the
// instances of the inputs, and KRO reports an instance ACTIVE as soon as
// its nested instances exist (saas-multi-tenant's TenantApplication is in
// ERROR until its namespace exists). The snapshot is the one taken after
// a snapshot whose nested instances were all ACTIVE (a snapshot lists the
// resources one by one, a nested instance may turn ACTIVE meanwhile) and
// has no other nested instances.
func settledSnapshot(t *testing.T, ex *example, uids map[string]string, lengths []int) *side {
	t.Helper()
	var s *side
	var active []string // nested instances ACTIVE in the previous snapshot
	e2eutil.WaitFor(t, 2*time.Minute, func(context.Context) (bool, error) {
		s = snapshot(t, "KRO", ex, uids, lengths)
		if reflect.DeepEqual(s.nested, active) {
			return true, nil
		}
		var notActive []string
		for _, k := range s.nested {
			if st := state(s.nestedObjs[k]); st != "ACTIVE" {
				notActive = append(notActive, k+" "+st)
			}
		}
		active = nil
		if len(notActive) > 0 {
			return false, fmt.Errorf("nested instances not ACTIVE: %v", notActive)
		}
		active = s.nested
		return len(active) == 0, nil
	})
	return s
}

// deleteGeneratedCRDs deletes the CRDs KRO generated for the kinds ex
// defines and waits until they are gone.
func deleteGeneratedCRDs(t *testing.T, ex *example) {
	t.Helper()
	c := e2eutil.Clients(t)
	crds := c.Dynamic.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // also in cleanups
	defer cancel()
	list, err := crds.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Errorf("list CRDs: %v", err)
		return
	}
	var names []string
	for _, crd := range list.Items {
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
		if _, ok := ex.Kinds[schema.GroupKind{Group: group, Kind: kind}]; ok && crd.GetLabels()["kro.run/owned"] == "true" {
			if err := crds.Delete(ctx, crd.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("delete CRD %s: %v", crd.GetName(), err)
			}
			names = append(names, crd.GetName())
		}
	}
	for _, name := range names {
		// Polled under ctx, not t.Context(): this also runs in cleanups.
		err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			_, err := crds.Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Errorf("CRD %s not deleted within a minute: %v", name, err)
			return
		}
	}
}

// newReplacer replaces longer strings first.
func newReplacer(pairs []string) *strings.Replacer {
	type pair struct{ old, new string }
	var ps []pair
	for i := 0; i < len(pairs); i += 2 {
		ps = append(ps, pair{pairs[i], pairs[i+1]})
	}
	sort.SliceStable(ps, func(i, j int) bool { return len(ps[i].old) > len(ps[j].old) })
	var out []string
	for _, p := range ps {
		out = append(out, p.old, p.new)
	}
	return strings.NewReplacer(out...)
}

// key names an object independently of the mode: group kind, namespace
// (test namespaces by the one the example names) and name.
func (s *side) key(o *unstructured.Unstructured) string {
	k := o.GroupVersionKind().GroupKind().String() + " "
	if ns := o.GetNamespace(); ns != "" {
		k += origNamespace(s.ex, ns) + "/"
	}
	return k + s.repl.Replace(o.GetName())
}

// waitGone waits until every object of s is deleted.
func waitGone(t *testing.T, s *side) {
	t.Helper()
	c := e2eutil.Clients(t)
	left := map[string]*unstructured.Unstructured{}
	for k, o := range s.objs {
		left[k] = o
	}
	start := time.Now()
	e2eutil.WaitFor(t, 2*time.Minute, func(ctx context.Context) (bool, error) {
		for k, o := range left {
			ri := c.Dynamic.Resource(s.gvr[k]).Namespace(o.GetNamespace())
			live, err := ri.Get(ctx, o.GetName(), metav1.GetOptions{})
			if apierrors.IsNotFound(err) || (err == nil && live.GetUID() != o.GetUID()) {
				delete(left, k)
			}
		}
		if len(left) == 0 {
			return true, nil
		}
		return false, fmt.Errorf("%s mode: %d objects not deleted: %v", s.mode, len(left), sets.List(sets.KeySet(left)))
	})
	t.Logf("%s mode: %d objects gone %s after delete", s.mode, len(s.objs), time.Since(start).Round(100*time.Millisecond))
}

// liveObject is an object with its resource.
type liveObject struct {
	gvr schema.GroupVersionResource
	obj *unstructured.Unstructured
}

// notCompared are resources whose objects controllers make from others
// (EndpointSlices and Endpoints copy a Service's labels, KRO's included).
// ComponentStatus is deprecated (listing it warns) and never labelled.
var notCompared = sets.New("events", "endpoints", "endpointslices", "pods", "replicasets", "controllerrevisions", "componentstatuses")

// instanceObjects lists every object, in any namespace or cluster-scoped,
// of any listable resource, that KRO or typekro made for an instance in
// one of namespaces (both label them kro.run/instance-namespace), except
// objects a controller made from them (a controller ownerReference).
func instanceObjects(t testing.TB, namespaces []string) []liveObject {
	t.Helper()
	c := e2eutil.Clients(t)
	c.Discovery.Invalidate()
	lists, err := c.Discovery.ServerPreferredResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		t.Fatalf("discovery: %v", err)
	}
	selector := "kro.run/instance-namespace in (" + strings.Join(namespaces, ",") + ")"
	var out []liveObject
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !sets.New(r.Verbs...).Has("list") || notCompared.Has(r.Name) {
				continue
			}
			gvr := gv.WithResource(r.Name)
			list, err := c.Dynamic.Resource(gvr).List(t.Context(), metav1.ListOptions{LabelSelector: selector})
			if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
				continue // e.g. a CRD deleted since discovery
			}
			if err != nil {
				t.Fatalf("list %s: %v", gvr, err)
			}
			for i := range list.Items {
				o := &list.Items[i]
				if metav1.GetControllerOf(o) != nil {
					continue
				}
				o.SetKind(r.Kind)
				o.SetAPIVersion(gv.String())
				out = append(out, liveObject{gvr, o})
			}
		}
	}
	return out
}

// created lists the objects made for instances in ns (by KRO or typekro),
// keyed Kind/name.
func created(t *testing.T, ns string) map[string]*unstructured.Unstructured {
	t.Helper()
	out := map[string]*unstructured.Unstructured{}
	for _, o := range instanceObjects(t, []string{ns}) {
		out[o.obj.GetKind()+"/"+o.obj.GetName()] = o.obj
	}
	return out
}

// ignoredKey: labels and annotations of KRO, typekro, ApplySets and
// kubectl, and those controllers set (Deployment revision, volume binding).
func ignoredKey(k string) bool {
	for _, p := range []string{"kro.run/", "internal.kro.run/", "applyset.kubernetes.io/", "app.kubernetes.io/managed-by",
		"deployment.kubernetes.io/", "kubectl.kubernetes.io/", "pv.kubernetes.io/", "volume.kubernetes.io/", "volume.beta.kubernetes.io/"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// normalize drops what may differ: server-set metadata, namespace, KRO's
// and typekro's labels and annotations, status, assigned IPs and ports, and
// replaces the object's own uid and what s.repl names with placeholders.
func (s *side) normalize(o *unstructured.Unstructured) map[string]any {
	c := o.DeepCopy().Object
	md := map[string]any{"name": o.GetName()}
	for _, f := range []string{"labels", "annotations"} {
		m := map[string]any{}
		src, _, _ := unstructured.NestedStringMap(o.Object, "metadata", f)
		for k, v := range src {
			if !ignoredKey(k) {
				m[k] = v
			}
		}
		if len(m) > 0 {
			md[f] = m
		}
	}
	c["metadata"] = md
	delete(c, "status")
	if o.GetKind() == "Service" {
		unstructured.RemoveNestedField(c, "spec", "clusterIP")
		unstructured.RemoveNestedField(c, "spec", "clusterIPs")
	}
	if ports, ok, _ := unstructured.NestedSlice(c, "spec", "ports"); ok && o.GetKind() == "Service" {
		for _, p := range ports {
			delete(p.(map[string]any), "nodePort") // assigned by the server
		}
		_ = unstructured.SetNestedSlice(c, ports, "spec", "ports")
	}
	if sd, ok, _ := unstructured.NestedStringMap(c, "stringData"); ok && o.GetKind() == "Secret" {
		// The server folds stringData into data.
		data, _, _ := unstructured.NestedMap(c, "data")
		if data == nil {
			data = map[string]any{}
		}
		for k, v := range sd {
			data[k] = base64.StdEncoding.EncodeToString([]byte(v))
		}
		c["data"] = data
		delete(c, "stringData")
	}
	if o.GetKind() == "PersistentVolumeClaim" {
		unstructured.RemoveNestedField(c, "spec", "volumeName")
	}
	var own *strings.Replacer
	if uid := string(o.GetUID()); uid != "" {
		own = strings.NewReplacer(uid, "<own uid>") // e.g. a Job's controller-uid labels
	}
	return replaceStrings(c, func(v string) string {
		if own != nil {
			v = own.Replace(v)
		}
		return s.repl.Replace(v)
	}).(map[string]any)
}

func replaceStrings(v any, f func(string) string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = replaceStrings(e, f)
		}
	case []any:
		for i, e := range x {
			x[i] = replaceStrings(e, f)
		}
	case string:
		return f(x)
	}
	return v
}

// diffPaths lists the paths where a and b differ (b nil: only in a).
func diffPaths(prefix string, a, b any, out *[]string) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for k := range keys {
			diffPaths(prefix+"."+k, am[k], bm[k], out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, fmt.Sprintf("%s: %v != %v", prefix, a, b))
	}
}

// subset reports fields of want missing or different in got.
func subset(prefix string, want, got any, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, _ := got.(map[string]any)
		for k, v := range w {
			subset(prefix+"."+k, v, g[k], out)
		}
	case []any:
		g, _ := got.([]any)
		if len(g) != len(w) {
			*out = append(*out, fmt.Sprintf("%s: %d items != %d", prefix, len(w), len(g)))
			return
		}
		for i := range w {
			subset(fmt.Sprintf("%s[%d]", prefix, i), w[i], g[i], out)
		}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			*out = append(*out, fmt.Sprintf("%s: rendered %v, KRO made %v", prefix, want, got))
		}
	}
}
