package live

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kubernetes-sigs/kro/pkg/metadata"
	"github.com/kubernetes-sigs/kro/pkg/runtime"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/clock"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/readiness"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// reconciler is one instance's apply, shaped like KRO's reconcileNodes
// (pkg/controller/instance/resources.go): plan the nodes that can be
// written now, apply them as a batch, await readiness (watch events feed
// live objects back), repeat until every node is ready; then prune the
// ApplySet members no longer rendered and finalize the parent.
type reconciler struct {
	d     *Deployer
	inst  *compile.Instance
	o     Options
	depth int
	start time.Time

	inv *inventory
	// kinds are the member kinds the definition may write; recorded the
	// namespaces written on the parent so far.
	kinds    sets.Set[schema.GroupKind]
	recorded sets.Set[string]
	states   map[string]*nodeState
	// applied are the uids written (or owned by nested runs): prune keeps them.
	applied sets.Set[types.UID]
	changes *ssa.ChangeSet

	// Watches run until the reconcile ends and report on events.
	wctx   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	events chan event

	// A slow wait says why: the not-ready live objects' last Warning
	// events, looked up at each tick of slow.
	explain *readiness.Explainer
	slow    clock.Ticker
}

type event struct {
	node  string
	index int
	obj   *unstructured.Unstructured
	// From a nested instance's run: its parent's UID, or why it failed.
	uid types.UID
	err error
	// From an externalRef collection: all it selects now.
	list   []*unstructured.Unstructured
	isList bool
}

// nest is how a nested instance hangs off the outer one: the labels that
// make its parent configmap a member of the outer ApplySet.
type nest struct {
	labels map[string]string
	depth  int
}

type nodeState struct {
	applied, ready, done bool
	live                 []*unstructured.Unstructured
	sent                 []*unstructured.Unstructured // desired objects last applied
	last                 string
	reported             string // the last waiting line printed
	why                  string // the event last quoted for a slow wait
}

// applyInstance runs one instance's reconcile to the end.
func (d *Deployer) applyInstance(ctx context.Context, inst *compile.Instance, o Options, parent *nest) (*InstanceResult, error) {
	r, err := d.newReconciler(ctx, inst, o, parent)
	if err != nil {
		return nil, err
	}
	defer r.stop()
	rt, err := r.converge(ctx)
	if rt == nil {
		return nil, err
	}
	// A wait that ends (timeout, Ctrl-C) still says where each node is.
	res := d.result(rt, r.inst, r.states)
	res.Changes = r.changes
	if err != nil {
		return res, err
	}
	if err := r.prune(ctx, res); err != nil {
		return res, err
	}
	return res, r.finalize(ctx, res)
}

// newReconciler reads the instance's ApplySet and records on its parent
// the union of old and new member kinds before any member is written, so
// an interrupted apply never leaves untracked objects.
func (d *Deployer) newReconciler(ctx context.Context, inst *compile.Instance, o Options, parent *nest) (*reconciler, error) {
	r := &reconciler{d: d, o: o, start: d.clock().Now(), states: map[string]*nodeState{},
		applied: sets.New[types.UID](), changes: ssa.NewChangeSet(), events: make(chan event, 64)}
	if parent != nil {
		if parent.depth > direct.MaxNesting {
			return nil, fmt.Errorf("instances nested more than %d deep", direct.MaxNesting)
		}
		r.depth = parent.depth
	}
	inv, err := d.loadInventory(ctx, inst)
	if err != nil {
		return nil, err
	}
	if parent != nil {
		inv.memberOf = parent.labels
	}
	r.inv, r.kinds = inv, memberKinds(inst.Definition)
	nss := sets.New(inv.Namespace)
	if err := d.writeInventory(ctx, inv, inst.Object, r.kinds.Union(inv.Kinds), nss.Union(inv.Namespaces)); err != nil {
		return nil, err
	}
	r.recorded = nss.Union(inv.Namespaces)
	r.inst = inv.identify(inst)
	for _, id := range inst.Definition.Graph.TopologicalOrder {
		r.states[id] = &nodeState{}
	}
	r.wctx, r.cancel = context.WithCancel(ctx)
	r.explain = &readiness.Explainer{Client: d.Dynamic, Mapper: d.Mapper}
	// A clock that cannot tick (a test's passive fake) explains nothing.
	c, ticks := d.Clock.(clock.WithTicker)
	if d.Clock == nil || ticks {
		r.explain.Clock = c
		r.slow = r.explain.Ticker()
	}
	return r, nil
}

