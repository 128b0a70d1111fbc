package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/typekro/kubectl-typekro/pkg/readiness"
	"github.com/typekro/kubectl-typekro/pkg/render"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// PrunedAction marks objects an apply pruned (kubectl's word).
const PrunedAction ssa.Action = "pruned"

// ApplySetRef names the parent of a kro-mode apply set, as kubectl's
// --applyset=[secret|configmap/]NAME does: a Secret (kubectl's default) or
// ConfigMap in the command's namespace. Every object an apply writes is
// labelled applyset.kubernetes.io/part-of=<id>, so
// `kubectl get -l applyset.kubernetes.io/part-of=<id>` lists them, and an
// apply with --prune deletes the members the inputs no longer contain.
type ApplySetRef struct {
	Kind      string // Secret or ConfigMap
	Name      string
	Namespace string
}

// ParseApplySet reads --applyset's value: NAME, secret/NAME or
// configmap/NAME (kubectl also takes the plural and "secrets.").
func ParseApplySet(s, namespace string) (ApplySetRef, error) {
	ref := ApplySetRef{Kind: "Secret", Name: s, Namespace: namespace}
	if kind, name, ok := strings.Cut(s, "/"); ok {
		switch strings.TrimSuffix(strings.ToLower(kind), ".") {
		case "secret", "secrets":
		case "configmap", "configmaps":
			ref.Kind = "ConfigMap"
		default:
			return ref, fmt.Errorf("--applyset %q: the parent must be a secret or a configmap", s)
		}
		ref.Name = name
	}
	if ref.Name == "" || strings.Contains(ref.Name, "/") {
		return ref, fmt.Errorf("--applyset %q: want NAME, secret/NAME or configmap/NAME", s)
	}
	return ref, nil
}

// ID is the set's applyset.kubernetes.io/id (KEP-3659, as kubectl
// computes it from the parent's name, namespace, kind and group).
func (r ApplySetRef) ID() string { return r.applySet().ID }

func (r ApplySetRef) applySet() *ssa.ApplySet { return ssa.NewApplySetOf(r.Kind, r.Name, r.Namespace) }

// applySet is an apply set during one apply: what its parent records
// (the earlier scope, in ssa.ApplySet's Kinds and Namespaces) and this
// apply's scope.
type applySet struct {
	*ssa.ApplySet
	kinds sets.Set[schema.GroupKind]
	ns    sets.Set[string]
}

// openApplySet reads the parent, if there is one; ssa refuses a parent
// another tool manages, as the KEP asks, or one whose record is broken.
func (e *Engine) openApplySet(ctx context.Context, ref ApplySetRef) (*applySet, error) {
	s, err := e.Client.Load(ctx, ref.applySet())
	if err != nil {
		return nil, err
	}
	return &applySet{ApplySet: s, kinds: sets.New[schema.GroupKind](), ns: sets.New[string]()}, nil
}

// label makes every object of the set a member: a copy of each, labelled
// applyset.kubernetes.io/part-of=<id>, replaces it in the set.
func (s *applySet) label(set *Set) *Set {
	out := &Set{Definitions: set.Definitions, Objects: make([]render.Object, len(set.Objects))}
	for i, o := range set.Objects {
		u := o.Object.DeepCopy()
		s.Label(u)
		out.Objects[i] = render.Object{Role: o.Role, Object: u}
	}
	return out
}

// scope records the kinds and namespaces of the mapped members.
func (s *applySet) scope(items []*item) {
	for _, it := range items {
		s.kinds.Insert(it.Obj.GroupVersionKind().GroupKind())
		if ns := it.Obj.GetNamespace(); ns != "" {
			s.ns.Insert(ns)
		}
	}
}

// writeParent server-side applies the parent recording kinds and
// namespaces. Before members are written it records the union with the
// earlier scope, so an interrupted apply leaves nothing outside the scope
// prune searches; after pruning, only the current members' scope.
func (e *Engine) writeParent(ctx context.Context, s *applySet, kinds sets.Set[schema.GroupKind], nss sets.Set[string]) error {
	labels, annotations := s.ParentMetadata(kinds, nss)
	labels["app.kubernetes.io/managed-by"] = "typekro"
	body, err := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": s.ParentKind,
		"metadata": map[string]any{"name": s.Name, "namespace": s.Namespace, "labels": labels, "annotations": annotations},
	})
	if err != nil {
		return err
	}
	force := true // only typekro writes a parent it manages (checked when loaded)
	_, err = e.Dynamic.Resource(s.ParentGVR()).Namespace(s.Namespace).Patch(ctx, s.Name, types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: e.FieldManager, Force: &force})
	if err != nil {
		return fmt.Errorf("ApplySet parent %s: %w", s, err)
	}
	return nil
}

