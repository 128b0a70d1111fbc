package live

import (
	"context"
	"fmt"

	"github.com/fluxcd/pkg/ssa"
	"github.com/kubernetes-sigs/kro/pkg/graph"
	"github.com/kubernetes-sigs/kro/pkg/metadata"
	"github.com/kubernetes-sigs/kro/pkg/runtime"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/deploy"
	"github.com/typekro/kubectl-typekro/pkg/deploy/client"
	"github.com/typekro/kubectl-typekro/pkg/direct"
)

// PendingAction marks a resource whose content needs live state that does
// not exist yet (a referenced object not created, a field the cluster has
// not filled in): apply will write it once that state exists.
const PendingAction ssa.Action = "pending"

// Diff computes what apply --mode direct would write for one instance and
// compares it with the cluster: KRO's runtime resolves each node in
// topological order, fed the live objects of the nodes before it (as
// apply does), every resolved object is dry-run with server-side apply
// and diffed with the live one. Nodes that need live state which does not
// exist yet are reported as pending, with what they need. Members of the
// instance's ApplySet that are no longer rendered are reported as
// deleted (what apply --prune would delete).
func (d *Deployer) Diff(ctx context.Context, c *client.Client, inst *compile.Instance, force bool) ([]deploy.ObjectDiff, error) {
	ref := direct.InstanceRef(inst.Object)
	inv := newInventory(inst, d.DefaultNamespace)
	if err := d.loadInventory(ctx, inv); err != nil {
		return nil, err
	}
	inst = inv.identify(inst)
	// readyWhen gates when apply writes a resource, not what it holds.
	g := direct.ContentGraph(inst.Definition.Graph)
	rt, err := runtime.FromGraph(g, compile.GraphConfig, runtime.WithInstance(inst.Object))
	if err != nil {
		return nil, err
	}
	var out []deploy.ObjectDiff
	observed := map[string][]*unstructured.Unstructured{graph.InstanceNodeID: {inst.Object}}
	pendingNodes := map[string]bool{}
	rendered := sets.New[string]()
	kinds := sets.New[schema.GroupKind]()
	nss := sets.New[string]()
	addPending := func(ps ...direct.Pending) {
		for _, p := range ps {
			note := "needs " + p.Reference
			if p.Field != "" {
				note += " for " + p.Field
			}
			out = append(out, deploy.ObjectDiff{
				Subject: fmt.Sprintf("%s: resource %q (%s)", ref, p.NodeID, p.Kind),
				Action:  PendingAction, Note: note,
			})
		}
	}
	for _, n := range rt.Nodes() {
		id, kind := n.Spec.Meta.ID, n.Spec.Template.GetKind()
		typ := n.Spec.Meta.Type
		if typ == graph.NodeTypeResource || typ == graph.NodeTypeCollection {
			kinds.Insert(memberKind(inst.Definition, n.Spec))
		}
		ignored, err := n.IsIgnored()
		if err != nil {
			if !runtime.IsDataPending(err) {
				return nil, fmt.Errorf("resource %q: %w", id, err)
			}
			pendingNodes[id] = true
			addPending(direct.Pending{Instance: ref, NodeID: id, Kind: kind, Reference: "includeWhen: " + direct.WaitsOn(n, pendingNodes, err)})
			continue
		}
		if ignored {
			continue
		}
		desired, err := n.GetDesired()
		if err != nil {
			if !runtime.IsDataPending(err) {
				return nil, fmt.Errorf("resource %q: %w", id, err)
			}
			pendingNodes[id] = true
			addPending(direct.Explain(ref, n, g, observed, pendingNodes, err)...)
			continue
		}
		if typ == graph.NodeTypeExternalCollection {
			// Read, never written: what it selects now.
			c, err := d.collectionOf(desired[0])
			if err == nil {
				observed[id], err = d.list(ctx, c)
			}
			if err != nil {
				return nil, fmt.Errorf("resource %q: %w", id, err)
			}
			n.SetObserved(observed[id])
			continue
		}
		if def := inst.Definition.Composed[id]; def != nil {
			// Another composition's instance: nested ones are diffed as
			// instances of their own, and observed (like externalRefs to
			// one) through their ApplySet parent.
			var fed []*unstructured.Unstructured
			for _, des := range desired {
				if typ != graph.NodeTypeExternal {
					child, err := def.NewInstance(des, inst.Object.GetNamespace())
					if err != nil {
						return nil, fmt.Errorf("resource %q: %w", id, err)
					}
					ds, err := d.Diff(ctx, c, child, force)
					if err != nil {
						return nil, err
					}
					out = append(out, ds...)
					des = child.Object
				}
				live, err := d.readInstance(ctx, des)
				if err != nil {
					return nil, err
				}
				if live == nil && typ == graph.NodeTypeExternal {
					pendingNodes[id] = true
					addPending(direct.Pending{Instance: ref, NodeID: id, Kind: kind, Reference: "externalRef to " + direct.InstanceRef(des) + ", not applied in direct mode yet"})
					break
				}
				if live == nil {
					live = des
				} else {
					rendered.Insert(objKey(&unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": inventoryName(des), "namespace": des.GetNamespace()}}}))
				}
				fed = append(fed, live)
			}
			if !pendingNodes[id] {
				observed[id] = fed
				n.SetObserved(fed)
			}
			continue
		}
		if typ == graph.NodeTypeExternal {
			// Read, never written.
			o := &client.Object{Obj: desired[0].DeepCopy()}
			ok, err := c.Map(o)
			if err == nil && ok {
				err = c.Get(ctx, o)
			}
			if err != nil {
				return nil, err
			}
			if o.Live == nil {
				pendingNodes[id] = true
				addPending(direct.Pending{Instance: ref, NodeID: id, Kind: kind, Reference: "externalRef " + client.Subject(o.Obj) + ", which does not exist"})
				continue
			}
			observed[id] = []*unstructured.Unstructured{o.Live}
			n.SetObserved(observed[id])
			continue
		}
		fed := make([]*unstructured.Unstructured, len(desired))
		for i, des := range desired {
			obj := inv.member(des, inst, n, i, len(desired))
			od, live, err := diffObject(ctx, c, obj, force)
			if err != nil {
				return nil, err
			}
			out = append(out, od)
			rendered.Insert(objKey(obj))
			if ns := obj.GetNamespace(); ns != "" {
				nss.Insert(ns)
			}
			// Later nodes see the live object as apply would leave it, or,
			// for an object not created yet, what the template sets: what
			// only the cluster fills in stays pending.
			fed[i] = des
			if live != nil {
				fed[i] = live
			}
		}
		observed[id] = fed
		n.SetObserved(fed)
	}
	if !inv.exists {
		return out, nil
	}
	members, err := d.members(ctx, inv, kinds, nss)
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		if rendered.Has(objKey(m)) || pendingNodes[m.GetLabels()[metadata.NodeIDLabel]] {
			continue
		}
		text, err := client.UnifiedDiff(client.Subject(m), m, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, deploy.ObjectDiff{Subject: client.Subject(m), Action: ssa.DeletedAction,
			Note: "in the ApplySet, no longer rendered: apply --prune deletes it", Unified: text})
	}
	return out, nil
}

// diffObject dry-runs one object with server-side apply and diffs it
// with the live one. It returns the dry-run result when the object
// exists (what later nodes observe after apply), nil when it is new.
func diffObject(ctx context.Context, c *client.Client, obj *unstructured.Unstructured, force bool) (deploy.ObjectDiff, *unstructured.Unstructured, error) {
	o := &client.Object{Obj: obj}
	od := deploy.ObjectDiff{Subject: client.Subject(obj), Action: ssa.CreatedAction}
	newObject := func(note string) (deploy.ObjectDiff, *unstructured.Unstructured, error) {
		od.Note = note
		text, err := client.UnifiedDiff(od.Subject, nil, obj)
		od.Unified = text
		return od, nil, err
	}
	ok, err := c.Map(o)
	if err != nil {
		return od, nil, err
	}
	if !ok {
		return newObject("new: kind " + obj.GroupVersionKind().GroupKind().String() + " is not served yet")
	}
	od.Subject = client.Subject(obj) // Map set or cleared the namespace
	if err := c.Get(ctx, o); err != nil {
		return od, nil, err
	}
	merged, err := c.Apply(ctx, o, true, force)
	switch {
	case err != nil && o.Live == nil && apierrors.IsNotFound(err):
		return newObject("new: namespace " + obj.GetNamespace() + " does not exist yet")
	case err != nil:
		return od, nil, client.ApplyError(err, obj)
	}
	switch {
	case o.Live == nil:
		od.Action = ssa.CreatedAction
	case client.Drifted(o.Live, merged, c.FieldManager):
		od.Action = ssa.ConfiguredAction
	default:
		od.Action = ssa.UnchangedAction
	}
	if od.Action != ssa.UnchangedAction {
		if od.Unified, err = client.UnifiedDiff(od.Subject, o.Live, merged); err != nil {
			return od, nil, err
		}
		if od.Unified == "" && od.Action == ssa.ConfiguredAction {
			od.Note = "no field changes; applying takes ownership of the fields for field manager " + c.FieldManager
		}
	}
	if o.Live == nil {
		return od, nil, nil
	}
	return od, merged, nil
}
