package live

import (
	"context"
	"fmt"

	"github.com/kubernetes-sigs/kro/pkg/graph"
	"github.com/kubernetes-sigs/kro/pkg/metadata"
	"github.com/kubernetes-sigs/kro/pkg/runtime"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/deploy"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
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
func (d *Deployer) Diff(ctx context.Context, c *ssa.Client, inst *compile.Instance, force bool) ([]deploy.ObjectDiff, error) {
	ref := direct.InstanceRef(inst.Object)
	inv, err := d.loadInventory(ctx, inst)
	if err != nil {
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
	kinds := memberKinds(inst.Definition)
	nss := sets.New[string]()
	addPending := func(ps ...direct.Pending) {
		for _, p := range ps {
			pendingNodes[p.NodeID] = true
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
	pending := func(n *runtime.Node, reference string) {
		addPending(direct.Pending{Instance: ref, NodeID: n.Spec.Meta.ID, Kind: n.Spec.Template.GetKind(), Reference: reference})
	}
	feed := func(n *runtime.Node, objs []*unstructured.Unstructured) {
		observed[n.Spec.Meta.ID] = objs
		n.SetObserved(objs)
	}
	// composed: another composition's instance. Nested ones are diffed as
	// instances of their own, and observed (like externalRefs to one)
	// through their ApplySet parent.
	composed := func(n *runtime.Node, def *compile.Definition, desired []*unstructured.Unstructured) error {
		id, external := n.Spec.Meta.ID, n.Spec.Meta.Type == graph.NodeTypeExternal
		var fed []*unstructured.Unstructured
		for _, des := range desired {
			if !external {
				child, err := def.NewInstance(des, inst.Object.GetNamespace())
				if err != nil {
					return fmt.Errorf("resource %q: %w", id, err)
				}
				ds, err := d.Diff(ctx, c, child, force)
				if err != nil {
					return err
				}
				out = append(out, ds...)
				des = child.Object
			}
			live, err := d.readInstance(ctx, des)
			if err != nil {
				return err
			}
			if live == nil && external {
				pending(n, "externalRef to "+direct.InstanceRef(des)+", not applied in direct mode yet")
				return nil
			}
			if live == nil {
				live = des
			} else {
				rendered.Insert(ssa.Key(parentStub(des)))
			}
			fed = append(fed, live)
		}
		feed(n, fed)
		return nil
	}
	err = direct.Walk(rt, inst.Definition, direct.Hooks{
		Failed: func(n *runtime.Node, err error) error { return fmt.Errorf("resource %q: %w", n.Spec.Meta.ID, err) },
		Pending: func(n *runtime.Node, err error, includeWhen bool) error {
			if includeWhen {
				pendingNodes[n.Spec.Meta.ID] = true
				pending(n, "includeWhen: "+direct.WaitsOn(n, pendingNodes, err))
				return nil
			}
			pendingNodes[n.Spec.Meta.ID] = true
			addPending(direct.Explain(ref, n, g, observed, pendingNodes, err)...)
			return nil
		},
		Nested:           composed,
		ExternalInstance: composed,
		ExternalCollection: func(n *runtime.Node, desired []*unstructured.Unstructured) error {
			// Read, never written: what it selects now.
			col, err := d.collectionOf(desired[0])
			var live []*unstructured.Unstructured
			if err == nil {
				live, err = d.list(ctx, col)
			}
			if err != nil {
				return fmt.Errorf("resource %q: %w", n.Spec.Meta.ID, err)
			}
			feed(n, live)
			return nil
		},
		External: func(n *runtime.Node, desired []*unstructured.Unstructured) error {
			// Read, never written.
			o := &ssa.Object{Obj: desired[0].DeepCopy()}
			ok, err := c.Map(o)
			if err == nil && ok {
				err = c.Get(ctx, o)
			}
			if err != nil {
				return err
			}
			if o.Live == nil {
				pending(n, "externalRef "+ssa.Subject(o.Obj)+", which does not exist")
				return nil
			}
			feed(n, []*unstructured.Unstructured{o.Live})
			return nil
		},
		Resource: func(n *runtime.Node, desired []*unstructured.Unstructured) error {
			fed := make([]*unstructured.Unstructured, len(desired))
			for i, des := range desired {
				obj := inv.member(des, inst, n, i, len(desired))
				od, live, err := diffObject(ctx, c, obj, force)
				if err != nil {
					return err
				}
				out = append(out, od)
				rendered.Insert(ssa.Key(obj))
				if ns := obj.GetNamespace(); ns != "" {
					nss.Insert(ns)
				}
				// Later nodes see the live object as apply would leave it,
				// or, for an object not created yet, what the template
				// sets: what only the cluster fills in stays pending.
				fed[i] = des
				if live != nil {
					fed[i] = live
				}
			}
			feed(n, fed)
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	if !inv.Exists {
		return out, nil
	}
	members, err := d.members(ctx, inv, kinds, nss)
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		if rendered.Has(ssa.Key(m)) || pendingNodes[m.GetLabels()[metadata.NodeIDLabel]] {
			continue
		}
		text, err := ssa.UnifiedDiff(ssa.Subject(m), m, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, deploy.ObjectDiff{Subject: ssa.Subject(m), Action: ssa.DeletedAction,
			Note: "in the ApplySet, no longer rendered: apply --prune deletes it", Unified: text})
	}
	return out, nil
}

// parentStub names the ApplySet parent of an instance (for Key).
func parentStub(inst *unstructured.Unstructured) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}
	u.SetName(inventoryName(inst))
	u.SetNamespace(inst.GetNamespace())
	return u
}

// diffObject dry-runs one object with server-side apply and diffs it
// with the live one. It returns the dry-run result when the object
// exists (what later nodes observe after apply), nil when it is new.
func diffObject(ctx context.Context, c *ssa.Client, obj *unstructured.Unstructured, force bool) (deploy.ObjectDiff, *unstructured.Unstructured, error) {
	o := &ssa.Object{Obj: obj}
	od := deploy.ObjectDiff{Subject: ssa.Subject(obj), Action: ssa.CreatedAction}
	newObject := func(note string) (deploy.ObjectDiff, *unstructured.Unstructured, error) {
		od.Note = note
		text, err := ssa.UnifiedDiff(od.Subject, nil, obj)
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
	od.Subject = ssa.Subject(obj) // Map set or cleared the namespace
	if err := c.Get(ctx, o); err != nil {
		return od, nil, err
	}
	merged, err := c.Apply(ctx, o, true, force)
	switch {
	case err != nil && o.Live == nil && apierrors.IsNotFound(err):
		return newObject("new: namespace " + obj.GetNamespace() + " does not exist yet")
	case err != nil:
		return od, nil, ssa.ApplyError(err, obj)
	}
	od.Action = c.Decide(o.Live, merged)
	if od.Action != ssa.UnchangedAction {
		if od.Unified, err = ssa.UnifiedDiff(od.Subject, o.Live, merged); err != nil {
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
