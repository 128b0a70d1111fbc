package direct

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/kubernetes-sigs/kro/pkg/graph"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// KRO's runtime reads a dependency in a CEL expression through its OpenAPI
// schema (kro/pkg/cel/unstructured), and every field step copies all the
// properties of the schema it steps through (apiserver's
// openapi.Schema.Properties): `config.metadata.name` copies ObjectMeta's 15
// properties three times. That was most of a large direct render's
// allocations. A property's schema is only ever looked up for a key the
// object has, so a schema cut down to the keys an observed object has gives
// the same values. Offline, what the runtime observes is what it rendered;
// each node gets, per instance, the full schema cut down to its objects'
// keys, cached by the keys' shape (the same for most instances).

// maxShapes bounds a definition's cache; past it, cut schemas are built and
// not kept.
const maxShapes = 1024

// content is what every instance of one definition shares.
type content struct {
	graph *graph.Graph // readyWhen removed

	mu     sync.Mutex
	trees  map[string]*schemaTree  // node id -> its full schema, walked lazily
	pruned map[string]*spec.Schema // node id + shape -> cut schema
}

func newContent(g *graph.Graph) *content {
	return &content{graph: withoutReadiness(g), trees: map[string]*schemaTree{}, pruned: map[string]*spec.Schema{}}
}

// instanceGraph is the content graph with resource schemas of the
// instance's own (the runtime keeps these pointers; narrow replaces what
// they point to). The instance's schema is shared: it is never narrowed.
func (c *content) instanceGraph() (*graph.Graph, map[string]*spec.Schema) {
	g := *c.graph
	g.ResourceSchemas = make(map[string]*spec.Schema, len(c.graph.ResourceSchemas))
	for id, s := range c.graph.ResourceSchemas {
		if s != nil && id != graph.InstanceNodeID {
			cp := *s
			s = &cp
		}
		g.ResourceSchemas[id] = s
	}
	return &g, g.ResourceSchemas
}

// narrow cuts node id's schema in schemas down to the keys of objs, the
// objects the runtime is about to observe for it. Call it before the node
// is observed and only once: values already read keep the schema they were
// read with.
func (c *content) narrow(schemas map[string]*spec.Schema, id string, objs []*unstructured.Unstructured) {
	target, full := schemas[id], c.graph.ResourceSchemas[id]
	if target == nil || full == nil || id == graph.InstanceNodeID {
		return
	}
	c.mu.Lock()
	tree := c.trees[id]
	if tree == nil {
		tree = &schemaTree{s: full}
		c.trees[id] = tree
	}
	c.mu.Unlock()
	vals := make([]any, len(objs))
	var key strings.Builder
	key.WriteString(id)
	for i, o := range objs {
		vals[i] = o.Object
		key.WriteByte('|')
		tree.shape(&key, o.Object)
	}
	c.mu.Lock()
	cut := c.pruned[key.String()]
	c.mu.Unlock()
	if cut == nil {
		cut = tree.prune(vals)
		c.mu.Lock()
		if len(c.pruned) < maxShapes {
			c.pruned[key.String()] = cut
		}
		c.mu.Unlock()
	}
	*target = *cut
}

// schemaTree is a schema with its properties' and items' schemas reachable
// by pointer (spec.Schema holds properties by value), built as walked.
type schemaTree struct {
	s     *spec.Schema
	once  sync.Once
	props map[string]*schemaTree
	items *schemaTree
}

func (t *schemaTree) children() {
	t.once.Do(func() {
		if t.s.Properties != nil {
			t.props = make(map[string]*schemaTree, len(t.s.Properties))
			for k, p := range t.s.Properties {
				t.props[k] = &schemaTree{s: &p}
			}
		}
		if t.s.Items != nil && t.s.Items.Schema != nil {
			t.items = &schemaTree{s: t.s.Items.Schema}
		}
	})
}

// shape writes the part of v that decides prune's result: the keys of
// maps the schema has properties for (those keys it knows, sorted), and
// the items of lists, recursively.
func (t *schemaTree) shape(b *strings.Builder, v any) {
	t.children()
	switch d := v.(type) {
	case map[string]any:
		if t.props == nil {
			return
		}
		keys := make([]string, 0, len(d))
		for k := range d {
			if t.props[k] != nil {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for _, k := range keys {
			b.WriteString(strconv.Itoa(len(k)))
			b.WriteByte(':')
			b.WriteString(k)
			t.props[k].shape(b, d[k])
		}
		b.WriteByte('}')
	case []any:
		if t.props != nil || t.items == nil {
			return
		}
		b.WriteByte('[')
		for _, e := range d {
			t.items.shape(b, e)
			b.WriteByte(',')
		}
		b.WriteByte(']')
	}
}

// prune copies the schema keeping only the properties some map in vals
// has (an object schema stays one: its properties are empty, not nil), and
// prunes list items by all the lists' items.
func (t *schemaTree) prune(vals []any) *spec.Schema {
	t.children()
	c := *t.s
	switch {
	case t.props != nil:
		present := map[string][]any{}
		for _, v := range vals {
			if m, ok := v.(map[string]any); ok {
				for k, x := range m {
					if t.props[k] != nil {
						present[k] = append(present[k], x)
					}
				}
			}
		}
		c.Properties = make(map[string]spec.Schema, len(present))
		for k, xs := range present {
			c.Properties[k] = *t.props[k].prune(xs)
		}
	case t.items != nil:
		var xs []any
		for _, v := range vals {
			if l, ok := v.([]any); ok {
				xs = append(xs, l...)
			}
		}
		items := *t.s.Items
		items.Schema = t.items.prune(xs)
		c.Items = &items
	}
	return &c
}
