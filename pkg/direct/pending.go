package direct

import (
	"sort"
	"strings"

	krocel "github.com/kubernetes-sigs/kro/pkg/cel"
	celunstructured "github.com/kubernetes-sigs/kro/pkg/cel/unstructured"
	"github.com/kubernetes-sigs/kro/pkg/graph"
	"github.com/kubernetes-sigs/kro/pkg/runtime"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apiserver/pkg/cel/openapi"

	"github.com/typekro/kubectl-typekro/pkg/celexpr"
)

// diagnose explains why KRO's runtime could not resolve a node offline:
// each template field whose expression fails for lack of data, with the
// reference it waits on. The runtime only says "data pending"; this
// re-evaluates the node's expressions one by one, with the same
// schema-aware values the runtime uses, to name them.
func diagnose(ref string, n *runtime.Node, g *graph.Graph, observed map[string][]*unstructured.Unstructured, pendingNodes map[string]bool, runErr error) []Pending {
	id, kind := n.Spec.Meta.ID, n.Spec.Template.GetKind()
	if waiting := pendingDeps(n, pendingNodes); len(waiting) > 0 {
		return []Pending{{Instance: ref, NodeID: id, Kind: kind, Reference: "resource(s) " + strings.Join(waiting, ", ") + ", which need live state themselves"}}
	}
	ctx := map[string]any{}
	for _, d := range append([]string{graph.InstanceNodeID}, n.Spec.Meta.Dependencies...) {
		objs, ok := observed[d]
		if !ok {
			continue
		}
		schema := g.ResourceSchemas[d]
		wrap := func(o map[string]any) any {
			if schema == nil {
				return o
			}
			return celunstructured.UnstructuredToVal(o, &openapi.Schema{Schema: schema})
		}
		if dn := g.Nodes[d]; dn != nil && (dn.Meta.Type == graph.NodeTypeCollection || dn.Meta.Type == graph.NodeTypeExternalCollection) {
			items := make([]any, len(objs))
			for i, o := range objs {
				items[i] = wrap(o.Object)
			}
			ctx[d] = items
			continue
		}
		obj := objs[0].Object
		if d == graph.InstanceNodeID {
			obj = withoutStatus(obj)
		}
		ctx[d] = wrap(obj)
	}
	var out []Pending
	for _, v := range n.Spec.Variables {
		if v.Kind.IsIteration() {
			continue
		}
		if _, err := v.Expression.Eval(filter(ctx, v.Expression.References)); err == nil {
			continue
		}
		out = append(out, Pending{
			Instance: ref, NodeID: id, Kind: kind, Field: v.Path,
			Expression: v.Expression.UserExpression(),
			Reference:  missingRefs(v.Expression, observed),
		})
	}
	if len(out) == 0 {
		out = append(out, Pending{Instance: ref, NodeID: id, Kind: kind, Reference: runErr.Error()})
	}
	return out
}

func filter(ctx map[string]any, refs []string) map[string]any {
	out := make(map[string]any, len(refs))
	for _, r := range refs {
		if v, ok := ctx[r]; ok {
			out[r] = v
		}
	}
	return out
}

func withoutStatus(obj map[string]any) map[string]any {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "status" {
			out[k] = v
		}
	}
	return out
}

// missingRefs lists the field references of an expression that the
// rendered objects do not have, e.g. "service.spec.clusterIP (set by the
// server: not in the rendered Service)".
func missingRefs(expr *krocel.Expression, observed map[string][]*unstructured.Unstructured) string {
	if refs, err := celexpr.FieldRefs(expr.Original, expr.References); err == nil {
		seen := map[string]bool{}
		var missing []string
		for _, dep := range refs {
			if seen[dep.Path] {
				continue
			}
			seen[dep.Path] = true
			if objs := observed[dep.ID]; len(objs) == 1 && has(objs[0].Object, dep.Path) {
				continue
			}
			missing = append(missing, dep.Path)
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			return strings.Join(missing, ", ") + " (set by the cluster, not by the template)"
		}
	}
	return "resource(s) " + strings.Join(expr.References, ", ")
}

// has reports whether a dotted path ("svc.spec.clusterIP") exists in obj
// (the first segment is the resource id). Paths with indexes count as
// present when their prefix is, so only plainly absent fields are named.
func has(obj map[string]any, path string) bool {
	parts := strings.Split(path, ".")[1:]
	var cur any = obj
	for _, p := range parts {
		if i := strings.IndexAny(p, "[("); i >= 0 {
			p = p[:i]
			m, ok := cur.(map[string]any)
			if !ok {
				return false
			}
			_, ok = m[p]
			return ok
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[p]; !ok {
			return false
		}
	}
	return true
}
