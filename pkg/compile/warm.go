package compile

import (
	"sync"

	krocel "github.com/kubernetes-sigs/kro/pkg/cel"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/schemas"
)

var celWarm sync.Once

// Prewarm starts, once per process and in the background, the first-use
// work of KRO's CEL that does not depend on the input: its base
// environment and the CEL parser's ANTLR caches (a parse is several times
// slower the first time). A command that compiles calls it before reading
// its input; compiling a small composition (kustomize's fn) does this work
// on the core the single-threaded start-up leaves idle (issue 13).
func Prewarm() {
	celWarm.Do(func() { go warmCEL() })
}

func warmCEL() {
	env, err := krocel.DefaultEnvironment()
	if err != nil {
		return // the builder reports it
	}
	// Selections, indexes, calls, macros, literals and operators, as
	// templates, includeWhen, readyWhen and status expressions use them.
	_, _ = env.Parse(`schema.spec.name + "-" + string(schema.spec.replicas) == a.b[0].c && !has(x.y) || ` +
		`size(l.filter(i, i.ready == true)) > 1 ? {"k": [1, 2.5, null]} : d.status.conditions.exists(c, c.type in ["Ready"])`)
}

// warmSchemas resolves, in the background, the built-in kinds the
// compositions' resources use (see schemas.Warm).
func warmSchemas(comps []*composition.Composition) {
	var gvks []schema.GroupVersionKind
	for _, c := range comps {
		gvks = append(gvks, composition.ResourceGVKs(c.RGD)...)
	}
	if len(gvks) > 0 {
		go schemas.Warm(gvks)
	}
}
