package live

import (
	"context"
	"fmt"
	"strings"

	"github.com/kubernetes-sigs/kro/pkg/graph"
	"github.com/kubernetes-sigs/kro/pkg/runtime"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/schemas"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// Offline is a Deployer whose cluster is a set of observed objects held
// in memory (render --observed, typekro test): instances are observed and
// their references resolved with the very lookups apply, diff and status
// use against a real cluster (by kind, namespace and name; collections by
// their selector), so the offline answer is the online one.
type Offline struct {
	d *Deployer
}

var _ direct.Observer = (*Offline)(nil)

// Kinds maps the kinds of a compiled input set to resources for
// in-memory clusters: the built-in schemas and the CRDs of the inputs;
// a kind known to neither gets the conventional plural. Built once, it
// serves every NewOffline of that input set.
type Kinds struct {
	mapper    meta.RESTMapper
	listKinds map[schema.GroupVersionResource]string
}

// NewKinds prepares the kinds of res.
func NewKinds(res *compile.Result) (*Kinds, error) {
	reg := schemas.Builtin().Clone()
	for _, c := range res.CRDs {
		_ = reg.AddCRDFromUnstructured(c.Unstructured()) // compile already reported a bad one
	}
	k := &Kinds{mapper: guessingMapper{reg.RESTMapper()}, listKinds: map[schema.GroupVersionResource]string{}}
	// Every kind a node reads may be listed (collections): the fake
	// client must know its list kind.
	for _, def := range res.Definitions {
		for _, n := range def.Graph.Nodes {
			if _, err := k.add(k.listKinds, n.Template.GroupVersionKind()); err != nil {
				return nil, err
			}
		}
	}
	return k, nil
}

func (k *Kinds) add(listKinds map[schema.GroupVersionResource]string, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, err
	}
	listKinds[m.Resource] = gvk.Kind + "List"
	return m, nil
}

// NewOffline holds objs as the cluster's state, with the kinds of res.
func NewOffline(objs []*unstructured.Unstructured, res *compile.Result, defaultNamespace string) (*Offline, error) {
	k, err := NewKinds(res)
	if err != nil {
		return nil, err
	}
	return k.Offline(objs, defaultNamespace)
}

// Offline holds objs as the cluster's state.
func (k *Kinds) Offline(objs []*unstructured.Unstructured, defaultNamespace string) (*Offline, error) {
	listKinds := make(map[schema.GroupVersionResource]string, len(k.listKinds)+len(objs))
	for r, l := range k.listKinds {
		listKinds[r] = l
	}
	type stored struct {
		gvr schema.GroupVersionResource
		obj *unstructured.Unstructured
	}
	all := make([]stored, 0, len(objs))
	for _, o := range objs {
		m, err := k.add(listKinds, o.GroupVersionKind())
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
		}
		all = append(all, stored{m.Resource, o})
	}
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(kruntime.NewScheme(), listKinds)
	for _, s := range all {
		if err := client.Tracker().Create(s.gvr, s.obj, s.obj.GetNamespace()); err != nil {
			return nil, fmt.Errorf("observed %s %s: %w", s.obj.GetKind(), ssa.Key(s.obj), err)
		}
	}
	return &Offline{d: &Deployer{Dynamic: client, Mapper: k.mapper, DefaultNamespace: defaultNamespace}}, nil
}

// Status observes an instance as `status` does: readiness of every node
// and the status KRO would write (fields, state ACTIVE or IN_PROGRESS).
func (o *Offline) Status(inst *compile.Instance) (*InstanceResult, error) {
	return o.d.Observe(context.Background(), inst)
}

// Live returns the observed objects of a node, as Observe reads them.
func (o *Offline) Live(inst *compile.Instance, n *runtime.Node, desired []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	ctx := context.Background()
	if len(desired) == 0 {
		return nil, nil
	}
	if n.Spec.Meta.Type == graph.NodeTypeExternalCollection {
		c, err := o.d.collectionOf(desired[0])
		if err != nil {
			return nil, err
		}
		return o.d.list(ctx, c)
	}
	if live, err := o.d.observeComposed(ctx, inst, n, desired); err != nil || live != nil {
		if len(live) != len(desired) {
			return nil, err // a nested instance not (yet) ready
		}
		return live, err
	}
	out := make([]*unstructured.Unstructured, len(desired))
	for i, des := range desired {
		live, err := o.d.get(ctx, des)
		if err != nil {
			return nil, err
		}
		out[i] = live
	}
	return out, nil
}

// guessingMapper maps kinds the registry does not know (CRDs not in the
// inputs) to the conventional lowercase plural, namespaced: offline, the
// observed objects and the lookups only need to agree.
type guessingMapper struct{ meta.RESTMapper }

func (m guessingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	r, err := m.RESTMapper.RESTMapping(gk, versions...)
	if err == nil || !meta.IsNoMatchError(err) || len(versions) == 0 || versions[0] == "" {
		return r, err
	}
	gvk := gk.WithVersion(versions[0])
	plural, _ := meta.UnsafeGuessKindToResource(gvk)
	plural.Resource = strings.ToLower(plural.Resource)
	return &meta.RESTMapping{Resource: plural, GroupVersionKind: gvk, Scope: meta.RESTScopeNamespace}, nil
}

// ReadObjects reads observed objects from files and directories with the
// project's one input reader (its limits and confinement apply). A
// `kind: List` (kubectl get -o yaml) contributes its items.
func ReadObjects(r *composition.Reader, paths ...string) ([]*unstructured.Unstructured, error) {
	files, err := r.Files(paths)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	var errs composition.Errors
	for _, f := range files {
		data, err := r.ReadFile(f)
		if err != nil {
			return nil, err
		}
		docs, perrs := composition.Parse(f, data)
		errs = append(errs, perrs...)
		for _, d := range docs {
			objs, err := listItems(d)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, objs...)
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// listItems expands a List document into its objects.
func listItems(d *composition.Document) ([]*unstructured.Unstructured, *composition.Error) {
	if !strings.HasSuffix(d.Kind(), "List") {
		return []*unstructured.Unstructured{d.Unstructured()}, nil
	}
	items, ok := d.Object["items"].([]any)
	if _, present := d.Object["items"]; present && !ok {
		return nil, d.Errorf("items", "items must be a list of objects")
	}
	var out []*unstructured.Unstructured
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, d.Errorf(fmt.Sprintf("items[%d]", i), "an item must be an object with apiVersion and kind")
		}
		u := (&unstructured.Unstructured{Object: m}).DeepCopy()
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, d.Errorf(fmt.Sprintf("items[%d]", i), "an item needs apiVersion, kind and metadata.name")
		}
		out = append(out, u)
	}
	return out, nil
}
