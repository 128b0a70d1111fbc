package deploy

import (
	"bytes"
	"context"
	"github.com/typekro/kubectl-typekro/internal/compiletest"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/typekro/kubectl-typekro/internal/fakecluster"
	"github.com/typekro/kubectl-typekro/pkg/render"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// notes is a composition and an instance of it in namespace apps, plus a
// plain ConfigMap in namespace fresh, which the set also creates.
const notes = `
apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata: {name: notes}
spec:
  apiVersion: example.com/v1alpha1
  kind: Note
  schema:
    spec:
      text: string | default="hi"
  resources:
    - id: config
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: "${schema.metadata.name}-note"}
        data: {text: "${schema.spec.text}"}
---
apiVersion: example.com/v1alpha1
kind: Note
metadata: {name: first, namespace: apps}
spec: {text: hello}
---
apiVersion: v1
kind: Namespace
metadata: {name: fresh}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: plain, namespace: fresh}
data: {a: b}
`

var noteKind = fakecluster.Kind{GVK: schema.GroupVersionKind{Group: "example.com", Version: "v1alpha1", Kind: "Note"}, Resource: "notes", Namespaced: true, Later: true}

func noteSet(t *testing.T) *Set {
	t.Helper()
	return NewSet(compiletest.YAML(t, notes))
}

// kro plays KRO and the API server's CRD controller: an applied RGD
// becomes Active with its CRD established and its kind served, and an
// instance becomes ACTIVE and Ready.
func kro(set *Set) func(c *fakecluster.Cluster, obj *unstructured.Unstructured) {
	ready := func(obj *unstructured.Unstructured, state string) {
		obj.Object["status"] = map[string]any{"state": state, "conditions": []any{
			map[string]any{"type": "Ready", "status": "True", "observedGeneration": obj.GetGeneration()}}}
	}
	return func(c *fakecluster.Cluster, obj *unstructured.Unstructured) {
		switch obj.GetKind() {
		case "ResourceGraphDefinition":
			ready(obj, "Active")
			mustUpdate(c, fakecluster.RGD, obj)
			for _, d := range set.Definitions {
				if d.Name != obj.GetName() {
					continue
				}
				u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d.CRD)
				if err != nil {
					panic(err)
				}
				crd := &unstructured.Unstructured{Object: u}
				crd.SetGroupVersionKind(fakecluster.CRD.GVK)
				crd.Object["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Established", "status": "True"}}}
				c.Add(crd)
				c.Serve(noteKind)
			}
		case "Note":
			ready(obj, "ACTIVE")
			mustUpdate(c, noteKind, obj)
		}
	}
}

func mustUpdate(c *fakecluster.Cluster, k fakecluster.Kind, obj *unstructured.Unstructured) {
	if err := c.Client.Tracker().Update(k.GVR(), obj, obj.GetNamespace()); err != nil {
		panic(err)
	}
}

func engine(set *Set) (*Engine, *fakecluster.Cluster, *bytes.Buffer) {
	fc := fakecluster.New([]fakecluster.Kind{fakecluster.ConfigMap, fakecluster.Namespace, fakecluster.CRD, fakecluster.RGD, noteKind})
	fc.Namespaces("default", "apps")
	fc.Controller = kro(set)
	out := &bytes.Buffer{}
	c := &ssa.Client{Dynamic: fc.Client, Mapper: ssa.Resettable(fc.Mapper), FieldManager: DefaultFieldManager, DefaultNamespace: "default"}
	return &Engine{Client: c, Out: out}, fc, out
}

