package live

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kubernetes-sigs/kro/pkg/runtime"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// inventory is an instance's ApplySet (pkg/ssa) with what typekro keeps
// on its parent ConfigMap typekro-<kind>-<name> in the instance's
// namespace besides KEP-3659's record.
type inventory struct {
	*ssa.ApplySet
	// written are the kinds last recorded on the parent by this run.
	written sets.Set[schema.GroupKind]
	// status is the instance's hydrated status, kept on the parent so
	// externalRefs from other compositions and status can read it.
	status map[string]any
	// memberOf labels a nested instance's parent as a member of the outer
	// instance's ApplySet (with KRO's labels for the outer node).
	memberOf map[string]string
}

// Data keys of the parent configmap: the instance's kind and name, its
// spec and its last hydrated status (JSON).
const (
	dataInstance = "instance"
	dataSpec     = "spec"
	dataStatus   = "status"
)

func inventoryName(inst *unstructured.Unstructured) string {
	n := "typekro-" + strings.ToLower(inst.GetKind()) + "-" + inst.GetName()
	if len(n) > 253 {
		n = n[:253]
	}
	return n
}

func parentNamespace(inst *unstructured.Unstructured, defaultNS string) string {
	if ns := inst.GetNamespace(); ns != "" {
		return ns
	}
	return defaultNS
}

// identify gives the instance its parent's UID, which direct mode gives
// the instance as its metadata.uid, as KRO's instance has its custom
// resource's (random.seededString(n, schema.metadata.uid) stays stable).
// Without a parent yet, the instance stays as it is.
func (inv *inventory) identify(inst *compile.Instance) *compile.Instance {
	if inv.UID == "" {
		return inst
	}
	out := &compile.Instance{Doc: inst.Doc, Definition: inst.Definition, Object: inst.Object.DeepCopy()}
	out.Object.SetUID(inv.UID)
	return out
}

// member is a node's desired object as written: KRO's labels for the
// instance and node, and the ApplySet membership label.
func (inv *inventory) member(desired *unstructured.Unstructured, inst *compile.Instance, n *runtime.Node, index, size int) *unstructured.Unstructured {
	obj := desired.DeepCopy()
	direct.Decorate(obj, inst.Object, n, index, size)
	inv.Label(obj)
	return obj
}

var configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// loadInventory reads an instance's ApplySet parent (an empty inventory
// when there is none), with the status last recorded on it.
func (d *Deployer) loadInventory(ctx context.Context, inst *compile.Instance) (*inventory, error) {
	set, err := d.client().LoadApplySet(ctx, inventoryName(inst.Object), parentNamespace(inst.Object, d.DefaultNamespace))
	if err != nil {
		return nil, err
	}
	inv := &inventory{ApplySet: set}
	if set.Parent != nil {
		if s, ok, _ := unstructured.NestedString(set.Parent.Object, "data", dataStatus); ok {
			_ = json.Unmarshal([]byte(s), &inv.status)
		}
	}
	return inv, nil
}

// writeInventory server-side applies the parent with the given kinds and
// namespaces (the parent's own namespace is implicit, as the KEP says),
// through pkg/ssa's one apply, with force: typekro is the only writer of
// its parent objects.
func (d *Deployer) writeInventory(ctx context.Context, inv *inventory, inst *unstructured.Unstructured, kinds sets.Set[schema.GroupKind], nss sets.Set[string]) error {
	inv.written = kinds.Clone()
	setLabels, annotations := inv.ParentMetadata(kinds, nss)
	labels := map[string]string{}
	for k, v := range inv.memberOf {
		labels[k] = v
	}
	for k, v := range setLabels {
		labels[k] = v
	}
	labels["app.kubernetes.io/managed-by"] = "typekro"
	spec, _ := json.Marshal(inst.Object["spec"])
	data := map[string]any{dataInstance: inst.GroupVersionKind().GroupKind().String() + "/" + inst.GetName(), dataSpec: string(spec)}
	if inv.status != nil {
		status, _ := json.Marshal(inv.status)
		data[dataStatus] = string(status)
	}
	cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": data}}
	cm.SetName(inv.Name)
	cm.SetNamespace(inv.Namespace)
	cm.SetLabels(labels)
	cm.SetAnnotations(annotations)
	o := &ssa.Object{Obj: cm, Mapping: configMapMapping, Namespaced: true}
	out, err := d.client().Apply(ctx, o, false, true)
	if err != nil {
		return fmt.Errorf("ApplySet parent %w", ssa.ApplyError(err, cm))
	}
	inv.UID, inv.Exists = out.GetUID(), true
	return nil
}

var configMapMapping = &meta.RESTMapping{Resource: configMaps, GroupVersionKind: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Scope: meta.RESTScopeNamespace}

// members lists the live members of the inventory, across its recorded
// kinds and namespaces plus the given ones.
func (d *Deployer) members(ctx context.Context, inv *inventory, kinds sets.Set[schema.GroupKind], nss sets.Set[string]) ([]*unstructured.Unstructured, error) {
	return d.client().Members(ctx, inv.ApplySet, kinds, nss, nil)
}
