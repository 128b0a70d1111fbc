package deploy

import (
	"context"
	"fmt"
	"sync"

	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/typekro/kubectl-typekro/pkg/readiness"
	"github.com/typekro/kubectl-typekro/pkg/render"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// Force takes over fields other field managers own (--force-conflicts).
	Force bool
	// DryRun only asks the server (--dry-run=server): nothing is written.
	DryRun bool
	// CreateNamespaces creates missing namespaces of the objects.
	CreateNamespaces bool
	// Wait waits for instances to be ACTIVE and Ready. RGDs are always
	// waited for: their instances cannot be applied before KRO serves the kind.
	Wait bool
	// ApplySet, when set, makes every object a member of that apply set
	// (labels and parent written as kubectl's --applyset does).
	ApplySet *ApplySetRef
	// Prune deletes the set's members the inputs no longer contain, after
	// everything else is applied (and waited for). Needs ApplySet.
	Prune bool
}

// ApplyResult is what Apply did.
type ApplyResult struct {
	Changes *ssa.ChangeSet
	// Unverified are objects a server dry run could not check because their
	// kind or namespace does not exist yet (DryRun only).
	Unverified []string
	// Instances are the instances as last observed.
	Instances []*unstructured.Unstructured
}

// Apply puts a set into the cluster.
//
// Nothing is written unless the whole set passes the server's dry run.
// Two kinds of objects cannot be dry-run where they will live up front:
//   - instances of an RGD (or custom resources of a CRD) that this apply
//     creates or changes: the API server has no schema for them yet, or an
//     old one. They were checked offline against the very CRD schema KRO
//     generates;
//   - objects in a namespace this apply creates: a dry run in a missing
//     namespace fails. The server checks them with a dry-run create under a
//     generated name in an existing namespace instead (see preflightAll).
//
// Both are dry-run for real as soon as their kind and namespace exist —
// after the definitions are written and Active, before any object of the
// last stage is written — so admission, quota and conflict errors still
// stop the apply before the first instance is written.
//
// Stages: CRDs and namespaces (wait Established) → RGDs in dependency
// waves (wait Active + Ready and the generated CRD Established) → plain
// objects and instances (wait ACTIVE + Ready when o.Wait).
func (e *Engine) Apply(ctx context.Context, set *Set, o ApplyOptions) (*ApplyResult, error) {
	res := &ApplyResult{Changes: ssa.NewChangeSet()}
	var as *applySet
	if o.ApplySet != nil {
		var err error
		if as, err = e.openApplySet(ctx, *o.ApplySet); err != nil {
			return res, fmt.Errorf("nothing was written: %w", err)
		}
		set = as.label(set)
	}
	p, err := e.prepare(ctx, set, planOptions{Force: o.Force, CreateNamespaces: o.CreateNamespaces})
	if err != nil {
		return res, fmt.Errorf("nothing was written: %w", err)
	}
	if as != nil {
		as.scope(p.items)
	}
	if o.DryRun {
		e.dryRunResult(p, res)
		if as != nil && o.Prune {
			return res, e.prune(ctx, as, liveUIDs(p.items), true, res.Changes)
		}
		return res, nil
	}
	// The ApplySet parent records the union of the old and new scope before
	// any member is written, so an interrupted apply leaves no member where
	// a later prune would not look; only when this apply creates the
	// parent's namespace does it wait for stage 1.
	parentLater := as != nil && p.createsNamespace(as.Namespace)
	if as != nil && !parentLater {
		if err := e.writeParent(ctx, as, as.kinds.Union(as.Kinds), as.ns.Union(as.Namespaces)); err != nil {
			return res, err
		}
	}

	// Stage 1: CRDs and namespaces.
	defs := append(append([]*item{}, p.namespaces...), p.byRole(render.RoleCRD, render.RoleNamespace)...)
	if err := e.write(ctx, defs, o.Force, res); err != nil {
		return res, err
	}
	if parentLater {
		if err := e.writeParent(ctx, as, as.kinds.Union(as.Kinds), as.ns.Union(as.Namespaces)); err != nil {
			return res, err
		}
	}
	var targets []readiness.Target
	var fresh []string // group/versions made servable by this apply
	for _, it := range defs {
		if it.role == render.RoleCRD {
			targets = append(targets, waitTarget(it, "Established", readiness.CRDEstablished))
			if it.Action != ssa.UnchangedAction {
				fresh = append(fresh, ssa.CRDGroupVersions(it.Obj)...)
			}
		}
	}
	if _, err := e.waiter().Wait(ctx, targets); err != nil {
		return res, err
	}
	if len(targets) > 0 {
		e.Mapper.Reset()
	}

	// Stage 2: RGDs, wave by wave.
	crdOf := map[string]string{}
	gvOf := map[string]string{}
	generated := map[string]*extv1.CustomResourceDefinition{}
	for _, d := range set.Definitions {
		crdOf[d.Name] = d.CRDName
		gvOf[d.Name] = d.GVK.GroupVersion().String()
		generated[d.Name] = d.CRD
	}
	for _, wave := range rgdWaves(p.byRole(render.RoleRGD), set.Definitions) {
		if err := e.redryRun(ctx, wave, o.Force); err != nil {
			return res, err
		}
		if err := e.write(ctx, wave, o.Force, res); err != nil {
			return res, err
		}
		targets = targets[:0]
		check := readiness.RGDAfterNewKinds(append([]string{}, fresh...))
		for _, it := range wave {
			targets = append(targets, waitTarget(it, "Active", check))
			if it.Action != ssa.UnchangedAction {
				fresh = append(fresh, gvOf[it.Obj.GetName()])
			}
			if name := crdOf[it.Obj.GetName()]; name != "" {
				// A changed RGD's instances wait for the new schema too.
				want, check := "Established", readiness.CRDEstablished
				if crd := generated[it.Obj.GetName()]; crd != nil && it.Action != ssa.UnchangedAction {
					want, check = "Established with the new schema", servesSchema(crd)
				}
				targets = append(targets, readiness.Target{GVR: crdGVR, Name: name, Ref: "CustomResourceDefinition/" + name, Want: want, Check: check})
			}
		}
		if _, err := e.waiter().Wait(ctx, targets); err != nil {
			return res, err
		}
		e.Mapper.Reset()
	}

	// Stage 3: plain objects and instances, after their deferred dry runs.
	rest := p.byRole(render.RoleResource, render.RoleInstance)
	if err := e.redryRun(ctx, rest, o.Force); err != nil {
		return res, fmt.Errorf("definitions are applied, but instances or objects were rejected (none of them was written): %w", err)
	}
	if err := e.write(ctx, p.byRole(render.RoleResource), o.Force, res); err != nil {
		return res, err
	}
	instances := p.byRole(render.RoleInstance)
	if err := e.write(ctx, instances, o.Force, res); err != nil {
		return res, err
	}
	if !o.Wait {
		for _, it := range instances {
			if err := e.Get(ctx, &it.Object); err != nil {
				return res, err
			}
			if it.Live != nil {
				res.Instances = append(res.Instances, it.Live)
			}
		}
	} else {
		targets = targets[:0]
		for _, it := range instances {
			targets = append(targets, waitTarget(it, "ACTIVE", readiness.Instance))
		}
		outcomes, err := e.waiter().Wait(ctx, targets)
		for _, oc := range outcomes {
			if oc.Object != nil {
				res.Instances = append(res.Instances, oc.Object)
			}
		}
		if err != nil {
			return res, err
		}
	}
	if as != nil && o.Prune {
		return res, e.prune(ctx, as, liveUIDs(p.items), false, res.Changes)
	}
	return res, nil
}

