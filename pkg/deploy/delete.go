package deploy

import (
	"context"

	"github.com/typekro/kubectl-typekro/pkg/readiness"
	"github.com/typekro/kubectl-typekro/pkg/render"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// DeleteOptions tune Delete.
type DeleteOptions struct {
	// KeepDefinitions leaves RGDs and CRDs of the inputs in place (--keep-rgd).
	KeepDefinitions bool
	// Wait waits for every deleted object to be gone. Instances are always
	// waited for before RGDs are deleted: KRO removes an instance's
	// resources while its finalizer holds the instance, and only while the
	// RGD still serves the kind.
	Wait bool
	// ApplySet also deletes the set's other members and its parent.
	ApplySet *ApplySetRef
}

// NotFoundAction marks objects that were already gone.
const NotFoundAction ssa.Action = "not found"

// Delete removes a set in reverse apply order: instances (waiting until
// KRO has deleted their resources and released them), plain objects,
// RGDs, namespaces, CRDs. KRO keeps the CRD it generated for an RGD when
// the RGD is deleted (existing instances would go with it); Delete does
// too.
func (e *Engine) Delete(ctx context.Context, set *Set, o DeleteOptions) (*ssa.ChangeSet, error) {
	cs := ssa.NewChangeSet()
	var items []*item
	for _, ro := range set.Objects {
		it := &item{Object: ssa.Object{Obj: ro.Object.DeepCopy()}, role: ro.Role}
		served, err := e.Map(&it.Object)
		if err != nil {
			return cs, err
		}
		if !served {
			it.Action = NotFoundAction
			cs.Add(it.Entry())
			e.printChanges([]*item{it}, "")
			continue
		}
		items = append(items, it)
	}
	stages := []struct {
		roles []render.Role
		wait  bool
		skip  bool
	}{
		{[]render.Role{render.RoleInstance}, o.Wait || !o.KeepDefinitions, false},
		{[]render.Role{render.RoleResource}, o.Wait, false},
		{[]render.Role{render.RoleRGD}, o.Wait, o.KeepDefinitions},
		{[]render.Role{render.RoleNamespace}, o.Wait, false},
		{[]render.Role{render.RoleCRD}, o.Wait, o.KeepDefinitions},
	}
	for _, st := range stages {
		if st.skip {
			continue
		}
		var targets []readiness.Target
		for _, it := range items {
			if !hasRole(it, st.roles) {
				continue
			}
			deleted, err := e.Client.DeleteCurrent(ctx, &it.Object)
			switch {
			case err != nil:
				return cs, err
			case !deleted:
				it.Action = NotFoundAction
			default:
				it.Action = ssa.DeletedAction
				targets = append(targets, waitTarget(it, "deleted", nil))
			}
			cs.Add(it.Entry())
			e.printChanges([]*item{it}, "")
		}
		if st.wait {
			if _, err := e.waiter().Wait(ctx, targets); err != nil {
				return cs, err
			}
		}
	}
	if o.ApplySet != nil {
		return cs, e.deleteSet(ctx, *o.ApplySet, o.KeepDefinitions, cs)
	}
	return cs, nil
}

func hasRole(it *item, roles []render.Role) bool {
	for _, r := range roles {
		if it.role == r {
			return true
		}
	}
	return false
}
