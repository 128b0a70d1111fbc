package live

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// collection is what an externalRef collection selects: objects of a
// resource matching a label selector, in one namespace or all of them.
type collection struct {
	gvr       schema.GroupVersionResource
	namespace string
	selector  labels.Selector
}

// collectionOf reads the query from the node's resolved template the way
// KRO's controller does: metadata.selector decoded strictly (a misspelled
// field must not widen the selection to everything), none selects all; an
// empty namespace means all namespaces.
func (d *Deployer) collectionOf(tmpl *unstructured.Unstructured) (collection, error) {
	m, err := d.client().Mapping(tmpl)
	if err != nil {
		return collection{}, fmt.Errorf("%s: %w", tmpl.GetKind(), err)
	}
	c := collection{gvr: m.Resource, selector: labels.Everything()}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		c.namespace = tmpl.GetNamespace()
	}
	raw, found, _ := unstructured.NestedMap(tmpl.Object, "metadata", "selector")
	if !found {
		return c, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return c, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var ls metav1.LabelSelector
	if err := dec.Decode(&ls); err != nil {
		return c, fmt.Errorf("metadata.selector: %w", err)
	}
	if c.selector, err = metav1.LabelSelectorAsSelector(&ls); err != nil {
		return c, fmt.Errorf("metadata.selector: %w", err)
	}
	return c, nil
}

// list reads the selected objects, in the API server's order (namespace,
// then name), as KRO observes them.
func (d *Deployer) list(ctx context.Context, c collection) ([]*unstructured.Unstructured, error) {
	l, err := d.Dynamic.Resource(c.gvr).Namespace(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: c.selector.String()})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", c.gvr.Resource, err)
	}
	out := make([]*unstructured.Unstructured, len(l.Items))
	for i := range l.Items {
		out[i] = &l.Items[i]
	}
	return out, nil
}