func (r *reconciler) stop() {
	if r.slow != nil {
		r.slow.Stop()
	}
	r.cancel()
	r.wg.Wait()
}

// slowC ticks when a wait has been slow for readiness.SlowAfter, and every
// SlowAfter after that; never without a ticking clock.
func (r *reconciler) slowC() <-chan time.Time {
	if r.slow == nil {
		return nil
	}
	return r.slow.C()
}

func (r *reconciler) ref() string { return direct.InstanceRef(r.inst.Object) }

func (r *reconciler) elapsed() time.Duration {
	return d0(r.d.clock().Since(r.start))
}

// d0 rounds a duration for progress lines.
func d0(d time.Duration) time.Duration {
	return d.Round(100 * time.Millisecond)
}

// converge runs rounds until every node is ready (or, with NoWait, every
// node is written). Each round is one KRO reconcile: a fresh runtime (KRO's
// runtime memoizes expression results, readyWhen included, for its
// lifetime), the live objects seen so far fed back node by node in
// topological order, every newly resolvable node applied, readiness
// checked. It returns the last round's runtime, for the status, also
// when a wait ends without success; nil with any other error.
func (r *reconciler) converge(ctx context.Context) (*runtime.Runtime, error) {
	for {
		rt, err := runtime.FromGraph(r.inst.Definition.Graph, compile.GraphConfig, runtime.WithInstance(r.inst.Object))
		if err != nil {
			return nil, err
		}
		batch, err := r.plan(rt)
		if err != nil {
			return nil, err
		}
		if len(batch) > 0 {
			if err := r.applyBatch(ctx, batch); err != nil {
				return nil, err
			}
		}
		allReady, newlyReady, err := r.checkReady(rt.Nodes())
		if err != nil {
			return nil, err
		}
		if allReady || (r.o.NoWait && allApplied(r.states)) {
			return rt, nil
		}
		if newlyReady || len(batch) > 0 {
			continue
		}
		if err := r.await(ctx, rt.Nodes()); err != nil {
			if ctx.Err() == nil {
				return nil, err // a nested run failed
			}
			return rt, err
		}
	}
}

// plan feeds back what is known and returns the nodes to write now:
// resolvable, not ignored, and new or with changed content.
func (r *reconciler) plan(rt *runtime.Runtime) ([]*runtime.Node, error) {
	var batch []*runtime.Node
	err := direct.Walk(rt, r.inst.Definition, direct.Hooks{
		Failed: func(n *runtime.Node, err error) error { return direct.NodeError(r.ref(), n, err) },
		Pending: func(n *runtime.Node, err error, _ bool) error {
			r.states[n.Spec.Meta.ID].last = err.Error()
			return nil
		},
		Ignored: func(n *runtime.Node) error {
			st := r.states[n.Spec.Meta.ID]
			if !st.done {
				r.d.printf(r.d.Progress, "%s: %s skipped (includeWhen)\n", r.ref(), n.Spec.Meta.ID)
			}
			st.done, st.ready = true, true
			return nil
		},
		Resolved: func(n *runtime.Node, kind direct.NodeKind, desired []*unstructured.Unstructured) error {
			st := r.states[n.Spec.Meta.ID]
			if st.applied {
				n.SetObserved(direct.Present(st.live))
				// Inputs are followed by their watches, and nested
				// instances are not re-applied mid-run: their own run owns
				// them until it ends.
				if kind != direct.KindResource || equalDesired(desired, st.sent) {
					return nil
				}
			}
			batch = append(batch, n)
			return nil
		},
	})
	return batch, err
}

