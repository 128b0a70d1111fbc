package celexpr

import (
	"math"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	krolib "github.com/kubernetes-sigs/kro/pkg/cel/library"
	k8slib "k8s.io/apiserver/pkg/cel/library"
)

// estimator is the runtime cost estimator of every bounded program.
var estimator = &costEstimator{k8s: &k8slib.CostEstimator{}}

// costEstimator is the API server's runtime estimator (it prices the
// Kubernetes and string-extension functions, e.g. replace() by the size of
// its input), plus a price for KRO's own functions (json.marshal,
// lists.setAtIndex, merge, random.seededString, ...), which cel-go would
// otherwise count as 1 each however much they build: a chain of
// json.marshal() grows its string at cost 1 a call.
type costEstimator struct {
	k8s *k8slib.CostEstimator
}

func (c *costEstimator) CallCost(function, overloadID string, args []ref.Val, result ref.Val) *uint64 {
	if cost := c.k8s.CallCost(function, overloadID, args, result); cost != nil {
		return cost
	}
	if !kroFunctions()[function] {
		return nil // cel-go's own pricing
	}
	// Like the API server prices string functions: a traversal of what
	// goes in and of what comes out.
	size := valueSize(result)
	for _, a := range args {
		size += valueSize(a)
	}
	cost := 1 + uint64(math.Ceil(float64(size)*common.StringTraversalCostFactor))
	return &cost
}

// valueSize is the size cel-go's cost tracker uses: length of strings,
// bytes, lists and maps, 1 for scalars.
func valueSize(v ref.Val) uint64 {
	if sz, ok := v.(traits.Sizer); ok {
		if n, ok := sz.Size().(types.Int); ok && n > 0 {
			return uint64(n)
		}
		return 0
	}
	if opt, ok := v.(*types.Optional); ok && opt.HasValue() {
		return valueSize(opt.GetValue())
	}
	return 1
}

var (
	kroFuncsOnce sync.Once
	kroFuncs     map[string]bool
)

// kroFunctions names the functions KRO's CEL libraries declare, read from
// the libraries themselves so a new one is priced too.
func kroFunctions() map[string]bool {
	kroFuncsOnce.Do(func() {
		kroFuncs = map[string]bool{}
		env, err := cel.NewEnv(cel.OptionalTypes(), krolib.Random(), krolib.Maps(), krolib.JSON(), krolib.Hash(), krolib.Lists())
		if err != nil {
			return // priced by cel-go alone; the cost limit still holds
		}
		for name := range env.Functions() {
			kroFuncs[name] = true
		}
		// The base environment's standard functions are cel-go's to price.
		std, err := cel.NewEnv()
		if err != nil {
			return
		}
		for name := range std.Functions() {
			delete(kroFuncs, name)
		}
	})
	return kroFuncs
}
