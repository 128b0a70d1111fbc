// Package live deploys direct-mode resources without KRO: KRO's runtime
// decides, stage by stage, what can be applied, with live objects fed back
// between stages (SetObserved), readiness judged by the node's readyWhen
// (CheckReadiness) on every watch event, and the instance status evaluated
// on the live objects at the end.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/kubernetes-sigs/kro/pkg/graph"
	"github.com/kubernetes-sigs/kro/pkg/runtime"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/dynamic"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/readiness"
)

// Deployer applies, observes and deletes direct-mode instances.
type Deployer struct {
	Dynamic          dynamic.Interface
	Mapper           meta.RESTMapper
	FieldManager     string
	DefaultNamespace string
	// Out receives change lines (stdout), Progress readiness lines (stderr).
	Out, Progress io.Writer
	mu            sync.Mutex
}

// Options tune Apply.
type Options struct {
	Force bool // take over fields other managers own
	Prune bool // delete members no longer rendered
	// NoWait (--wait=false) returns once every resource is applied: it
	// still waits where a resource needs another's live state or readiness
	// (KRO would too), but not for the last ones to become ready.
	NoWait bool
}

// InstanceResult is an instance after apply or observation.
type InstanceResult struct {
	// Instance carries the status KRO would write: the schema's status
	// expressions evaluated on the live objects, plus state.
	Instance *unstructured.Unstructured
	Ready    bool
	// Waiting lists node ids not ready (or not resolvable), with why.
	Waiting []string
	Pruned  []string
	// parentUID is the UID of the instance's ApplySet parent.
	parentUID types.UID
}

func (d *Deployer) printf(w io.Writer, format string, args ...any) {
	if w == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(w, format, args...)
}

// mapping resolves a kind to its resource.
func (d *Deployer) mapping(u *unstructured.Unstructured) (*meta.RESTMapping, error) {
	gvk := u.GroupVersionKind()
	return d.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
}

func (d *Deployer) client(u *unstructured.Unstructured) (dynamic.ResourceInterface, schema.GroupVersionResource, error) {
	m, err := d.mapping(u)
	if err != nil {
		return nil, schema.GroupVersionResource{}, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return d.Dynamic.Resource(m.Resource).Namespace(u.GetNamespace()), m.Resource, nil
	}
	return d.Dynamic.Resource(m.Resource), m.Resource, nil
}

// ssa server-side applies one object and says what changed.
func (d *Deployer) ssa(ctx context.Context, u *unstructured.Unstructured, force, dryRun bool) (*unstructured.Unstructured, string, error) {
	ri, _, err := d.client(u)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", subject(u), err)
	}
	var before string
	if !dryRun {
		if cur, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{}); err == nil {
			before = cur.GetResourceVersion()
		} else if !apierrors.IsNotFound(err) {
			return nil, "", fmt.Errorf("%s: %w", subject(u), err)
		}
	}
	data, err := json.Marshal(u.Object)
	if err != nil {
		return nil, "", err
	}
	opts := metav1.PatchOptions{FieldManager: d.FieldManager, Force: &force, FieldValidation: metav1.FieldValidationStrict}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	out, err := ri.Patch(ctx, u.GetName(), types.ApplyPatchType, data, opts)
	if err != nil && !dryRun && apierrors.IsNotFound(err) && u.GetNamespace() != "" {
		// The namespace does not exist yet. Another resource of the
		// instance may create it (KRO orders only by references, and
		// retries): wait for it, until the timeout.
		if werr := d.waitNamespace(ctx, u.GetNamespace(), subject(u)); werr != nil {
			return nil, "", werr
		}
		out, err = ri.Patch(ctx, u.GetName(), types.ApplyPatchType, data, opts)
	}
	if err != nil {
		hint := ""
		if apierrors.IsConflict(err) {
			hint = " (rerun with --force-conflicts to take these fields over)"
		}
		return nil, "", fmt.Errorf("%s: %w%s", subject(u), err, hint)
	}
	action := "configured"
	switch {
	case before == "":
		action = "created"
	case before == out.GetResourceVersion():
		action = "unchanged"
	}
	return out, action, nil
}

var namespaces = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// waitNamespace waits until namespace ns exists.
func (d *Deployer) waitNamespace(ctx context.Context, ns, user string) error {
	d.printf(d.Progress, "%s: waiting for namespace %s to exist\n", user, ns)
	err := readiness.Watch(ctx, d.Dynamic, namespaces, "", ns, func(obj *unstructured.Unstructured) bool { return obj != nil })
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("%s: namespace %s does not exist: %w", user, ns, err)
	}
	return nil
}

