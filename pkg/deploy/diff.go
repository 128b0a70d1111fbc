package deploy

import (
	"context"
	"fmt"

	"github.com/fluxcd/pkg/ssa"
	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// DiffOptions tune Diff.
type DiffOptions struct {
	// Force dry-runs with --force-conflicts; without it a conflict is an error.
	Force bool
	// CreateNamespaces shows the namespaces apply --create-namespace would create.
	CreateNamespaces bool
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
		d := ObjectDiff{Subject: Subject(it.obj), Action: it.action}
		var live, merged *unstructured.Unstructured
		switch {
		case it.deferred == "" && it.dryRun == nil:
			// A namespace --create-namespace would create: not dry-run.
			merged = it.obj
		case it.deferred == "":
			live, merged = it.existing, it.dryRun
		case it.byDefinition:
			// The served schema is about to change; try the current one and
			// fall back to overlaying the desired object on the live one.
			if err := e.dryRun(ctx, it, o.Force); err == nil {
				live, merged, d.Action = it.existing, it.dryRun, it.action
				break
			}
			if err := e.get(ctx, it); err != nil {
				return nil, err
			}
			live, merged = it.existing, overlay(it.existing, it.obj)
			d.Action = ssa.ConfiguredAction
			if live == nil {
				d.Action = ssa.CreatedAction
			}
			d.Note = "not dry-run: " + it.deferred
		default:
			merged, d.Action, d.Note = it.obj, ssa.CreatedAction, "new: "+it.deferred
		}
		if d.Action != ssa.UnchangedAction {
			text, err := unified(d.Subject, live, merged)
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
	return out, nil
}

// overlay approximates a merge: the live object with the desired object's
// top-level fields (spec, data...) and metadata labels and annotations.
func overlay(live, desired *unstructured.Unstructured) *unstructured.Unstructured {
	if live == nil {
		return desired.DeepCopy()
	}
	m := live.DeepCopy()
	for k, v := range desired.DeepCopy().Object {
		if k != "metadata" && k != "status" {
			m.Object[k] = v
		}
	}
	labels, annotations := m.GetLabels(), m.GetAnnotations()
	for k, v := range desired.GetLabels() {
		if labels == nil {
			labels = map[string]string{}
		}
		labels[k] = v
	}
	for k, v := range desired.GetAnnotations() {
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[k] = v
	}
	m.SetLabels(labels)
	m.SetAnnotations(annotations)
	return m
}

// unified renders a unified diff of two objects (either may be nil).
func unified(subject string, live, merged *unstructured.Unstructured) (string, error) {
	a, b := forDiff(live), forDiff(merged)
	if isSecret(live) || isSecret(merged) {
		maskSecrets(a, b)
	}
	ya, err := toYAML(a)
	if err != nil {
		return "", err
	}
	yb, err := toYAML(b)
	if err != nil {
		return "", err
	}
	if ya == yb {
		return "", nil
	}
	from := "live/" + subject
	if live == nil {
		from = "/dev/null"
	}
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(ya), B: difflib.SplitLines(yb),
		FromFile: from, ToFile: "merged/" + subject, Context: 3,
	})
}

func toYAML(u *unstructured.Unstructured) (string, error) {
	if u == nil {
		return "", nil
	}
	b, err := yaml.Marshal(u.Object)
	return string(b), err
}

// forDiff drops what the server sets and nobody applies: managed fields,
// resourceVersion, uid, generation, timestamps, and status.
func forDiff(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil {
		return nil
	}
	c := u.DeepCopy()
	delete(c.Object, "status")
	for _, f := range []string{"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	return c
}

func isSecret(u *unstructured.Unstructured) bool {
	return u != nil && u.GetKind() == "Secret" && u.GetAPIVersion() == "v1"
}

// Masks, as kubectl diff and fluxcd's ssa.SanitizeUnstructuredData write
// them.
const (
	maskSame   = "***"
	maskBefore = "*** (before)"
	maskAfter  = "*** (after)"
)

// maskSecrets replaces Secret values in data and stringData: "***" when a
// value is the same on both sides, "*** (before)"/"*** (after)" when it
// changes, so a diff shows which keys change without their values.
func maskSecrets(live, merged *unstructured.Unstructured) {
	for _, field := range []string{"data", "stringData"} {
		a, b := secretMap(live, field), secretMap(merged, field)
		for k, va := range a {
			if vb, ok := b[k]; ok && fmt.Sprint(vb) != fmt.Sprint(va) {
				a[k], b[k] = maskBefore, maskAfter
				continue
			} else if ok {
				b[k] = maskSame
			}
			a[k] = maskSame
		}
		for k := range b {
			if _, ok := a[k]; !ok {
				b[k] = maskSame
			}
		}
	}
}

func secretMap(u *unstructured.Unstructured, field string) map[string]any {
	if u == nil {
		return nil
	}
	m, _ := u.Object[field].(map[string]any)
	return m
}

// Changed reports whether applying would change the object.
func (d ObjectDiff) Changed() bool { return d.Action != ssa.UnchangedAction }