// liveUIDs are the UIDs of the items as last read or written.
func liveUIDs(items []*item) sets.Set[types.UID] {
	out := sets.New[types.UID]()
	for _, it := range items {
		if it.Live != nil {
			out.Insert(it.Live.GetUID())
		}
	}
	return out
}

// redryRun dry-runs deferred items now that their kind and namespace
// exist; it fails without writing any of them if one is rejected.
func (e *Engine) redryRun(ctx context.Context, items []*item, force bool) error {
	var checkable []*item
	for _, it := range items {
		if it.deferred == "" {
			continue
		}
		if it.Mapping == nil {
			served, err := e.Map(&it.Object)
			if err != nil {
				return err
			}
			if !served {
				return fmt.Errorf("%s: the cluster still does not serve %s after %s", Subject(it.Obj), it.Obj.GroupVersionKind(), it.deferred)
			}
		}
		it.deferred = ""
		checkable = append(checkable, it)
	}
	if errs := e.dryRunAll(ctx, checkable, force); len(errs) > 0 {
		return &InvalidError{Errors: errs}
	}
	return nil
}

// write applies the items that change, concurrently, and records every
// item's action in the result.
func (e *Engine) write(ctx context.Context, items []*item, force bool, res *ApplyResult) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []string
		sem  = make(chan struct{}, 8)
	)
	for _, it := range items {
		if it.Action == ssa.UnchangedAction {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out, err := e.Client.Apply(ctx, &it.Object, false, force)
			if err != nil {
				mu.Lock()
				errs = append(errs, ssa.ApplyError(err, it.Obj).Error())
				mu.Unlock()
				return
			}
			it.Live = out
		}()
	}
	wg.Wait()
	for _, it := range items {
		res.Changes.Add(it.Entry())
	}
	e.printChanges(items, "")
	if len(errs) > 0 {
		return fmt.Errorf("apply failed: %v", errs)
	}
	return nil
}

// dryRunResult reports a server dry run: the actions the server computed,
// and the objects it could not check yet.
func (e *Engine) dryRunResult(p *plan, res *ApplyResult) *ApplyResult {
	all := append(append([]*item{}, p.namespaces...), p.items...)
	for _, it := range all {
		if it.deferred != "" {
			if it.Action == "" {
				it.Action = ssa.CreatedAction
			}
			res.Unverified = append(res.Unverified, fmt.Sprintf("%s: not checked by the server: %s", Subject(it.Obj), it.deferred))
		}
		res.Changes.Add(it.Entry())
	}
	e.printChanges(all, " (server dry run)")
	return res
}
