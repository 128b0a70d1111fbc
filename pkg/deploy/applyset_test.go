package deploy

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/typekro/kubectl-typekro/internal/fakecluster"
	"github.com/typekro/kubectl-typekro/pkg/render"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

var webAppKind = fakecluster.Kind{GVK: schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "WebApp"}, Resource: "webapps", Namespaced: true}

// fakeEngine is an Engine over the engine tests' fake cluster.
func fakeEngine(objs ...*unstructured.Unstructured) (*Engine, *fakecluster.Cluster, *bytes.Buffer) {
	fc := fakecluster.New([]fakecluster.Kind{fakecluster.ConfigMap, fakecluster.Secret, fakecluster.Namespace, fakecluster.RGD, webAppKind}, objs...)
	out := &bytes.Buffer{}
	c := &ssa.Client{Dynamic: fc.Client, Mapper: ssa.Resettable(fc.Mapper), FieldManager: DefaultFieldManager, DefaultNamespace: "default"}
	return &Engine{Client: c, Out: out}, fc, out
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
	parent := ref.applySet().ParentStub()
	parent.SetLabels(map[string]string{"applyset.kubernetes.io/id": ref.ID()})
	parent.SetAnnotations(map[string]string{"applyset.kubernetes.io/tooling": "kubectl/v1.36"})
	e, _, _ := fakeEngine(parent)
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
	e, fc, out := fakeEngine(kept, oldApp, oldCM, oldRGD, other)
	recorded := ref.applySet()
	recorded.Kinds = sets.New(schema.GroupKind{Kind: "ConfigMap"}, schema.GroupKind{Group: "example.com", Kind: "WebApp"}, rgdGK)
	recorded.Namespaces = sets.New("team-b")
	s := &applySet{ApplySet: recorded, kinds: sets.New(schema.GroupKind{Kind: "ConfigMap"}), ns: sets.New("default")}
	cs := ssa.NewChangeSet()
	if err := e.prune(context.Background(), s, sets.New[types.UID]("u-kept"), false, cs); err != nil {
		t.Fatal(err)
	}
	if got, want := fc.Verbs("delete"), []string{"delete configmaps default/old", "delete webapps team-b/old", "delete resourcegraphdefinitions /retired"}; !slices.Equal(got, want) {
		t.Errorf("deleted %v, want %v", got, want)
	}
	if want := "configmap/old -n default pruned\nwebapp.example.com/old -n team-b pruned\nresourcegraphdefinition.kro.run/retired pruned\n"; out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	got := fc.Get(fakecluster.Secret, "default", "apps")
	if got == nil {
		t.Fatal("parent not written")
	}
	if a := got.GetAnnotations(); a["applyset.kubernetes.io/contains-group-kinds"] != "ConfigMap" || a["applyset.kubernetes.io/additional-namespaces"] != "" || a["applyset.kubernetes.io/tooling"] != ssa.Tooling {
		t.Errorf("parent annotations after prune: %v", a)
	}
	if fc.Get(fakecluster.ConfigMap, "default", "other") == nil {
		t.Error("another set's member was touched")
	}
}

// label copies: the caller's set is not changed.
func TestLabelCopies(t *testing.T) {
	cm := member("v1", "ConfigMap", "default", "a", "", "")
	cm.SetLabels(nil)
	set := &Set{Objects: []render.Object{{Role: render.RoleResource, Object: cm}}}
	s := &applySet{ApplySet: &ssa.ApplySet{ID: "applyset-x-v1"}}
	got := s.label(set)
	if got.Objects[0].Object.GetLabels()["applyset.kubernetes.io/part-of"] != "applyset-x-v1" || cm.GetLabels() != nil {
		t.Errorf("labels: %v / original %v", got.Objects[0].Object.GetLabels(), cm.GetLabels())
	}
}
