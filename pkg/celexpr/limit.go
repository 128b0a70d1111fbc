// Package celexpr is the one place typekro compiles, costs and evaluates
// CEL outside KRO's graph builder: the runtime cost limit of every local
// evaluation (templates, includeWhen, readyWhen, forEach, status,
// conditions), the API server's estimated cost of schema rules, and the
// field references of an expression (for "pending" diagnostics).
package celexpr

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
	krocel "github.com/kubernetes-sigs/kro/pkg/cel"
	"github.com/kubernetes-sigs/kro/pkg/graph"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
)

// DefaultCostLimit is the API server's runtime budget for one CEL
// expression (k8s.io/apiserver/pkg/apis/cel.PerCallLimit, "roughly 0.1
// second"): what a CRD validation rule may spend, so a template
// expression may spend as much on a laptop or in a repo-server.
const DefaultCostLimit uint64 = celconfig.PerCallLimit

// Unlimited turns the runtime cost limit off (--cel-cost-limit 0).
const Unlimited uint64 = math.MaxUint64

// Effective maps a configured limit to the one applied: 0 (unset) is
// DefaultCostLimit.
func Effective(limit uint64) uint64 {
	if limit == 0 {
		return DefaultCostLimit
	}
	return limit
}

// CostError is a CEL evaluation stopped at the runtime cost limit.
type CostError struct {
	Site  string // where the expression is: a field path, "includeWhen", ...
	Expr  string // as the user wrote it
	Limit uint64
}

func (e *CostError) Error() string {
	return fmt.Sprintf("%s: %s: CEL cost limit %d exceeded (--cel-cost-limit)", e.Site, e.Expr, e.Limit)
}

// AsCostError finds a CostError in err's chain.
func AsCostError(err error) *CostError {
	var ce *CostError
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}

// LimitGraph replaces the program of every expression in a graph KRO's
// builder made with one that stops at limit (see Effective; Unlimited
// leaves the graph as it is).
//
// KRO v0.9.4 compiles its programs inside NewResourceGraphDefinition with
// no program options and no hook to pass one (pkg/graph/build_context.go),
// and its runtime evaluates Expression.Program. So the builder still
// type-checks every expression against the real schemas, and this
// re-plans the same expression text in KRO's own environment
// (krocel.DefaultEnvironment: its libraries, every identifier declared
// dyn, as KRO's builder declares them for inspection) with cel.CostLimit
// and the API server's cost estimator. Type checking does not change what
// a CEL program computes, only which overloads are chosen ahead of time,
// so the runtime gets the same values, now bounded.
func LimitGraph(g *graph.Graph, limit uint64) error {
	limit = Effective(limit)
	if limit == Unlimited {
		return nil
	}
	sites := graphSites(g)
	if len(sites) == 0 {
		return nil
	}
	// Declared dyn, not KRO's WithResourceIDs (google.protobuf.Any), which
	// a comprehension refuses as its range (externalRef collections).
	var decls []cel.EnvOption
	for _, id := range identifiers(g) {
		decls = append(decls, cel.Variable(id, cel.DynType))
	}
	env, err := krocel.DefaultEnvironment(krocel.WithCustomDeclarations(decls))
	if err != nil {
		return fmt.Errorf("CEL environment: %w", err)
	}
	opts := ProgramOptions(limit)
	for _, s := range sites {
		ast, iss := env.Compile(s.expr.Original)
		if iss != nil && iss.Err() != nil {
			return fmt.Errorf("%s: %s: %w", s.site, displayExpr(s.expr), iss.Err())
		}
		// A chain of field selections and indexes costs at most one per
		// node, so it cannot reach the limit and needs no cost tracker,
		// which was a tenth of a direct render's CPU (issue 13).
		var prg cel.Program
		if cost, ok := selectionCost(ast.NativeRep().Expr()); ok && cost <= limit {
			prg, err = env.Program(ast)
		} else {
			prg, err = env.Program(ast, opts...)
		}
		if err != nil {
			return fmt.Errorf("%s: %s: %w", s.site, displayExpr(s.expr), err)
		}
		s.expr.Program = &limitedProgram{Program: prg, site: s.site, expr: displayExpr(s.expr), limit: limit}
	}
	return nil
}

