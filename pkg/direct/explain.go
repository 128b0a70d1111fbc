package direct

import (
	"github.com/kubernetes-sigs/kro/pkg/graph"
	"github.com/kubernetes-sigs/kro/pkg/runtime"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ContentGraph is g without readyWhen: for computing what resources
// contain (readiness gates when they are written, not what they hold).
func ContentGraph(g *graph.Graph) *graph.Graph { return withoutReadiness(g) }

// Explain names the fields of a node that KRO's runtime could not resolve
// (it returned "data pending") and the references each waits on, given
// the objects observed so far (by node id) and the nodes already pending.
func Explain(ref string, n *runtime.Node, g *graph.Graph, observed map[string][]*unstructured.Unstructured, pendingNodes map[string]bool, err error) []Pending {
	return diagnose(ref, n, g, observed, pendingNodes, err)
}
