package compile

import (
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/schemas"
)

// docKey names a document the way its errors do: file and "Kind/name".
type docKey struct{ file, ref string }

// brokenDocs are the documents the loader found errors in.
func brokenDocs(loadErrs composition.Errors) map[docKey]bool {
	out := map[docKey]bool{}
	for _, e := range loadErrs {
		out[docKey{e.File, e.Doc}] = true
	}
	return out
}

// unreadDocs lists, as "file (document N)", the documents with load errors
// that are not in the set at all (malformed YAML, no kind): an instance of
// an unknown kind may be unknown only because its definition is one of them.
func unreadDocs(set *composition.Set, loadErrs composition.Errors) []string {
	known := map[docKey]bool{}
	for _, c := range set.Compositions {
		known[docKey{c.Doc.File, c.Doc.Ref()}] = true
	}
	for _, d := range append(append([]*composition.Document{}, set.CRDs...), set.Others...) {
		known[docKey{d.File, d.Ref()}] = true
	}
	seen := map[docKey]bool{}
	var out []string
	for _, e := range loadErrs {
		k := docKey{e.File, e.Doc}
		if known[k] || seen[k] || e.File == "" {
			continue
		}
		seen[k] = true
		out = append(out, fmt.Sprintf("%s (%s)", e.File, e.Doc))
	}
	sort.Strings(out)
	return out
}

// defRef names a definition for humans: its kind and name, where it is.
func defRef(c *composition.Composition) string {
	d := c.Doc
	if line := d.Line(""); line > 0 {
		return fmt.Sprintf("%s (%s:%d)", d.Ref(), d.File, line)
	}
	return fmt.Sprintf("%s (%s)", d.Ref(), d.File)
}

// usesFailed finds a resource of c whose kind only a failed definition
// defines, and returns that definition and the resource's id.
func usesFailed(c *composition.Composition, failed map[schema.GroupVersionKind]*composition.Composition, reg *schemas.Registry) (*composition.Composition, string) {
	if len(failed) == 0 {
		return nil, ""
	}
	spec, _ := c.RGD["spec"].(map[string]any)
	resources, _ := spec["resources"].([]any)
	for _, raw := range resources {
		r, _ := raw.(map[string]any)
		for _, key := range []string{"template", "externalRef"} {
			t, ok := r[key].(map[string]any)
			if !ok {
				continue
			}
			av, _ := t["apiVersion"].(string)
			kind, _ := t["kind"].(string)
			gvk := schema.FromAPIVersionAndKind(av, kind)
			if dep := failed[gvk]; dep != nil && gvk != c.InstanceGVK() && !reg.Known(gvk) {
				id, _ := r["id"].(string)
				return dep, id
			}
		}
	}
	return nil, ""
}

// resourcePath is where resource id is written in c, or spec.resources.
func resourcePath(c *composition.Composition, id string) string {
	if r, ok := c.Resource(id); ok {
		return r.Path
	}
	return "spec.resources"
}
