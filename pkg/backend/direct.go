package backend

import (
	"context"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/deploy"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/direct/live"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// Direct is direct mode: the resources KRO would create, computed with
// KRO's runtime (pkg/direct) and deployed without KRO (pkg/direct/live).
// The inputs' own CRDs, namespaces and plain objects go through kro mode's
// engine first.
type Direct struct{ e *deploy.Engine }

func (*Direct) Mode() string { return render.ModeDirect }

// Render computes every instance's resources offline.
func (*Direct) Render(res *compile.Result, o RenderOptions) (*RenderResult, error) {
	r, err := direct.Render(res, direct.Options{AllowPending: o.AllowPending, Observer: observer(o.Observed)})
	if err != nil {
		return nil, err
	}
	objs := direct.Objects(res, r)
	if o.Status {
		for _, inst := range res.Instances {
			st, err := o.Observed.Status(inst)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", direct.InstanceRef(inst.Object), err)
			}
			objs = append(objs, render.Object{Role: render.RoleInstance, Object: st.Instance})
		}
		render.Sort(objs)
	}
	return &RenderResult{Objects: objs, Pending: r.Pending}, nil
}

// StreamYAML is Render (without Observed or Status) written to w as YAML,
// each object encoded as soon as it is rendered, keeping only its bytes
// (direct.RenderYAML): a large render's memory halves. Nothing is written
// unless everything rendered.
func StreamYAML(res *compile.Result, o RenderOptions, w io.Writer) ([]direct.Pending, error) {
	// After compile nothing locates a field of an instance any more (render
	// errors point at the composition, or at the instance document itself):
	// their YAML node trees, half of a 10,000-instance render's live heap,
	// are cut down to the document's own position.
	for _, inst := range res.Instances {
		inst.Doc.Node = documentPosition(inst.Doc.Node)
	}
	e, err := direct.RenderYAML(res, direct.Options{AllowPending: o.AllowPending})
	if err != nil {
		return nil, err
	}
	_, err = e.WriteTo(w)
	return e.Pending, err
}

// documentPosition is a node with only the position of a document's
// content: what Document.Line gives for the document itself.
func documentPosition(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n == nil {
		return nil
	}
	return &yaml.Node{Kind: n.Kind, Line: n.Line, Column: n.Column}
}

// observer avoids a typed nil in the interface.
func observer(o *live.Offline) direct.Observer {
	if o == nil {
		return nil
	}
	return o
}

func (d *Direct) deployer() *live.Deployer {
	e := d.e
	return &live.Deployer{Dynamic: e.Dynamic, Mapper: e.Mapper, FieldManager: e.FieldManager, DefaultNamespace: e.DefaultNamespace, Out: e.Out, Progress: e.Progress}
}

// Apply: render offline (every resource that does not need live state),
// dry-run that on the server, write the inputs' CRDs, namespaces and plain
// objects (kro mode's engine, waiting for CRDs), then deploy each
// instance's resources stage by stage.
func (d *Direct) Apply(ctx context.Context, res *compile.Result, o ApplyOptions) (*ApplyResult, error) {
	if err := needCluster(d.e); err != nil {
		return nil, err
	}
	if o.ApplySet != nil {
		return nil, errApplySet
	}
	offline, err := direct.Render(res, direct.Options{AllowPending: true})
	if err != nil {
		return nil, err
	}
	inputs := direct.Objects(res, &direct.Result{})
	missing, err := missingInstanceNamespaces(ctx, d.e, res, inputs)
	if err != nil {
		return nil, err
	}
	for _, ns := range missing {
		if !o.CreateNamespaces {
			return nil, fmt.Errorf("namespace %q not found (used by %s); create it or pass --create-namespace", ns.obj.GetName(), ns.user)
		}
		inputs = append(inputs, render.Object{Role: render.RoleNamespace, Object: ns.obj})
	}
	dep := d.deployer()
	notes, err := dep.DryRun(ctx, offline.Resources, o.Force)
	if err != nil {
		return nil, err
	}
	out := &ApplyResult{Notes: notes}
	if len(inputs) > 0 {
		if _, err := d.e.Apply(ctx, &deploy.Set{Objects: inputs}, deploy.ApplyOptions{Force: o.Force, DryRun: o.DryRun, CreateNamespaces: o.CreateNamespaces, Wait: true}); err != nil {
			return out, err
		}
		d.e.Mapper.Reset()
	}
	if o.DryRun {
		return out, nil
	}
	results, err := dep.Apply(ctx, res.Instances, live.Options{Force: o.Force, Prune: o.Prune, NoWait: !o.Wait})
	out.Instances = instancesOf(results)
	return out, err
}

