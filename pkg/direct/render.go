// Package direct computes what KRO would create for an instance, with KRO's
// own runtime (github.com/kubernetes-sigs/kro/pkg/runtime), and deploys it
// without KRO: stage by stage, feeding live objects back to the runtime so
// references to server-assigned fields resolve, waiting for each resource's
// readyWhen, and tracking what it created in an ApplySet-style inventory.
package direct

import (
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/kubernetes-sigs/kro/pkg/graph"
	"github.com/kubernetes-sigs/kro/pkg/metadata"
	"github.com/kubernetes-sigs/kro/pkg/runtime"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/typekro/kubectl-typekro/internal/parallel"
	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// ManagedBy is the app.kubernetes.io/managed-by value of direct-mode
// resources. KRO writes "kro"; typekro must not, or a KRO controller would
// take the objects for its own.
const ManagedBy = "typekro"

// Options tune rendering.
type Options struct {
	// AllowPending leaves out resources that need live cluster state
	// (another resource's status, a server-assigned field) and lists them in
	// Result.Pending instead of failing.
	AllowPending bool
	// Observer, when set, supplies observed (live) objects: references to
	// them, externalRefs and collections resolve from it (render --observed).
	Observer Observer
}

// Resource is one concrete object an instance creates.
type Resource struct {
	Instance *compile.Instance
	NodeID   string
	Object   *unstructured.Unstructured
}

// Pending is a field whose value needs live state.
type Pending struct {
	Instance string // Kind/namespace/name of the instance
	NodeID   string
	Kind     string
	Field    string // path in the resource, "" when the whole resource waits
	// Expression is the template expression, Reference what it waits on.
	Expression string
	Reference  string
}

func (p Pending) String() string {
	subject := fmt.Sprintf("%s: resource %q (%s)", p.Instance, p.NodeID, p.Kind)
	if p.Field == "" {
		return fmt.Sprintf("%s waits on %s", subject, p.Reference)
	}
	return fmt.Sprintf("%s: field %s = %s needs live state: %s", subject, p.Field, p.Expression, p.Reference)
}

// PendingError lists the fields that cannot be known offline.
type PendingError struct{ Pending []Pending }

func (e *PendingError) Error() string {
	lines := make([]string, len(e.Pending))
	for i, p := range e.Pending {
		lines[i] = "  " + p.String()
	}
	return fmt.Sprintf("%d resource field(s) need live cluster state (use --allow-pending to render the rest, or apply --mode direct):\n%s",
		len(e.Pending), strings.Join(lines, "\n"))
}

// Result is the rendered direct-mode output.
type Result struct {
	Resources []Resource
	Pending   []Pending
	// Skipped lists "<instance>: <node id>" excluded by includeWhen.
	Skipped []string
}

// Render computes every instance's resources offline.
func Render(res *compile.Result, opts Options) (*Result, error) {
	sh := newShared(opts.Observer)
	results, err := forEachInstance(res, func(inst *compile.Instance) (*Result, error) {
		r, err := renderRecovering(inst, sh)
		if err != nil {
			return nil, err
		}
		// The rendered objects may share maps with the instance and with
		// each other (an expression's value is the instance's own map);
		// callers that change them (apply) get objects of their own.
		for i := range r.Resources {
			r.Resources[i].Object = r.Resources[i].Object.DeepCopy()
		}
		return r, nil
	})
	if err != nil {
		return nil, err
	}
	out := &Result{}
	for _, r := range results {
		out.Resources = append(out.Resources, r.Resources...)
		out.Pending = append(out.Pending, r.Pending...)
		out.Skipped = append(out.Skipped, r.Skipped...)
	}
	keys := make([]string, len(out.Resources))
	for i, r := range out.Resources {
		keys[i] = render.Key(r.Object)
	}
	if err := checkOwners(out.Resources, keys); err != nil {
		return nil, err
	}
	if len(out.Pending) > 0 && !opts.AllowPending {
		return out, &PendingError{Pending: out.Pending}
	}
	return out, nil
}

// forEachInstance runs fn on every instance, on every core, and returns its
// results in input order so the output stays deterministic; the first error
// in input order wins.
func forEachInstance[T any](res *compile.Result, fn func(*compile.Instance) (T, error)) ([]T, error) {
	results := make([]T, len(res.Instances))
	errs := make([]error, len(res.Instances))
	parallel.Each(len(res.Instances), func(i int) {
		results[i], errs[i] = fn(res.Instances[i])
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return results, nil
}

// renderRecovering turns a crash inside KRO's runtime on some instance into
// an error naming it: a panic in a worker goroutine would otherwise end the
// process with a stack trace.
func renderRecovering(inst *compile.Instance, sh *shared) (r *Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("%s: internal error while rendering this instance: %v", inst.Doc.File+": "+inst.Doc.Ref(), p)
		}
	}()
	return renderInstance(inst, 0, sh)
}

// Objects lays a direct render out for the writers: CRDs and plain
// manifests from the inputs, then the instances' resources.
func Objects(res *compile.Result, r *Result) []render.Object {
	var out []render.Object
	for _, o := range render.KroObjects(res) {
		if o.Role == render.RoleCRD || o.Role == render.RoleNamespace || o.Role == render.RoleResource {
			out = append(out, o)
		}
	}
	for _, rs := range r.Resources {
		out = append(out, render.Object{Role: render.ResourceRole(rs.Object), Object: rs.Object})
	}
	render.Sort(out)
	return out
}

// RenderInstance runs KRO's runtime for one instance without a cluster:
// each resolved resource is fed back as its own observed state, so
// references to fields the template sets (names, labels, spec) resolve, and
// references to fields only the server fills in are reported as pending.
// readyWhen gates deployment, not content, so it is not evaluated here.
func RenderInstance(inst *compile.Instance) (*Result, error) {
	r, err := renderInstance(inst, 0, newShared(nil))
	if err != nil {
		return nil, err
	}
	for i := range r.Resources {
		r.Resources[i].Object = r.Resources[i].Object.DeepCopy()
	}
	return r, nil
}

// MaxNesting bounds how deep instances may create instances of other
// definitions.
const MaxNesting = 10

// renderInstance's objects are decorated shallow copies of what the
// runtime computed: they may share maps with the instance and each other.
func renderInstance(inst *compile.Instance, depth int, sh *shared) (*Result, error) {
	if depth > MaxNesting {
		return nil, fmt.Errorf("%s: instances nested more than %d deep", InstanceRef(inst.Object), MaxNesting)
	}
	c := sh.content(inst.Definition)
	g := c.graph
	rt, err := c.newRuntime(inst.Object)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", InstanceRef(inst.Object), err)
	}
	out := &Result{}
	ref := InstanceRef(inst.Object)
	observed := map[string][]*unstructured.Unstructured{graph.InstanceNodeID: {inst.Object}}
	pendingNodes := map[string]bool{}
	// externalPending records an externalRef that only the cluster (or
	// --observed) can answer.
	externalPending := func(n *runtime.Node) {
		pendingNodes[n.Spec.Meta.ID] = true
		why := "externalRef: the object is read from the cluster"
		if inst.Definition.Composed[n.Spec.Meta.ID] != nil {
			why = "externalRef to an instance of " + n.Spec.Template.GetKind() + " (another composition): its status exists once that instance is applied"
		}
		out.Pending = append(out.Pending, Pending{Instance: ref, NodeID: n.Spec.Meta.ID, Kind: n.Spec.Template.GetKind(), Reference: why})
	}
	external := func(n *runtime.Node, desired []*unstructured.Unstructured) error {
		live, ok, err := observeExternal(sh.observer, inst, n, desired)
		if err != nil {
			return NodeError(ref, n, err)
		}
		if !ok {
			externalPending(n)
			return nil
		}
		observed[n.Spec.Meta.ID] = live
		n.SetObserved(live)
		return nil
	}
	err = Walk(rt, inst.Definition, Hooks{
		Failed: func(n *runtime.Node, err error) error { return NodeError(ref, n, err) },
		Pending: func(n *runtime.Node, err error, includeWhen bool) error {
			id, kind := n.Spec.Meta.ID, n.Spec.Template.GetKind()
			switch t := n.Spec.Meta.Type; {
			case includeWhen:
				pendingNodes[id] = true
				out.Pending = append(out.Pending, Pending{Instance: ref, NodeID: id, Kind: kind, Reference: "includeWhen: " + WaitsOn(n, pendingNodes, err)})
			case t == graph.NodeTypeExternal || t == graph.NodeTypeExternalCollection:
				externalPending(n)
			default:
				pendingNodes[id] = true
				out.Pending = append(out.Pending, diagnose(ref, n, g, observed, pendingNodes, err)...)
			}
			return nil
		},
		Ignored: func(n *runtime.Node) error {
			out.Skipped = append(out.Skipped, ref+": "+n.Spec.Meta.ID)
			return nil
		},
		External:           external,
		ExternalCollection: external,
		ExternalInstance: func(n *runtime.Node, _ *compile.Definition, desired []*unstructured.Unstructured) error {
			return external(n, desired)
		},
		Nested: func(n *runtime.Node, child *compile.Definition, desired []*unstructured.Unstructured) error {
			// Without KRO the nested kind is not served, so the nested
			// instance's own resources are rendered in its place.
			id := n.Spec.Meta.ID
			for _, d := range desired {
				ci, err := child.NewInstance(d, inst.Object.GetNamespace())
				if err != nil {
					return fmt.Errorf("%s: resource %q: %w", ref, id, err)
				}
				r, err := renderInstance(ci, depth+1, sh)
				if err != nil {
					return err
				}
				out.Resources = append(out.Resources, r.Resources...)
				out.Pending = append(out.Pending, r.Pending...)
				out.Skipped = append(out.Skipped, r.Skipped...)
			}
			observed[id] = desired
			n.SetObserved(desired)
			return nil
		},
		Resource: func(n *runtime.Node, desired []*unstructured.Unstructured) error {
			return renderResource(inst, n, desired, sh, observed, out)
		},
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// renderResource decorates a resource node's objects for the output and
// feeds later nodes what they would observe.
func renderResource(inst *compile.Instance, n *runtime.Node, desired []*unstructured.Unstructured, sh *shared, observed map[string][]*unstructured.Unstructured, out *Result) error {
	ref, id := InstanceRef(inst.Object), n.Spec.Meta.ID
	objs := make([]*unstructured.Unstructured, len(desired))
	for i, d := range desired {
		// The runtime keeps d as the node's observed state, which later
		// expressions read: labels go on a copy of the maps they change.
		objs[i] = withOwnMetadata(d)
		Decorate(objs[i], inst.Object, n, i, len(desired))
		if err := checkName(inst, id, objs[i]); err != nil {
			return err
		}
		if err := CheckSize(ref, id, objs[i]); err != nil {
			return err
		}
		out.Resources = append(out.Resources, Resource{Instance: inst, NodeID: id, Object: objs[i]})
	}
	// Later nodes read the observed object where --observed has one.
	fed, err := feed(sh.observer, inst, n, desired)
	if err != nil {
		return NodeError(ref, n, err)
	}
	observed[id] = fed
	n.SetObserved(fed)
	return nil
}

// shared is what the instances of one render share, per definition (see
// content), built once instead of once per instance.
type shared struct {
	mu       sync.Mutex
	contents map[*compile.Definition]*content
	// observer supplies live objects (render --observed); nil offline.
	observer Observer
}

func newShared(obs Observer) *shared {
	return &shared{contents: map[*compile.Definition]*content{}, observer: obs}
}

func (sh *shared) content(d *compile.Definition) *content {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	c := sh.contents[d]
	if c == nil {
		c = newContent(d.Graph)
		sh.contents[d] = c
	}
	return c
}

// withOwnMetadata copies u's top-level and metadata maps, the ones
// Decorate changes, and shares everything else.
func withOwnMetadata(u *unstructured.Unstructured) *unstructured.Unstructured {
	obj := maps.Clone(u.Object)
	if m, ok := obj["metadata"].(map[string]any); ok {
		obj["metadata"] = maps.Clone(m)
	}
	return &unstructured.Unstructured{Object: obj}
}

// withoutReadiness copies a graph with every readyWhen removed.
func withoutReadiness(g *graph.Graph) *graph.Graph {
	c := *g
	c.Nodes = make(map[string]*graph.Node, len(g.Nodes))
	for id, n := range g.Nodes {
		nc := *n
		nc.ReadyWhen = nil
		c.Nodes[id] = &nc
	}
	return &c
}

// InstanceRef names an instance: Kind/namespace/name.
func InstanceRef(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return u.GetKind() + "/" + ns + "/" + u.GetName()
	}
	return u.GetKind() + "/" + u.GetName()
}

// Decorate adds the labels KRO's instance controller puts on the
// resources it manages (pkg/metadata: instance name, namespace, group,
// version and kind, node id, collection index and size), except those that
// only exist with KRO (instance and RGD UIDs, kro-version, owned) and with
// app.kubernetes.io/managed-by set to typekro instead of kro.
func Decorate(obj, instance *unstructured.Unstructured, n *runtime.Node, index, size int) {
	gvk := instance.GroupVersionKind()
	set := map[string]string{
		metadata.InstanceLabel:        instance.GetName(),
		metadata.InstanceGroupLabel:   gvk.Group,
		metadata.InstanceVersionLabel: gvk.Version,
		metadata.InstanceKindLabel:    gvk.Kind,
		metadata.ManagedByLabelKey:    ManagedBy,
		metadata.NodeIDLabel:          n.Spec.Meta.ID,
	}
	if ns := instance.GetNamespace(); ns != "" {
		set[metadata.InstanceNamespaceLabel] = ns
	}
	if n.Spec.Meta.Type == graph.NodeTypeCollection {
		set[metadata.CollectionIndexLabel] = strconv.Itoa(index)
		set[metadata.CollectionSizeLabel] = strconv.Itoa(size)
	}
	// A new label map, as SetLabels makes (the runtime may share the old
	// one), without its conversion and deep copy of every label. Like
	// SetLabels: metadata that is not a mapping is left alone, and labels
	// that are not all strings (GetLabels: none) are replaced.
	meta, ok := obj.Object["metadata"].(map[string]any)
	if !ok {
		if obj.Object["metadata"] != nil {
			return
		}
		meta = map[string]any{}
		obj.Object["metadata"] = meta
	}
	labels := make(map[string]any, len(set))
	if old, ok := meta["labels"].(map[string]any); ok {
		for k, v := range old {
			if _, ok := v.(string); !ok {
				clear(labels)
				break
			}
			labels[k] = v
		}
	}
	for k, v := range set {
		labels[k] = v
	}
	meta["labels"] = labels
}

// WaitsOn names the pending dependencies of a node, or the runtime's
// message when none is.
func WaitsOn(n *runtime.Node, pendingNodes map[string]bool, err error) string {
	if deps := pendingDeps(n, pendingNodes); len(deps) > 0 {
		return "resource(s) " + strings.Join(deps, ", ") + " (themselves pending)"
	}
	return err.Error()
}

// pendingDeps lists, sorted, the dependencies of a node that are pending.
func pendingDeps(n *runtime.Node, pendingNodes map[string]bool) []string {
	var deps []string
	for _, d := range n.Spec.Meta.Dependencies {
		if pendingNodes[d] {
			deps = append(deps, d)
		}
	}
	sort.Strings(deps)
	return deps
}
