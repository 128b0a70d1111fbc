package compile

import (
	"math"
	"regexp"
	"unicode/utf8"

	"k8s.io/kube-openapi/pkg/validation/spec"
)

// kube-openapi's validator builds a new validator for every value it
// visits, on every call: on a fleet of 10,000 instances that was most of
// kro mode's time. Nearly every instance is valid, and for the keywords
// typekro's schemas use, "valid" is a cheap walk. quickNode is that walk,
// compiled once per schema: it says "valid" only where kube-openapi would
// find no error, and "don't know" (so kube-openapi runs, and writes the
// errors) for any keyword it does not check itself, any null, any value
// whose type it does not know, and any mismatch.

// quickNode is one schema node's checks.
type quickNode struct {
	unknown    bool   // a keyword quickNode does not check: always ask kube-openapi
	typ        string // "" accepts any type (only with no other check)
	props      map[string]*quickNode
	required   []string
	closed     bool       // additionalProperties: false
	additional *quickNode // additionalProperties' schema
	items      *quickNode
	enum       []any // compared with ==: string, bool, int64, float64
	pattern    *regexp.Regexp
	minLen     *int64
	maxLen     *int64
	min, max   *float64
	exMin      bool
	exMax      bool
	minItems   *int64
	maxItems   *int64
}

var unknownNode = &quickNode{unknown: true}

// newQuickNode compiles s; a node with a keyword outside what quickNode
// checks is unknownNode, for which kube-openapi always runs.
func newQuickNode(s *spec.Schema) *quickNode {
	if s == nil || len(s.Type) > 1 || s.Format != "" || s.Ref.String() != "" || s.Nullable ||
		len(s.AllOf)+len(s.AnyOf)+len(s.OneOf) > 0 || s.Not != nil || len(s.Dependencies) > 0 ||
		len(s.PatternProperties) > 0 || s.MinProperties != nil || s.MaxProperties != nil ||
		s.MultipleOf != nil || s.UniqueItems || s.AdditionalItems != nil ||
		(s.Items != nil && (s.Items.Schema == nil || len(s.Items.Schemas) > 0)) {
		return unknownNode
	}
	n := &quickNode{required: s.Required, minLen: s.MinLength, maxLen: s.MaxLength, min: s.Minimum, max: s.Maximum,
		exMin: s.ExclusiveMinimum, exMax: s.ExclusiveMaximum, minItems: s.MinItems, maxItems: s.MaxItems}
	if len(s.Type) == 1 {
		n.typ = s.Type[0]
	}
	switch n.typ {
	case "string", "integer", "number", "boolean", "object", "array":
	case "":
		if len(s.Properties) > 0 || s.Items != nil || s.AdditionalProperties != nil || len(s.Required) > 0 || len(s.Enum) > 0 ||
			s.Pattern != "" || s.MinLength != nil || s.MaxLength != nil || s.Minimum != nil || s.Maximum != nil || s.MinItems != nil || s.MaxItems != nil {
			return unknownNode
		}
	default:
		return unknownNode
	}
	for _, e := range s.Enum {
		switch e.(type) {
		case string, bool, int64, float64:
			n.enum = append(n.enum, e)
		default:
			return unknownNode
		}
	}
	if s.Pattern != "" {
		re, err := regexp.Compile(s.Pattern) // kube-openapi's compileRegexp
		if err != nil {
			return unknownNode
		}
		n.pattern = re
	}
	if len(s.Properties) > 0 {
		n.props = make(map[string]*quickNode, len(s.Properties))
		for k, p := range s.Properties {
			n.props[k] = newQuickNode(&p) // unknown only where the key is present
		}
	}
	if ap := s.AdditionalProperties; ap != nil {
		// kube-openapi looks at Allows first, whatever the schema.
		if n.closed = !ap.Allows; !n.closed && ap.Schema != nil {
			n.additional = newQuickNode(ap.Schema)
		}
	}
	if s.Items != nil {
		n.items = newQuickNode(s.Items.Schema)
	}
	return n
}

// valid reports whether kube-openapi certainly finds no error in v; false
// means it must be asked.
func (n *quickNode) valid(v any) bool {
	if n.unknown {
		return false
	}
	switch x := v.(type) {
	case string:
		return (n.typ == "string" || n.typ == "") && n.inEnum(v) && n.stringOK(x)
	case bool:
		return (n.typ == "boolean" || n.typ == "") && n.inEnum(v)
	case int64:
		if x > 1<<53 || x < -(1<<53) { // compared as float64 below
			return false
		}
		return (n.typ == "integer" || n.typ == "number" || n.typ == "") && n.inEnum(v) && n.numberOK(float64(x), true)
	case float64:
		return (n.typ == "number" || n.typ == "") && !math.IsNaN(x) && !math.IsInf(x, 0) && n.inEnum(v) && n.numberOK(x, false)
	case map[string]any:
		return (n.typ == "object" || n.typ == "") && len(n.enum) == 0 && n.objectOK(x)
	case []any:
		return (n.typ == "array" || n.typ == "") && len(n.enum) == 0 && n.arrayOK(x)
	}
	return false // null, or a Go type kube-openapi may see otherwise
}

// inEnum: kube-openapi accepts a value equal to an entry (it also tries
// conversions, which are left to it).
func (n *quickNode) inEnum(v any) bool {
	if len(n.enum) == 0 {
		return true
	}
	for _, e := range n.enum {
		if e == v {
			return true
		}
	}
	return false
}

func (n *quickNode) stringOK(s string) bool {
	if n.minLen != nil || n.maxLen != nil {
		l := int64(utf8.RuneCountInString(s))
		if (n.minLen != nil && l < *n.minLen) || (n.maxLen != nil && l > *n.maxLen) {
			return false
		}
	}
	return n.pattern == nil || n.pattern.MatchString(s)
}

// numberOK checks minimum and maximum; for an integer, only integral
// bounds (kube-openapi compares integers with the bound made an integer).
func (n *quickNode) numberOK(f float64, integer bool) bool {
	for _, b := range []*float64{n.min, n.max} {
		if b != nil && integer && (*b != math.Trunc(*b) || math.Abs(*b) > 1<<53) {
			return false
		}
	}
	if n.min != nil && (f < *n.min || (n.exMin && f == *n.min)) {
		return false
	}
	return n.max == nil || (f <= *n.max && !(n.exMax && f == *n.max))
}

func (n *quickNode) objectOK(m map[string]any) bool {
	for _, k := range n.required {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	for k, v := range m {
		if p := n.props[k]; p != nil {
			if !p.valid(v) {
				return false
			}
			continue
		}
		switch {
		case n.closed:
			return false
		case n.additional != nil:
			if !n.additional.valid(v) {
				return false
			}
		}
	}
	return true
}

func (n *quickNode) arrayOK(l []any) bool {
	k := int64(len(l))
	if (n.minItems != nil && k < *n.minItems) || (n.maxItems != nil && k > *n.maxItems) {
		return false
	}
	if n.items != nil {
		for _, e := range l {
			if !n.items.valid(e) {
				return false
			}
		}
	}
	return true
}