// checkReady judges readiness with KRO's readyWhen on the live objects and
// says what each node waits for, once per change, like kro mode.
func (r *reconciler) checkReady(nodes []*runtime.Node) (allReady, newlyReady bool, err error) {
	allReady = true
	for _, n := range nodes {
		st := r.states[n.Spec.Meta.ID]
		if st.done {
			continue
		}
		if !st.applied {
			allReady = false
			continue
		}
		err := n.CheckReadiness()
		switch {
		case err == nil:
			if !st.ready {
				newlyReady = true
				r.d.printf(r.d.Progress, "%s: %s ready (%s)\n", r.ref(), n.Spec.Meta.ID, r.elapsed())
			}
			st.ready = true
		case errors.Is(err, runtime.ErrWaitingForReadiness):
			allReady, st.ready = false, false
			st.last = err.Error()
			if line := st.last + lastConditions(st.live); line != st.reported {
				st.reported = line
				r.d.printf(r.d.Progress, "%s: waiting for %s%s (%s): %s\n", r.ref(), n.Spec.Meta.ID, objectNames(st.live), r.elapsed(), line)
			}
		default:
			return false, false, err
		}
	}
	return allReady, newlyReady, nil
}

// await blocks until watch events arrive (and takes all that are queued)
// or the context ends.
func (r *reconciler) await(ctx context.Context, nodes []*runtime.Node) error {
	select {
	case ev := <-r.events:
		if err := r.observe(ev); err != nil {
			return err
		}
		for {
			select {
			case ev := <-r.events:
				if err := r.observe(ev); err != nil {
					return err
				}
			default:
				return nil
			}
		}
	case <-r.slowC():
		r.sayWhy(ctx, nodes)
		return nil
	case <-ctx.Done():
		left := strings.Join(waiting(nodes, r.states), "; ")
		if errors.Is(ctx.Err(), context.Canceled) { // Ctrl-C or SIGTERM: a rerun continues from here
			return fmt.Errorf("stopped while waiting (%s): %w", left, ctx.Err())
		}
		return fmt.Errorf("timed out waiting: %s", left)
	}
}

// sayWhy prints, for each node applied and not ready, the Warning event
// that explains it, once per event.
func (r *reconciler) sayWhy(ctx context.Context, nodes []*runtime.Node) {
	for _, n := range nodes {
		st := r.states[n.Spec.Meta.ID]
		if st == nil || !st.applied || st.ready || st.done {
			continue
		}
		if why := r.explain.WhyAny(ctx, st.live); why.Event != "" && why.Event != st.why {
			st.why = why.Event
			r.d.printf(r.d.Progress, "%s: waiting for %s%s (%s) — why: %s\n", r.ref(), n.Spec.Meta.ID, objectNames(st.live), r.elapsed(), why.Text)
		}
	}
}

func (r *reconciler) observe(ev event) error {
	if ev.err != nil {
		return ev.err
	}
	if ev.uid != "" {
		r.applied.Insert(ev.uid)
	}
	st := r.states[ev.node]
	if st != nil && ev.isList {
		st.live = ev.list
		return nil
	}
	if st == nil || ev.index >= len(st.live) {
		return nil
	}
	st.live[ev.index] = ev.obj
	return nil
}

// prune deletes the ApplySet's members this apply did not write (--prune).
func (r *reconciler) prune(ctx context.Context, res *InstanceResult) error {
	if !r.o.Prune {
		return nil
	}
	stale, err := r.d.client().Members(ctx, r.inv.ApplySet, r.kinds, r.recorded, r.applied)
	if err != nil {
		return err
	}
	pruned, err := r.d.deleteInWaves(ctx, r.inst.Definition, r.inv, stale)
	res.Pruned = pruned
	for _, p := range pruned {
		r.changes.Add(ssa.ChangeSetEntry{Subject: p, Action: ssa.DeletedAction})
	}
	return err
}

