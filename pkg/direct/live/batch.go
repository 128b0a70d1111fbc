package live

import (
	"context"
	"fmt"

	"github.com/kubernetes-sigs/kro/pkg/graph"
	"github.com/kubernetes-sigs/kro/pkg/metadata"
	"github.com/kubernetes-sigs/kro/pkg/runtime"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/direct"
)

// watchers start what follows a node after it is applied.
type watchers struct {
	object   func(id string, i int, u *unstructured.Unstructured) error
	list     func(id string, c collection)
	instance func(id string, ref *unstructured.Unstructured)
	nested   func(id string, i int, child *compile.Instance, labels map[string]string)
}

// applyBatch applies resolved nodes concurrently and starts their watches.
func (d *Deployer) applyBatch(ctx context.Context, inst *compile.Instance, inv *inventory, recorded sets.Set[string], batch []*runtime.Node, states map[string]*nodeState, o Options, applied sets.Set[types.UID], w watchers) error {
	type item struct {
		n   *runtime.Node
		i   int
		obj *unstructured.Unstructured
	}
	var items []item
	type child struct {
		id     string
		i      int
		inst   *compile.Instance
		labels map[string]string
	}
	var children []child
	newNS := false
	for _, n := range batch {
		desired, _ := n.GetDesired()
		id := n.Spec.Meta.ID
		nested := inst.Definition.Composed[id]
		if n.Spec.Meta.Type == graph.NodeTypeExternal {
			// Read, never written: watch it like any other input.
			states[id].live = make([]*unstructured.Unstructured, len(desired))
			states[id].applied = true
			if nested != nil {
				w.instance(id, desired[0])
				continue
			}
			if err := w.object(id, 0, desired[0]); err != nil {
				return err
			}
			continue
		}
		if nested != nil && n.Spec.Meta.Type != graph.NodeTypeExternalCollection {
			states[id].live = make([]*unstructured.Unstructured, len(desired))
			states[id].sent = desired
			for i, des := range desired {
				ci, err := nested.NewInstance(des, inv.namespace)
				if err != nil {
					return fmt.Errorf("resource %q: %w", id, err)
				}
				// The nested parent is a member of this ApplySet, labelled
				// with the node it stands for (for delete order). Not with
				// KRO's instance labels: it is not what KRO would create.
				labels := map[string]string{ApplySetPartOfLabel: inv.id, metadata.NodeIDLabel: id}
				if ns := ci.Object.GetNamespace(); !recorded.Has(ns) {
					recorded.Insert(ns)
					newNS = true
				}
				children = append(children, child{id, i, ci, labels})
			}
			continue
		}
		if n.Spec.Meta.Type == graph.NodeTypeExternalCollection {
			// Listed now, so nothing resolves against an empty list, then
			// followed like any other input.
			c, err := d.collectionOf(desired[0])
			if err != nil {
				return fmt.Errorf("resource %q: %w", id, err)
			}
			if states[id].live, err = d.list(ctx, c); err != nil {
				return fmt.Errorf("resource %q: %w", id, err)
			}
			states[id].applied = true
			w.list(id, c)
			continue
		}
		states[n.Spec.Meta.ID].live = make([]*unstructured.Unstructured, len(desired))
		states[n.Spec.Meta.ID].sent = desired
		for i, des := range desired {
			obj := inv.member(des, inst, n, i, len(desired))
			if err := direct.CheckSize(direct.InstanceRef(inst.Object), id, obj); err != nil {
				return err
			}
			if ns := obj.GetNamespace(); ns != "" && !recorded.Has(ns) {
				recorded.Insert(ns)
				newNS = true
			}
			items = append(items, item{n, i, obj})
		}
	}
	if newNS {
		if err := d.writeInventory(ctx, inv, inst.Object, inv.written.Union(kindsOf(inst.Definition, batch)), recorded); err != nil {
			return err
		}
	}
	for _, c := range children {
		d.printf(d.Progress, "%s: %s: deploying nested instance %s\n", direct.InstanceRef(inst.Object), c.id, direct.InstanceRef(c.inst.Object))
		w.nested(c.id, c.i, c.inst, c.labels)
	}
	lives := make([]*unstructured.Unstructured, len(items))
	eg, ectx := errgroup.WithContext(ctx)
	for k, it := range items {
		eg.Go(func() error {
			live, action, err := d.ssa(ectx, it.obj, o.Force, false)
			if err != nil {
				return err
			}
			lives[k] = live
			d.printf(d.Out, "%s %s\n", subject(it.obj), action)
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return err
	}
	for k, it := range items {
		st := states[it.n.Spec.Meta.ID]
		st.live[it.i] = lives[k]
		applied.Insert(lives[k].GetUID())
		if st.applied {
			continue // re-applied after its inputs changed: already watched
		}
		if err := w.object(it.n.Spec.Meta.ID, it.i, it.obj); err != nil {
			return err
		}
	}
	for _, n := range batch {
		st := states[n.Spec.Meta.ID]
		st.applied = true
		if n.Spec.Meta.Type != graph.NodeTypeExternal {
			n.SetObserved(direct.Present(st.live))
		}
	}
	return nil
}

func kindsOf(def *compile.Definition, batch []*runtime.Node) sets.Set[schema.GroupKind] {
	out := sets.New[schema.GroupKind]()
	for _, n := range batch {
		out.Insert(memberKind(def, n.Spec))
	}
	return out
}
