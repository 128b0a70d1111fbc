package composition

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestParseInPartsIsParseWhole: a file parsed in parts gives the documents
// (numbers, contents, every node's line) and errors a whole parse gives,
// on streams with empty documents, comments, block scalars, markers with
// content, a document before the first marker, bad documents and syntax
// errors; and large streams are parsed in parts.
func TestParseInPartsIsParseWhole(t *testing.T) {
	old := chunkMin
	chunkMin = 0
	defer func() { chunkMin = old }()
	var many strings.Builder
	for i := range 40 {
		fmt.Fprintf(&many, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\ndata:\n  k: |\n    line\n     ---\n    end\n", i)
	}
	body := many.String()
	cases := []struct {
		name    string
		in      string
		inParts bool
	}{
		{"markers only", body, true},
		{"document before the first marker", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n" + body, true},
		{"comments before the first marker", "# header\n\n" + body, false},
		{"empty documents", strings.ReplaceAll(body, "---\napiVersion", "---\n---\n# c\napiVersion"), true},
		{"marker with content", strings.ReplaceAll(body, "---\napiVersion: v1", "--- {apiVersion: v1, kind: Secret, metadata: {name: s}}\n---\napiVersion: v1"), true},
		{"bad documents", body + "---\n- a list\n---\nkind: NoVersion\n---\napiVersion: v1\nkind: X\nmetadata: {name: &a x, other: *a}\n" + body, true},
		{"syntax error", body + "---\na: [unclosed\n" + body, false},
		{"directive", "%YAML 1.2\n" + body, false},
		{"document end marker", strings.Replace(body, "---\n", "...\n---\n", 3), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, gotErrs, inParts := parseChunks("f.yaml", []byte(c.in))
			if inParts != c.inParts {
				t.Errorf("parsed in parts: %v, want %v", inParts, c.inParts)
			}
			if !inParts {
				got, gotErrs = Parse("f.yaml", []byte(c.in))
			}
			want, wantErrs, _ := parseStream("f.yaml", []byte(c.in), 0, 0)
			if fmt.Sprint(gotErrs) != fmt.Sprint(wantErrs) {
				t.Errorf("errors:\n got %v\nwant %v", gotErrs, wantErrs)
			}
			if len(got) != len(want) {
				t.Fatalf("%d documents, want %d", len(got), len(want))
			}
			for i := range got {
				if got[i].Index != want[i].Index || !reflect.DeepEqual(got[i].Object, want[i].Object) {
					t.Errorf("document %d: index %d %v, want %d %v", i, got[i].Index, got[i].Object, want[i].Index, want[i].Object)
				}
				if g, w := nodeLines(got[i].Node), nodeLines(want[i].Node); !reflect.DeepEqual(g, w) {
					t.Errorf("document %d: node lines %v, want %v", i, g, w)
				}
			}
		})
	}
}

func nodeLines(n *yaml.Node) []int {
	out := []int{n.Line, n.Column}
	for _, c := range n.Content {
		out = append(out, nodeLines(c)...)
	}
	return out
}