// finalize records on the parent the kinds the ApplySet now holds (only
// the current ones once pruned) and the hydrated status, which
// externalRefs and status read.
func (r *reconciler) finalize(ctx context.Context, res *InstanceResult) error {
	kinds := r.kinds.Union(r.inv.Kinds)
	if r.o.Prune {
		kinds = r.kinds
	}
	r.inv.status, _ = res.Instance.Object["status"].(map[string]any)
	if err := r.d.writeInventory(ctx, r.inv, r.inst.Object, kinds, r.recorded); err != nil {
		return err
	}
	res.parentUID = r.inv.UID
	return nil
}

// member is one object of a batch.
type member struct {
	n   *runtime.Node
	i   int
	obj *unstructured.Unstructured
}

// applyBatch writes a batch: inputs (externalRefs, collections) are read
// and followed, nested instances start runs of their own, and resource
// objects are applied concurrently through pkg/ssa; new namespaces are
// recorded on the parent first.
func (r *reconciler) applyBatch(ctx context.Context, batch []*runtime.Node) error {
	var items []member
	var nested []func()
	newNS := false
	record := func(ns string) {
		if ns != "" && !r.recorded.Has(ns) {
			r.recorded.Insert(ns)
			newNS = true
		}
	}
	for _, n := range batch {
		desired, _ := n.GetDesired()
		id := n.Spec.Meta.ID
		st := r.states[id]
		switch kind := direct.KindOf(r.inst.Definition, n); kind {
		case direct.KindExternal, direct.KindExternalInstance:
			// Read, never written: watched like any other input.
			st.live, st.applied = make([]*unstructured.Unstructured, len(desired)), true
			if kind == direct.KindExternalInstance {
				r.watchInstance(id, desired[0])
			} else if err := r.watch(id, 0, desired[0]); err != nil {
				return err
			}
		case direct.KindExternalCollection:
			// Listed now, so nothing resolves against an empty list, then
			// followed like any other input.
			c, err := r.d.collectionOf(desired[0])
			if err != nil {
				return fmt.Errorf("resource %q: %w", id, err)
			}
			if st.live, err = r.d.list(ctx, c); err != nil {
				return fmt.Errorf("resource %q: %w", id, err)
			}
			st.applied = true
			r.watchList(id, c)
		case direct.KindNested:
			st.live, st.sent = make([]*unstructured.Unstructured, len(desired)), desired
			for i, des := range desired {
				ci, err := r.inst.Definition.Composed[id].NewInstance(des, r.inv.Namespace)
				if err != nil {
					return fmt.Errorf("resource %q: %w", id, err)
				}
				// The nested parent is a member of this ApplySet, labelled
				// with the node it stands for (for delete order). Not with
				// KRO's instance labels: it is not what KRO would create.
				labels := map[string]string{ssa.ApplySetPartOfLabel: r.inv.ID, metadata.NodeIDLabel: id}
				if ns := ci.Object.GetNamespace(); !r.recorded.Has(ns) {
					r.recorded.Insert(ns)
					newNS = true
				}
				nested = append(nested, func() {
					r.d.printf(r.d.Progress, "%s: %s: deploying nested instance %s\n", r.ref(), id, direct.InstanceRef(ci.Object))
					r.runNested(id, i, ci, labels)
				})
			}
		default:
			st.live, st.sent = make([]*unstructured.Unstructured, len(desired)), desired
			for i, des := range desired {
				obj := r.inv.member(des, r.inst, n, i, len(desired))
				if err := direct.CheckSize(r.ref(), id, obj); err != nil {
					return err
				}
				record(obj.GetNamespace())
				items = append(items, member{n, i, obj})
			}
		}
	}
	if newNS {
		if err := r.d.writeInventory(ctx, r.inv, r.inst.Object, r.inv.written.Union(kindsOf(r.inst.Definition, batch)), r.recorded); err != nil {
			return err
		}
	}
	for _, start := range nested {
		start()
	}
	if err := r.write(ctx, items); err != nil {
		return err
	}
	for _, n := range batch {
		st := r.states[n.Spec.Meta.ID]
		st.applied = true
		if k := direct.KindOf(r.inst.Definition, n); k != direct.KindExternal && k != direct.KindExternalInstance {
			n.SetObserved(direct.Present(st.live))
		}
	}
	return nil
}