// Diff: the inputs' CRDs, namespaces and plain objects (kro mode's diff),
// then each instance's resources resolved from the live objects they
// reference, and the ApplySet members apply --prune would delete.
func (d *Direct) Diff(ctx context.Context, res *compile.Result, o DiffOptions) (*DiffResult, error) {
	if err := needCluster(d.e); err != nil {
		return nil, err
	}
	if o.ApplySet != nil {
		return nil, errApplySet
	}
	out := &DiffResult{}
	if inputs := direct.Objects(res, &direct.Result{}); len(inputs) > 0 {
		diffs, err := d.e.Diff(ctx, &deploy.Set{Objects: inputs}, deploy.DiffOptions{Force: o.Force, CreateNamespaces: o.CreateNamespaces})
		if err != nil {
			return nil, err
		}
		out.Objects = diffs
	}
	dep := d.deployer()
	dep.Out, dep.Progress = nil, nil // a diff writes no change lines
	for _, inst := range res.Instances {
		ds, err := dep.Diff(ctx, d.e.Client, inst, o.Force)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", direct.InstanceRef(inst.Object), err)
		}
		out.Objects = append(out.Objects, ds...)
	}
	return out, nil
}

// Status recomputes each instance's status from the live objects; there
// is nothing to watch in the cluster (no instance object), so Watch is not
// supported.
func (d *Direct) Status(ctx context.Context, o StatusOptions) (*StatusResult, error) {
	if err := needCluster(d.e); err != nil {
		return nil, err
	}
	if o.Inputs == nil {
		return nil, &ArgumentError{Err: fmt.Errorf("--mode direct needs -f PATH: the status expressions come from the composition")}
	}
	if o.Watch {
		return nil, &ArgumentError{Err: fmt.Errorf("--watch needs --mode kro: a direct-mode instance is not an object in the cluster")}
	}
	dep := d.deployer()
	out := &StatusResult{}
	for _, inst := range o.Inputs.Instances {
		r, err := dep.Observe(ctx, inst)
		if err != nil {
			return nil, err
		}
		if !r.Ready {
			out.Notes = append(out.Notes, r.Summary())
		}
		out.Objects = append(out.Objects, r.Instance)
	}
	return out, nil
}

// Delete removes each instance's resources (its ApplySet, in reverse
// dependency order), then what apply wrote from the inputs themselves:
// plain objects, the inputs' namespaces and CRDs (kept with
// KeepDefinitions), in kro mode's reverse order.
func (d *Direct) Delete(ctx context.Context, res *compile.Result, o DeleteOptions) error {
	if err := needCluster(d.e); err != nil {
		return err
	}
	if o.ApplySet != nil {
		return errApplySet
	}
	if _, err := d.deployer().Delete(ctx, res.Instances); err != nil {
		return err
	}
	inputs := direct.Objects(res, &direct.Result{})
	if len(inputs) == 0 {
		return nil
	}
	_, err := d.e.Delete(ctx, &deploy.Set{Objects: inputs}, deploy.DeleteOptions{KeepDefinitions: o.KeepDefinitions, Wait: o.Wait})
	return err
}

// errApplySet: direct mode keeps an ApplySet per instance, not one for
// the whole apply.
var errApplySet = &ArgumentError{Err: errors.New("--applyset needs --mode kro: direct mode keeps an ApplySet per instance")}

func instancesOf(results []*live.InstanceResult) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, r := range results {
		if r != nil {
			out = append(out, r.Instance)
		}
	}
	return out
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
