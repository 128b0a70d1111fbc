package composition

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// toValue converts a YAML node into the JSON-compatible values that
// unstructured.Unstructured expects (int64, float64, string, bool, nil,
// []any, map[string]any). Converting the node directly (instead of
// re-marshalling) keeps line information available next to the value.
func toValue(n *yaml.Node, depth int) (any, error) {
	return (&converter{budget: maxNodes}).value(n, depth)
}

// nodeError is a problem at one line of a document; the loader reports
// the line as the error's position, not inside its message.
type nodeError struct {
	line int
	msg  string
}

func (e *nodeError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func errAt(line int, format string, args ...any) error {
	return &nodeError{line: line, msg: fmt.Sprintf(format, args...)}
}

// maxNodes bounds alias expansion ("billion laughs") while converting.
const maxNodes = 1 << 20

type converter struct{ budget int }

func (c *converter) value(n *yaml.Node, depth int) (any, error) {
	c.budget--
	if c.budget < 0 {
		return nil, errAt(n.Line, "document expands to more than %d nodes (alias bomb?)", maxNodes)
	}
	if depth > 200 {
		return nil, errAt(n.Line, "document nests deeper than 200 levels")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, errAt(n.Line, "unresolved alias")
		}
		return c.value(n.Alias, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				merged, err := c.value(v, depth+1)
				if err != nil {
					return nil, err
				}
				if mm, ok := merged.(map[string]any); ok {
					for mk, mv := range mm {
						if _, exists := m[mk]; !exists {
							m[mk] = mv
						}
					}
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, errAt(k.Line, "mapping keys must be strings")
			}
			if _, dup := m[k.Value]; dup {
				return nil, errAt(k.Line, "duplicate key %q", k.Value)
			}
			val, err := c.value(v, depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			val, err := c.value(item, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		return s, nil
	case yaml.ScalarNode:
		return scalar(n)
	}
	return nil, errAt(n.Line, "unsupported YAML node")
}

func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		// The spellings yaml.v3 resolves without a tag, without a decoder
		// per scalar; others (tagged) go through yaml.v3.
		switch n.Value {
		case "true", "True", "TRUE":
			return true, nil
		case "false", "False", "FALSE":
			return false, nil
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, errAt(n.Line, "%v", err)
		}
		return b, nil
	case "!!int":
		// Plain decimals without a decoder per scalar; a leading 0 is
		// octal to yaml.v3 ("0755"), so those go through it.
		if d := strings.TrimLeft(n.Value, "+-"); d == "0" || !strings.HasPrefix(d, "0") {
			if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
				return i, nil
			}
		}
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, nil
		}
		// Kubernetes integers are 64-bit; a larger one would silently
		// become an imprecise float.
		return nil, errAt(n.Line, "integer %s does not fit in 64 bits (quote it to make it a string)", n.Value)
	case "!!float":
		if n.Style&yaml.TaggedStyle == 0 && isDecimalInteger(n.Value) {
			// yaml.v3 resolves an integer too wide for int64 as a float.
			return nil, errAt(n.Line, "integer %s does not fit in 64 bits (quote it to make it a string)", n.Value)
		}
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, errAt(n.Line, "%v", err)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, errAt(n.Line, "%q is not representable in JSON", n.Value)
		}
		return f, nil
	case "!!binary", "!!timestamp", "!!str":
		return n.Value, nil
	}
	return n.Value, nil
}

// lookupLine finds the line of the field at a path such as
// "spec.resources[2].template.spec": the line of its key (where a user looks
// for it). Missing segments stop at the deepest field found, so errors still
// point near the problem.
func lookupLine(root *yaml.Node, path string) int {
	n := root
	for n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n == nil {
		return 0
	}
	line := n.Line
	for _, seg := range splitPath(path) {
		key, val := child(n, seg)
		if val == nil {
			break
		}
		line = key.Line
		n = val
	}
	return line
}

// child returns the key (or item) node and the value node of seg under n.
func child(n *yaml.Node, seg string) (key, val *yaml.Node) {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil {
		return nil, nil
	}
	if idx, err := strconv.Atoi(seg); err == nil && n.Kind == yaml.SequenceNode {
		if idx >= 0 && idx < len(n.Content) {
			return n.Content[idx], n.Content[idx]
		}
		return nil, nil
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == seg {
				return n.Content[i], n.Content[i+1]
			}
		}
	}
	return nil, nil
}

// findScalars lists the paths (below path) of scalar values for which match
// is true, in document order.
func findScalars(root *yaml.Node, path string, match func(key, value string) bool) []string {
	n := root
	for n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, seg := range splitPath(path) {
		if _, n = child(n, seg); n == nil {
			return nil
		}
	}
	var out []string
	var walk func(n *yaml.Node, p, key string, depth int)
	walk = func(n *yaml.Node, p, key string, depth int) {
		if n == nil || depth > 100 {
			return
		}
		switch n.Kind {
		case yaml.ScalarNode:
			if match(key, n.Value) {
				out = append(out, p)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				walk(n.Content[i+1], p+"."+k, k, depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", p, i), key, depth+1)
			}
		}
	}
	walk(n, path, "", 0)
	return out
}

// splitPath turns "a.b[3].c" (or "a.b.3.c") into ["a","b","3","c"].
func splitPath(path string) []string {
	path = strings.NewReplacer("[", ".", "]", "").Replace(path)
	var out []string
	for _, s := range strings.Split(path, ".") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func isDecimalInteger(s string) bool {
	s = strings.TrimLeft(s, "+-")
	return s != "" && strings.Trim(s, "0123456789_") == ""
}
