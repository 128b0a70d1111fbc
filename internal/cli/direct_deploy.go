package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/spf13/pflag"
	"github.com/typekro/kubectl-typekro/pkg/compile"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/typekro/kubectl-typekro/pkg/deploy"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/direct/live"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// pruneFlags are apply's --prune and --applyset.
type pruneFlags struct {
	Prune    bool
	ApplySet string
}

func (f *pruneFlags) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&f.Prune, "prune", false, "delete what an earlier apply created that the inputs no longer contain, after the rest is applied. kro mode: the members of --applyset; direct mode: each instance's resources its composition no longer renders (tracked by an ApplySet parent configmap typekro-<kind>-<name>)")
	fs.StringVar(&f.ApplySet, "applyset", "", "kro mode, with --prune: the apply set's parent, NAME or secret/NAME (default kind) or configmap/NAME in the namespace of -n; every applied object is labelled applyset.kubernetes.io/part-of=<id> (kubectl's --applyset)")
}

// validate checks the flags against the mode.
func (f *pruneFlags) validate(mode string) error {
	switch {
	case f.ApplySet != "" && mode != render.ModeKro:
		return Usage(fmt.Errorf("--applyset needs --mode kro: direct mode keeps an ApplySet per instance"))
	case f.ApplySet != "" && !f.Prune:
		return Usage(fmt.Errorf("--applyset needs --prune (as in kubectl)"))
	case f.Prune && mode == render.ModeKro && f.ApplySet == "":
		return Usage(fmt.Errorf("--prune in kro mode needs --applyset NAME: the set whose members the inputs no longer contain are deleted"))
	}
	if f.ApplySet != "" {
		if _, err := deploy.ParseApplySet(f.ApplySet, ""); err != nil {
			return Usage(err)
		}
	}
	return nil
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
	if direct.IsLimit(err) {
		return Fail(err)
	}
	if err != nil {
		return err
	}
	ctx, cancel, e, err := connect(o.flags, ns, o.Timeout)
	if err != nil {
		return err
	}
	defer cancel()
	e.FieldManager, e.Out, e.Progress = o.FieldManager, o.streams.Out, o.streams.ErrOut
	inputs := direct.Objects(res, &direct.Result{})
	missing, err := missingInstanceNamespaces(ctx, e, res, inputs)
	if err != nil {
		return deployError(err)
	}
	for _, ns := range missing {
		if !o.CreateNamespace {
			return Fail(fmt.Errorf("namespace %q not found (used by %s); create it or pass --create-namespace", ns.obj.GetName(), ns.user))
		}
		inputs = append(inputs, render.Object{Role: render.RoleNamespace, Object: ns.obj})
	}
	d := newDeployer(e, o.FieldManager, o.streams.Out, o.streams.ErrOut)
	notes, err := d.DryRun(ctx, offline.Resources, o.ForceConflicts)
	if err != nil {
		return deployError(err)
	}
	for _, n := range notes {
		fmt.Fprintln(o.streams.ErrOut, "note:", n)
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
	results, err := d.Apply(ctx, res.Instances, live.Options{Force: o.ForceConflicts, Prune: o.direct.Prune, NoWait: !o.Wait})
	if err != nil {
		o.printDirect(results)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("--timeout %s reached: %w", o.Timeout, err)
		}
		return deployError(err)
	}
	verb := "ready"
	if !o.Wait {
		verb = "applied (--wait=false: the last resources' readiness not waited for)"
	}
	fmt.Fprintf(o.streams.ErrOut, "%d instance(s) %s in %s\n", len(results), verb, time.Since(start).Round(100*time.Millisecond))
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
	if len(o.Filenames) == 0 {
		return Usage(fmt.Errorf("--mode direct needs -f PATH: the status expressions come from the composition"))
	}
	ns, res, err := o.load(o.Filenames, o.flags)
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
	for _, inst := range res.Instances {
		r, err := d.Observe(ctx, inst)
		if err != nil {
			return deployError(err)
		}
		if !r.Ready {
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
	if _, err := d.Delete(ctx, res.Instances); err != nil {
		return deployError(timeoutError(err, o.Timeout))
	}
	// Then what apply --mode direct wrote from the inputs themselves: plain
	// objects, the inputs' namespaces and CRDs (kept with --keep-rgd), in
	// kro mode's reverse order.
	e.Out, e.Progress = o.streams.Out, o.streams.ErrOut
	inputs := direct.Objects(res, &direct.Result{})
	if len(inputs) == 0 {
		return nil
	}
	_, err = e.Delete(ctx, &deploy.Set{Objects: inputs}, deploy.DeleteOptions{KeepDefinitions: o.KeepRGD, Wait: o.Wait})
	return deployError(timeoutError(err, o.Timeout))
}

type missingNamespace struct {
	obj  *unstructured.Unstructured
	user string // the first instance in it
}

// missingInstanceNamespaces lists the instances' namespaces that neither
// exist nor are among the inputs: direct mode writes each instance's
// ApplySet parent there first.
func missingInstanceNamespaces(ctx context.Context, e *deploy.Engine, res *compile.Result, inputs []render.Object) ([]missingNamespace, error) {
	seen := map[string]bool{}
	for _, in := range inputs {
		if in.Role == render.RoleNamespace {
			seen[in.Object.GetName()] = true
		}
	}
	var out []missingNamespace
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	for _, inst := range res.Instances {
		ns := inst.Object.GetNamespace()
		if ns == "" || seen[ns] {
			continue
		}
		seen[ns] = true
		_, err := e.Dynamic.Resource(gvr).Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}
			out = append(out, missingNamespace{obj, direct.InstanceRef(inst.Object)})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("namespace %s: %w", ns, err)
		}
	}
	return out, nil
}
