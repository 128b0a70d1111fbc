package ssa

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kubernetes-sigs/kro/pkg/controller/instance/applyset"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/typekro/kubectl-typekro/internal/fakecluster"
)

func newClient(fc *fakecluster.Cluster) *Client {
	return &Client{Dynamic: fc.Client, Mapper: Resettable(fc.Mapper), FieldManager: DefaultFieldManager, DefaultNamespace: "default"}
}

func object(t *testing.T, c *Client, y string) *Object {
	t.Helper()
	o, err := c.ObjectFor(u(t, y))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Write's one rule: created, then unchanged for the same content,
// configured for a change; the live object is what the server answered.
func TestWriteActions(t *testing.T) {
	fc := fakecluster.New([]fakecluster.Kind{fakecluster.ConfigMap})
	c := newClient(fc)
	ctx := context.Background()
	steps := []struct {
		yaml string
		want Action
	}{
		{`{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: ns1}, data: {k: "1"}}`, CreatedAction},
		{`{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: ns1}, data: {k: "1"}}`, UnchangedAction},
		{`{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: ns1}, data: {k: "2"}}`, ConfiguredAction},
		{`{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: ns1, labels: {team: blue}}, data: {k: "2"}}`, ConfiguredAction},
	}
	for i, s := range steps {
		o := object(t, c, s.yaml)
		if err := c.Write(ctx, o, false); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if o.Action != s.want {
			t.Errorf("step %d: action %s, want %s", i, o.Action, s.want)
		}
		if got, _, _ := unstructured.NestedString(fc.Get(fakecluster.ConfigMap, "ns1", "a").Object, "data", "k"); o.Merged == nil || got != o.Merged.Object["data"].(map[string]any)["k"] {
			t.Errorf("step %d: stored %q, answered %v", i, got, o.Merged)
		}
	}
}

// A dry run answers like the real apply and stores nothing.
func TestDryRunStoresNothing(t *testing.T) {
	fc := fakecluster.New([]fakecluster.Kind{fakecluster.ConfigMap})
	c := newClient(fc)
	o := object(t, c, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: ns1}, data: {k: "1"}}`)
	if err := c.DryRun(context.Background(), o, false); err != nil {
		t.Fatal(err)
	}
	if o.Action != CreatedAction || o.Merged == nil {
		t.Errorf("dry run: %s %v", o.Action, o.Merged)
	}
	if fc.Get(fakecluster.ConfigMap, "ns1", "a") != nil {
		t.Error("a dry run stored the object")
	}
}

// Fields another manager applied are a conflict with the way out named;
// --force-conflicts takes them.
func TestWriteFieldManagerConflict(t *testing.T) {
	fc := fakecluster.New([]fakecluster.Kind{fakecluster.ConfigMap})
	c := newClient(fc)
	ctx := context.Background()
	other := *c
	other.FieldManager = "helm"
	if err := other.Write(ctx, object(t, &other, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: ns1}, data: {k: "1"}}`), false); err != nil {
		t.Fatal(err)
	}
	err := c.Write(ctx, object(t, c, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: ns1}, data: {k: "2"}}`), false)
	if err == nil || !strings.Contains(err.Error(), "configmap/a -n ns1: ") || !strings.Contains(err.Error(), "rerun with --force-conflicts") {
		t.Fatalf("error %v, want a conflict naming the object and --force-conflicts", err)
	}
	o := object(t, c, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: ns1}, data: {k: "2"}}`)
	if err := c.Write(ctx, o, true); err != nil || o.Action != ConfiguredAction {
		t.Fatalf("forced: %v %s", err, o.Action)
	}
}

// Two instances rendering the same object: the second is refused, naming
// both owners, even with --force-conflicts.
func TestWriteOwnerConflict(t *testing.T) {
	fc := fakecluster.New([]fakecluster.Kind{fakecluster.ConfigMap})
	c := newClient(fc)
	ctx := context.Background()
	owned := func(instance, set string) *Object {
		return object(t, c, `{apiVersion: v1, kind: ConfigMap, metadata: {name: shared, namespace: ns1, labels: {
  kro.run/instance-kind: WebApp, kro.run/instance-name: `+instance+`, kro.run/instance-namespace: ns1,
  applyset.kubernetes.io/part-of: `+set+`}}, data: {k: v}}`)
	}
	if err := c.Write(ctx, owned("first", "applyset-a-v1"), false); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, owned("first", "applyset-a-v1"), false); err != nil {
		t.Fatalf("the owner's own re-apply: %v", err)
	}
	err := c.Write(ctx, owned("second", "applyset-b-v1"), true)
	var ce *applyset.ApplySetConflictError
	if !errors.As(err, &ce) || !errors.Is(err, applyset.ErrApplySetConflict) {
		t.Fatalf("error %v, want KRO's ApplySetConflictError", err)
	}
	for _, want := range []string{"configmap/shared -n ns1", "owned by WebApp/first -n ns1", "also rendered by WebApp/second -n ns1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if got := fc.Get(fakecluster.ConfigMap, "ns1", "shared").GetLabels()["kro.run/instance-name"]; got != "first" {
		t.Errorf("the object was taken over by %s", got)
	}
}

