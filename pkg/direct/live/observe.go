package live

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/kubernetes-sigs/kro/pkg/graph"
	"github.com/kubernetes-sigs/kro/pkg/metadata"
	"github.com/kubernetes-sigs/kro/pkg/runtime"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/readiness"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// Observe recomputes an instance's status from the live objects: KRO's
// runtime resolves each node in order, the live object is read and fed
// back, readiness is checked, and the status expressions are evaluated.
func (d *Deployer) Observe(ctx context.Context, inst *compile.Instance) (*InstanceResult, error) {
	inst, err := d.withUID(ctx, inst)
	if err != nil {
		return nil, err
	}
	rt, err := runtime.FromGraph(inst.Definition.Graph, compile.GraphConfig, runtime.WithInstance(inst.Object))
	if err != nil {
		return nil, err
	}
	states := map[string]*nodeState{}
	state := func(n *runtime.Node) *nodeState {
		st := &nodeState{}
		states[n.Spec.Meta.ID] = st
		return st
	}
	// found feeds a node's live objects back and checks its readiness.
	found := func(n *runtime.Node, st *nodeState, live []*unstructured.Unstructured) {
		st.live, st.applied = live, true
		n.SetObserved(live)
		if err := n.CheckReadiness(); err != nil {
			st.last = err.Error()
			return
		}
		st.ready = true
	}
	composed := func(n *runtime.Node, _ *compile.Definition, desired []*unstructured.Unstructured) error {
		st := state(n)
		live, err := d.observeComposed(ctx, inst, n, desired)
		if err != nil {
			return err
		}
		if len(live) == 0 {
			// Another composition's instance not applied (or not ready)
			// yet: observing it as empty made KRO's runtime index an
			// empty list when evaluating the status.
			st.last = "does not exist"
			return nil
		}
		found(n, st, live)
		return nil
	}
	err = direct.Walk(rt, inst.Definition, direct.Hooks{
		// Whatever stops a node is why it is not ready.
		Pending: func(n *runtime.Node, err error, _ bool) error { state(n).last = err.Error(); return nil },
		Failed:  func(n *runtime.Node, err error) error { state(n).last = err.Error(); return nil },
		Ignored: func(n *runtime.Node) error {
			st := state(n)
			st.ready, st.done = true, true
			return nil
		},
		Nested:           composed,
		ExternalInstance: composed,
		ExternalCollection: func(n *runtime.Node, desired []*unstructured.Unstructured) error {
			st := state(n)
			c, err := d.collectionOf(desired[0])
			if err != nil {
				return fmt.Errorf("resource %q: %w", n.Spec.Meta.ID, err)
			}
			live, err := d.list(ctx, c)
			if err != nil {
				return fmt.Errorf("resource %q: %w", n.Spec.Meta.ID, err)
			}
			if len(live) == 0 {
				st.applied, st.ready = true, true // selects nothing: ready, as in KRO
				n.SetObserved(live)
				return nil
			}
			found(n, st, live)
			return nil
		},
		// Resources and externalRefs: read by kind, namespace and name.
		Resolved: func(n *runtime.Node, _ direct.NodeKind, desired []*unstructured.Unstructured) error {
			st := state(n)
			var live []*unstructured.Unstructured
			for _, des := range desired {
				u, err := d.get(ctx, des)
				if err != nil {
					return err
				}
				if u != nil {
					live = append(live, u)
				}
			}
			if len(live) == 0 && len(desired) > 0 {
				st.last = "does not exist"
				return nil
			}
			found(n, st, live)
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	return d.result(rt, inst, states), nil
}

// get reads the live object u names; nil when there is none.
func (d *Deployer) get(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	o, err := d.client().ObjectFor(u)
	if err == nil {
		err = d.client().Get(ctx, o)
	}
	if err != nil {
		return nil, err
	}
	return o.Live, nil
}

// withUID gives the instance its ApplySet parent's UID, as apply did.
func (d *Deployer) withUID(ctx context.Context, inst *compile.Instance) (*compile.Instance, error) {
	inv, err := d.loadInventory(ctx, inst)
	if err != nil {
		return inst, err
	}
	return inv.identify(inst), nil
}

// observeComposed reads the live state of a node whose kind is another
// composition's: a nested instance is observed recursively, an
// externalRef is read from its parent configmap. It returns nil (and no
// error) for other nodes; a nested instance not ready yet yields no object.
func (d *Deployer) observeComposed(ctx context.Context, inst *compile.Instance, n *runtime.Node, desired []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	def := inst.Definition.Composed[n.Spec.Meta.ID]
	if def == nil {
		return nil, nil
	}
	live := []*unstructured.Unstructured{}
	for _, des := range desired {
		if n.Spec.Meta.Type == graph.NodeTypeExternal {
			obj, err := d.readInstance(ctx, des)
			if err != nil {
				return nil, err
			}
			if obj != nil {
				live = append(live, obj)
			}
			continue
		}
		child, err := def.NewInstance(des, inst.Object.GetNamespace())
		if err != nil {
			return nil, fmt.Errorf("resource %q: %w", n.Spec.Meta.ID, err)
		}
		r, err := d.Observe(ctx, child)
		if err != nil {
			return nil, err
		}
		if r.Ready {
			live = append(live, r.Instance)
		}
	}
	return live, nil
}

// nodeOrder maps node ids to their topological position.
func nodeOrder(def *compile.Definition) map[string]int {
	if def == nil {
		return nil
	}
	g := def.Graph
	pos := make(map[string]int, len(g.TopologicalOrder))
	for i, id := range g.TopologicalOrder {
		pos[id] = i
	}
	return pos
}

// deleteInWaves deletes objects in reverse dependency order (objects of
// unknown nodes first, as KRO prunes), waiting for each wave to be gone.
// A nested instance's members go before its parent configmap. def may be
// nil (the composition is unknown): then there is one wave.
func (d *Deployer) deleteInWaves(ctx context.Context, def *compile.Definition, inv *inventory, objs []*unstructured.Unstructured) ([]string, error) {
	pos := nodeOrder(def)
	waves := map[int][]*unstructured.Unstructured{}
	for _, o := range objs {
		p, ok := pos[o.GetLabels()[metadata.NodeIDLabel]]
		if !ok {
			p = len(pos)
		}
		waves[p] = append(waves[p], o)
	}
	keys := make([]int, 0, len(waves))
	for k := range waves {
		keys = append(keys, k)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(keys)))
	var deleted []string
	w := &readiness.Waiter{Client: d.Dynamic, Progress: d.Progress}
	for _, k := range keys {
		var targets []readiness.Target
		for _, o := range waves[k] {
			if isNestedParent(o) {
				del, err := d.deleteNested(ctx, def, o)
				deleted = append(deleted, del...)
				if err != nil {
					return deleted, err
				}
			}
			_, gvr, err := d.resource(o)
			if err != nil {
				return deleted, err
			}
			// With its uid as the precondition: one recreated since it was
			// listed stays. Already gone counts as deleted, as before.
			if _, err := d.client().DeleteMember(ctx, inv.ApplySet, o); err != nil {
				return deleted, err
			}
			deleted = append(deleted, ssa.Subject(o))
			d.printf(d.Out, "%s deleted\n", ssa.Subject(o))
			targets = append(targets, readiness.Target{GVR: gvr, Namespace: o.GetNamespace(), Name: o.GetName(), Ref: ssa.Subject(o), Want: "deleted"})
		}
		if _, err := w.Wait(ctx, targets); err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// Delete removes every member of each instance's inventory in reverse
// dependency order, then the inventory itself.
func (d *Deployer) Delete(ctx context.Context, insts []*compile.Instance) ([]string, error) {
	var deleted []string
	// Instances that use other compositions' instances go first, as
	// resources that use others do within an instance.
	insts = slices.Clone(insts)
	slices.Reverse(insts)
	sort.SliceStable(insts, func(i, j int) bool { return rank(insts[i].Definition, 0) > rank(insts[j].Definition, 0) })
	for _, inst := range insts {
		inv, err := d.loadInventory(ctx, inst)
		if err != nil {
			return deleted, err
		}
		if !inv.Exists {
			d.printf(d.Progress, "%s: not deployed in direct mode (no configmap/%s -n %s)\n", direct.InstanceRef(inst.Object), inv.Name, inv.Namespace)
			continue
		}
		objs, err := d.members(ctx, inv, memberKinds(inst.Definition), sets.New[string]())
		if err != nil {
			return deleted, err
		}
		del, err := d.deleteInWaves(ctx, inst.Definition, inv, objs)
		deleted = append(deleted, del...)
		if err != nil {
			return deleted, fmt.Errorf("%s: %w", direct.InstanceRef(inst.Object), err)
		}
		if _, err := d.client().Delete(ctx, &ssa.Object{Obj: inv.Parent, Mapping: configMapMapping, Namespaced: true}, inv.UID); err != nil {
			return deleted, err
		}
		d.printf(d.Out, "configmap/%s -n %s deleted (ApplySet parent)\n", inv.Name, inv.Namespace)
	}
	return deleted, nil
}

// rank is how deep a definition's use of other definitions goes.
func rank(def *compile.Definition, depth int) int {
	r := 0
	for _, c := range def.Composed {
		if depth < direct.MaxNesting {
			r = max(r, 1+rank(c, depth+1))
		}
	}
	return r
}

// Summary is a one-line account of an instance result.
func (r *InstanceResult) Summary() string {
	if r.Ready {
		return direct.InstanceRef(r.Instance) + ": ACTIVE"
	}
	return direct.InstanceRef(r.Instance) + ": waiting: " + strings.Join(r.Waiting, "; ")
}
