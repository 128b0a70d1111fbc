package live

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kubernetes-sigs/kro/pkg/graph"
	"github.com/kubernetes-sigs/kro/pkg/metadata"
	"github.com/kubernetes-sigs/kro/pkg/runtime"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/readiness"
)

// Observe recomputes an instance's status from the live objects: KRO's
// runtime resolves each node in order, the live object is read and fed
// back, readiness is checked, and the status expressions are evaluated.
func (d *Deployer) Observe(ctx context.Context, inst *compile.Instance) (*InstanceResult, error) {
	rt, err := runtime.FromGraph(inst.Definition.Graph, compile.GraphConfig, runtime.WithInstance(inst.Object))
	if err != nil {
		return nil, err
	}
	states := map[string]*nodeState{}
	for _, n := range rt.Nodes() {
		st := &nodeState{}
		states[n.Spec.Meta.ID] = st
		ignored, err := n.IsIgnored()
		if err != nil {
			st.last = err.Error()
			continue
		}
		if ignored {
			st.ready, st.done = true, true
			continue
		}
		desired, err := n.GetDesired()
		if err != nil {
			st.last = err.Error()
			continue
		}
		for _, des := range desired {
			ri, _, err := d.client(des)
			if err != nil {
				return nil, err
			}
			live, err := ri.Get(ctx, des.GetName(), metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			st.live = append(st.live, live)
		}
		if len(st.live) == 0 && len(desired) > 0 {
			st.last = "does not exist"
			continue
		}
		st.applied = true
		n.SetObserved(st.live)
		if err := n.CheckReadiness(); err != nil {
			st.last = err.Error()
			continue
		}
		st.ready = true
	}
	return d.result(rt, inst, states), nil
}

// nodeOrder maps node ids to their topological position.
func nodeOrder(g *graph.Graph) map[string]int {
	pos := make(map[string]int, len(g.TopologicalOrder))
	for i, id := range g.TopologicalOrder {
		pos[id] = i
	}
	return pos
}

// deleteInWaves deletes objects in reverse dependency order (objects of
// unknown nodes first, as KRO prunes), waiting for each wave to be gone.
func (d *Deployer) deleteInWaves(ctx context.Context, g *graph.Graph, objs []*unstructured.Unstructured) ([]string, error) {
	pos := nodeOrder(g)
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
			ri, gvr, err := d.client(o)
			if err != nil {
				return deleted, err
			}
			uid := o.GetUID()
			err = ri.Delete(ctx, o.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				return deleted, fmt.Errorf("delete %s: %w", subject(o), err)
			}
			deleted = append(deleted, subject(o))
			d.printf(d.Out, "%s deleted\n", subject(o))
			targets = append(targets, readiness.Target{GVR: gvr, Namespace: o.GetNamespace(), Name: o.GetName(), Ref: subject(o), Want: "deleted"})
		}
		if _, err := w.Wait(ctx, targets); err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// prune deletes members of the inventory that this apply did not write.
func (d *Deployer) prune(ctx context.Context, g *graph.Graph, inv *inventory, kinds sets.Set[schema.GroupKind], nss sets.Set[string], keep sets.Set[types.UID]) ([]string, error) {
	all, err := d.members(ctx, inv, kinds, nss)
	if err != nil {
		return nil, err
	}
	var stale []*unstructured.Unstructured
	for _, o := range all {
		if !keep.Has(o.GetUID()) {
			stale = append(stale, o)
		}
	}
	return d.deleteInWaves(ctx, g, stale)
}

// Delete removes every member of each instance's inventory in reverse
// dependency order, then the inventory itself.
func (d *Deployer) Delete(ctx context.Context, insts []*compile.Instance) ([]string, error) {
	var deleted []string
	for _, inst := range insts {
		g := inst.Definition.Graph
		inv := newInventory(inst, d.DefaultNamespace)
		if err := d.loadInventory(ctx, inv); err != nil {
			return deleted, err
		}
		if !inv.exists {
			d.printf(d.Progress, "%s: not deployed in direct mode (no configmap/%s -n %s)\n", direct.InstanceRef(inst.Object), inv.name, inv.namespace)
			continue
		}
		kinds := sets.New[schema.GroupKind]()
		for _, n := range g.Nodes {
			kinds.Insert(nodeGK(n))
		}
		objs, err := d.members(ctx, inv, kinds, sets.New[string]())
		if err != nil {
			return deleted, err
		}
		del, err := d.deleteInWaves(ctx, g, objs)
		deleted = append(deleted, del...)
		if err != nil {
			return deleted, fmt.Errorf("%s: %w", direct.InstanceRef(inst.Object), err)
		}
		err = d.Dynamic.Resource(configMaps).Namespace(inv.namespace).Delete(ctx, inv.name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return deleted, err
		}
		d.printf(d.Out, "configmap/%s -n %s deleted (ApplySet parent)\n", inv.name, inv.namespace)
	}
	return deleted, nil
}

// Summary is a one-line account of an instance result.
func (r *InstanceResult) Summary() string {
	if r.Ready {
		return direct.InstanceRef(r.Instance) + ": ACTIVE"
	}
	return direct.InstanceRef(r.Instance) + ": waiting: " + strings.Join(r.Waiting, "; ")
}
