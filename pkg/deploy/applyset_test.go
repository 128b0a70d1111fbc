package deploy

import (
	"bytes"
	"context"
	"strings"
	"testing"

	fluxssa "github.com/fluxcd/pkg/ssa"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/discovery/cached/memory"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/restmapper"
	clienttesting "k8s.io/client-go/testing"

	"github.com/typekro/kubectl-typekro/pkg/render"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

var fakeKinds = []struct {
	gv         schema.GroupVersion
	kind, res  string
	namespaced bool
}{
	{schema.GroupVersion{Version: "v1"}, "ConfigMap", "configmaps", true},
	{schema.GroupVersion{Version: "v1"}, "Secret", "secrets", true},
	{schema.GroupVersion{Version: "v1"}, "Namespace", "namespaces", false},
	{schema.GroupVersion{Group: "kro.run", Version: "v1alpha1"}, "ResourceGraphDefinition", "resourcegraphdefinitions", false},
	{schema.GroupVersion{Group: "example.com", Version: "v1"}, "WebApp", "webapps", true},
}

// fakeEngine is an Engine over client-go's fake dynamic client, with
// discovery serving fakeKinds.
func fakeEngine(t *testing.T, objs ...runtime.Object) (*Engine, *dynamicfake.FakeDynamicClient, *bytes.Buffer) {
	t.Helper()
	listKinds := map[schema.GroupVersionResource]string{}
	disc := &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{}}
	byGV := map[schema.GroupVersion][]metav1.APIResource{}
	for _, k := range fakeKinds {
		listKinds[k.gv.WithResource(k.res)] = k.kind + "List"
		byGV[k.gv] = append(byGV[k.gv], metav1.APIResource{Name: k.res, Kind: k.kind, Namespaced: k.namespaced, Verbs: []string{"get", "list", "watch", "delete", "patch"}})
	}
	for gv, rs := range byGV {
		disc.Resources = append(disc.Resources, &metav1.APIResourceList{GroupVersion: gv.String(), APIResources: rs})
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, objs...)
	dyn.PrependReactor("patch", "*", applyReactor(dyn))
	out := &bytes.Buffer{}
	e := &Engine{Client: &ssa.Client{Dynamic: dyn, Mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)),
		FieldManager: "typekro", DefaultNamespace: "default"}, Out: out}
	return e, dyn, out
}

