package composition

import (
	"fmt"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Document is one YAML document of an input file, with the parsed node tree
// kept so errors can name the line of any field.
type Document struct {
	File   string // path as given by the user (relative paths stay relative)
	Index  int    // 0-based position of the document in its file
	Node   *yaml.Node
	Object map[string]any
}

func (d *Document) str(path ...string) string {
	v, _, _ := unstructured.NestedString(d.Object, path...)
	return v
}

func (d *Document) APIVersion() string { return d.str("apiVersion") }
func (d *Document) Kind() string       { return d.str("kind") }
func (d *Document) Name() string       { return d.str("metadata", "name") }
func (d *Document) Namespace() string  { return d.str("metadata", "namespace") }

// GVK is the document's group/version/kind.
func (d *Document) GVK() schema.GroupVersionKind {
	return schema.FromAPIVersionAndKind(d.APIVersion(), d.Kind())
}

// Ref names the document for humans: "Kind/name", or "document N".
func (d *Document) Ref() string {
	kind, name := d.Kind(), d.Name()
	switch {
	case kind != "" && name != "":
		return kind + "/" + name
	case kind != "":
		return fmt.Sprintf("%s (document %d)", kind, d.Index+1)
	}
	return fmt.Sprintf("document %d", d.Index+1)
}

// Line returns the line of the field at path, or of its deepest existing
// parent, or of the document itself.
func (d *Document) Line(path string) int {
	if d.Node == nil {
		return 0
	}
	return lookupLine(d.Node, path)
}

// FindScalars lists the paths under path whose scalar value satisfies match
// (key is the scalar's mapping key, or the list's key for list items).
func (d *Document) FindScalars(path string, match func(key, value string) bool) []string {
	if d.Node == nil {
		return nil
	}
	return findScalars(d.Node, path, match)
}

// Errorf builds an Error located at field path inside this document.
func (d *Document) Errorf(path, format string, args ...any) *Error {
	return &Error{File: d.File, Line: d.Line(path), Doc: d.Ref(), Field: path, Msg: fmt.Sprintf(format, args...)}
}

// Unstructured returns a deep copy of the document as an unstructured object.
func (d *Document) Unstructured() *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: d.Object}
	return u.DeepCopy()
}
