package compile

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/kubernetes-sigs/kro/api/v1alpha1"
	"github.com/kubernetes-sigs/kro/pkg/graph"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// moreGraphErrors finds the errors KRO's builder would report after the
// first one, which it stops at. While the error is in one resource, that
// resource is left out and the graph built again; an error in a resource
// that uses a left-out one is a consequence, not a mistake of its own, and
// is not reported. It stops at an error outside any resource (status,
// schema: leaving parts out there would change what later errors mean),
// at a clean build, or after composition.MaxErrorsPerDocument errors.
func moreGraphErrors(c *composition.Composition, typed *v1alpha1.ResourceGraphDefinition, b *graph.Builder, first *composition.Error) composition.Errors {
	var errs composition.Errors
	rgd := typed.DeepCopy()
	removed := map[string]bool{}
	e := first
	for len(errs) < composition.MaxErrorsPerDocument {
		id := resourceAt(c, e.Field)
		if id == "" || removed[id] {
			break
		}
		removed[id] = true
		kept := rgd.Spec.Resources[:0:0]
		for _, r := range rgd.Spec.Resources {
			if r.ID != id {
				kept = append(kept, r)
			}
		}
		rgd.Spec.Resources = kept
		// Status expressions may use the left-out resource: without them,
		// the remaining resources are still checked.
		rgd.Spec.Schema.Status = runtime.RawExtension{}
		_, err := b.NewResourceGraphDefinition(rgd, GraphConfig)
		if err == nil {
			break
		}
		e = locate(c, err)
		if next := resourceAt(c, e.Field); next != "" && usesAny(rgd, next, removed) {
			continue
		}
		errs = append(errs, e)
	}
	return errs
}

// resourceAt is the id of the resource whose source holds field, if any.
func resourceAt(c *composition.Composition, field string) string {
	for _, r := range c.Resources {
		if field == r.Path || strings.HasPrefix(field, r.Path+".") || strings.HasPrefix(field, r.Path+"[") {
			return r.ID
		}
	}
	return ""
}

// usesAny reports whether resource id's definition mentions one of ids
// inside an expression.
func usesAny(rgd *v1alpha1.ResourceGraphDefinition, id string, ids map[string]bool) bool {
	for _, r := range rgd.Spec.Resources {
		if r.ID != id {
			continue
		}
		data, _ := json.Marshal(r)
		text := string(data)
		for other := range ids {
			if regexp.MustCompile(`\$\{[^}]*\b` + regexp.QuoteMeta(other) + `\b`).MatchString(text) {
				return true
			}
		}
		return false
	}
	return false
}
