package live

import (
	"bytes"
	"context"
	"github.com/typekro/kubectl-typekro/internal/compiletest"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/typekro/kubectl-typekro/internal/fakecluster"
	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// stack is a composition whose ref resource needs a field only the
// cluster fills in (config's uid), and whose extra resource exists only
// while spec.extra is true.
const stack = `
apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata: {name: stack}
spec:
  apiVersion: example.com/v1alpha1
  kind: Stack
  schema:
    spec:
      name: string | required=true
      value: string | default="1"
      extra: boolean | default=false
    status:
      configUID: ${config.metadata.uid}
  resources:
    - id: config
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: "${schema.spec.name}-config"}
        data: {value: "${schema.spec.value}"}
    - id: ref
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: "${schema.spec.name}-ref"}
        data: {configUID: "${config.metadata.uid}"}
    - id: extra
      includeWhen: ["${schema.spec.extra}"]
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: "${schema.spec.name}-extra"}
        data: {a: b}
`

// instances compiles the stack with the given instance documents.
func instances(t *testing.T, docs ...string) []*compile.Instance {
	t.Helper()
	return compileWith(t, stack, docs...)
}

func compileWith(t *testing.T, body string, docs ...string) []*compile.Instance {
	t.Helper()
	return compiletest.YAML(t, append([]string{body}, docs...)...).Instances
}

func instance(name, spec string) string {
	return "apiVersion: example.com/v1alpha1\nkind: Stack\nmetadata: {name: " + name + ", namespace: apps}\nspec: " + spec + "\n"
}

// engine is a Deployer on a fake cluster; out collects its change lines.
func engine() (*Deployer, *fakecluster.Cluster, *bytes.Buffer) {
	fc := fakecluster.New([]fakecluster.Kind{fakecluster.ConfigMap, fakecluster.Namespace})
	out := &bytes.Buffer{}
	return &Deployer{Dynamic: fc.Client, Mapper: fc.Mapper, FieldManager: ssa.DefaultFieldManager, DefaultNamespace: "default", Out: out}, fc, out
}

func cm(fc *fakecluster.Cluster, name string) *unstructured.Unstructured {
	return fc.Get(fakecluster.ConfigMap, "apps", name)
}

func index(list []string, s string) int { return slices.Index(list, s) }

// Staging: the ApplySet parent is written before any member; ref waits for
// config's uid, which only the cluster assigns, so it is written in a
// later batch with the live value; the status is evaluated on the live
// objects; a second apply changes nothing.
func TestApplyStagesByReference(t *testing.T) {
	d, fc, out := engine()
	insts := instances(t, instance("one", "{name: one, extra: true}"))
	res, err := d.Apply(context.Background(), insts, Options{})
	if err != nil {
		t.Fatal(err)
	}
	patches := fc.Verbs("patch")
	parent, config, ref := index(patches, "patch configmaps apps/typekro-stack-one"), index(patches, "patch configmaps apps/one-config"), index(patches, "patch configmaps apps/one-ref")
	if parent != 0 || config < 0 || ref < config {
		t.Errorf("apply order %v: want the parent first, config before ref", patches)
	}
	uid := cm(fc, "one-config").GetUID()
	if got, _, _ := unstructured.NestedString(cm(fc, "one-ref").Object, "data", "configUID"); got != string(uid) || uid == "" {
		t.Errorf("ref.data.configUID = %q, want config's uid %q", got, uid)
	}
	r := res[0]
	if got, _, _ := unstructured.NestedString(r.Instance.Object, "status", "configUID"); !r.Ready || got != string(uid) {
		t.Errorf("result ready=%v status.configUID=%q waiting=%v", r.Ready, got, r.Waiting)
	}
	if state, _, _ := unstructured.NestedString(r.Instance.Object, "status", "state"); state != "ACTIVE" {
		t.Errorf("state %q", state)
	}
	for _, name := range []string{"one-config", "one-ref", "one-extra"} {
		if l := cm(fc, name).GetLabels()[ssa.ApplySetPartOfLabel]; l != ssa.NewApplySet("typekro-stack-one", "apps").ID {
			t.Errorf("%s: part-of %q", name, l)
		}
	}
	if len(r.Changes.Entries) != 3 {
		t.Errorf("changes %v", r.Changes.Entries)
	}
	if !strings.Contains(out.String(), "configmap/one-ref -n apps created\n") {
		t.Errorf("change lines:\n%s", out)
	}
	rv := cm(fc, "one-ref").GetResourceVersion()
	out.Reset()
	res, err = d.Apply(context.Background(), insts, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res[0].Changes.Entries {
		if e.Action != ssa.UnchangedAction {
			t.Errorf("second apply: %s", e)
		}
	}
	if cm(fc, "one-ref").GetResourceVersion() != rv {
		t.Error("second apply rewrote ref")
	}
}

// Prune deletes the members an apply no longer renders, only with
// --prune, and records only the current kinds afterwards.
func TestApplyPrune(t *testing.T) {
	d, fc, _ := engine()
	ctx := context.Background()
	if _, err := d.Apply(ctx, instances(t, instance("one", "{name: one, extra: true}")), Options{}); err != nil {
		t.Fatal(err)
	}
	without := instances(t, instance("one", "{name: one, extra: false}"))
	res, err := d.Apply(ctx, without, Options{})
	if err != nil || len(res[0].Pruned) != 0 || cm(fc, "one-extra") == nil {
		t.Fatalf("apply without --prune deleted something: %v %v", err, res[0].Pruned)
	}
	res, err = d.Apply(ctx, without, Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res[0].Pruned, []string{"configmap/one-extra -n apps"}) || cm(fc, "one-extra") != nil {
		t.Errorf("pruned %v, extra left: %v", res[0].Pruned, cm(fc, "one-extra") != nil)
	}
	if cm(fc, "one-config") == nil || cm(fc, "one-ref") == nil {
		t.Error("prune deleted rendered members")
	}
	// The delete went with the uid the member was listed with.
	if deletes := fc.Verbs("delete"); !slices.Equal(deletes, []string{"delete configmaps apps/one-extra"}) {
		t.Errorf("deletes %v", deletes)
	}
}

// Two instances rendering the same object: the second is refused,
// naming both, and the object stays the first one's.
func TestApplyOwnerConflict(t *testing.T) {
	d, fc, _ := engine()
	ctx := context.Background()
	if _, err := d.Apply(ctx, instances(t, instance("one", "{name: shared}")), Options{}); err != nil {
		t.Fatal(err)
	}
	_, err := d.Apply(ctx, instances(t, instance("two", "{name: shared, value: '2'}")), Options{Force: true})
	if err == nil {
		t.Fatal("the second instance took the object over")
	}
	for _, want := range []string{"configmap/shared-config -n apps", "owned by Stack/one -n apps", "also rendered by Stack/two -n apps"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if v, _, _ := unstructured.NestedString(cm(fc, "shared-config").Object, "data", "value"); v != "1" {
		t.Errorf("value %q: overwritten", v)
	}
}

// Delete goes in reverse dependency order (ref uses config, so ref goes
// first), then the ApplySet parent.
func TestDeleteOrder(t *testing.T) {
	d, fc, out := engine()
	ctx := context.Background()
	insts := instances(t, instance("one", "{name: one, extra: true}"))
	if _, err := d.Apply(ctx, insts, Options{}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	deleted, err := d.Delete(ctx, insts)
	if err != nil {
		t.Fatal(err)
	}
	dels := fc.Verbs("delete")
	ref, config, parent := index(dels, "delete configmaps apps/one-ref"), index(dels, "delete configmaps apps/one-config"), index(dels, "delete configmaps apps/typekro-stack-one")
	if ref < 0 || config < ref || parent != len(dels)-1 {
		t.Errorf("delete order %v", dels)
	}
	if len(deleted) != 3 || cm(fc, "one-config") != nil || cm(fc, "typekro-stack-one") != nil {
		t.Errorf("deleted %v", deleted)
	}
	if !strings.HasSuffix(out.String(), "configmap/typekro-stack-one -n apps deleted (ApplySet parent)\n") {
		t.Errorf("output:\n%s", out)
	}
}

// Diff after apply: unchanged; a changed value is configured with a
// unified diff, the member no longer rendered is shown deleted, and
// nothing is written.
func TestDiffAfterApply(t *testing.T) {
	d, fc, _ := engine()
	ctx := context.Background()
	if _, err := d.Apply(ctx, instances(t, instance("one", "{name: one, extra: true}")), Options{}); err != nil {
		t.Fatal(err)
	}
	c := d.client()
	same := instances(t, instance("one", "{name: one, extra: true}"))[0]
	diffs, err := d.Diff(ctx, c, same, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, od := range diffs {
		if od.Action != ssa.UnchangedAction {
			t.Errorf("unchanged input: %s %s %s", od.Subject, od.Action, od.Note)
		}
	}
	writes := len(fc.Verbs("delete")) + len(fc.Verbs("patch"))
	changed := instances(t, instance("one", "{name: one, value: '2'}"))[0]
	diffs, err = d.Diff(ctx, c, changed, false)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, od := range diffs {
		got[od.Subject] = string(od.Action)
		if od.Subject == "configmap/one-config -n apps" && !strings.Contains(od.Unified, "-  value: \"1\"\n+  value: \"2\"") {
			t.Errorf("config diff:\n%s", od.Unified)
		}
	}
	want := map[string]string{"configmap/one-config -n apps": "configured", "configmap/one-ref -n apps": "unchanged", "configmap/one-extra -n apps": "deleted"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	// Dry runs only: nothing stored, nothing deleted.
	for _, v := range fc.Verbs("patch", "delete")[writes:] {
		if !strings.HasSuffix(v, "(dry run)") {
			t.Errorf("diff wrote: %s", v)
		}
	}
}

// The server dry run: an object in a namespace that does not exist yet
// is a note, not an error.
func TestDryRunMissingNamespace(t *testing.T) {
	d, fc, _ := engine()
	fc.Namespaces("apps")
	ready := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "a", "namespace": "apps"}}}
	later := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "b", "namespace": "later"}}}
	inst := instances(t, instance("one", "{name: one}"))[0]
	notes, err := d.DryRun(context.Background(), []direct.Resource{{Instance: inst, NodeID: "config", Object: ready}, {Instance: inst, NodeID: "config", Object: later}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(notes, []string{"not dry-run (kind or namespace does not exist yet): configmap/b -n later"}) {
		t.Errorf("notes %v", notes)
	}
	if cm(fc, "a") != nil {
		t.Error("a dry run stored the object")
	}
}

// gated is the stack with a readyWhen on config: ref waits for it.
var gated = strings.Replace(stack, `        data: {value: "${schema.spec.value}"}`, `        data: {value: "${schema.spec.value}"}
      readyWhen: ["${config.data.?ready.orValue('') == 'yes'}"]`, 1)

// signal is a Progress writer that hands every line to the test.
type signal chan string

func (s signal) Write(p []byte) (int, error) { s <- string(p); return len(p), nil }

// Awaiting readiness: the run says what it waits for, with the time on
// the injected clock, and goes on when a watch event brings the object
// that satisfies readyWhen; nodes that need it are written only then.
func TestApplyAwaitsReadiness(t *testing.T) {
	d, fc, _ := engine()
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	progress := make(signal, 16)
	d.Clock, d.Progress = clk, progress
	insts := compileWith(t, gated, instance("one", "{name: one}"))
	done := make(chan error, 1)
	go func() {
		_, err := d.Apply(context.Background(), insts, Options{})
		done <- err
	}()
	for line := range progress {
		if strings.Contains(line, "waiting for config") {
			if !strings.Contains(line, "(ConfigMap/one-config) (0s)") {
				t.Errorf("waiting line %q", line)
			}
			break
		}
	}
	if cm(fc, "one-ref") != nil {
		t.Fatal("ref written before config was ready")
	}
	clk.SetTime(clk.Now().Add(5 * time.Second))
	ready := cm(fc, "one-config")
	_ = unstructured.SetNestedField(ready.Object, "yes", "data", "ready")
	if err := fc.Client.Tracker().Update(fakecluster.ConfigMap.GVR(), ready, "apps"); err != nil {
		t.Fatal(err)
	}
	for line := range progress {
		if strings.Contains(line, "config ready") {
			if !strings.Contains(line, "(5s)") {
				t.Errorf("ready line %q", line)
			}
			break
		}
	}
	go func() {
		for range progress { // the rest of the lines
		}
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if cm(fc, "one-ref") == nil {
		t.Error("ref not written once config was ready")
	}
}

// --wait=false still waits where a resource needs another's readiness
// (ref on config), as KRO would, but not for the last ones.
func TestApplyNoWait(t *testing.T) {
	d, fc, _ := engine()
	gatedRef := strings.Replace(stack, `        data: {configUID: "${config.metadata.uid}"}`, `        data: {configUID: "${config.metadata.uid}"}
      readyWhen: ["${ref.data.?ready.orValue('') == 'yes'}"]`, 1)
	res, err := d.Apply(context.Background(), compileWith(t, gatedRef, instance("one", "{name: one}")), Options{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Ready || cm(fc, "one-ref") == nil || !slices.ContainsFunc(res[0].Waiting, func(s string) bool { return strings.HasPrefix(s, "ref: ") }) {
		t.Errorf("ready=%v waiting=%v", res[0].Ready, res[0].Waiting)
	}
}
