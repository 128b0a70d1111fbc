// Package testsuite runs typekro Test documents (`kubectl typekro test`)
// offline: each renders one instance of a composition in direct mode with
// KRO's runtime, optionally against observed live objects, and checks the
// rendered resources, the status KRO would write, readiness, an expected
// error, or a golden file.
package testsuite

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// Test is one parsed Test document.
type Test struct {
	Name string
	Doc  *composition.Document
	Dir  string // directory of the file: relative paths start here

	Inputs        []string                     // resolved; default: Dir
	Instance      *composition.Document        // inline (a sub-document of Doc) or from InstanceFile
	InstanceFile  string                       // resolved
	Observed      []*unstructured.Unstructured // inline
	ObservedFiles []string                     // resolved
	Expect        Expect
	Golden        string // resolved
}

// Expect is what a test checks. Fields left out are not checked.
type Expect struct {
	Resources []map[string]any
	Absent    []string
	Count     map[string]int64
	Status    map[string]any
	Ready     *bool
	Error     *string
}

// Location is file:line of a field of the test document.
func (t *Test) Location(field string) string {
	return fmt.Sprintf("%s:%d", t.Doc.File, t.Doc.Line(field))
}

var (
	specFields   = set("inputs", "instance", "instanceFile", "observed", "observedFiles", "expect", "golden")
	expectFields = set("resources", "absent", "count", "status", "ready", "error")
	topFields    = set("apiVersion", "kind", "metadata", "spec")
)

func set(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// Parse reads a Test document. Every problem is located at its field.
func Parse(d *composition.Document) (*Test, composition.Errors) {
	var errs composition.Errors
	t := &Test{Name: d.Name(), Doc: d, Dir: filepath.Dir(d.File)}
	if t.Name == "" {
		errs = append(errs, d.Errorf("metadata.name", "a Test needs metadata.name"))
	}
	errs = append(errs, unknownFields(d, "", d.Object, topFields)...)
	spec, ok := d.Object["spec"].(map[string]any)
	if !ok {
		return nil, append(errs, d.Errorf("spec", "a Test needs a spec (inputs, instance, expect)"))
	}
	errs = append(errs, unknownFields(d, "spec", spec, specFields)...)

	t.Inputs = []string{t.Dir}
	if v, ok := spec["inputs"]; ok {
		paths, perrs := stringList(d, "spec.inputs", v)
		errs = append(errs, perrs...)
		if len(paths) > 0 {
			t.Inputs = t.resolve(paths)
		}
	}
	inline, hasInline := spec["instance"]
	file, hasFile := spec["instanceFile"]
	switch {
	case hasInline && hasFile:
		errs = append(errs, d.Errorf("spec.instanceFile", "give instance or instanceFile, not both"))
	case hasInline:
		m, ok := inline.(map[string]any)
		node := subNode(d.Node, "spec", "instance")
		if !ok || node == nil {
			errs = append(errs, d.Errorf("spec.instance", "instance must be an object (apiVersion, kind, metadata, spec)"))
			break
		}
		t.Instance = &composition.Document{File: d.File, Index: d.Index, Node: node, Object: m}
		if t.Instance.APIVersion() == "" || t.Instance.Kind() == "" {
			errs = append(errs, d.Errorf("spec.instance", "instance needs apiVersion and kind"))
		}
	case hasFile:
		s, ok := file.(string)
		if !ok || s == "" {
			errs = append(errs, d.Errorf("spec.instanceFile", "instanceFile must be a path"))
			break
		}
		t.InstanceFile = t.resolve([]string{s})[0]
	default:
		errs = append(errs, d.Errorf("spec", "a Test needs spec.instance or spec.instanceFile"))
	}
	if v, ok := spec["observed"]; ok {
		list, ok := v.([]any)
		if !ok && v != nil {
			errs = append(errs, d.Errorf("spec.observed", "observed must be a list of objects"))
		}
		for i, o := range list {
			m, ok := o.(map[string]any)
			u := &unstructured.Unstructured{Object: m}
			if !ok || u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
				errs = append(errs, d.Errorf(fmt.Sprintf("spec.observed[%d]", i), "an observed object needs apiVersion, kind and metadata.name"))
				continue
			}
			t.Observed = append(t.Observed, u.DeepCopy())
		}
	}
	if v, ok := spec["observedFiles"]; ok {
		paths, perrs := stringList(d, "spec.observedFiles", v)
		errs = append(errs, perrs...)
		t.ObservedFiles = t.resolve(paths)
	}
	if v, ok := spec["golden"]; ok {
		s, ok := v.(string)
		if !ok || s == "" {
			errs = append(errs, d.Errorf("spec.golden", "golden must be a path"))
		} else {
			t.Golden = t.resolve([]string{s})[0]
		}
	}
	if v, ok := spec["expect"]; ok {
		errs = append(errs, t.parseExpect(v)...)
	}
	return t, errs
}

