package testsuite

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// check compares a rendered instance with the test's expectations.
func check(t *Test, out *rendered) []Failure {
	var fs []Failure
	e := t.Expect
	for i, want := range e.Resources {
		at := fmt.Sprintf("spec.expect.resources[%d]", i)
		w := &unstructured.Unstructured{Object: want}
		field := fmt.Sprintf("expect.resources[%d] %s", i, ref(w))
		got := find(out.resources, w)
		if got == nil {
			fs = append(fs, Failure{Location: t.Location(at), Field: field, Message: notRendered(w, out)})
			continue
		}
		for _, d := range subset(want, got.Object, "") {
			d.Location, d.Field = t.Location(join(at, d.Field)), field+": "+d.Field
			fs = append(fs, d)
		}
	}
	for i, a := range e.Absent {
		for _, o := range out.resources {
			if matchesRef(o, a) {
				fs = append(fs, Failure{Location: t.Location(fmt.Sprintf("spec.expect.absent[%d]", i)), Field: "expect.absent " + a,
					Message: "rendered, want absent: " + ref(o)})
			}
		}
	}
	if e.Count != nil {
		got := map[string]int64{}
		for _, o := range out.resources {
			got[o.GetKind()]++
		}
		for _, k := range sortedKeys(e.Count) {
			if got[k] != e.Count[k] {
				fs = append(fs, Failure{Location: t.Location("spec.expect.count." + k), Field: "expect.count." + k,
					Want: fmt.Sprint(e.Count[k]), Got: fmt.Sprint(got[k])})
			}
		}
	}
	if e.Status != nil {
		status, _ := out.instance.Object["status"].(map[string]any)
		for _, d := range subset(e.Status, status, "") {
			d.Location, d.Field = t.Location(join("spec.expect.status", d.Field)), join("expect.status", d.Field)
			fs = append(fs, d)
		}
	}
	if e.Ready != nil && *e.Ready != out.ready {
		f := Failure{Location: t.Location("spec.expect.ready"), Field: "expect.ready", Want: fmt.Sprint(*e.Ready), Got: fmt.Sprint(out.ready)}
		if len(out.waiting) > 0 {
			f.Got += " (waiting: " + strings.Join(out.waiting, "; ") + ")"
		}
		fs = append(fs, f)
	}
	return fs
}

// find returns the rendered object with want's apiVersion (when given),
// kind, namespace (when given) and name.
func find(objs []*unstructured.Unstructured, want *unstructured.Unstructured) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() != want.GetKind() || o.GetName() != want.GetName() {
			continue
		}
		if v := want.GetAPIVersion(); v != "" && v != o.GetAPIVersion() {
			continue
		}
		if ns := want.GetNamespace(); ns != "" && ns != o.GetNamespace() {
			continue
		}
		return o
	}
	return nil
}

// notRendered explains a missing object: pending (with what it needs),
// or not rendered at all (with what was).
func notRendered(w *unstructured.Unstructured, out *rendered) string {
	for _, p := range out.pending {
		if p.Kind == w.GetKind() {
			return "not rendered: pending: " + p.String()
		}
	}
	var names []string
	for _, o := range out.resources {
		if o.GetKind() == w.GetKind() {
			names = append(names, ref(o))
		}
	}
	if len(names) == 0 {
		return "not rendered (no " + w.GetKind() + " was)"
	}
	return "not rendered (rendered " + w.GetKind() + ": " + strings.Join(names, ", ") + ")"
}

// ref names an object Kind/namespace/name.
func ref(u *unstructured.Unstructured) string {
	if ns := u.GetNamespace(); ns != "" {
		return u.GetKind() + "/" + ns + "/" + u.GetName()
	}
	return u.GetKind() + "/" + u.GetName()
}

// matchesRef matches Kind/name (any namespace) or Kind/namespace/name.
func matchesRef(o *unstructured.Unstructured, r string) bool {
	parts := strings.Split(r, "/")
	if parts[0] != o.GetKind() || parts[len(parts)-1] != o.GetName() {
		return false
	}
	return len(parts) == 2 || parts[1] == o.GetNamespace()
}

// subset lists where got differs from want: every field want gives must
// be equal in got (maps: the keys given; lists: the same length, each
// item compared the same way). Field is the dotted path, with [i] for
// list items.
func subset(want, got any, path string) []Failure {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []Failure{mismatch(path, want, got)}
		}
		var out []Failure
		for _, k := range sortedKeys(w) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			gv, present := g[k]
			if !present {
				if w[k] == nil {
					continue // want null: absent is the same
				}
				out = append(out, Failure{Field: p, Want: show(w[k]), Got: "nothing (field not set)"})
				continue
			}
			out = append(out, subset(w[k], gv, p)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []Failure{mismatch(path, want, got)}
		}
		var out []Failure
		for i := range w {
			out = append(out, subset(w[i], g[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	}
	if !equalScalar(want, got) {
		return []Failure{mismatch(path, want, got)}
	}
	return nil
}

func mismatch(path string, want, got any) Failure {
	if got == nil {
		return Failure{Field: path, Want: show(want), Got: "nothing (field not set)"}
	}
	return Failure{Field: path, Want: show(want), Got: show(got)}
}

// equalScalar compares YAML scalars; numbers by value (2 == 2.0), as
// JSON does.
func equalScalar(a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	return a == b
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// show writes a value as compact JSON.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func join(path, field string) string {
	if field == "" {
		return path
	}
	return path + "." + field
}
