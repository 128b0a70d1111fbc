package celexpr

import (
	"context"
	"reflect"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types/ref"
	krounstructured "github.com/kubernetes-sigs/kro/pkg/cel/unstructured"
	"github.com/kubernetes-sigs/kro/pkg/graph"
	"k8s.io/apiserver/pkg/cel/common"
	"k8s.io/apiserver/pkg/cel/openapi"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// KRO's runtime hands an expression each resource it reads as
// UnstructuredToVal(object, &openapi.Schema{Schema: the node's schema})
// (kro/pkg/runtime/node_context.go), and every field step of the
// expression asks that schema for its Properties(): openapi.Schema builds a
// new map of every property, each a fresh copy of its spec.Schema (about
// 600 bytes), every time. `schema.spec.name` on a 6-field spec copies ten
// schemas; on a fleet of 10,000 instances that was half of everything a
// direct render allocated.
//
// ShareSchemas wraps each program of a graph so that, before it runs, each
// such value is built again from the same object with a Schema whose
// properties, items and additional properties are computed once per graph
// and shared by every evaluation. UnstructuredToVal only reads a schema, so
// the values, and what the expression computes, are the same.

// ShareSchemas makes every expression of g read resources through schemas
// computed once (see above). Call it once, after LimitGraph.
func ShareSchemas(g *graph.Graph) {
	vars := map[string]common.Schema{}
	for id, s := range g.ResourceSchemas {
		if s != nil {
			vars[id] = newSharedSchema(s)
		}
	}
	if len(vars) == 0 {
		return
	}
	for _, s := range graphSites(g) {
		if s.expr.Program != nil {
			s.expr.Program = &sharedProgram{Program: s.expr.Program, vars: vars}
		}
	}
}

// unstructuredMapType is the type of KRO's schema-backed map values, the
// only values sharedProgram builds again.
var unstructuredMapType = reflect.TypeOf(krounstructured.UnstructuredToVal(map[string]any{},
	&openapi.Schema{Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{"object"}, Properties: map[string]spec.Schema{}}}}))

type sharedProgram struct {
	cel.Program
	vars map[string]common.Schema // variable (node id) -> its shared schema
}

func (p *sharedProgram) Eval(in any) (ref.Val, *cel.EvalDetails, error) {
	return p.Program.Eval(p.activation(in))
}

func (p *sharedProgram) ContextEval(ctx context.Context, in any) (ref.Val, *cel.EvalDetails, error) {
	return p.Program.ContextEval(ctx, p.activation(in))
}

// activation returns in with each resource value built on its shared
// schema; in itself is left as it is (KRO reuses it).
func (p *sharedProgram) activation(in any) any {
	vars, ok := in.(map[string]any)
	if !ok {
		return in
	}
	var out map[string]any
	for name, v := range vars {
		s := p.vars[name]
		if s == nil {
			continue
		}
		nv, changed := p.rewrap(v, s)
		if !changed {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(vars))
			for k, x := range vars {
				out[k] = x
			}
		}
		out[name] = nv
	}
	if out == nil {
		return in
	}
	return out
}

// rewrap builds v (a resource, or a collection's list of them) again on s.
func (p *sharedProgram) rewrap(v any, s common.Schema) (any, bool) {
	switch x := v.(type) {
	case ref.Val:
		if reflect.TypeOf(x) != unstructuredMapType {
			return v, false
		}
		obj, ok := x.Value().(map[string]any)
		if !ok {
			return v, false
		}
		return krounstructured.UnstructuredToVal(obj, s), true
	case []any:
		var out []any
		for i, e := range x {
			ne, changed := p.rewrap(e, s)
			if !changed {
				continue
			}
			if out == nil {
				out = make([]any, len(x))
				copy(out, x)
			}
			out[i] = ne
		}
		if out == nil {
			return v, false
		}
		return out, true
	}
	return v, false
}

// sharedSchema is an openapi.Schema whose sub-schemas are built once, on
// first use, and then returned as they are.
type sharedSchema struct {
	*openapi.Schema

	once  sync.Once
	props map[string]common.Schema
	items common.Schema
	addl  common.SchemaOrBool

	metaOnce sync.Once
	meta     common.Schema
}

func newSharedSchema(s *spec.Schema) *sharedSchema {
	return &sharedSchema{Schema: &openapi.Schema{Schema: s}}
}

func (s *sharedSchema) children() {
	s.once.Do(func() {
		sp := s.Schema.Schema
		if sp.Properties != nil { // nil and empty differ: an object schema
			s.props = make(map[string]common.Schema, len(sp.Properties))
			for k, p := range sp.Properties {
				s.props[k] = newSharedSchema(&p)
			}
		}
		if sp.Items != nil && sp.Items.Schema != nil {
			s.items = newSharedSchema(sp.Items.Schema)
		}
		if ap := sp.AdditionalProperties; ap != nil {
			a := &sharedSchemaOrBool{allows: ap.Allows}
			if ap.Schema != nil {
				a.schema = newSharedSchema(ap.Schema)
			}
			s.addl = a
		}
	})
}

// Properties is shared by every caller: they only read it.
func (s *sharedSchema) Properties() map[string]common.Schema {
	s.children()
	return s.props
}

func (s *sharedSchema) Items() common.Schema {
	s.children()
	return s.items
}

func (s *sharedSchema) AdditionalProperties() common.SchemaOrBool {
	s.children()
	return s.addl
}

func (s *sharedSchema) WithTypeAndObjectMeta() common.Schema {
	s.metaOnce.Do(func() {
		s.meta = newSharedSchema(common.WithTypeAndObjectMeta(s.Schema.Schema))
	})
	return s.meta
}

type sharedSchemaOrBool struct {
	allows bool
	schema common.Schema // nil when there is none
}

func (b *sharedSchemaOrBool) Schema() common.Schema { return b.schema }
func (b *sharedSchemaOrBool) Allows() bool          { return b.allows }

// stubSchema is an object schema with no properties: KRO's runtime wraps
// an object with it for next to nothing, and a sharedProgram builds the
// value again on the real schema anyway.
var stubSchema = &spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{"object"}, Properties: map[string]spec.Schema{}}}

// RuntimeSchemas are resource schemas for KRO's runtime to wrap objects
// with, when every expression of g is a sharedProgram (ShareSchemas), which
// reads them through g's real schemas instead: the runtime's own wrapping
// (openapi.Schema.Properties of each object's root, per evaluation
// context) is then wasted work. Nil when some expression is not shared.
func RuntimeSchemas(g *graph.Graph) map[string]*spec.Schema {
	for _, s := range graphSites(g) {
		if _, ok := s.expr.Program.(*sharedProgram); !ok {
			return nil
		}
	}
	out := make(map[string]*spec.Schema, len(g.ResourceSchemas))
	for id, s := range g.ResourceSchemas {
		if s != nil {
			s = stubSchema
		}
		out[id] = s
	}
	return out
}
