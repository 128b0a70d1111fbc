package backend

import (
	"context"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/deploy"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// Kro is kro mode: ResourceGraphDefinitions and instances go to the
// cluster (pkg/deploy), KRO's controller creates the resources.
type Kro struct{ e *deploy.Engine }

func (*Kro) Mode() string { return render.ModeKro }

// Render is the CRDs, RGDs, plain manifests and instances, in apply order.
func (*Kro) Render(res *compile.Result, _ RenderOptions) (*RenderResult, error) {
	return &RenderResult{Objects: render.KroObjects(res)}, nil
}

// Apply refuses schema changes KRO would refuse (unless AllowBreaking),
// then applies in stages and waits (deploy.Engine.Apply); with ApplySet
// and Prune it deletes the set's members the inputs no longer contain.
func (k *Kro) Apply(ctx context.Context, res *compile.Result, o ApplyOptions) (*ApplyResult, error) {
	if err := needCluster(k.e); err != nil {
		return nil, err
	}
	set := deploy.NewSet(res)
	if _, err := k.e.GuardSchemas(ctx, set, res.Definitions, deploy.GuardOptions{Allow: o.AllowBreaking}, k.e.Progress); err != nil {
		return nil, err
	}
	r, err := k.e.Apply(ctx, set, deploy.ApplyOptions{
		Force:            o.Force,
		DryRun:           o.DryRun,
		CreateNamespaces: o.CreateNamespaces,
		Wait:             o.Wait,
		Prune:            o.Prune,
		ApplySet:         o.ApplySet,
	})
	if r == nil {
		return nil, err
	}
	return &ApplyResult{Instances: r.Instances, Notes: r.Unverified}, err
}

// Diff compares every RGD's generated CRD with the served one (KRO's
// breaking-change check), then dry-runs every object.
func (k *Kro) Diff(ctx context.Context, res *compile.Result, o DiffOptions) (*DiffResult, error) {
	if err := needCluster(k.e); err != nil {
		return nil, err
	}
	report, err := k.e.SchemaChanges(ctx, res.Definitions, false)
	if err != nil {
		return nil, err
	}
	diffs, err := k.e.Diff(ctx, deploy.NewSet(res), deploy.DiffOptions{Force: o.Force, CreateNamespaces: o.CreateNamespaces, ApplySet: o.ApplySet})
	if err != nil {
		return nil, err
	}
	return &DiffResult{Schema: report, Objects: diffs}, nil
}

// Delete removes instances (waiting for KRO to remove their resources),
// plain objects, RGDs, namespaces and CRDs of the inputs, in that order.
func (k *Kro) Delete(ctx context.Context, res *compile.Result, o DeleteOptions) error {
	if err := needCluster(k.e); err != nil {
		return err
	}
	_, err := k.e.Delete(ctx, deploy.NewSet(res), deploy.DeleteOptions{KeepDefinitions: o.KeepDefinitions, Wait: o.Wait, ApplySet: o.ApplySet})
	return err
}
