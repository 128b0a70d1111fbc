// Package live deploys direct-mode resources without KRO: KRO's runtime
// decides, stage by stage, what can be applied, with live objects fed back
// between stages (SetObserved), readiness judged by the node's readyWhen
// (CheckReadiness) on every watch event, and the instance status evaluated
// on the live objects at the end. reconcile.go has the per-instance run,
// shaped like KRO's reconcileNodes; every write goes through pkg/ssa, and
// every walk over an instance's nodes through direct.Walk.
package live

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"

	"github.com/kubernetes-sigs/kro/pkg/graph"
	"github.com/kubernetes-sigs/kro/pkg/runtime"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/clock"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/readiness"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// Deployer applies, observes and deletes direct-mode instances.
type Deployer struct {
	Dynamic          dynamic.Interface
	Mapper           meta.RESTMapper
	FieldManager     string
	DefaultNamespace string
	// Out receives change lines (stdout), Progress readiness lines (stderr).
	Out, Progress io.Writer
	// Clock times the progress lines; nil is the real clock (tests pass
	// k8s.io/utils/clock/testing's fake).
	Clock clock.PassiveClock
	mu    sync.Mutex
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
	// Changes are this apply's change-set entries: objects written
	// (created, configured, unchanged) and pruned.
	Changes *ssa.ChangeSet
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

func (d *Deployer) clock() clock.PassiveClock {
	if d.Clock == nil {
		return clock.RealClock{}
	}
	return d.Clock
}

// client is the pkg/ssa client for the Deployer's cluster.
func (d *Deployer) client() *ssa.Client {
	return &ssa.Client{Dynamic: d.Dynamic, Mapper: ssa.Resettable(d.Mapper), FieldManager: d.FieldManager, DefaultNamespace: d.DefaultNamespace}
}

// resource is the dynamic client and resource of u's kind.
func (d *Deployer) resource(u *unstructured.Unstructured) (dynamic.ResourceInterface, schema.GroupVersionResource, error) {
	ri, m, err := d.client().ResourceFor(u)
	if err != nil {
		return nil, schema.GroupVersionResource{}, err
	}
	return ri, m.Resource, nil
}

// write server-side applies one object for real (pkg/ssa's Write: owner
// conflicts refused, the one created/configured/unchanged rule). A
// namespace that does not exist yet is waited for: another resource of
// the instance may create it (KRO orders only by references, and
// retries), until the timeout.
func (d *Deployer) write(ctx context.Context, u *unstructured.Unstructured, force bool) (*ssa.Object, error) {
	c := d.client()
	o, err := c.ObjectFor(u)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ssa.Subject(u), err)
	}
	err = c.Write(ctx, o, force)
	if err != nil && apierrors.IsNotFound(err) && o.Live == nil && u.GetNamespace() != "" {
		if werr := d.waitNamespace(ctx, u.GetNamespace(), ssa.Subject(u)); werr != nil {
			return nil, werr
		}
		err = c.Write(ctx, o, force)
	}
	return o, err
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
			c := d.client()
			o, err := c.ObjectFor(r.Object)
			if err == nil {
				_, err = c.Apply(gctx, o, true, force)
				if err != nil {
					err = ssa.ApplyError(err, r.Object)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
			case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
				notes = append(notes, "not dry-run (kind or namespace does not exist yet): "+ssa.Subject(r.Object))
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

// allApplied reports whether every node is written (or skipped).
func allApplied(states map[string]*nodeState) bool {
	for _, st := range states {
		if !st.applied && !st.done {
			return false
		}
	}
	return true
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
