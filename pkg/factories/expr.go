package factories

import (
	"strconv"
	"strings"
)

// Span is one ${...} expression inside a string: s[Start:End] is "${Expr}".
type Span struct {
	Start, End int
	Expr       string
}

// Scan finds the ${...} expressions of s with the rules of KRO's parser
// (pkg/graph/parser: braces are counted outside "double-quoted" literals, a
// nested ${ is allowed only right after a quote). It stops at the first ${
// that never closes and returns its offset as unclosed (-1 when none): KRO
// silently keeps such text as a literal, which is almost always a typo, and
// its own scan restarts one byte further on each time, so stopping here also
// keeps this linear. nested reports a ${ inside an expression, which KRO's
// builder rejects itself.
func Scan(s string) (spans []Span, unclosed int, nested bool) {
	pos := 0
	for {
		i := strings.Index(s[pos:], "${")
		if i < 0 {
			return spans, -1, false
		}
		start := pos + i
		depth, inString, escape := 1, false, false
		end := -1
	scan:
		for j := start + 2; j < len(s); j++ {
			c := s[j]
			switch {
			case escape:
				escape = false
			case inString && c == '\\':
				escape = true
			case c == '"':
				inString = !inString
			case inString:
			case c == '{':
				depth++
			case c == '}':
				if depth--; depth == 0 {
					end = j
					break scan
				}
			case c == '$' && j+1 < len(s) && s[j+1] == '{' && s[j-1] != '"':
				return spans, -1, true
			}
		}
		if end < 0 {
			return spans, start, false
		}
		spans = append(spans, Span{Start: start, End: end + 1, Expr: s[start+2 : end]})
		pos = end + 1
	}
}

// isExpr reports whether s holds a ${...} expression (KRO interprets it).
func isExpr(s string) bool {
	spans, _, _ := Scan(s)
	return len(spans) > 0
}

func isExprVal(v any) bool { s, ok := v.(string); return ok && isExpr(s) }

// isStandalone reports whether s is exactly one ${...} expression: KRO then
// gives the field the expression's own type (a map, a list, an integer)
// instead of building a string.
func isStandalone(s string) bool {
	spans, unclosed, nested := Scan(s)
	return unclosed < 0 && !nested && len(spans) == 1 && spans[0].Start == 0 && spans[0].End == len(s)
}

func isStandaloneVal(v any) bool { s, ok := v.(string); return ok && isStandalone(s) }

// celString turns a string setting (literal, ${expr} or a template mixing
// both) into a CEL expression producing it, the way KRO's parser builds
// string templates ("a-" + (expr)).
func celString(s string) string {
	spans, _, _ := Scan(s)
	var parts []string
	pos := 0
	for _, sp := range spans {
		if sp.Start > pos {
			parts = append(parts, strconv.Quote(s[pos:sp.Start]))
		}
		parts = append(parts, "("+sp.Expr+")")
		pos = sp.End
	}
	if pos < len(s) || len(parts) == 0 {
		parts = append(parts, strconv.Quote(s[pos:]))
	}
	return strings.Join(parts, " + ")
}
