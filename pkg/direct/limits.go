package direct

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kubernetes-sigs/kro/pkg/runtime"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	apiservercel "k8s.io/apiserver/pkg/cel"

	"github.com/typekro/kubectl-typekro/pkg/celexpr"
)

// MaxObjectBytes caps what one rendered object may be: the API server's
// request body limit (k8s.io/apiserver DefaultMaxRequestSizeBytes, 3 MiB,
// the MaxRequestBodyBytes default of every kube-apiserver). A larger
// object can never be applied, so it is an error here rather than a
// 20 MB manifest in a Git repository. (etcd's own default request limit,
// 1.5 MiB, is lower; objects between the two are left to the server.)
const MaxObjectBytes = apiservercel.DefaultMaxRequestSizeBytes

// CheckSize fails when obj, encoded as JSON, is over MaxObjectBytes.
func CheckSize(ref, nodeID string, obj *unstructured.Unstructured) error {
	// Most objects are far below the limit: bound their size with a walk
	// that allocates nothing, and encode only those that may be over.
	if jsonSizeBound(obj.Object) <= MaxObjectBytes {
		return nil
	}
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return fmt.Errorf("%s: resource %q (%s): %w", ref, nodeID, obj.GetKind(), err)
	}
	if n := int64(len(data)); n > MaxObjectBytes {
		return &SizeError{fmt.Sprintf("%s: resource %q (%s %s): the rendered object is %d bytes, over the API server's request limit of %d bytes",
			ref, nodeID, obj.GetKind(), obj.GetName(), n, MaxObjectBytes)}
	}
	return nil
}

// SizeError is a rendered object over MaxObjectBytes.
type SizeError struct{ msg string }

func (e *SizeError) Error() string { return e.msg }

// IsLimit reports whether err is a CEL cost or object size limit: the
// input, not the environment, is at fault.
func IsLimit(err error) bool {
	var se *SizeError
	return celexpr.AsCostError(err) != nil || errors.As(err, &se)
}

// jsonSizeBound is an upper bound of the JSON encoding of v (every string
// byte escaped as \u00XX, every number at its longest).
func jsonSizeBound(v any) int64 {
	switch t := v.(type) {
	case string:
		return 6*int64(len(t)) + 2
	case map[string]any:
		n := int64(2)
		for k, e := range t {
			n += 6*int64(len(k)) + 4 + jsonSizeBound(e)
		}
		return n
	case []any:
		n := int64(2)
		for _, e := range t {
			n += 1 + jsonSizeBound(e)
		}
		return n
	default: // numbers, booleans, null
		return 32
	}
}

// NodeError locates an error of KRO's runtime at an instance's resource.
// A CEL cost error says which expression, resource and limit, not KRO's
// chain of wrappers around it.
func NodeError(ref string, n *runtime.Node, err error) error {
	if ce := celexpr.AsCostError(err); ce != nil {
		return fmt.Errorf("%s: resource %q (%s): %w", ref, n.Spec.Meta.ID, n.Spec.Template.GetKind(), ce)
	}
	return fmt.Errorf("%s: resource %q: %w", ref, n.Spec.Meta.ID, err)
}
