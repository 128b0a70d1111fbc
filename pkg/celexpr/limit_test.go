package celexpr

import (
	"testing"

	"github.com/google/cel-go/cel"
)

func TestSelectionCost(t *testing.T) {
	env, err := cel.NewEnv(cel.OptionalTypes(), cel.Variable("schema", cel.DynType), cel.Variable("svc", cel.DynType))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expr string
		cost uint64
		ok   bool
	}{
		{"schema.spec.name", 3, true},
		{"svc.spec.ports[0].port", 6, true},
		{`svc.metadata.labels["app"]`, 5, true},
		{"svc.?status.?loadBalancer", 5, true},
		{"has(svc.status)", 2, true},
		{"1", 1, true},
		{`schema.spec.name + "-svc"`, 0, false},
		{"size(schema.spec.items)", 0, false},
		{"schema.spec.items.map(i, i)", 0, false},
		{"[schema.spec.name]", 0, false},
		{"{'a': schema.spec.name}", 0, false},
		{"schema.spec.items[size(schema.spec.items) - 1]", 0, false},
		{"schema.spec.a == schema.spec.b", 0, false},
	}
	for _, tt := range tests {
		ast, iss := env.Compile(tt.expr)
		if iss != nil && iss.Err() != nil {
			t.Fatalf("%s: %v", tt.expr, iss.Err())
		}
		cost, ok := selectionCost(ast.NativeRep().Expr())
		if ok != tt.ok || (ok && cost != tt.cost) {
			t.Errorf("%s: selectionCost = %d, %v; want %d, %v", tt.expr, cost, ok, tt.cost, tt.ok)
		}
	}
}
