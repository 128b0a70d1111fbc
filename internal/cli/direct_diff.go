package cli

import (
	"fmt"

	"github.com/typekro/kubectl-typekro/pkg/deploy"
	"github.com/typekro/kubectl-typekro/pkg/direct"
)

// runDirect diffs what apply --mode direct would write: the inputs' CRDs,
// namespaces and plain objects (kro-mode diff), then each instance's
// resources resolved from the live objects they reference, and the
// ApplySet members apply --prune would delete.
func (o *diffOptions) runDirect() error {
	ns, res, err := o.load(o.Paths, o.flags)
	if err != nil {
		return o.asError(err)
	}
	ctx, cancel, e, err := connect(o.flags, ns, o.Timeout)
	if err != nil {
		return err
	}
	defer cancel()
	e.FieldManager = o.FieldManager
	var diffs []deploy.ObjectDiff
	if inputs := direct.Objects(res, &direct.Result{}); len(inputs) > 0 {
		diffs, err = e.Diff(ctx, &deploy.Set{Objects: inputs}, deploy.DiffOptions{Force: o.ForceConflicts, CreateNamespaces: o.CreateNamespace})
		if err != nil {
			return o.asError(err)
		}
	}
	d := newDeployer(e, o.FieldManager, nil, nil)
	for _, inst := range res.Instances {
		ds, err := d.Diff(ctx, e.Client, inst, o.ForceConflicts)
		if err != nil {
			return o.asError(fmt.Errorf("%s: %w", direct.InstanceRef(inst.Object), err))
		}
		diffs = append(diffs, ds...)
	}
	return o.print(diffs, 0)
}