// subject names an object like kubectl: "deployment.apps/web -n prod".
func subject(u *unstructured.Unstructured) string {
	gk := u.GroupVersionKind().GroupKind()
	s := strings.ToLower(gk.Kind)
	if gk.Group != "" {
		s += "." + gk.Group
	}
	s += "/" + u.GetName()
	if ns := u.GetNamespace(); ns != "" {
		s += " -n " + ns
	}
	return s
}

// DryRun asks the server to check every offline-resolvable resource.
// Kinds not served yet and namespaces not created yet cannot be checked:
// they are returned as notes, not errors.
func (d *Deployer) DryRun(ctx context.Context, objs []direct.Resource, force bool) (notes []string, err error) {
	var errs []string
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, r := range objs {
		g.Go(func() error {
			_, _, err := d.ssa(gctx, r.Object, force, true)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
			case meta.IsNoMatchError(errors.Unwrap(err)) || apierrors.IsNotFound(err):
				notes = append(notes, "not dry-run (kind or namespace does not exist yet): "+subject(r.Object))
			default:
				errs = append(errs, origin(r)+": "+err.Error())
			}
			return nil
		})
	}
	_ = g.Wait()
	if len(errs) > 0 {
		return notes, fmt.Errorf("server-side dry run failed, nothing was written:\n  %s", strings.Join(errs, "\n  "))
	}
	return notes, nil
}

// origin names where a resource comes from: the instance's file and line
// (when it was read from one), the instance and the node.
func origin(r direct.Resource) string {
	s := fmt.Sprintf("%s: resource %q", direct.InstanceRef(r.Instance.Object), r.NodeID)
	if doc := r.Instance.Doc; doc != nil {
		s = fmt.Sprintf("%s:%d: %s", doc.File, doc.Line(""), s)
	}
	return s
}

// Apply deploys every instance (concurrently: instances are independent).
func (d *Deployer) Apply(ctx context.Context, insts []*compile.Instance, o Options) ([]*InstanceResult, error) {
	out := make([]*InstanceResult, len(insts))
	g, gctx := errgroup.WithContext(ctx)
	for i, inst := range insts {
		g.Go(func() error {
			r, err := d.applyInstance(gctx, inst, o, nil)
			out[i] = r
			if err != nil {
				return fmt.Errorf("%s: %w", direct.InstanceRef(inst.Object), err)
			}
			return nil
		})
	}
	err := g.Wait()
	return out, err
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
}

func nodeGK(n *graph.Node) schema.GroupKind {
	return n.Template.GroupVersionKind().GroupKind()
}

var configMapGK = schema.GroupKind{Kind: "ConfigMap"}

// memberKind is the kind of the objects a node writes: a nested
// instance is represented by its parent configmap.
func memberKind(def *compile.Definition, n *graph.Node) schema.GroupKind {
	if def.Composed[n.Meta.ID] != nil {
		return configMapGK
	}
	return nodeGK(n)
}

// memberKinds are the kinds an instance's ApplySet may hold.
func memberKinds(def *compile.Definition) sets.Set[schema.GroupKind] {
	kinds := sets.New[schema.GroupKind]()
	for _, n := range def.Graph.Nodes {
		if n.Meta.Type == graph.NodeTypeResource || n.Meta.Type == graph.NodeTypeCollection {
			kinds.Insert(memberKind(def, n))
		}
	}
	return kinds
}

