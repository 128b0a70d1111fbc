package direct

import (
	"github.com/kubernetes-sigs/kro/pkg/graph"
	"github.com/kubernetes-sigs/kro/pkg/runtime"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/typekro/kubectl-typekro/pkg/celexpr"
	"github.com/typekro/kubectl-typekro/pkg/compile"
)

// content is what every instance of one definition shares. (KRO's CEL
// values read their schemas through ones computed once per graph, see
// celexpr.ShareSchemas: the runtime needs no per-instance schemas.)
type content struct {
	graph *graph.Graph // readyWhen removed
	// runtime is graph for KRO's runtime: with celexpr.RuntimeSchemas
	// where it has them, and without the nodes' templates (templates),
	// which newRuntime puts back.
	runtime   *graph.Graph
	templates map[string]*unstructured.Unstructured
}

func newContent(g *graph.Graph) *content {
	c := &content{graph: withoutReadiness(g)}
	rg := *c.graph
	if schemas := celexpr.RuntimeSchemas(g); schemas != nil {
		rg.ResourceSchemas = schemas
	}
	rg.Nodes = make(map[string]*graph.Node, len(c.graph.Nodes))
	c.templates = make(map[string]*unstructured.Unstructured, len(c.graph.Nodes))
	for id, n := range c.graph.Nodes {
		nc := *n
		nc.Template = nil
		rg.Nodes[id] = &nc
		c.templates[id] = n.Template
	}
	c.runtime = &rg
	return c
}

// newRuntime is runtime.FromGraph for one instance, sharing the resource
// templates instead of copying them: FromGraph deep-copies every node, yet
// KRO's runtime reads a node's template only to deep-copy it again before
// resolving it (pkg/runtime/node_resolve.go), and typekro only reads it.
// The copies were a tenth of a 10,000-instance direct render's CPU
// (issue 13).
func (c *content) newRuntime(inst *unstructured.Unstructured) (*runtime.Runtime, error) {
	rt, err := runtime.FromGraph(c.runtime, compile.GraphConfig, runtime.WithInstance(inst))
	if err != nil {
		return nil, err
	}
	for _, n := range rt.Nodes() {
		n.Spec.Template = c.templates[n.Spec.Meta.ID]
	}
	return rt, nil
}
