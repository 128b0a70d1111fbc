package compile

import (
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// problem is a finding not yet located in the document.
type problem struct {
	path string // as the validators write it: spec.items[3], spec.tags[key] or spec.tags.key
	msg  string
}

// locateProblems turns problems into errors with lines, keeping the first
// max in document order plus one summary counting the rest. Few problems are
// located one by one; many are located through one walk of the document,
// so a document with 100,000 problems costs linear time, not 100,000 walks.
func locateProblems(doc *composition.Document, problems []problem, max int) composition.Errors {
	if len(problems) <= max {
		errs := make(composition.Errors, len(problems))
		for i, p := range problems {
			errs[i] = doc.Errorf(p.path, "%s", p.msg)
		}
		return errs
	}
	idx := newLineIndex(doc.Node)
	lines := make([]int, len(problems))
	order := make([]int, len(problems))
	for i, p := range problems {
		lines[i], order[i] = idx.line(p.path), i
	}
	sort.SliceStable(order, func(a, b int) bool {
		pa, pb := order[a], order[b]
		if lines[pa] != lines[pb] {
			return lines[pa] < lines[pb]
		}
		return problems[pa].msg < problems[pb].msg
	})
	ref := doc.Ref()
	errs := make(composition.Errors, 0, max+1)
	for _, i := range order[:max] {
		errs = append(errs, &composition.Error{File: doc.File, Line: lines[i], Doc: ref, Field: problems[i].path, Msg: problems[i].msg})
	}
	return append(errs, composition.Summary(doc.File, ref, lines[order[max-1]], len(problems)-max))
}

// lineIndex maps every field path of a document ("spec.items.3.name") to
// the line of its key, built in one walk.
type lineIndex struct {
	lines map[string]int
	root  int
}

func newLineIndex(n *yaml.Node) *lineIndex {
	idx := &lineIndex{lines: map[string]int{}}
	for n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n == nil {
		return idx
	}
	idx.root = n.Line
	var walk func(n *yaml.Node, prefix string, depth int)
	walk = func(n *yaml.Node, prefix string, depth int) {
		// Aliases are not followed: their fields have no line of their own,
		// and following them could walk an alias bomb.
		if n == nil || depth > 200 {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := prefix + n.Content[i].Value
				if _, seen := idx.lines[p]; !seen {
					idx.lines[p] = n.Content[i].Line
				}
				walk(n.Content[i+1], p+".", depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := prefix + strconv.Itoa(i)
				idx.lines[p] = c.Line
				walk(c, p+".", depth+1)
			}
		}
	}
	walk(n, "", 0)
	return idx
}

// line finds path's line, or its deepest existing parent's, or the
// document's, like composition.Document.Line.
func (idx *lineIndex) line(path string) int {
	p := normalizePath(path)
	for p != "" {
		if l, ok := idx.lines[p]; ok {
			return l
		}
		i := strings.LastIndex(p, ".")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return idx.root
}

// normalizePath writes spec.items[3] and spec.tags[key] as spec.items.3 and
// spec.tags.key, the index's form.
func normalizePath(path string) string {
	path = strings.NewReplacer("[", ".", "]", "").Replace(path)
	return strings.Trim(strings.ReplaceAll(path, "..", "."), ".")
}
