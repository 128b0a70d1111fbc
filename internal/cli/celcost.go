package cli

import (
	"github.com/spf13/pflag"

	"github.com/typekro/kubectl-typekro/pkg/celexpr"
)

// addCELCostLimitFlag registers --cel-cost-limit (inputOptions).
func addCELCostLimitFlag(fs *pflag.FlagSet, limit *uint64) {
	fs.Uint64Var(limit, "cel-cost-limit", celexpr.DefaultCostLimit,
		"runtime cost budget of each CEL expression evaluated locally (templates, includeWhen, readyWhen, forEach, status); "+
			"the default is the API server's per-expression budget; 0 means unlimited")
}

// celCostLimit is --cel-cost-limit as compile.Options takes it: 0 there
// means the default, so the flag's 0 (off) is celexpr.Unlimited.
func (o *inputOptions) celCostLimit() uint64 {
	if o.CELCostLimit == 0 {
		return celexpr.Unlimited
	}
	return o.CELCostLimit
}
