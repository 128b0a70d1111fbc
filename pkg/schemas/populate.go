package schemas

import (
	"fmt"

	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// populateRefs builds the schema resolver.PopulateRefs builds (the
// function resolver.ClientDiscoveryResolver, and so KRO against a live
// cluster, uses): every $ref, direct or as the first ref in allOf, replaced
// by its definition with its own refs populated, and a ref already being
// populated further up (a cycle) replaced by {type: object}. Upstream copies
// a definition anew wherever it is referenced (ObjectMeta, Quantity,
// PodSpec's many types): half of resolving a Deployment. Here a definition
// whose population met no cycle is populated once and shared, as the
// resolved schemas already are between callers (they are read-only).
// TestPopulateRefs compares every built-in kind with upstream's result.
func populateRefs(schemaOf func(ref string) (*spec.Schema, bool), root string) (*spec.Schema, error) {
	rootSchema, ok := schemaOf(root)
	if !ok {
		return nil, fmt.Errorf("internal error: cannot resolve Ref for root schema %q: %w", root, resolver.ErrSchemaNotFound)
	}
	p := &populator{schemaOf: schemaOf, visiting: map[string]bool{root: true}, done: map[string]*spec.Schema{}}
	s, _, err := p.schema(rootSchema)
	return s, err
}

type populator struct {
	schemaOf func(ref string) (*spec.Schema, bool)
	visiting map[string]bool
	// done holds the populated definitions that met no cycle: their result
	// does not depend on where they are referenced from.
	done map[string]*spec.Schema
}

// schema populates s; cut reports that a cycle was cut below it.
func (p *populator) schema(s *spec.Schema) (_ *spec.Schema, cut bool, _ error) {
	ref, isRef := refOf(s)
	if !isRef {
		return p.children(s)
	}
	if p.visiting[ref] {
		return &spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}}}, true, nil
	}
	if d, ok := p.done[ref]; ok {
		return d, false, nil
	}
	resolved, ok := p.schemaOf(ref)
	if !ok {
		return nil, false, fmt.Errorf("internal error: cannot resolve Ref %q: %w", ref, resolver.ErrSchemaNotFound)
	}
	p.visiting[ref] = true
	populated, cut, err := p.children(resolved)
	delete(p.visiting, ref)
	if err != nil {
		return nil, false, err
	}
	if populated == resolved { // upstream always returns a copy for a ref
		c := *resolved
		populated = &c
	}
	if !cut {
		p.done[ref] = populated
	}
	return populated, cut, nil
}

// children populates the properties, additionalProperties and items of s,
// returning s itself when none changed.
func (p *populator) children(s *spec.Schema) (_ *spec.Schema, cut bool, err error) {
	result := *s
	changed := false
	// sub populates one sub-schema: nil when it is unchanged.
	sub := func(in *spec.Schema) *spec.Schema {
		if err != nil { // the first error is the one reported
			return nil
		}
		populated, c, e := p.schema(in)
		cut = cut || c
		if e != nil {
			err = e
			return nil
		}
		if populated == in {
			return nil
		}
		changed = true
		return populated
	}
	if len(s.Properties) > 0 {
		props := make(map[string]spec.Schema, len(s.Properties))
		for name, prop := range s.Properties {
			if populated := sub(&prop); populated != nil {
				props[name] = *populated
			} else {
				props[name] = prop
			}
		}
		if changed {
			result.Properties = props
		}
	}
	if a := s.AdditionalProperties; a != nil && a.Schema != nil {
		if populated := sub(a.Schema); populated != nil {
			n := *a
			n.Schema = populated
			result.AdditionalProperties = &n
		}
	}
	if it := s.Items; it != nil && it.Schema != nil {
		if populated := sub(it.Schema); populated != nil {
			n := *it
			n.Schema = populated
			result.Items = &n
		}
	}
	if err != nil {
		return nil, false, err
	}
	if changed {
		return &result, cut, nil
	}
	return s, cut, nil
}

// refOf is upstream's: the schema's own $ref, else the first in allOf.
func refOf(s *spec.Schema) (string, bool) {
	if s.Ref.GetURL() != nil {
		return s.Ref.String(), true
	}
	for i := range s.AllOf {
		if ref, ok := refOf(&s.AllOf[i]); ok {
			return ref, true
		}
	}
	return "", false
}
