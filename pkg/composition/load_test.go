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
		{"duplicate key", "apiVersion: v1\nkind: A\nkind: B\n", "duplicate key", 3},
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
			set.Add(d)
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

// Regression (issue 9.10): syntax and conversion errors are reported at the
// line where the problem is, with no line number left inside the message,
// and an integer wider than 64 bits is an error instead of a lossy float.
func TestErrorPositions(t *testing.T) {
	const head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
	cases := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"unclosed flow sequence", head + "data:\n  a: [1,\n  b: 2\n", 6, "did not find expected ',' or ']'"},
		{"unclosed flow mapping in document 2", "---\n" + head + "---\n" + head + "x: {a\n", 11, "did not find expected ',' or '}'"},
		{"list item in a mapping", head + "- a\n", 5, "did not find expected key"},
		{"mapping value", head + "data: a: b\n", 5, "mapping values are not allowed"},
		{"duplicate key", head + "data:\n  a: x\n  a: y\n", 7, `duplicate key "a"`},
		{"20-digit integer", head + "spec:\n  n: 12345678901234567890\n", 6, "integer 12345678901234567890 does not fit in 64 bits"},
		{"30-digit integer", head + "spec:\n  n: 123456789012345678901234567890\n", 6, "does not fit in 64 bits"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errs := Parse("f.yaml", []byte(c.in))
			if len(errs) != 1 {
				t.Fatalf("want 1 error, got %v", errs)
			}
			e := errs[0]
			if e.Line != c.line || !strings.Contains(e.Msg, c.msg) || strings.Contains(e.Msg, "line ") {
				t.Errorf("got %q (line %d), want line %d and %q without a line inside the message", e.Error(), e.Line, c.line, c.msg)
			}
		})
	}
	docs, errs := Parse("f.yaml", []byte(head+"spec:\n  n: 9223372036854775807\n  m: -9223372036854775808\n"))
	if len(errs) != 0 || docs[0].Object["spec"].(map[string]any)["n"] != int64(9223372036854775807) {
		t.Errorf("the largest int64 must load exactly: %v", errs)
	}
}

// An RGD given as-is gets the checks a Composition gets: a duplicate id and
// an unclosed ${ are errors at their lines (the latter also kept KRO's
// quadratic expression scan busy for minutes on a 200 KB value).
func TestRGDAsIsChecked(t *testing.T) {
	rgd := `apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata: {name: x}
spec:
  schema:
    apiVersion: v1alpha1
    kind: X
    spec: {name: string}
  resources:
  - id: cm
    template: {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {k: '` + strings.Repeat(`${"`, 20000) + `'}}
  - id: cm
    template: {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}
`
	set := &Set{}
	docs, perrs := Parse("rgd.yaml", []byte(rgd))
	if len(perrs) != 0 {
		t.Fatal(perrs)
	}
	errs := set.Add(docs[0])
	got := errs.Error()
	for _, want := range []string{"rgd.yaml:11: ResourceGraphDefinition/x: spec.resources[0].template.data.k: unclosed ${", "rgd.yaml:12: ResourceGraphDefinition/x: spec.resources[1].id: duplicate resource id \"cm\""} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}
