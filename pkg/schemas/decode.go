package schemas

import (
	"bytes"
	"strconv"

	"k8s.io/kube-openapi/pkg/validation/spec"
)

// decodeDefinition decodes one embedded definition into the spec.Schema that
// spec.Schema.UnmarshalJSON builds, for the keywords the generator keeps
// (see gen: type, format, $ref, allOf, oneOf, properties, items, required,
// additionalProperties, default, x-kubernetes-*), without reflection: the
// kube-openapi decoder was three fifths of resolving a Deployment's schema,
// which every command that builds a composition pays (issue 13). Anything
// else (another keyword, an escaped string, a type list) returns ok=false
// and the caller uses UnmarshalJSON. TestDecodeDefinition checks every
// embedded definition against UnmarshalJSON.
func decodeDefinition(raw []byte) (s *spec.Schema, ok bool) {
	d := &defScanner{b: raw}
	s = &spec.Schema{}
	if !d.schema(s) || d.i != len(d.b) {
		return nil, false
	}
	return s, true
}

// defScanner reads the compact JSON that encoding/json writes (no
// whitespace), as the generator does.
type defScanner struct {
	b []byte
	i int
}

func (d *defScanner) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *defScanner) eat(c byte) bool {
	if d.peek() == c {
		d.i++
		return true
	}
	return false
}

// str reads a string without escapes.
func (d *defScanner) str() (string, bool) {
	if !d.eat('"') {
		return "", false
	}
	end := bytes.IndexByte(d.b[d.i:], '"')
	if end < 0 {
		return "", false
	}
	v := d.b[d.i : d.i+end]
	if bytes.IndexByte(v, '\\') >= 0 {
		return "", false
	}
	d.i += end + 1
	return string(v), true
}

// members calls f after each object key (and its colon); f reads the value.
func (d *defScanner) members(f func(key string) bool) bool {
	if !d.eat('{') {
		return false
	}
	if d.eat('}') {
		return true
	}
	for {
		k, ok := d.str()
		if !ok || !d.eat(':') || !f(k) {
			return false
		}
		if d.eat('}') {
			return true
		}
		if !d.eat(',') {
			return false
		}
	}
}

// elements calls f for each array element.
func (d *defScanner) elements(f func() bool) bool {
	if !d.eat('[') {
		return false
	}
	if d.eat(']') {
		return true
	}
	for {
		if !f() {
			return false
		}
		if d.eat(']') {
			return true
		}
		if !d.eat(',') {
			return false
		}
	}
}

func (d *defScanner) schemas() ([]spec.Schema, bool) {
	out := []spec.Schema{}
	ok := d.elements(func() bool {
		out = append(out, spec.Schema{})
		return d.schema(&out[len(out)-1])
	})
	return out, ok
}

func (d *defScanner) schema(s *spec.Schema) bool {
	return d.members(func(key string) bool {
		var ok bool
		switch key {
		case "type":
			var t string
			t, ok = d.str()
			s.Type = spec.StringOrArray{t}
		case "format":
			s.Format, ok = d.str()
		case "$ref":
			var ref string
			if ref, ok = d.str(); ok {
				var err error
				s.Ref, err = spec.NewRef(ref)
				ok = err == nil
			}
		case "allOf":
			s.AllOf, ok = d.schemas()
		case "oneOf":
			s.OneOf, ok = d.schemas()
		case "properties":
			s.Properties = map[string]spec.Schema{}
			ok = d.members(func(name string) bool {
				var p spec.Schema
				if !d.schema(&p) {
					return false
				}
				s.Properties[name] = p
				return true
			})
		case "items":
			s.Items = &spec.SchemaOrArray{Schema: &spec.Schema{}}
			ok = d.schema(s.Items.Schema)
		case "additionalProperties":
			s.AdditionalProperties = &spec.SchemaOrBool{Allows: true}
			switch d.peek() {
			case '{':
				s.AdditionalProperties.Schema = &spec.Schema{}
				ok = d.schema(s.AdditionalProperties.Schema)
			default:
				var v any
				v, ok = d.value()
				s.AdditionalProperties.Allows, _ = v.(bool)
				_, isBool := v.(bool)
				ok = ok && isBool
			}
		case "required":
			s.Required = []string{}
			ok = d.elements(func() bool {
				r, ok := d.str()
				s.Required = append(s.Required, r)
				return ok
			})
		case "default":
			s.Default, ok = d.value()
		default:
			if len(key) < 2 || key[0] != 'x' || key[1] != '-' {
				return false
			}
			var v any
			if v, ok = d.value(); ok {
				if s.Extensions == nil {
					s.Extensions = spec.Extensions{}
				}
				s.Extensions[key] = v
			}
		}
		return ok
	})
}

// value reads any JSON value as encoding/json would into an any.
func (d *defScanner) value() (any, bool) {
	switch c := d.peek(); {
	case c == '"':
		return d.str()
	case c == '{':
		m := map[string]any{}
		ok := d.members(func(k string) bool {
			v, ok := d.value()
			m[k] = v
			return ok
		})
		return m, ok
	case c == '[':
		l := []any{}
		ok := d.elements(func() bool {
			v, ok := d.value()
			l = append(l, v)
			return ok
		})
		return l, ok
	case bytes.HasPrefix(d.b[d.i:], []byte("true")):
		d.i += 4
		return true, true
	case bytes.HasPrefix(d.b[d.i:], []byte("false")):
		d.i += 5
		return false, true
	case bytes.HasPrefix(d.b[d.i:], []byte("null")):
		d.i += 4
		return nil, true
	case c == '-' || c >= '0' && c <= '9':
		j := d.i
		for j < len(d.b) && bytes.IndexByte([]byte("+-.0123456789eE"), d.b[j]) >= 0 {
			j++
		}
		f, err := strconv.ParseFloat(string(d.b[d.i:j]), 64)
		d.i = j
		return f, err == nil
	}
	return nil, false
}