// applyReactor gives the fake client server-side apply's create-or-merge
// (the fake's object tracker has no apply of its own for dynamic
// clients): a missing object is created from the patch, an existing one
// gets the patch merged in (JSON merge semantics, enough for metadata).
func applyReactor(dyn *dynamicfake.FakeDynamicClient) clienttesting.ReactionFunc {
	return func(a clienttesting.Action) (bool, runtime.Object, error) {
		p := a.(clienttesting.PatchAction)
		if p.GetPatchType() != types.ApplyPatchType {
			return false, nil, nil
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(p.GetPatch()); err != nil {
			return true, nil, err
		}
		tracker := dyn.Tracker()
		live, err := tracker.Get(p.GetResource(), p.GetNamespace(), p.GetName())
		if apierrors.IsNotFound(err) {
			return true, obj, tracker.Create(p.GetResource(), obj, p.GetNamespace())
		}
		if err != nil {
			return true, nil, err
		}
		merged := live.(*unstructured.Unstructured).DeepCopy()
		mergeInto(merged.Object, obj.Object)
		return true, merged, tracker.Update(p.GetResource(), merged, p.GetNamespace())
	}
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

func member(apiVersion, kind, ns, name, uid, id string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetUID(types.UID(uid))
	u.SetLabels(map[string]string{"applyset.kubernetes.io/part-of": id})
	return u
}

func TestParseApplySet(t *testing.T) {
	for _, tc := range []struct {
		in, kind, name, err string
	}{
		{in: "apps", kind: "Secret", name: "apps"},
		{in: "secret/apps", kind: "Secret", name: "apps"},
		{in: "configmaps/apps", kind: "ConfigMap", name: "apps"},
		{in: "deployment/apps", err: "secret or a configmap"},
		{in: "secret/", err: "want NAME"},
		{in: "secret/a/b", err: "want NAME"},
	} {
		ref, err := ParseApplySet(tc.in, "ns")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || ref.Kind != tc.kind || ref.Name != tc.name || ref.Namespace != "ns" {
			t.Errorf("%s: %+v %v", tc.in, ref, err)
		}
	}
	// kubectl's id for a Secret parent: base64url(sha256("apps.ns.Secret.")).
	if id := (ApplySetRef{Kind: "Secret", Name: "apps", Namespace: "ns"}).ID(); id != "applyset-vDME4mJj_OdNUaIx1hahTATYpP9Q03jSxIv6mu-jHHM-v1" {
		t.Errorf("id %s", id)
	}
}

// A parent another tool manages is refused before anything is written.
func TestOpenApplySetRefusesOtherTooling(t *testing.T) {
	ref := ApplySetRef{Kind: "Secret", Name: "apps", Namespace: "default"}
	parent := ref.parent()
	parent.SetLabels(map[string]string{"applyset.kubernetes.io/id": ref.ID()})
	parent.SetAnnotations(map[string]string{"applyset.kubernetes.io/tooling": "kubectl/v1.36"})
	e, _, _ := fakeEngine(t, parent)
	if _, err := e.openApplySet(context.Background(), ref); err == nil || !strings.Contains(err.Error(), `managed by "kubectl/v1.36"`) {
		t.Fatalf("err = %v", err)
	}
}

// Prune deletes the members not kept, instances and plain objects before
// RGDs, leaves other sets' objects alone, and records the current scope.
func TestPruneOrderAndScope(t *testing.T) {
	ref := ApplySetRef{Kind: "Secret", Name: "apps", Namespace: "default"}
	id := ref.ID()
	kept := member("v1", "ConfigMap", "default", "kept", "u-kept", id)
	oldApp := member("example.com/v1", "WebApp", "team-b", "old", "u-old", id)
	oldCM := member("v1", "ConfigMap", "default", "old", "u-oldcm", id)
	oldRGD := member("kro.run/v1alpha1", "ResourceGraphDefinition", "", "retired", "u-rgd", id)
	other := member("v1", "ConfigMap", "default", "other", "u-other", "applyset-other-v1")
	parent := ref.parent()
	parent.SetLabels(map[string]string{"applyset.kubernetes.io/id": id})
	e, dyn, out := fakeEngine(t, kept, oldApp, oldCM, oldRGD, other)
	s := &applySet{ref: ref, id: id, prevNS: sets.New("team-b"),
		prevKinds: sets.New(schema.GroupKind{Kind: "ConfigMap"}, schema.GroupKind{Group: "example.com", Kind: "WebApp"}, rgdGK),
		kinds:     sets.New(schema.GroupKind{Kind: "ConfigMap"}), ns: sets.New[string]()}
	res := &ApplyResult{Changes: fluxssa.NewChangeSet()}
	if err := e.prune(context.Background(), s, sets.New[types.UID]("u-kept"), false, res.Changes); err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, a := range dyn.Actions() {
		if d, ok := a.(clienttesting.DeleteAction); ok {
			deleted = append(deleted, d.GetResource().Resource+"/"+d.GetName())
		}
	}
	if want := "configmaps/old webapps/old resourcegraphdefinitions/retired"; strings.Join(deleted, " ") != want {
		t.Errorf("deleted %v, want %s", deleted, want)
	}
	if want := "configmap/old -n default pruned\nwebapp.example.com/old -n team-b pruned\nresourcegraphdefinition.kro.run/retired pruned\n"; out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	got, err := dyn.Resource(ref.gvr()).Namespace("default").Get(context.Background(), "apps", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a := got.GetAnnotations(); a["applyset.kubernetes.io/contains-group-kinds"] != "ConfigMap" || a["applyset.kubernetes.io/additional-namespaces"] != "" || a["applyset.kubernetes.io/tooling"] != ApplySetTooling {
		t.Errorf("parent annotations after prune: %v", a)
	}
	if _, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace("default").Get(context.Background(), "other", metav1.GetOptions{}); err != nil {
		t.Errorf("another set's member was touched: %v", err)
	}
}

// label copies: the caller's set is not changed.
func TestLabelCopies(t *testing.T) {
	cm := member("v1", "ConfigMap", "default", "a", "", "")
	cm.SetLabels(nil)
	set := &Set{Objects: []render.Object{{Role: render.RoleResource, Object: cm}}}
	s := &applySet{id: "applyset-x-v1"}
	got := s.label(set)
	if got.Objects[0].Object.GetLabels()["applyset.kubernetes.io/part-of"] != "applyset-x-v1" || cm.GetLabels() != nil {
		t.Errorf("labels: %v / original %v", got.Objects[0].Object.GetLabels(), cm.GetLabels())
	}
}