// write applies the batch's objects concurrently and starts a watch on
// each one written for the first time.
func (r *reconciler) write(ctx context.Context, items []member) error {
	written := make([]*ssa.Object, len(items))
	eg, ectx := errgroup.WithContext(ctx)
	for k, it := range items {
		eg.Go(func() error {
			o, err := r.d.write(ectx, it.obj, r.o.Force)
			if err != nil {
				return err
			}
			written[k] = o
			r.d.printf(r.d.Out, "%s %s\n", ssa.Subject(it.obj), o.Action)
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return err
	}
	for k, it := range items {
		st := r.states[it.n.Spec.Meta.ID]
		st.live[it.i] = written[k].Merged
		r.applied.Insert(written[k].Merged.GetUID())
		r.changes.Add(written[k].Entry())
		if st.applied {
			continue // re-applied after its inputs changed: already watched
		}
		if err := r.watch(it.n.Spec.Meta.ID, it.i, it.obj); err != nil {
			return err
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

// send delivers a watch event unless the reconcile has ended.
func (r *reconciler) send(ev event) bool {
	select {
	case r.events <- ev:
		return true
	case <-r.wctx.Done():
		return false
	}
}

// watch follows one object and reports every version of it.
func (r *reconciler) watch(id string, i int, u *unstructured.Unstructured) error {
	_, gvr, err := r.d.resource(u)
	if err != nil {
		return err
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		_ = readiness.Watch(r.wctx, r.d.Dynamic, gvr, u.GetNamespace(), u.GetName(), func(obj *unstructured.Unstructured) bool {
			return obj != nil && !r.send(event{node: id, index: i, obj: obj.DeepCopy()})
		})
	}()
	return nil
}

// watchList follows what an externalRef collection selects.
func (r *reconciler) watchList(id string, c collection) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		readiness.WatchList(r.wctx, r.d.Dynamic, c.gvr, c.namespace, c.selector, func(items []*unstructured.Unstructured) {
			r.send(event{node: id, list: items, isList: true})
		})
	}()
}

// watchInstance follows another composition's instance through its parent.
func (r *reconciler) watchInstance(id string, ref *unstructured.Unstructured) {
	ns, name := parentRef(ref)
	if ns == "" {
		ns = r.inv.Namespace
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		_ = readiness.Watch(r.wctx, r.d.Dynamic, configMaps, ns, name, func(cm *unstructured.Unstructured) bool {
			obj := instanceFromParent(cm, ref.GroupVersionKind())
			return obj != nil && !r.send(event{node: id, obj: obj})
		})
	}()
}

// runNested deploys a nested instance by a run of its own; its hydrated
// instance is the node's observed object once it is ready.
func (r *reconciler) runNested(id string, i int, child *compile.Instance, labels map[string]string) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		res, err := r.d.applyInstance(r.wctx, child, r.o, &nest{labels: labels, depth: r.depth + 1})
		ev := event{node: id, index: i, err: err}
		if err != nil {
			ev.err = fmt.Errorf("%s: %w", direct.InstanceRef(child.Object), err)
		} else {
			ev.obj, ev.uid = res.Instance, res.parentUID
		}
		r.send(ev)
	}()
}
