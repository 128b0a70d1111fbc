package cli

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/typekro/kubectl-typekro/pkg/deploy"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/direct/live"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// directApplyFlags are apply's direct-mode flags.
type directApplyFlags struct {
	Prune bool
}

func (f *directApplyFlags) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&f.Prune, "prune", false, "with --mode direct: delete resources an earlier apply created that the composition no longer renders (tracked by an ApplySet parent configmap typekro-<kind>-<name>)")
}

func newDeployer(e *deploy.Engine, fieldManager string, o, p interface{ Write([]byte) (int, error) }) *live.Deployer {
	return &live.Deployer{Dynamic: e.Dynamic, Mapper: e.Mapper, FieldManager: fieldManager, DefaultNamespace: e.DefaultNamespace, Out: o, Progress: p}
}

// runDirect: validate offline, dry-run on the server, write the inputs'
// CRDs, namespaces and plain objects (kro-mode engine, waiting for CRDs),
// then deploy each instance's resources stage by stage.
func (o *applyOptions) runDirect() error {
	ns, res, err := o.load(o.Paths, o.flags)
	if err != nil {
		return err
	}
	offline, err := direct.Render(res, direct.Options{AllowPending: true})
	if err != nil {
		return err
	}
	ctx, cancel, e, err := connect(o.flags, ns, o.Timeout)
	if err != nil {
		return err
	}
	defer cancel()
	e.FieldManager, e.Out, e.Progress = o.FieldManager, o.streams.Out, o.streams.ErrOut
	d := newDeployer(e, o.FieldManager, o.streams.Out, o.streams.ErrOut)
	notes, err := d.DryRun(ctx, offline.Resources, o.ForceConflicts)
	if err != nil {
		return deployError(err)
	}
	for _, n := range notes {
		fmt.Fprintln(o.streams.ErrOut, "note:", n)
	}
	var inputs []render.Object
	for _, obj := range direct.Objects(res, &direct.Result{}) {
		inputs = append(inputs, obj)
	}
	if len(inputs) > 0 {
		if _, err := e.Apply(ctx, &deploy.Set{Objects: inputs}, deploy.ApplyOptions{Force: o.ForceConflicts, DryRun: o.DryRun == "server", CreateNamespaces: o.CreateNamespace, Wait: true}); err != nil {
			return deployError(err)
		}
		e.Mapper.Reset()
	}
	if o.DryRun == "server" {
		return nil
	}
	start := time.Now()
	results, err := d.Apply(ctx, res.Instances, live.Options{Force: o.ForceConflicts, Prune: o.direct.Prune})
	if err != nil {
		o.printDirect(results)
		return deployError(err)
	}
	fmt.Fprintf(o.streams.ErrOut, "%d instance(s) ready in %s\n", len(results), time.Since(start).Round(100*time.Millisecond))
	return o.printDirect(results)
}

func (o *applyOptions) printDirect(results []*live.InstanceResult) error {
	objs := instancesOf(results)
	if len(objs) == 0 {
		return nil
	}
	w := o.streams.Out
	if o.Output == "" {
		fmt.Fprintln(w)
	}
	return writeStatus(w, o.Output, objs)
}

func instancesOf(results []*live.InstanceResult) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, r := range results {
		if r != nil {
			out = append(out, r.Instance)
		}
	}
	return out
}

// runDirect recomputes each instance's status from the live objects.
func (o *statusOptions) runDirect() error {
	if len(o.Files) == 0 {
		return Usage(fmt.Errorf("--mode direct needs -f PATH: the status expressions come from the composition"))
	}
	ns, res, err := o.load(o.Files, o.flags)
	if err != nil {
		return err
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	ctx, cancel, e, err := connect(o.flags, ns, timeout)
	if err != nil {
		return err
	}
	defer cancel()
	d := newDeployer(e, deploy.DefaultFieldManager, o.streams.Out, o.streams.ErrOut)
	var results []*live.InstanceResult
	notReady := 0
	for _, inst := range res.Instances {
		r, err := d.Observe(ctx, inst)
		if err != nil {
			return deployError(err)
		}
		if !r.Ready {
			notReady++
			fmt.Fprintln(o.streams.ErrOut, r.Summary())
		}
		results = append(results, r)
	}
	return writeStatus(o.streams.Out, o.Output, instancesOf(results))
}

// runDirect deletes what apply --mode direct created.
func (o *deleteOptions) runDirect() error {
	ns, res, err := o.load(o.Paths, o.flags)
	if err != nil {
		return err
	}
	ctx, cancel, e, err := connect(o.flags, ns, o.Timeout)
	if err != nil {
		return err
	}
	defer cancel()
	d := newDeployer(e, deploy.DefaultFieldManager, o.streams.Out, o.streams.ErrOut)
	_, err = d.Delete(ctx, res.Instances)
	return deployError(err)
}
