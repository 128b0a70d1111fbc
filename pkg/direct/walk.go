package direct

import (
	"github.com/kubernetes-sigs/kro/pkg/graph"
	"github.com/kubernetes-sigs/kro/pkg/runtime"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/typekro/kubectl-typekro/pkg/compile"
)

// NodeKind is what direct mode does with a node: the branching that
// render, observe, diff and apply share.
type NodeKind int

const (
	// KindResource is written: one object, or one per forEach item.
	KindResource NodeKind = iota
	// KindNested is a resource whose kind is another composition's: an
	// instance of its own (KRO's kind is not served without KRO).
	KindNested
	// KindExternal is an externalRef: read, never written.
	KindExternal
	// KindExternalInstance is an externalRef to another composition's
	// instance, read from its ApplySet parent.
	KindExternalInstance
	// KindExternalCollection is an externalRef collection: every object
	// its selector matches.
	KindExternalCollection
)

// KindOf classifies a node of def's graph.
func KindOf(def *compile.Definition, n *runtime.Node) NodeKind {
	composed := def.Composed[n.Spec.Meta.ID] != nil
	switch n.Spec.Meta.Type {
	case graph.NodeTypeExternalCollection:
		return KindExternalCollection
	case graph.NodeTypeExternal:
		if composed {
			return KindExternalInstance
		}
		return KindExternal
	}
	if composed {
		return KindNested
	}
	return KindResource
}

// Hooks are what a Walk does at each node. A nil per-kind hook falls back
// to Resolved; a nil Resolved, Ignored or Pending does nothing.
type Hooks struct {
	// Pending: KRO's runtime needs data that does not exist yet, for the
	// node's includeWhen (includeWhen true) or its template.
	Pending func(n *runtime.Node, err error, includeWhen bool) error
	// Failed: evaluating the node failed otherwise. nil stops the walk
	// with the error as it is.
	Failed func(n *runtime.Node, err error) error
	// Ignored: includeWhen is false.
	Ignored func(n *runtime.Node) error

	Resource           func(n *runtime.Node, desired []*unstructured.Unstructured) error
	Nested             func(n *runtime.Node, def *compile.Definition, desired []*unstructured.Unstructured) error
	External           func(n *runtime.Node, desired []*unstructured.Unstructured) error
	ExternalInstance   func(n *runtime.Node, def *compile.Definition, desired []*unstructured.Unstructured) error
	ExternalCollection func(n *runtime.Node, desired []*unstructured.Unstructured) error
	// Resolved is every resolved node without a hook of its kind.
	Resolved func(n *runtime.Node, kind NodeKind, desired []*unstructured.Unstructured) error
}

// Walk visits the nodes of one runtime of def's graph in KRO's
// topological order: includeWhen, then the desired objects, then the hook
// for the node's kind. Hooks feed live or rendered objects back
// (n.SetObserved) for later nodes; the per-node work is a function call.
func Walk(rt *runtime.Runtime, def *compile.Definition, h Hooks) error {
	for _, n := range rt.Nodes() {
		if err := h.node(def, n); err != nil {
			return err
		}
	}
	return nil
}

func (h *Hooks) node(def *compile.Definition, n *runtime.Node) error {
	ignored, err := n.IsIgnored()
	if err != nil {
		return h.failed(n, err, true)
	}
	if ignored {
		if h.Ignored != nil {
			return h.Ignored(n)
		}
		return nil
	}
	desired, err := n.GetDesired()
	if err != nil {
		return h.failed(n, err, false)
	}
	kind := KindOf(def, n)
	switch {
	case kind == KindResource && h.Resource != nil:
		return h.Resource(n, desired)
	case kind == KindNested && h.Nested != nil:
		return h.Nested(n, def.Composed[n.Spec.Meta.ID], desired)
	case kind == KindExternal && h.External != nil:
		return h.External(n, desired)
	case kind == KindExternalInstance && h.ExternalInstance != nil:
		return h.ExternalInstance(n, def.Composed[n.Spec.Meta.ID], desired)
	case kind == KindExternalCollection && h.ExternalCollection != nil:
		return h.ExternalCollection(n, desired)
	case h.Resolved != nil:
		return h.Resolved(n, kind, desired)
	}
	return nil
}

func (h *Hooks) failed(n *runtime.Node, err error, includeWhen bool) error {
	if runtime.IsDataPending(err) {
		if h.Pending != nil {
			return h.Pending(n, err, includeWhen)
		}
		return nil
	}
	if h.Failed != nil {
		return h.Failed(n, err)
	}
	return err
}
