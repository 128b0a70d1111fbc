package celexpr

import (
	krocel "github.com/kubernetes-sigs/kro/pkg/cel"
	"github.com/kubernetes-sigs/kro/pkg/cel/ast"
)

// FieldRef is a resource field an expression reads: ID "service", Path
// "service.spec.clusterIP".
type FieldRef struct {
	ID, Path string
}

// FieldRefs lists the resource fields expr reads, in the order KRO's AST
// inspector finds them (duplicates included), compiled in KRO's default
// environment with the given resource ids declared.
func FieldRefs(expr string, resourceIDs []string) ([]FieldRef, error) {
	env, err := krocel.DefaultEnvironment(krocel.WithResourceIDs(resourceIDs))
	if err != nil {
		return nil, err
	}
	ins, err := ast.NewInspectorWithEnv(env, resourceIDs).Inspect(expr)
	if err != nil {
		return nil, err
	}
	out := make([]FieldRef, len(ins.ResourceDependencies))
	for i, d := range ins.ResourceDependencies {
		out[i] = FieldRef{ID: d.ID, Path: d.Path}
	}
	return out, nil
}