func (d *Deployer) applyInstance(ctx context.Context, inst *compile.Instance, o Options, parent *nest) (*InstanceResult, error) {
	start := time.Now()
	g := inst.Definition.Graph
	inv := newInventory(inst, d.DefaultNamespace)
	if parent != nil {
		inv.memberOf = parent.labels
		if parent.depth > direct.MaxNesting {
			return nil, fmt.Errorf("instances nested more than %d deep", direct.MaxNesting)
		}
	}
	if err := d.loadInventory(ctx, inv); err != nil {
		return nil, err
	}
	kinds := memberKinds(inst.Definition)
	nss := sets.New(inv.namespace)
	// The parent records the union of old and new kinds before any member
	// is written, so an interrupted apply never leaves untracked objects.
	if err := d.writeInventory(ctx, inv, inst.Object, kinds.Union(inv.kinds), nss.Union(inv.namespaces)); err != nil {
		return nil, err
	}
	recorded := nss.Union(inv.namespaces)
	inst = inv.identify(inst)
	depth := 0
	if parent != nil {
		depth = parent.depth
	}

	states := map[string]*nodeState{}
	for _, id := range g.TopologicalOrder {
		states[id] = &nodeState{}
	}
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	events := make(chan event, 64)
	watch := func(id string, i int, u *unstructured.Unstructured) error {
		_, gvr, err := d.client(u)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = readiness.Watch(wctx, d.Dynamic, gvr, u.GetNamespace(), u.GetName(), func(obj *unstructured.Unstructured) bool {
				if obj != nil {
					select {
					case events <- event{node: id, index: i, obj: obj.DeepCopy()}:
					case <-wctx.Done():
						return true
					}
				}
				return false
			})
		}()
		return nil
	}
	watchList := func(id string, c collection) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			readiness.WatchList(wctx, d.Dynamic, c.gvr, c.namespace, c.selector, func(items []*unstructured.Unstructured) {
				select {
				case events <- event{node: id, list: items, isList: true}:
				case <-wctx.Done():
				}
			})
		}()
	}
	// An externalRef to another composition's instance watches its parent.
	watchInstance := func(id string, ref *unstructured.Unstructured) {
		ns, name := parentRef(ref)
		if ns == "" {
			ns = inv.namespace
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = readiness.Watch(wctx, d.Dynamic, configMaps, ns, name, func(cm *unstructured.Unstructured) bool {
				if obj := instanceFromParent(cm, ref.GroupVersionKind()); obj != nil {
					select {
					case events <- event{node: id, obj: obj}:
					case <-wctx.Done():
						return true
					}
				}
				return false
			})
		}()
	}
	// A nested instance is deployed by a run of its own; its hydrated
	// instance is the node's observed object once it is ready.
	runNested := func(id string, i int, child *compile.Instance, labels map[string]string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := d.applyInstance(wctx, child, o, &nest{labels: labels, depth: depth + 1})
			ev := event{node: id, index: i, err: err}
			if err != nil {
				ev.err = fmt.Errorf("%s: %w", direct.InstanceRef(child.Object), err)
			} else {
				ev.obj, ev.uid = r.Instance, r.parentUID
			}
			select {
			case events <- ev:
			case <-wctx.Done():
			}
		}()
	}
	applied := sets.New[types.UID]()

	// Each round is one KRO reconcile: a fresh runtime (KRO's runtime
	// memoizes expression results, readyWhen included, for its lifetime),
	// the live objects seen so far fed back node by node in topological
	// order, every newly resolvable node applied, readiness checked.
	var rt *runtime.Runtime
	for {
		var err error
		rt, err = runtime.FromGraph(g, compile.GraphConfig, runtime.WithInstance(inst.Object))
		if err != nil {
			return nil, err
		}
		nodes := rt.Nodes()
		var batch []*runtime.Node
		for _, n := range nodes {
			st := states[n.Spec.Meta.ID]
			ignored, err := n.IsIgnored()
			if err != nil && !runtime.IsDataPending(err) {
				return nil, direct.NodeError(direct.InstanceRef(inst.Object), n, err)
			}
			if err != nil {
				st.last = err.Error()
				continue
			}
			if ignored {
				if !st.done {
					d.printf(d.Progress, "%s: %s skipped (includeWhen)\n", direct.InstanceRef(inst.Object), n.Spec.Meta.ID)
				}
				st.done, st.ready = true, true
				continue
			}
			desired, err := n.GetDesired()
			if err != nil {
				if !runtime.IsDataPending(err) {
					return nil, direct.NodeError(direct.InstanceRef(inst.Object), n, err)
				}
				st.last = err.Error()
				continue
			}
			if st.applied {
				n.SetObserved(direct.Present(st.live))
				// Nested instances are not re-applied mid-run: their own run
				// owns them until it ends.
				if t := n.Spec.Meta.Type; t == graph.NodeTypeExternal || t == graph.NodeTypeExternalCollection || inst.Definition.Composed[n.Spec.Meta.ID] != nil || equalDesired(desired, st.sent) {
					continue
				}
			}
			batch = append(batch, n)
		}
		if len(batch) > 0 {
			if err := d.applyBatch(ctx, inst, inv, recorded, batch, states, o, applied, watchers{watch, watchList, watchInstance, runNested}); err != nil {
				return nil, err
			}
		}
		// Readiness: KRO's readyWhen on the live objects.
		allReady, newlyReady := true, false
		for _, n := range nodes {
			st := states[n.Spec.Meta.ID]
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
					d.printf(d.Progress, "%s: %s ready (%s)\n", direct.InstanceRef(inst.Object), n.Spec.Meta.ID, time.Since(start).Round(100*time.Millisecond))
				}
				st.ready = true
			case errors.Is(err, runtime.ErrWaitingForReadiness):
				allReady, st.ready = false, false
				st.last = err.Error()
				// Say what it waits for, once per change, like kro mode.
				if line := st.last + lastConditions(st.live); line != st.reported {
					st.reported = line
					d.printf(d.Progress, "%s: waiting for %s%s (%s): %s\n", direct.InstanceRef(inst.Object), n.Spec.Meta.ID, objectNames(st.live), time.Since(start).Round(100*time.Millisecond), line)
				}
			default:
				return nil, err
			}
		}
		if allReady || (o.NoWait && allApplied(states)) {
			break
		}
		if newlyReady || len(batch) > 0 {
			continue
		}
		select {
		case ev := <-events:
			if err := observe(states, applied, ev); err != nil {
				return nil, err
			}
			for drained := false; !drained; {
				select {
				case ev := <-events:
					if err := observe(states, applied, ev); err != nil {
						return nil, err
					}
				default:
					drained = true
				}
			}
		case <-ctx.Done():
			left := strings.Join(waiting(nodes, states), "; ")
			if errors.Is(ctx.Err(), context.Canceled) { // Ctrl-C or SIGTERM: a rerun continues from here
				return d.result(rt, inst, states), fmt.Errorf("stopped while waiting (%s): %w", left, ctx.Err())
			}
			return d.result(rt, inst, states), fmt.Errorf("timed out waiting: %s", left)
		}
	}
	res := d.result(rt, inst, states)
	recordedKinds := kinds.Union(inv.kinds)
	if o.Prune {
		pruned, err := d.prune(ctx, inst.Definition, inv, kinds, recorded, applied)
		res.Pruned = pruned
		if err != nil {
			return res, err
		}
		recordedKinds = kinds
	}
	// The parent keeps the hydrated status for externalRefs and status.
	inv.status, _ = res.Instance.Object["status"].(map[string]any)
	if err := d.writeInventory(ctx, inv, inst.Object, recordedKinds, recorded); err != nil {
		return res, err
	}
	res.parentUID = inv.uid
	return res, nil
}

