package compile

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// Check validates an object (e.g. a live instance) against the definition's
// generated schema exactly as an instance file is checked: unknown fields
// reported, defaults applied, schema and CEL rules enforced. The errors
// carry field paths but no file or line.
func (d *Definition) Check(obj *unstructured.Unstructured) composition.Errors {
	_, errs := checkInstance(&composition.Document{Object: obj.Object}, d, "")
	return errs
}
