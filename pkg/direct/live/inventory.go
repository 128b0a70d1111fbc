package live

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/kubernetes-sigs/kro/pkg/runtime"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/direct"
)

// ApplySet labels and annotations (KEP-3659, as kubectl and KRO write them).
const (
	ApplySetIDLabel     = "applyset.kubernetes.io/id"
	ApplySetPartOfLabel = "applyset.kubernetes.io/part-of"
	ApplySetTooling     = "applyset.kubernetes.io/tooling"
	ApplySetGroupKinds  = "applyset.kubernetes.io/contains-group-kinds"
	ApplySetNamespaces  = "applyset.kubernetes.io/additional-namespaces"
	// Tooling is typekro's value of applyset.kubernetes.io/tooling.
	Tooling = "typekro/v1"
)

// inventory is an instance's ApplySet parent: a ConfigMap
// typekro-<kind>-<name> in the instance's namespace. Its id labels every
// member (applyset.kubernetes.io/part-of), and its annotations list the
// group-kinds and namespaces to search when pruning or deleting.
type inventory struct {
	name, namespace string
	id              string
	kinds           sets.Set[schema.GroupKind]
	namespaces      sets.Set[string]
	exists          bool
	// written are the kinds last recorded on the parent by this run.
	written sets.Set[schema.GroupKind]
	// uid is the parent's UID, which direct mode gives the instance as its
	// metadata.uid (KRO's instances have the UID of their custom resource).
	uid types.UID
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

func newInventory(inst *compile.Instance, defaultNS string) *inventory {
	ns := inst.Object.GetNamespace()
	if ns == "" {
		ns = defaultNS
	}
	inv := &inventory{name: inventoryName(inst.Object), namespace: ns, kinds: sets.New[schema.GroupKind](), namespaces: sets.New[string]()}
	sum := sha256.Sum256([]byte(strings.Join([]string{inv.name, ns, "ConfigMap", ""}, ".")))
	inv.id = fmt.Sprintf("applyset-%s-v1", base64.RawURLEncoding.EncodeToString(sum[:]))
	return inv
}

// identify gives the instance its parent's UID, as KRO's instance has its
// custom resource's (random.seededString(n, schema.metadata.uid) stays
// stable). Without a parent yet, the instance stays as it is.
func (inv *inventory) identify(inst *compile.Instance) *compile.Instance {
	if inv.uid == "" {
		return inst
	}
	out := &compile.Instance{Doc: inst.Doc, Definition: inst.Definition, Object: inst.Object.DeepCopy()}
	out.Object.SetUID(inv.uid)
	return out
}

// member is a node's desired object as written: KRO's labels for the
// instance and node, and the ApplySet membership label.
func (inv *inventory) member(desired *unstructured.Unstructured, inst *compile.Instance, n *runtime.Node, index, size int) *unstructured.Unstructured {
	obj := desired.DeepCopy()
	direct.Decorate(obj, inst.Object, n, index, size)
	labels := obj.GetLabels()
	labels[ApplySetPartOfLabel] = inv.id
	obj.SetLabels(labels)
	return obj
}

var configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// load reads the parent's recorded kinds and namespaces.
func (d *Deployer) loadInventory(ctx context.Context, inv *inventory) error {
	cm, err := d.Dynamic.Resource(configMaps).Namespace(inv.namespace).Get(ctx, inv.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if cm.GetLabels()[ApplySetIDLabel] != inv.id {
		return fmt.Errorf("configmap %s/%s exists and is not typekro's ApplySet parent (label %s)", inv.namespace, inv.name, ApplySetIDLabel)
	}
	parsed := inventoryOf(cm)
	inv.exists, inv.uid, inv.kinds, inv.namespaces = true, parsed.uid, parsed.kinds, parsed.namespaces
	if s, ok, _ := unstructured.NestedString(cm.Object, "data", dataStatus); ok {
		_ = json.Unmarshal([]byte(s), &inv.status)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// writeInventory server-side applies the parent with the given kinds and
// namespaces (the parent's own namespace is implicit, as the KEP says).
func (d *Deployer) writeInventory(ctx context.Context, inv *inventory, inst *unstructured.Unstructured, kinds sets.Set[schema.GroupKind], nss sets.Set[string]) error {
	inv.written = kinds.Clone()
	gks := make([]string, 0, kinds.Len())
	for gk := range kinds {
		s := gk.Kind
		if gk.Group != "" {
			s += "." + gk.Group
		}
		gks = append(gks, s)
	}
	sort.Strings(gks)
	extra := sets.List(nss.Clone().Delete(inv.namespace, ""))
	labels := map[string]any{}
	for k, v := range inv.memberOf {
		labels[k] = v
	}
	labels[ApplySetIDLabel] = inv.id
	labels["app.kubernetes.io/managed-by"] = "typekro"
	spec, _ := json.Marshal(inst.Object["spec"])
	data := map[string]any{dataInstance: inst.GroupVersionKind().GroupKind().String() + "/" + inst.GetName(), dataSpec: string(spec)}
	if inv.status != nil {
		status, _ := json.Marshal(inv.status)
		data[dataStatus] = string(status)
	}
	cm := map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{
			"name": inv.name, "namespace": inv.namespace,
			"labels": labels,
			"annotations": map[string]any{
				ApplySetTooling:    Tooling,
				ApplySetGroupKinds: strings.Join(gks, ","),
				ApplySetNamespaces: strings.Join(extra, ","),
			},
		},
		"data": data,
	}
	body, err := json.Marshal(cm)
	if err != nil {
		return err
	}
	force := true // typekro is the only writer of its parent objects
	opts := metav1.PatchOptions{FieldManager: d.FieldManager, Force: &force}
	out, err := d.Dynamic.Resource(configMaps).Namespace(inv.namespace).Patch(ctx, inv.name, types.ApplyPatchType, body, opts)
	if err != nil {
		return fmt.Errorf("ApplySet parent configmap/%s -n %s: %w", inv.name, inv.namespace, err)
	}
	inv.uid = out.GetUID()
	return nil
}

// members lists the live objects labelled part-of the inventory, across
// its recorded kinds and namespaces plus the given ones.
func (d *Deployer) members(ctx context.Context, inv *inventory, kinds sets.Set[schema.GroupKind], nss sets.Set[string]) ([]*unstructured.Unstructured, error) {
	kinds = kinds.Union(inv.kinds)
	nss = nss.Union(inv.namespaces).Insert(inv.namespace)
	sel := ApplySetPartOfLabel + "=" + inv.id
	var out []*unstructured.Unstructured
	for gk := range kinds {
		m, err := d.Mapper.RESTMapping(gk)
		if meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		scopes := []string{""}
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			scopes = sets.List(nss)
		}
		for _, ns := range scopes {
			list, err := d.Dynamic.Resource(m.Resource).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", m.Resource.Resource, err)
			}
			for i := range list.Items {
				out = append(out, &list.Items[i])
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return objKey(out[i]) < objKey(out[j]) })
	return out, nil
}

func objKey(u *unstructured.Unstructured) string {
	return u.GroupVersionKind().GroupKind().String() + "/" + u.GetNamespace() + "/" + u.GetName()
}
