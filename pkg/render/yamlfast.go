package render

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"sync"
	"unicode"

	yamlv2 "go.yaml.in/yaml/v2"
)

// fastYAML writes obj exactly as yamlv2.Marshal does, for the shapes a
// rendered object has (maps, lists, short single-line scalars), without
// yaml.v2's event machinery, which was a quarter of a large direct render.
// It reports false, having written nothing it keeps, for anything it is not
// sure to write identically (multi-line or long spaced strings, long keys,
// values of other Go types); the caller then uses yaml.v2. A differential
// test holds it to yaml.v2 byte for byte.
func fastYAML(obj map[string]any) ([]byte, bool) {
	if len(obj) == 0 {
		return nil, false
	}
	e := encoders.Get().(*fastEncoder)
	defer encoders.Put(e)
	e.buf, e.keys = e.buf[:0], e.keys[:0]
	if !e.mapping(obj, 0) {
		return nil, false
	}
	// The document is kept (a large render holds tens of thousands):
	// exactly its bytes, not the scratch buffer's slack.
	return bytes.Clone(e.buf), true
}

// encoders are scratch space reused between documents.
var encoders = sync.Pool{New: func() any { return &fastEncoder{buf: make([]byte, 0, 4096)} }}

type fastEncoder struct {
	buf []byte
	// keys is a stack: each mapping sorts its keys above its parent's.
	keys []string
}

// yaml.v2 folds spaced plain and quoted scalars past this column; a line
// that fits cannot be folded.
const fastWidth = 76

// mapping writes a non-empty block mapping whose keys start at column
// indent; the first key's indentation is already written when first is
// false (a mapping that is a list item starts after "- ").
func (e *fastEncoder) mapping(m map[string]any, indent int) bool {
	return e.mappingAt(m, indent, true)
}

func (e *fastEncoder) mappingAt(m map[string]any, indent int, first bool) bool {
	base := len(e.keys)
	for k := range m {
		e.keys = append(e.keys, k)
	}
	// Nested mappings push above len(e.keys) and pop back: keys stays valid.
	keys := e.keys[base:]
	defer func() { e.keys = e.keys[:base] }()
	slices.SortFunc(keys, func(a, b string) int {
		if a == b {
			return 0
		}
		if keyLess(a, b) {
			return -1
		}
		return 1
	})
	for i, k := range keys {
		if i > 0 || first {
			e.indent(indent)
		}
		if len(k) > 100 { // yaml.v2 writes long keys as "? key"
			return false
		}
		start := len(e.buf)
		if !e.scalar(k) || bytes.IndexByte(e.buf[start:], ' ') >= 0 && indent+len(e.buf)-start > fastWidth {
			return false
		}
		e.buf = append(e.buf, ':')
		if !e.value(m[k], indent, indent+len(e.buf)-start) {
			return false
		}
	}
	return true
}

// value writes what follows "key:" (col is the column after the colon).
func (e *fastEncoder) value(v any, indent, col int) bool {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			e.buf = append(e.buf, " {}\n"...)
			return true
		}
		e.buf = append(e.buf, '\n')
		return e.mapping(t, indent+2)
	case []any:
		if len(t) == 0 {
			e.buf = append(e.buf, " []\n"...)
			return true
		}
		e.buf = append(e.buf, '\n')
		return e.sequence(t, indent)
	}
	e.buf = append(e.buf, ' ')
	start := len(e.buf)
	if !e.scalar(v) || bytes.IndexByte(e.buf[start:], ' ') >= 0 && col+1+len(e.buf)-start > fastWidth {
		return false
	}
	e.buf = append(e.buf, '\n')
	return true
}

// sequence writes a non-empty block sequence at column indent (yaml.v2
// does not indent a sequence under its mapping key).
func (e *fastEncoder) sequence(l []any, indent int) bool {
	for _, item := range l {
		e.indent(indent)
		e.buf = append(e.buf, "- "...)
		switch t := item.(type) {
		case map[string]any:
			if len(t) == 0 {
				e.buf = append(e.buf, "{}\n"...)
				continue
			}
			if !e.mappingAt(t, indent+2, false) {
				return false
			}
		case []any:
			if len(t) == 0 {
				e.buf = append(e.buf, "[]\n"...)
				continue
			}
			// "- - x": the inner sequence starts on the same line.
			e.buf = e.buf[:len(e.buf)-2]
			if !e.nestedSequence(t, indent) {
				return false
			}
		default:
			start := len(e.buf)
			if !e.scalar(item) || bytes.IndexByte(e.buf[start:], ' ') >= 0 && indent+2+len(e.buf)-start > fastWidth {
				return false
			}
			e.buf = append(e.buf, '\n')
		}
	}
	return true
}

