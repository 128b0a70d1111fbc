package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	goruntime "runtime"
	"sync"

	yamlv2 "go.yaml.in/yaml/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// YAML encodes objects as a multi-document stream with sorted keys and a
// trailing newline, in the same style as kubectl (sigs.k8s.io/yaml). The
// objects hold only JSON-compatible values, so they are encoded directly
// with yaml.v2 instead of sigs.k8s.io/yaml's JSON round trip (which was
// half of a 1,000-instance render), and in parallel.
func YAML(objs []*unstructured.Unstructured) ([]byte, error) {
	docs := make([][]byte, len(objs))
	errs := make([]error, len(objs))
	workers := min(goruntime.GOMAXPROCS(0), len(objs))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(objs); i += workers {
				docs[i], errs[i] = marshalYAML(objs[i].Object)
			}
		}()
	}
	wg.Wait()
	for i, o := range objs {
		if errs[i] != nil {
			return nil, encodeError(o, errs[i])
		}
	}
	return JoinYAML(docs), nil
}

// EncodeYAML encodes one object as YAML writes it in a stream.
func EncodeYAML(u *unstructured.Unstructured) ([]byte, error) {
	b, err := marshalYAML(u.Object)
	if err != nil {
		return nil, encodeError(u, err)
	}
	return b, nil
}

// marshalYAML is yamlv2.Marshal, by fastYAML where it can.
func marshalYAML(obj map[string]any) ([]byte, error) {
	if b, ok := fastYAML(obj); ok {
		return b, nil
	}
	return yamlv2.Marshal(obj)
}

func encodeError(u *unstructured.Unstructured, err error) error {
	return fmt.Errorf("%s/%s: %w", u.GetKind(), u.GetName(), err)
}

// JoinYAML joins encoded documents into a stream.
func JoinYAML(docs [][]byte) []byte {
	n := 0
	for _, d := range docs {
		n += len(d) + 4
	}
	buf := make([]byte, 0, n)
	for i, d := range docs {
		if i > 0 {
			buf = append(buf, "---\n"...)
		}
		buf = append(buf, d...)
	}
	return buf
}

// JSON encodes objects as a v1 List, the way kubectl prints several objects.
func JSON(objs []*unstructured.Unstructured) ([]byte, error) {
	items := make([]any, len(objs))
	for i, o := range objs {
		items[i] = o.Object
	}
	list := map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{}, "items": items}
	b, err := json.MarshalIndent(list, "", "    ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Tree is a set of files, by slash-separated path relative to its root.
type Tree map[string][]byte

// TreeOf lays objects out one file per object (see Path).
func TreeOf(objs []Object) (Tree, error) {
	t := Tree{}
	for _, o := range objs {
		b, err := YAML([]*unstructured.Unstructured{o.Object})
		if err != nil {
			return nil, err
		}
		p := Path(o)
		if _, dup := t[p]; dup {
			return nil, fmt.Errorf("two objects map to %s", p)
		}
		t[p] = b
	}
	return t, nil
}

// Paths returns the tree's paths, sorted.
func (t Tree) Paths() []string {
	out := make([]string, 0, len(t))
	for p := range t {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// WriteTo writes a stream in the given format (yaml or json).
func WriteTo(w io.Writer, format string, objs []*unstructured.Unstructured) error {
	var b []byte
	var err error
	switch format {
	case "", "yaml":
		b, err = YAML(objs)
	case "json":
		b, err = JSON(objs)
	case "name":
		var buf bytes.Buffer
		for _, o := range objs {
			gk := o.GroupVersionKind().GroupKind()
			kind := gk.Kind
			if gk.Group != "" {
				kind = kind + "." + gk.Group
			}
			fmt.Fprintf(&buf, "%s/%s\n", lower(kind), o.GetName())
		}
		b = buf.Bytes()
	default:
		return fmt.Errorf("unknown output format %q (yaml, json, name)", format)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func lower(s string) string { return string(bytes.ToLower([]byte(s))) }
