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

// maxNodes bounds alias expansion ("billion laughs") while converting.
const maxNodes = 1 << 20

type converter struct{ budget int }

func (c *converter) value(n *yaml.Node, depth int) (any, error) {
	c.budget--
	if c.budget < 0 {
		return nil, fmt.Errorf("line %d: document expands to more than %d nodes (alias bomb?)", n.Line, maxNodes)
	}
	if depth > 200 {
		return nil, fmt.Errorf("line %d: document nests deeper than 200 levels", n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("line %d: unresolved alias", n.Line)
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
				return nil, fmt.Errorf("line %d: mapping keys must be strings", k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
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
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("line %d: %v", n.Line, err)
		}
		return b, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, nil
		}
		var u uint64
		if err := n.Decode(&u); err == nil && u <= math.MaxInt64 {
			return int64(u), nil
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: invalid integer %q", n.Line, n.Value)
		}
		return f, nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, fmt.Errorf("line %d: %v", n.Line, err)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("line %d: %q is not representable in JSON", n.Line, n.Value)
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