// allApplied reports whether every node is written (or skipped).
func allApplied(states map[string]*nodeState) bool {
	for _, st := range states {
		if !st.applied && !st.done {
			return false
		}
	}
	return true
}

func observe(states map[string]*nodeState, applied sets.Set[types.UID], ev event) error {
	if ev.err != nil {
		return ev.err
	}
	if ev.uid != "" {
		applied.Insert(ev.uid)
	}
	st := states[ev.node]
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

// equalDesired reports whether a node's desired objects are the ones last
// applied (decorations aside), so a round re-applies only what changed.
func equalDesired(desired, sent []*unstructured.Unstructured) bool {
	if len(desired) != len(sent) {
		return false
	}
	for i := range desired {
		a, b := desired[i].DeepCopy(), sent[i].DeepCopy()
		a.SetLabels(nil)
		b.SetLabels(nil)
		if !reflect.DeepEqual(a.Object, b.Object) {
			return false
		}
	}
	return true
}

func waiting(nodes []*runtime.Node, states map[string]*nodeState) []string {
	var out []string
	for _, n := range nodes {
		if st := states[n.Spec.Meta.ID]; !st.ready {
			out = append(out, fmt.Sprintf("%s%s: %s%s", n.Spec.Meta.ID, objectNames(st.live), st.last, lastConditions(st.live)))
		}
	}
	return out
}

// objectNames names the live objects of a node: " (Deployment/web)".
func objectNames(live []*unstructured.Unstructured) string {
	var names []string
	for _, u := range live {
		if u != nil {
			names = append(names, u.GetKind()+"/"+u.GetName())
		}
	}
	if len(names) == 0 {
		return " (not created yet)"
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// lastConditions reports the conditions that are not True on the live
// objects, the way `kubectl describe` would show why something is not ready.
func lastConditions(live []*unstructured.Unstructured) string {
	var out []string
	for _, u := range live {
		if u == nil {
			continue
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			status, _ := m["status"].(string)
			if status == "True" {
				continue
			}
			typ, _ := m["type"].(string)
			reason, _ := m["reason"].(string)
			msg, _ := m["message"].(string)
			out = append(out, strings.TrimSuffix(fmt.Sprintf("%s=%s %s: %s", typ, status, reason, msg), ": "))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "; last conditions: " + strings.Join(out, ", ")
}

// result evaluates the instance's status expressions with KRO's runtime on
// the live objects it has observed.
func (d *Deployer) result(rt *runtime.Runtime, inst *compile.Instance, states map[string]*nodeState) *InstanceResult {
	u := inst.Object.DeepCopy()
	res := &InstanceResult{Instance: u, Ready: true}
	for _, n := range rt.Nodes() {
		if st := states[n.Spec.Meta.ID]; !st.ready {
			res.Ready = false
			res.Waiting = append(res.Waiting, n.Spec.Meta.ID+": "+st.last)
		}
	}
	status := map[string]any{}
	if desired, err := rt.Instance().GetDesired(); err == nil && len(desired) > 0 {
		if s, ok := desired[0].Object["status"].(map[string]any); ok {
			status = s
		}
	}
	status["state"] = "ACTIVE"
	if !res.Ready {
		status["state"] = "IN_PROGRESS"
	}
	u.Object["status"] = status
	return res
}
