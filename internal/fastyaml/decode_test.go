package fastyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// reference decodes data as parseStream did before the fast path.
func reference(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		stripComments(&n)
		docs = append(docs, &n)
	}
}

// stripComments: Decode keeps no comments.
func stripComments(n *yaml.Node) {
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	for _, c := range n.Content {
		stripComments(c)
	}
}

// check fails when Decode accepts data and its nodes differ from yaml.v3's
// in any field; it reports whether Decode accepted.
func check(t *testing.T, name string, data []byte) bool {
	t.Helper()
	got, ok := Decode(data)
	if !ok {
		return false
	}
	want, err := reference(data)
	if err != nil {
		t.Errorf("%s: accepted input yaml.v3 refuses (%v):\n%s", name, err, data)
		return true
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: nodes differ from yaml.v3's for\n%s\ngot:\n%s\nwant:\n%s", name, data, dump(got), dump(want))
	}
	return true
}

func dump(docs []*yaml.Node) string {
	var b strings.Builder
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		fmt.Fprintf(&b, "%*skind=%d tag=%q value=%q style=%d %d:%d\n", 2*depth, "", n.Kind, n.Tag, n.Value, n.Style, n.Line, n.Column)
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	for _, d := range docs {
		walk(d, 0)
	}
	return b.String()
}

var accepted = []string{
	"a: 1\nb:\n- x\n",
	"---\na: 1\n---\n  b: c\n",
	"\n\n  a: 1\n",
	"- a: 1\n  b: 2\n- c\n",
	"a: \"x\"\nb: 'y'\nc: \"\"\n",
	"---\n",
	"a: 1\n---\n",
	"---\n---\na: 1\n",
	"a: 1\n---",
	"a: 1",
	"a:   spaced  words  \nb: -1\nc: +2\nd: 1.5\ne: 10Gi\nf: 500m\ng: 1.2.3\nh: --port=80\ni: true\nj: Null\nk: ~\nl: on\nm: 0\n",
	"metadata:\n  name: x\n  labels:\n    app.kubernetes.io/name: x\nspec:\n  containers:\n  - name: web\n    image: nginx:1.27\n    args:\n    - --v=2\n    ports:\n      - containerPort: 80\n",
	"- a:\n  - x\n- b:\n    c: d\n",
	"url: http://x.example.com/a?b=c\nk: a:b\n",
	"1: one\ntrue: yes\n",
	"a: {}\nb: []\nc:\n- {}\n- []\n",
	"# head\na: 1\n# mid\nb:\n  # nested\n  c: 2\n    # deeper\n  d:\n  # before an entry\n  - x\n---\n# only a comment\n---\n  # indented\ne: 3\n# foot\n",
	"# just a comment\n",
}

var declined = []string{
	"a: 1 # comment\n",
	"a: {x: 1}\n",
	"a: [x]\n",
	"a: { }\n",
	"a: &x 1\nb: *x\n",
	"a: !!str 1\n",
	"a: |\n  text\n",
	"a: >\n  text\n",
	"a: long\n  plain\n",
	"a: \"esc\\n\"\n",
	"a: 'it''s'\n",
	"a:\n",
	"a:\nb: 1\n",
	"a:\tb\n",
	"a: 1\r\n",
	"a: é\n",
	"a: 0x1F\n",
	"a: 017\n",
	"a: 1e5\n",
	"a: 1_000\n",
	"a: 2001-12-14\n",
	"a: .5\n",
	"<<: x\n",
	"\"a\": 1\n",
	"- - x\n",
	"-   x\n",
	"plain\n",
	"%YAML 1.2\n---\na: 1\n",
	"a: 1\n...\n",
	"--- a: 1\n",
	"a: b: c\n",
	"a: b:\n",
	"a:\n    b: 1\n  c: 2\n",
	"a: 1\n  b: 2\n",
	"a: 1\n- x\n",
	"a: - x\n",
	"? a\n: b\n",
	"a : b\n",
	"a: 123456789012345678901\n",
}

func TestDecode(t *testing.T) {
	for i, in := range accepted {
		if !check(t, fmt.Sprintf("accepted[%d]", i), []byte(in)) {
			t.Errorf("accepted[%d] declined:\n%s", i, in)
		}
	}
	for i, in := range declined {
		if check(t, fmt.Sprintf("declined[%d]", i), []byte(in)) {
			t.Errorf("declined[%d] accepted:\n%s", i, in)
		}
	}
}

// TestRepositoryYAML compares Decode with yaml.v3 on every YAML file in the
// repository that Decode accepts.
func TestRepositoryYAML(t *testing.T) {
	root := filepath.Join("..", "..")
	n, ok := 0, 0
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && (e.Name() == ".git" || e.Name() == ".cache" || e.Name() == "bin") {
			return filepath.SkipDir
		}
		if e.IsDir() || (!strings.HasSuffix(path, ".yaml") && !strings.HasSuffix(path, ".yml")) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		if check(t, path, data) {
			ok++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d files take the fast path", ok, n)
}

func FuzzDecode(f *testing.F) {
	for _, in := range append(accepted, declined...) {
		f.Add([]byte(in))
	}
	// The repository's small YAML files: real shapes for the mutator.
	_ = filepath.WalkDir(filepath.Join("..", ".."), func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() && (e.Name() == ".git" || e.Name() == ".cache") {
			return filepath.SkipDir
		}
		if data, err := os.ReadFile(path); err == nil && strings.HasSuffix(path, ".yaml") && len(data) < 4096 {
			f.Add(data)
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		check(t, "fuzz", data)
	})
}

// fleet is n instance documents as a fleet repository holds them.
func fleet(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "---\napiVersion: fleet.example.com/v1\nkind: FleetApp\nmetadata:\n  name: svc-%05d\n  namespace: team-%02d\nspec:\n  name: svc-%05d\n  image: registry.example.com/svc:1.%d.0\n  replicas: %d\n  team: team-%02d\n", i, i%50, i, i%10, i%3+1, i%50)
	}
	return b.Bytes()
}

func TestFleetTakesTheFastPath(t *testing.T) {
	if !check(t, "fleet", fleet(100)) {
		t.Fatal("a generated fleet was declined")
	}
}

// BenchmarkDecode: 1,000 instance documents, the fast path against yaml.v3.
func BenchmarkDecode(b *testing.B) {
	data := fleet(1000)
	b.Run("fastyaml", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			if _, ok := Decode(data); !ok {
				b.Fatal("declined")
			}
		}
	})
	b.Run("yaml.v3", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			if _, err := reference(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