// pruneWaves order prune like Delete: instances and plain objects first
// (waiting until KRO has finalized the instances), then RGDs, namespaces
// and CRDs.
var pruneWaves = []func(schema.GroupKind) bool{
	func(gk schema.GroupKind) bool { return gk != rgdGK && gk != namespaceGK && gk != crdGK },
	func(gk schema.GroupKind) bool { return gk == rgdGK },
	func(gk schema.GroupKind) bool { return gk == namespaceGK },
	func(gk schema.GroupKind) bool { return gk == crdGK },
}

var (
	rgdGK       = schema.GroupKind{Group: "kro.run", Kind: "ResourceGraphDefinition"}
	namespaceGK = schema.GroupKind{Kind: "Namespace"}
	crdGK       = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}
)

// orphans are the members of the set that this apply does not write, in
// prune order (waves), found across the old and new scope.
func (e *Engine) orphans(ctx context.Context, s *applySet, keep sets.Set[types.UID]) ([][]*unstructured.Unstructured, error) {
	found, err := e.Client.Members(ctx, s.ApplySet, s.kinds, s.ns, keep)
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	waves := make([][]*unstructured.Unstructured, len(pruneWaves))
	for i, inWave := range pruneWaves {
		for _, o := range found {
			if inWave(o.GroupVersionKind().GroupKind()) {
				waves[i] = append(waves[i], o)
			}
		}
	}
	return waves, nil
}

// prune deletes the orphans wave by wave, then records the current scope
// on the parent. With dryRun it only lists them.
func (e *Engine) prune(ctx context.Context, s *applySet, keep sets.Set[types.UID], dryRun bool, cs *ssa.ChangeSet) error {
	waves, err := e.orphans(ctx, s, keep)
	if err != nil {
		return err
	}
	if err := e.deleteWaves(ctx, s, waves, dryRun, cs); err != nil || dryRun {
		return err
	}
	return e.writeParent(ctx, s, s.kinds, s.ns)
}

// deleteWaves deletes members wave by wave, each with a UID precondition
// (one recreated since it was listed stays), waiting for a wave to be gone
// before the next.
func (e *Engine) deleteWaves(ctx context.Context, s *applySet, waves [][]*unstructured.Unstructured, dryRun bool, cs *ssa.ChangeSet) error {
	suffix := ""
	if dryRun {
		suffix = " (server dry run)"
	}
	for _, wave := range waves {
		var targets []readiness.Target
		for _, o := range wave {
			entry := prunedEntry(o)
			if !dryRun {
				deleted, err := e.Client.DeleteMember(ctx, s.ApplySet, o)
				if err != nil {
					return fmt.Errorf("prune: %w", err)
				}
				if !deleted {
					continue
				}
				_, m, err := e.ResourceFor(o)
				if err != nil {
					return fmt.Errorf("prune: %w", err)
				}
				targets = append(targets, readiness.Target{GVR: m.Resource, Namespace: o.GetNamespace(), Name: o.GetName(), Ref: entry.Subject, Want: "deleted"})
			}
			cs.Add(entry)
			if e.Out != nil {
				fmt.Fprintln(e.Out, entry.String()+suffix)
			}
		}
		if _, err := e.waiter().Wait(ctx, targets); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
	}
	return nil
}

// deleteSet deletes what is left of an apply set after the inputs were
// deleted (members the inputs no longer contain), then its parent. With
// keepDefinitions RGDs and CRDs stay, and so does the parent recording them.
func (e *Engine) deleteSet(ctx context.Context, ref ApplySetRef, keepDefinitions bool, cs *ssa.ChangeSet) error {
	s, err := e.openApplySet(ctx, ref)
	if err != nil || !s.Exists {
		return err
	}
	waves, err := e.orphans(ctx, s, nil)
	if err != nil {
		return err
	}
	if keepDefinitions {
		for i := range waves {
			waves[i] = slices.DeleteFunc(waves[i], func(o *unstructured.Unstructured) bool {
				gk := o.GroupVersionKind().GroupKind()
				return gk == rgdGK || gk == crdGK
			})
		}
	}
	if err := e.deleteWaves(ctx, s, waves, false, cs); err != nil || keepDefinitions {
		return err
	}
	uid := s.UID
	err = e.Dynamic.Resource(s.ParentGVR()).Namespace(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("ApplySet parent %s: %w", s, err)
	}
	entry := prunedEntry(s.ParentStub())
	entry.Action = ssa.DeletedAction
	cs.Add(entry)
	if e.Out != nil {
		fmt.Fprintln(e.Out, entry.String())
	}
	return nil
}

func prunedEntry(u *unstructured.Unstructured) ssa.ChangeSetEntry {
	return (&ssa.Object{Obj: u, Action: PrunedAction}).Entry()
}
