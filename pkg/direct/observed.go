package direct

import (
	"github.com/kubernetes-sigs/kro/pkg/graph"
	"github.com/kubernetes-sigs/kro/pkg/runtime"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/typekro/kubectl-typekro/pkg/compile"
)

// Observer supplies the live state of a node for an offline render
// (render --observed, typekro test). pkg/direct/live implements it on the
// same lookups apply and status use, over an in-memory set of objects.
type Observer interface {
	// Live returns the live objects of node n given its resolved
	// desired objects (for an externalRef, its template): one per
	// desired object, nil where none exists; for an externalRef
	// collection, what its selector selects.
	Live(inst *compile.Instance, n *runtime.Node, desired []*unstructured.Unstructured) ([]*unstructured.Unstructured, error)
}

// observeExternal resolves an externalRef (or externalRef collection)
// from the observer. ok is false when it cannot: no observer, a template
// that needs data not available yet, or the object is not observed, and
// the node then stays pending as without --observed.
func observeExternal(obs Observer, inst *compile.Instance, n *runtime.Node, desired []*unstructured.Unstructured) (live []*unstructured.Unstructured, ok bool, err error) {
	if obs == nil {
		return nil, false, nil
	}
	got, err := obs.Live(inst, n, desired)
	if err != nil {
		return nil, false, err
	}
	if n.Spec.Meta.Type == graph.NodeTypeExternalCollection {
		return got, true, nil // selecting nothing is an answer too, as in KRO
	}
	live = Present(got)
	if len(live) == 0 || len(live) != len(desired) {
		return nil, false, nil
	}
	return live, true, nil
}

// feed is what later nodes see of a resource: the observed object where
// there is one, else the rendered one (so fields the template sets
// resolve and those only the cluster fills in stay pending).
func feed(obs Observer, inst *compile.Instance, n *runtime.Node, desired []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	if obs == nil {
		return desired, nil
	}
	got, err := obs.Live(inst, n, desired)
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, len(desired))
	for i, d := range desired {
		out[i] = d
		if i < len(got) && got[i] != nil {
			out[i] = got[i]
		}
	}
	return out, nil
}

// Present returns objs without the nil entries (objects not found).
func Present(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		if o != nil {
			out = append(out, o)
		}
	}
	return out
}