// selectionCost bounds the runtime cost of an expression made only of
// identifiers, literals, field selections and (optional) indexes: cel-go
// charges each at most 1. ok is false for anything else (calls,
// comprehensions, list and map literals), whose cost depends on the data.
func selectionCost(e celast.Expr) (cost uint64, ok bool) {
	switch e.Kind() {
	case celast.IdentKind, celast.LiteralKind:
		return 1, true
	case celast.SelectKind:
		cost, ok = selectionCost(e.AsSelect().Operand())
		return cost + 1, ok
	case celast.CallKind:
		c := e.AsCall()
		switch c.FunctionName() {
		case operators.Index, operators.OptIndex, operators.OptSelect:
		default:
			return 0, false
		}
		if c.IsMemberFunction() {
			return 0, false
		}
		cost = 1
		for _, a := range c.Args() {
			n, ok := selectionCost(a)
			if !ok {
				return 0, false
			}
			cost += n
		}
		return cost, true
	}
	return 0, false
}

// ProgramOptions are the options of a program bounded at limit: the API
// server's (cel.CostLimit with its cost estimator), plus a charge for KRO's
// own library functions, which no estimator knows (see costEstimator).
func ProgramOptions(limit uint64) []cel.ProgramOption {
	return []cel.ProgramOption{cel.CostLimit(limit), cel.CostTracking(estimator)}
}

type site struct {
	site string
	expr *krocel.Expression
}

// graphSites lists every expression of a graph once, with where it is.
func graphSites(g *graph.Graph) []site {
	seen := map[*krocel.Expression]bool{}
	var out []site
	add := func(where string, e *krocel.Expression) {
		if e == nil || seen[e] {
			return
		}
		seen[e] = true
		out = append(out, site{where, e})
	}
	nodes := make([]*graph.Node, 0, len(g.Nodes)+1)
	ids := make([]string, 0, len(g.Nodes))
	for id := range g.Nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		nodes = append(nodes, g.Nodes[id])
	}
	if g.Instance != nil {
		nodes = append(nodes, g.Instance)
	}
	for _, n := range nodes {
		for _, v := range n.Variables {
			add(v.Path, v.Expression)
		}
		for _, e := range n.IncludeWhen {
			add("includeWhen", e)
		}
		for _, e := range n.ReadyWhen {
			add("readyWhen", e)
		}
		for _, d := range n.ForEach {
			add("forEach "+d.Name, d.Expression)
		}
		for _, e := range n.Conditions {
			add("conditions", e)
		}
	}
	return out
}

// identifiers are the names an expression of g may use, as KRO's builder
// declares them for inspection, plus forEach iterator names (its base
// environment already declares "runtime").
func identifiers(g *graph.Graph) []string {
	set := map[string]bool{graph.SchemaVarName: true, graph.EachVarName: true}
	for id, n := range g.Nodes {
		set[id] = true
		for _, d := range n.ForEach {
			set[d.Name] = true
		}
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// displayExpr is the expression as written in the template, bounded so a
// huge expression does not flood the error.
func displayExpr(e *krocel.Expression) string {
	s := e.OriginalTemplate
	if s == "" {
		s = "${" + e.Original + "}"
	}
	const max = 200
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

// limitedProgram turns cel-go's "actual cost limit exceeded" into a
// CostError that says where the expression is and what the limit was.
type limitedProgram struct {
	cel.Program
	site, expr string
	limit      uint64
}

func (p *limitedProgram) Eval(in any) (ref.Val, *cel.EvalDetails, error) {
	v, d, err := p.Program.Eval(in)
	return v, d, p.wrap(err)
}

func (p *limitedProgram) ContextEval(ctx context.Context, in any) (ref.Val, *cel.EvalDetails, error) {
	v, d, err := p.Program.ContextEval(ctx, in)
	return v, d, p.wrap(err)
}

func (p *limitedProgram) wrap(err error) error {
	var cancelled interpreter.EvalCancelledError
	if errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded {
		return &CostError{Site: p.site, Expr: p.expr, Limit: p.limit}
	}
	return err
}
