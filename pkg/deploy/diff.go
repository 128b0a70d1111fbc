package deploy

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// DiffOptions tune Diff.
type DiffOptions struct {
	// Force dry-runs with --force-conflicts; without it a conflict is an error.
	Force bool
	// CreateNamespaces shows the namespaces apply --create-namespace would create.
	CreateNamespaces bool
	// ApplySet adds the members apply --prune --applyset would delete.
	ApplySet *ApplySetRef
}

// ObjectDiff is the difference for one object.
type ObjectDiff struct {
	Subject string
	Action  ssa.Action // created, configured or unchanged
	// Note says when the merged side is not the server's dry-run result.
	Note string
	// Unified is a unified diff of live vs merged YAML, with server-set
	// metadata, managed fields and status left out and Secret values masked.
	Unified string
}

// Diff compares every object with what a server-side apply would make of
// it. Objects whose kind or namespace does not exist yet are shown as new.
func (e *Engine) Diff(ctx context.Context, set *Set, o DiffOptions) ([]ObjectDiff, error) {
	var as *applySet
	if o.ApplySet != nil {
		var err error
		if as, err = e.openApplySet(ctx, *o.ApplySet); err != nil {
			return nil, err
		}
		set = as.label(set)
	}
	// Missing namespaces never stop a diff: their objects are simply new.
	p, err := e.prepare(ctx, set, planOptions{Force: o.Force, CreateNamespaces: true})
	if err != nil {
		return nil, err
	}
	var out []ObjectDiff
	items := p.items
	if o.CreateNamespaces {
		items = append(append([]*item{}, p.namespaces...), items...)
	}
	for _, it := range items {
		d := ObjectDiff{Subject: Subject(it.Obj), Action: it.Action}
		var live, merged *unstructured.Unstructured
		switch {
		case it.deferred == "" && it.Merged == nil:
			// A namespace --create-namespace would create: not dry-run.
			merged = it.Obj
		case it.deferred == "":
			live, merged = it.Live, it.Merged
		case it.byDefinition:
			// The served schema is about to change; try the current one and
			// fall back to overlaying the desired object on the live one.
			if err := e.DryRun(ctx, &it.Object, o.Force); err == nil {
				live, merged, d.Action = it.Live, it.Merged, it.Action
				break
			}
			if err := e.Get(ctx, &it.Object); err != nil {
				return nil, err
			}
			live, merged = it.Live, ssa.Overlay(it.Live, it.Obj)
			d.Action = ssa.ConfiguredAction
			if live == nil {
				d.Action = ssa.CreatedAction
			}
			d.Note = "not dry-run: " + it.deferred
		default:
			merged, d.Action, d.Note = it.Obj, ssa.CreatedAction, "new: "+it.deferred
		}
		if d.Action != ssa.UnchangedAction {
			text, err := ssa.UnifiedDiff(d.Subject, live, merged)
			if err != nil {
				return nil, err
			}
			if text == "" && d.Action == ssa.ConfiguredAction {
				// Only ownership changes (fields typekro does not own yet).
				d.Note = "no field changes; applying takes ownership of the fields for field manager " + e.FieldManager
			}
			d.Unified = text
		}
		out = append(out, d)
	}
	if as == nil {
		return out, nil
	}
	as.scope(p.items)
	waves, err := e.orphans(ctx, as, liveUIDs(p.items))
	if err != nil {
		return nil, err
	}
	for _, wave := range waves {
		for _, o := range wave {
			d := ObjectDiff{Subject: Subject(o), Action: PrunedAction, Note: "not in the inputs: apply --prune deletes it"}
			if d.Unified, err = ssa.UnifiedDiff(d.Subject, o, nil); err != nil {
				return nil, err
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// Changed reports whether applying would change the object.
func (d ObjectDiff) Changed() bool { return d.Action != ssa.UnchangedAction }