// Staging and deferred dry runs: the instance's kind is served only once
// its RGD is Active, and the plain ConfigMap's namespace only once stage 1
// wrote it, so both are checked first as far as they can be (the
// ConfigMap by a dry-run create in an existing namespace) and dry-run for
// real right before the last stage, which writes them.
func TestApplyStagesAndDeferredDryRuns(t *testing.T) {
	set := noteSet(t)
	e, fc, out := engine(set)
	res, err := e.Apply(context.Background(), set, ApplyOptions{Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	got := fc.Verbs("patch", "create")
	want := []string{
		// the definitions layer's dry runs, concurrent: sorted below
		"patch namespaces /fresh (dry run)",
		"patch resourcegraphdefinitions /notes (dry run)",
		"create configmaps default/(dry run)", // preflight of plain in an existing namespace
		"patch namespaces /fresh",
		"patch resourcegraphdefinitions /notes",
		// deferred dry runs, concurrent: sorted below
		"patch configmaps fresh/plain (dry run)",
		"patch notes apps/first (dry run)",
		"patch configmaps fresh/plain",
		"patch notes apps/first",
	}
	if len(got) == len(want) {
		slices.Sort(got[0:2])
		slices.Sort(got[5:7])
	}
	if !slices.Equal(got, want) {
		t.Errorf("requests:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if len(res.Instances) != 1 || res.Instances[0].GetName() != "first" {
		t.Errorf("instances %v", res.Instances)
	}
	for _, line := range []string{"namespace/fresh created", "resourcegraphdefinition.kro.run/notes created", "configmap/plain -n fresh created", "note.example.com/first -n apps created"} {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("no %q in:\n%s", line, out)
		}
	}
}

// A set the server refuses in its dry run writes nothing: here the plain
// ConfigMap's data belongs to another field manager.
func TestApplyRejectedWritesNothing(t *testing.T) {
	set := noteSet(t)
	e, fc, _ := engine(set)
	fc.Namespaces("fresh")
	other := *e.Client
	other.FieldManager = "helm"
	var plain *ssa.Object
	for _, o := range set.Objects {
		if o.Object.GetName() == "plain" {
			plain = &ssa.Object{Obj: o.Object.DeepCopy()}
		}
	}
	if _, err := other.Map(plain); err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedField(plain.Obj.Object, "c", "data", "a")
	if err := other.Write(context.Background(), plain, false); err != nil {
		t.Fatal(err)
	}
	before := len(fc.Verbs("patch"))
	_, err := e.Apply(context.Background(), set, ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "nothing was written") || !strings.Contains(err.Error(), "configmap/plain -n fresh") {
		t.Fatalf("error %v", err)
	}
	for _, p := range fc.Verbs("patch")[before:] {
		if !strings.HasSuffix(p, "(dry run)") {
			t.Errorf("written despite the refusal: %s", p)
		}
	}
}

// Delete goes in reverse apply order: instances (waited for), plain
// objects, RGDs, namespaces; the CRD KRO generated stays, as in KRO.
func TestDeleteOrder(t *testing.T) {
	set := noteSet(t)
	e, fc, _ := engine(set)
	ctx := context.Background()
	if _, err := e.Apply(ctx, set, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	cs, err := e.Delete(ctx, set, DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"delete notes apps/first", "delete configmaps fresh/plain", "delete resourcegraphdefinitions /notes", "delete namespaces /fresh"}
	if got := fc.Verbs("delete"); !slices.Equal(got, want) {
		t.Errorf("deletes %v, want %v", got, want)
	}
	for _, en := range cs.Entries {
		if en.Action != ssa.DeletedAction {
			t.Errorf("%s", en)
		}
	}
	if fc.Get(fakecluster.CRD, "", "notes.example.com") == nil {
		t.Error("the generated CRD was deleted")
	}
	// Deleting again finds nothing.
	cs, err = e.Delete(ctx, set, DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range cs.Entries {
		if en.Action != NotFoundAction {
			t.Errorf("second delete: %s", en)
		}
	}
}

// Diff: new objects while nothing is applied (the instance's kind is not
// served yet: shown as new with why), then, after apply, unchanged, and a
// change shown as a unified diff of live and the server's dry run.
func TestDiff(t *testing.T) {
	set := noteSet(t)
	e, _, _ := engine(set)
	ctx := context.Background()
	diffs, err := e.Diff(ctx, set, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]ObjectDiff{}
	for _, d := range diffs {
		byName[d.Subject] = d
	}
	if d := byName["note.example.com/first -n apps"]; d.Action != ssa.CreatedAction || !strings.Contains(d.Note, "served only once") {
		t.Errorf("instance before apply: %+v", d)
	}
	if _, err := e.Apply(ctx, set, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	diffs, err = e.Diff(ctx, set, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		if d.Changed() {
			t.Errorf("after apply: %s %s %s", d.Subject, d.Action, d.Note)
		}
	}
	for _, o := range set.Objects {
		if o.Role == render.RoleInstance {
			_ = unstructured.SetNestedField(o.Object.Object, "bye", "spec", "text")
		}
	}
	diffs, err = e.Diff(ctx, set, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		if d.Subject == "note.example.com/first -n apps" && (d.Action != ssa.ConfiguredAction || !strings.Contains(d.Unified, "-  text: hello\n+  text: bye")) {
			t.Errorf("changed instance: %s\n%s", d.Action, d.Unified)
		}
	}
}