func (t *Test) parseExpect(v any) composition.Errors {
	d := t.Doc
	e, ok := v.(map[string]any)
	if !ok {
		return composition.Errors{d.Errorf("spec.expect", "expect must be an object")}
	}
	errs := unknownFields(d, "spec.expect", e, expectFields)
	if v, ok := e["resources"]; ok {
		list, ok := v.([]any)
		if !ok {
			errs = append(errs, d.Errorf("spec.expect.resources", "resources must be a list of objects"))
		}
		for i, r := range list {
			m, ok := r.(map[string]any)
			u := &unstructured.Unstructured{Object: m}
			if !ok || u.GetKind() == "" || u.GetName() == "" {
				errs = append(errs, d.Errorf(fmt.Sprintf("spec.expect.resources[%d]", i), "an expected resource needs kind and metadata.name"))
				continue
			}
			t.Expect.Resources = append(t.Expect.Resources, m)
		}
	}
	if v, ok := e["absent"]; ok {
		refs, perrs := stringList(d, "spec.expect.absent", v)
		errs = append(errs, perrs...)
		for i, r := range refs {
			if n := strings.Count(r, "/"); n < 1 || n > 2 {
				errs = append(errs, d.Errorf(fmt.Sprintf("spec.expect.absent[%d]", i), "%q: write Kind/name or Kind/namespace/name", r))
			}
		}
		t.Expect.Absent = refs
	}
	if v, ok := e["count"]; ok {
		m, ok := v.(map[string]any)
		if !ok {
			errs = append(errs, d.Errorf("spec.expect.count", "count must map kinds to numbers, e.g. {Deployment: 1}"))
		}
		t.Expect.Count = map[string]int64{}
		for k, n := range m {
			i, ok := n.(int64)
			if !ok || i < 0 {
				errs = append(errs, d.Errorf("spec.expect.count."+k, "must be a whole number"))
				continue
			}
			t.Expect.Count[k] = i
		}
	}
	if v, ok := e["status"]; ok {
		m, ok := v.(map[string]any)
		if !ok {
			errs = append(errs, d.Errorf("spec.expect.status", "status must be an object (a subset of the instance status)"))
		}
		t.Expect.Status = m
	}
	if v, ok := e["ready"]; ok {
		b, ok := v.(bool)
		if !ok {
			errs = append(errs, d.Errorf("spec.expect.ready", "ready must be true or false"))
		}
		t.Expect.Ready = &b
	}
	if v, ok := e["error"]; ok {
		s, ok := v.(string)
		if !ok || s == "" {
			errs = append(errs, d.Errorf("spec.expect.error", "error must be the text the error contains"))
		}
		t.Expect.Error = &s
		for _, other := range []string{"resources", "absent", "count", "status", "ready"} {
			if _, ok := e[other]; ok {
				errs = append(errs, d.Errorf("spec.expect."+other, "expect.error stands instead of the other expectations"))
			}
		}
		if t.Golden != "" {
			errs = append(errs, d.Errorf("spec.golden", "a test that expects an error has no output to compare"))
		}
	}
	return errs
}

// resolve makes paths relative to the test file's directory.
func (t *Test) resolve(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		if filepath.IsAbs(p) {
			out[i] = filepath.Clean(p)
		} else {
			out[i] = filepath.Join(t.Dir, p)
		}
	}
	return out
}

func unknownFields(d *composition.Document, at string, m map[string]any, known map[string]bool) composition.Errors {
	var errs composition.Errors
	var keys []string
	for k := range m {
		if !known[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range keys {
		path := k
		if at != "" {
			path = at + "." + k
		}
		errs = append(errs, d.Errorf(path, "unknown field %q (known: %s)", k, strings.Join(names, ", ")))
	}
	return errs
}

func stringList(d *composition.Document, path string, v any) ([]string, composition.Errors) {
	list, ok := v.([]any)
	if !ok {
		return nil, composition.Errors{d.Errorf(path, "must be a list of strings")}
	}
	var out []string
	var errs composition.Errors
	for i, x := range list {
		s, ok := x.(string)
		if !ok || s == "" {
			errs = append(errs, d.Errorf(fmt.Sprintf("%s[%d]", path, i), "must be a non-empty string"))
			continue
		}
		out = append(out, s)
	}
	return out, errs
}

// subNode finds the YAML node at a path of mapping keys.
func subNode(n *yaml.Node, keys ...string) *yaml.Node {
	for n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

// Filter keeps the tests whose name matches re (nil keeps all).
func Filter(tests []*Test, re *regexp.Regexp) []*Test {
	if re == nil {
		return tests
	}
	var out []*Test
	for _, t := range tests {
		if re.MatchString(t.Name) {
			out = append(out, t)
		}
	}
	return out
}
