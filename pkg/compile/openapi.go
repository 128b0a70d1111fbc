package compile

import (
	"fmt"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
)

// splitAt is how many elements one list or map schema may hold, summed over
// the whole object, before its elements are validated one by one.
//
// kube-openapi's validator (the API server's) drops duplicate errors by
// comparing each new error with every one collected so far: an object with
// n wrong items costs n² string comparisons (100,000 items: minutes). The
// elements of a large list or map are therefore validated separately, each
// by a validator rooted at the element's path, so messages and paths are
// byte for byte the server's, and the rest of the object by the same schema
// with those elements' schema left out. Every value is checked exactly
// once, against exactly the schema the server uses.
const splitAt = 1000

// openAPIValidator is the API server's OpenAPI validation of a custom
// resource, in linear time.
type openAPIValidator struct {
	whole  validation.SchemaValidator // the server's validator, for small objects
	schema *spec.Schema               // the same schema, converted once
	quick  *quickNode                 // says when whole would find nothing
}

func newOpenAPIValidator(internal *apiextensions.JSONSchemaProps) (*openAPIValidator, error) {
	whole, _, err := validation.NewSchemaValidator(internal)
	if err != nil {
		return nil, err
	}
	s := &spec.Schema{}
	post := validation.StripUnsupportedFormatsPostProcessorForVersion(environment.DefaultCompatibilityVersion())
	if err := validation.ConvertJSONSchemaPropsWithPostProcess(internal, s, post); err != nil {
		return nil, err
	}
	return &openAPIValidator{whole: whole, schema: s, quick: newQuickNode(s)}, nil
}

// Validate returns what validation.ValidateCustomResource returns.
func (v *openAPIValidator) Validate(obj any) field.ErrorList {
	if v.quick.valid(obj) {
		return nil
	}
	counts := map[string]int{}
	countElements(obj, v.schema, "", counts)
	split := map[string]bool{}
	for key, n := range counts {
		if n > splitAt {
			split[key] = true
		}
	}
	if len(split) == 0 {
		return validation.ValidateCustomResource(nil, obj, v.whole)
	}
	elems := map[string]*spec.Schema{} // schema key -> element schema, split below
	root := withoutSplit(v.schema, "", split, elems)
	errs := validation.ValidateCustomResource(nil, obj, rooted{root, ""})
	forSplitElements(obj, v.schema, "", "", split, func(key, path string, elem any) {
		errs = append(errs, validation.ValidateCustomResource(nil, elem, rooted{elems[key], path})...)
	})
	return errs
}

// rooted validates a value found at path (as kube-openapi writes paths:
// spec.items[3], spec.tags.key) with a schema.
type rooted struct {
	schema *spec.Schema
	path   string
}

func (r rooted) Validate(value any, _ ...validation.ValidationOption) *validate.Result {
	return validate.NewSchemaValidator(r.schema, nil, r.path, strfmt.Default).Validate(value)
}

// Schema keys name a position in the schema: property names joined by
// dots, "[]" for the items of a list, "{}" for the values of a map.

// children calls f for each child value of obj that s gives a schema to,
// as kube-openapi's validators descend.
func children(obj any, s *spec.Schema, f func(keySuffix, pathSuffix string, child any, cs *spec.Schema)) {
	if s == nil {
		return
	}
	switch x := obj.(type) {
	case map[string]any:
		for k, v := range x {
			if ps, ok := s.Properties[k]; ok {
				f("."+k, "."+k, v, &ps)
			} else if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
				f("{}", "."+k, v, s.AdditionalProperties.Schema)
			}
		}
	case []any:
		if s.Items != nil && s.Items.Schema != nil {
			for i, v := range x {
				f("[]", fmt.Sprintf("[%d]", i), v, s.Items.Schema)
			}
		}
	}
}

func countElements(obj any, s *spec.Schema, key string, counts map[string]int) {
	children(obj, s, func(ks, _ string, child any, cs *spec.Schema) {
		if ks == "[]" || ks == "{}" {
			counts[key+ks]++
		}
		countElements(child, cs, key+ks, counts)
	})
}

// forSplitElements calls f for every element of a split list or map.
func forSplitElements(obj any, s *spec.Schema, key, path string, split map[string]bool, f func(key, path string, elem any)) {
	children(obj, s, func(ks, ps string, child any, cs *spec.Schema) {
		p := path + ps
		if path == "" && ps[0] == '.' {
			p = ps[1:]
		}
		if split[key+ks] {
			f(key+ks, p, child)
		}
		forSplitElements(child, cs, key+ks, p, split, f)
	})
}

// withoutSplit copies s leaving out the element schema of split lists and
// maps (elems receives each, itself without split descendants).
func withoutSplit(s *spec.Schema, key string, split map[string]bool, elems map[string]*spec.Schema) *spec.Schema {
	c := *s
	if len(s.Properties) > 0 {
		c.Properties = make(map[string]spec.Schema, len(s.Properties))
		for k, ps := range s.Properties {
			c.Properties[k] = *withoutSplit(&ps, key+"."+k, split, elems)
		}
	}
	if s.Items != nil && s.Items.Schema != nil {
		elem := withoutSplit(s.Items.Schema, key+"[]", split, elems)
		if split[key+"[]"] {
			elems[key+"[]"] = elem
			c.Items = nil
		} else {
			c.Items = &spec.SchemaOrArray{Schema: elem}
		}
	}
	if ap := s.AdditionalProperties; ap != nil && ap.Schema != nil {
		elem := withoutSplit(ap.Schema, key+"{}", split, elems)
		if split[key+"{}"] {
			elems[key+"{}"] = elem
			c.AdditionalProperties = &spec.SchemaOrBool{Allows: true}
		} else {
			c.AdditionalProperties = &spec.SchemaOrBool{Allows: ap.Allows, Schema: elem}
		}
	}
	return &c
}
