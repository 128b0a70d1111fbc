package direct

import (
	"fmt"
	"strings"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/typekro/kubectl-typekro/pkg/compile"
)

// nameRules are the kinds whose names the API server validates with another
// rule than a DNS-1123 subdomain (k8s.io/kubernetes pkg/apis/*/validation).
// Custom resources, and every other built-in kind typekro knows, use the
// subdomain rule.
var nameRules = map[schema.GroupKind]apivalidation.ValidateNameFunc{
	{Kind: "Service"}:   apivalidation.NameIsDNS1035Label,
	{Kind: "Namespace"}: apivalidation.ValidateNamespaceName,
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}:               path.ValidatePathSegmentName,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:        path.ValidatePathSegmentName,
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:        path.ValidatePathSegmentName,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}: path.ValidatePathSegmentName,
}

// cronJobMaxName: a CronJob's name gets an 11-character suffix for its Jobs,
// whose names become pod labels (63 characters).
const cronJobMaxName = 52

// NameProblems lists what the API server would refuse in an object's
// metadata.name and metadata.namespace.
func NameProblems(obj *unstructured.Unstructured) (name, namespace []string) {
	gk := obj.GroupVersionKind().GroupKind()
	valid := nameRules[gk]
	if valid == nil {
		valid = apivalidation.NameIsDNSSubdomain
	}
	n := obj.GetName()
	switch {
	case n == "":
		name = []string{"required: must not be empty"}
	default:
		name = valid(n, false)
		if gk == (schema.GroupKind{Group: "batch", Kind: "CronJob"}) && len(n) > cronJobMaxName {
			name = append(name, fmt.Sprintf("must be no more than %d characters", cronJobMaxName))
		}
	}
	if ns := obj.GetNamespace(); ns != "" {
		namespace = apivalidation.ValidateNamespaceName(ns, false)
	}
	return name, namespace
}

// checkName reports an object whose rendered name or namespace the API
// server would refuse, at the template field that produced it.
func checkName(inst *compile.Instance, id string, obj *unstructured.Unstructured) error {
	name, namespace := NameProblems(obj)
	if len(name) == 0 && len(namespace) == 0 {
		return nil
	}
	field, value, problems := "name", obj.GetName(), name
	if len(name) == 0 {
		field, value, problems = "namespace", obj.GetNamespace(), namespace
	}
	c := inst.Definition.Composition
	at := "spec.resources"
	if src, ok := c.Resource(id); ok {
		at = src.TemplatePath
		if strings.HasSuffix(at, ".template") {
			at += ".metadata"
		}
		at += "." + field // a factory takes name and namespace as top-level settings
	}
	return c.Doc.Errorf(at, "instance %s: resource %q (%s): rendered metadata.%s %s: %s",
		InstanceRef(inst.Object), id, obj.GetKind(), field, shorten(value), strings.Join(problems, "; "))
}

// shorten quotes a value, cut to a readable length.
func shorten(s string) string {
	const limit = 80
	if len(s) <= limit {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q... (%d characters)", s[:limit], len(s))
}