// A delete with a uid precondition leaves an object recreated since.
func TestDeleteUIDPrecondition(t *testing.T) {
	cm := u(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: ns1, uid: new}}`)
	fc := fakecluster.New([]fakecluster.Kind{fakecluster.ConfigMap}, cm)
	c := newClient(fc)
	ctx := context.Background()
	o := object(t, c, `{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: ns1}}`)
	tests := []struct {
		uid     types.UID
		deleted bool
	}{
		{"old", false}, // planned against an object since recreated
		{"new", true},
		{"new", false}, // already gone
	}
	for _, tt := range tests {
		got, err := c.Delete(ctx, o, tt.uid)
		if err != nil || got != tt.deleted {
			t.Errorf("delete uid %s: %v %v, want %v", tt.uid, got, err, tt.deleted)
		}
	}
	fc.Add(cm)
	if ok, err := c.DeleteCurrent(ctx, o); !ok || err != nil || fc.Get(fakecluster.ConfigMap, "ns1", "a") != nil {
		t.Errorf("DeleteCurrent: %v %v", ok, err)
	}
}

// The ApplySet: KEP-3659's id (as kubectl and KRO derive it), the parent
// metadata, a parent that is not ours refused, members listed across kinds
// and namespaces, and members deleted with their uid as precondition.
func TestApplySet(t *testing.T) {
	set := NewApplySet("typekro-webapp-shop", "apps")
	// base64url(sha256("<name>.<namespace>.<kind>.<group>")), computed
	// outside Go, as kubectl computes it.
	if set.ID != "applyset-R_olsco6dXVvX4htFGr3pIhriEkfLju0yYUVcsniWyI-v1" {
		t.Errorf("id %s", set.ID)
	}
	if id := NewApplySetOf("Secret", "apps", "ns").ID; id != "applyset-vDME4mJj_OdNUaIx1hahTATYpP9Q03jSxIv6mu-jHHM-v1" {
		t.Errorf("secret parent's id %s", id)
	}
	labels, ann := set.ParentMetadata(sets.New(schema.GroupKind{Group: "apps", Kind: "Deployment"}, schema.GroupKind{Kind: "ConfigMap"}), sets.New("apps", "other"))
	if labels[ApplySetIDLabel] != set.ID || ann[ApplySetGroupKinds] != "ConfigMap,Deployment.apps" || ann[ApplySetNamespaces] != "other" || ann[ApplySetTooling] != Tooling {
		t.Errorf("parent metadata %v %v", labels, ann)
	}
	parent := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}
	parent.SetName(set.Name)
	parent.SetNamespace(set.Namespace)
	parent.SetLabels(labels)
	parent.SetAnnotations(ann)
	member := func(name, ns, of string) *unstructured.Unstructured {
		return u(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: `+name+`, namespace: `+ns+`, labels: {applyset.kubernetes.io/part-of: `+of+`}}}`)
	}
	foreign := parent.DeepCopy()
	foreign.SetName("someone-elses")
	fc := fakecluster.New([]fakecluster.Kind{fakecluster.ConfigMap, fakecluster.Deployment}, parent, foreign,
		member("a", "apps", set.ID), member("b", "other", set.ID), member("c", "third", set.ID), member("d", "apps", "applyset-x-v1"))
	c := newClient(fc)
	ctx := context.Background()
	loaded, err := c.LoadApplySet(ctx, set.Name, set.Namespace)
	if err != nil || !loaded.Exists || !loaded.Namespaces.Has("other") || loaded.Kinds.Len() != 2 {
		t.Fatalf("loaded %+v, %v", loaded, err)
	}
	if _, err := c.LoadApplySet(ctx, "someone-elses", "apps"); err == nil || !strings.Contains(err.Error(), "is not typekro's ApplySet parent") {
		t.Errorf("a parent with another id: %v", err)
	}
	if missing, err := c.LoadApplySet(ctx, "none", "apps"); err != nil || missing.Exists {
		t.Errorf("missing parent: %+v %v", missing, err)
	}
	keep := sets.New(fc.Get(fakecluster.ConfigMap, "apps", "a").GetUID())
	got, err := c.Members(ctx, loaded, nil, nil, keep)
	if err != nil {
		t.Fatal(err)
	}
	// c lives in a namespace the parent does not record: not searched.
	if len(got) != 1 || Key(got[0]) != "ConfigMap/other/b" {
		t.Fatalf("members %v", got)
	}
	stale := got[0].DeepCopy()
	stale.SetUID("recreated")
	if ok, err := c.DeleteMember(ctx, loaded, stale); ok || err != nil || fc.Get(fakecluster.ConfigMap, "other", "b") == nil {
		t.Errorf("a member recreated since it was listed was deleted (%v %v)", ok, err)
	}
	if ok, err := c.DeleteMember(ctx, loaded, got[0]); !ok || err != nil || fc.Get(fakecluster.ConfigMap, "other", "b") != nil {
		t.Errorf("member not deleted: %v %v", ok, err)
	}
}

func TestMaskSecretStringData(t *testing.T) {
	merged := u(t, `{apiVersion: v1, kind: Secret, metadata: {name: s}, stringData: {password: hunter2}}`)
	text, err := UnifiedDiff("secret/s", nil, merged)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text, "hunter2") || !strings.Contains(text, "+  password: '***'") {
		t.Errorf("stringData not masked:\n%s", text)
	}
	if _, ok := merged.Object["data"]; ok {
		t.Error("masking changed the caller's object")
	}
}
