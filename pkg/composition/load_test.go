package composition

import (
	"strings"
	"testing"
)

func TestParseLocatesFields(t *testing.T) {
	src := `apiVersion: v1
kind: ConfigMap
metadata:
  name: a
data:
  key: value
---
---
apiVersion: example.com/v1
kind: Thing
metadata:
  name: b
spec:
  list:
    - x: 1
    - x: 2
`
	docs, errs := Parse("in.yaml", []byte(src))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2", len(docs))
	}
	tests := []struct {
		doc  int
		path string
		line int
	}{
		{0, "data.key", 6},
		{0, "metadata", 3},
		{1, "spec.list[1].x", 16},
		{1, "spec.list.1.x", 16},
		{1, "spec.missing.deeper", 13}, // deepest existing parent: the spec key
	}
	for _, tt := range tests {
		if got := docs[tt.doc].Line(tt.path); got != tt.line {
			t.Errorf("doc %d %s: line %d, want %d", tt.doc, tt.path, got, tt.line)
		}
	}
	if docs[1].Index != 2 || docs[1].Ref() != "Thing/b" {
		t.Errorf("doc 2: index %d ref %s", docs[1].Index, docs[1].Ref())
	}
	if v := docs[1].Object["spec"].(map[string]any)["list"].([]any)[0].(map[string]any)["x"]; v != int64(1) {
		t.Errorf("integers must decode as int64, got %T", v)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
		line            int
	}{
		{"syntax", "apiVersion: v1\nkind: [\n", "malformed YAML", 2},
		{"no kind", "apiVersion: v1\nmetadata: {name: x}\n", "missing apiVersion or kind", 1},
		{"scalar", "just a string\n", "must be a mapping", 1},
		{"duplicate key", "apiVersion: v1\nkind: A\nkind: B\n", "duplicate key", 1},
		{"tab indentation", "apiVersion: v1\nkind: A\nmetadata:\n\tname: x\n", "malformed YAML", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := Parse("bad.yaml", []byte(tt.src))
			if len(errs) != 1 {
				t.Fatalf("want 1 error, got %v", errs)
			}
			e := errs[0]
			if !strings.Contains(e.Msg, tt.want) || e.File != "bad.yaml" {
				t.Errorf("got %q, want it to mention %q", e.Error(), tt.want)
			}
			if tt.line != 0 && e.Line != tt.line {
				t.Errorf("line %d, want %d (%s)", e.Line, tt.line, e.Error())
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("apiVersion: typekro.dev/v1alpha1\nkind: Composition\nmetadata: {name: x}\nspec:\n  apiVersion: v1\n  kind: X\n  resources:\n  - id: a\n    Deployment: {name: x, image: y, ports: [1]}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("---\n- 1\n---\nkind: K\napiVersion: v1\n<<: {a: 1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, _ := Parse("fuzz.yaml", data)
		set := &Set{}
		for _, d := range docs {
			set.add(d)
			_ = d.Line("spec.resources[0].template")
		}
	})
}

func TestResourceGVKs(t *testing.T) {
	rgd := map[string]any{"spec": map[string]any{"resources": []any{
		map[string]any{"id": "a", "template": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment"}},
		map[string]any{"id": "b", "externalRef": map[string]any{"apiVersion": "x.io/v1", "kind": "Thing", "metadata": map[string]any{"name": int(1)}}},
	}}}
	got := ResourceGVKs(rgd)
	if len(got) != 2 || got[0].Kind != "Deployment" || got[0].Group != "apps" || got[1].Group != "x.io" {
		t.Errorf("got %v", got)
	}
}
