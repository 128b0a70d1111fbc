package direct

import "github.com/kubernetes-sigs/kro/pkg/graph"

// content is what every instance of one definition shares. (KRO's CEL
// values read their schemas through ones computed once per graph, see
// celexpr.ShareSchemas: the runtime needs no per-instance schemas.)
type content struct {
	graph *graph.Graph // readyWhen removed
}

func newContent(g *graph.Graph) *content {
	return &content{graph: withoutReadiness(g)}
}