func (e *fastEncoder) nestedSequence(l []any, indent int) bool {
	e.buf = append(e.buf, "- "...)
	var inner fastEncoder
	if !inner.sequence(l, indent+2) {
		return false
	}
	// The first item continues the outer "- " line.
	e.buf = append(e.buf, inner.buf[indent+2:]...)
	return true
}

func (e *fastEncoder) indent(n int) {
	for range n {
		e.buf = append(e.buf, ' ')
	}
}

// scalar writes a single-line scalar as yaml.v2 writes it.
func (e *fastEncoder) scalar(v any) bool {
	switch t := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
		return true
	case bool:
		e.buf = strconv.AppendBool(e.buf, t)
		return true
	case int64:
		e.buf = strconv.AppendInt(e.buf, t, 10)
		return true
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(t), 10)
		return true
	case string:
		if plainWord(t) {
			e.buf = append(e.buf, t...)
			return true
		}
		if t == "" { // a common default; yaml.v2's encoder costs 8 KB per call
			e.buf = append(e.buf, `""`...)
			return true
		}
		for i := 0; i < len(t); i++ {
			if t[i] == '\n' || t[i] == '\r' {
				return false
			}
		}
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(t), 10)
		return true
	case float64: // yaml.v2's floatv: shortest 'g' form, YAML's inf and nan
		switch {
		case math.IsInf(t, 1):
			e.buf = append(e.buf, ".inf"...)
		case math.IsInf(t, -1):
			e.buf = append(e.buf, "-.inf"...)
		case math.IsNaN(t):
			e.buf = append(e.buf, ".nan"...)
		default:
			e.buf = strconv.AppendFloat(e.buf, t, 'g', -1, 64)
		}
		return true
	default:
		return false
	}
	// Anything else: yaml.v2's own text for the lone scalar, which is the
	// same inside a mapping or list as long as it stays on one line.
	b, err := yamlv2.Marshal(v)
	if err != nil || len(b) == 0 || b[len(b)-1] != '\n' || bytes.IndexByte(b[:len(b)-1], '\n') >= 0 {
		return false
	}
	e.buf = append(e.buf, b[:len(b)-1]...)
	return true
}

// plainWord: a string yaml.v2 certainly writes plain: a letter, then
// letters, digits and -._/@: (a colon not last: image references and
// URLs), and not one of YAML 1.1's boolean and null words.
func plainWord(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') || s[len(s)-1] == ':' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '/' || c == '@' || c == ':') {
			return false
		}
	}
	if len(s) <= 5 {
		switch s {
		case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
			"true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL":
			return false
		}
	}
	return true
}

// keyLess is yaml.v2's order of string map keys: rune by rune, letters after
// other characters, runs of digits compared as numbers. ASCII keys (nearly
// all) are compared as bytes, without decoding runes: the rune slices were
// a tenth of the YAML writer's time.
func keyLess(a, b string) bool {
	if isASCII(a) && isASCII(b) {
		return keyLessOf([]byte(a), []byte(b))
	}
	return keyLessOf([]rune(a), []rune(b))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func keyLessOf[E rune | byte](ar, br []E) bool {
	for i := 0; i < len(ar) && i < len(br); i++ {
		if ar[i] == br[i] {
			continue
		}
		al, bl := unicode.IsLetter(rune(ar[i])), unicode.IsLetter(rune(br[i]))
		if al && bl {
			return ar[i] < br[i]
		}
		if al || bl {
			return bl
		}
		var ai, bi int
		var an, bn int64
		if ar[i] == '0' || br[i] == '0' {
			for j := i - 1; j >= 0 && unicode.IsDigit(rune(ar[j])); j-- {
				if ar[j] != '0' {
					an, bn = 1, 1
					break
				}
			}
		}
		for ai = i; ai < len(ar) && unicode.IsDigit(rune(ar[ai])); ai++ {
			an = an*10 + int64(ar[ai]-'0')
		}
		for bi = i; bi < len(br) && unicode.IsDigit(rune(br[bi])); bi++ {
			bn = bn*10 + int64(br[bi]-'0')
		}
		if an != bn {
			return an < bn
		}
		if ai != bi {
			return ai < bi
		}
		return ar[i] < br[i]
	}
	return len(ar) < len(br)
}
