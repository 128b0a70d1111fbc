package direct

import (
	"github.com/kubernetes-sigs/kro/pkg/graph"

	"github.com/typekro/kubectl-typekro/pkg/celexpr"
)

// content is what every instance of one definition shares. (KRO's CEL
// values read their schemas through ones computed once per graph, see
// celexpr.ShareSchemas: the runtime needs no per-instance schemas.)
type content struct {
	graph *graph.Graph // readyWhen removed
	// runtime is graph for KRO's runtime: with celexpr.RuntimeSchemas
	// where it has them.
	runtime *graph.Graph
}

func newContent(g *graph.Graph) *content {
	c := &content{graph: withoutReadiness(g)}
	c.runtime = c.graph
	if schemas := celexpr.RuntimeSchemas(g); schemas != nil {
		rg := *c.graph
		rg.ResourceSchemas = schemas
		c.runtime = &rg
	}
	return c
}
