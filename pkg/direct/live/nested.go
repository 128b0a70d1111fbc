package live

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kubernetes-sigs/kro/pkg/metadata"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// Without KRO, an instance of a composition exists in the cluster only as
// its ApplySet parent configmap. Nested instances (a node whose kind is
// another composition's) are deployed as instances of their own, whose
// parent is a member of the outer ApplySet; externalRefs to such a kind
// read the instance back from its parent.

// instanceFromParent rebuilds an instance (identity, spec, last hydrated
// status, the parent's UID) from its parent configmap, or nil when cm is
// not one for gvk.
func instanceFromParent(cm *unstructured.Unstructured, gvk schema.GroupVersionKind) *unstructured.Unstructured {
	if cm == nil || cm.GetAnnotations()[ssa.ApplySetTooling] != ssa.Tooling {
		return nil
	}
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(cm.GetNamespace())
	ref := data[dataInstance] // Kind.group/name
	u.SetName(ref[strings.LastIndex(ref, "/")+1:])
	u.SetUID(cm.GetUID())
	for _, k := range []string{dataSpec, dataStatus} {
		var v map[string]any
		if json.Unmarshal([]byte(data[k]), &v) == nil && v != nil {
			u.Object[k] = v
		}
	}
	return u
}

// parentRef is where an instance's parent configmap lives.
func parentRef(inst *unstructured.Unstructured) (ns, name string) {
	return inst.GetNamespace(), inventoryName(inst)
}

// readInstance reads another composition's instance from its parent; nil
// when it has not been applied in direct mode.
func (d *Deployer) readInstance(ctx context.Context, ref *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	ns, name := parentRef(ref)
	if ns == "" {
		ns = d.DefaultNamespace
	}
	cm, err := d.Dynamic.Resource(configMaps).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", ref.GetKind(), ref.GetName(), err)
	}
	return instanceFromParent(cm, ref.GroupVersionKind()), nil
}

// isNestedParent reports whether a member of an ApplySet is the parent
// of a nested instance.
func isNestedParent(u *unstructured.Unstructured) bool {
	return u.GetKind() == "ConfigMap" && u.GetAPIVersion() == "v1" &&
		u.GetLabels()[ssa.ApplySetIDLabel] != "" && u.GetAnnotations()[ssa.ApplySetTooling] == ssa.Tooling
}

// deleteNested deletes a nested instance's members (and their nested
// instances, depth first) in reverse dependency order, then its parent.
func (d *Deployer) deleteNested(ctx context.Context, outer *compile.Definition, cm *unstructured.Unstructured) ([]string, error) {
	var def *compile.Definition
	if outer != nil {
		def = outer.Composed[cm.GetLabels()[metadata.NodeIDLabel]]
	}
	set, err := ssa.ParseApplySet(cm)
	if err != nil {
		return nil, err
	}
	inv := &inventory{ApplySet: set}
	objs, err := d.members(ctx, inv, sets.New[schema.GroupKind](), sets.New[string]())
	if err != nil {
		return nil, err
	}
	deleted, err := d.deleteInWaves(ctx, def, inv, objs)
	if err != nil {
		return deleted, fmt.Errorf("nested instance %s: %w", cm.GetName(), err)
	}
	return deleted, nil
}
