package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	fluxssa "github.com/fluxcd/pkg/ssa"
	"github.com/go-logr/logr"
	"github.com/kubernetes-sigs/kro/pkg/controller/instance/applyset"
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

// ApplySetTooling is the applyset.kubernetes.io/tooling value typekro
// writes on the parents of kro-mode apply sets. The KEP tells tools to
// refuse a parent another tool manages; typekro refuses any other value.
const ApplySetTooling = "typekro/v1"

// PrunedAction marks objects an apply pruned (kubectl's word).
const PrunedAction fluxssa.Action = "pruned"

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

func (r ApplySetRef) parent() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind(r.Kind)
	u.SetName(r.Name)
	u.SetNamespace(r.Namespace)
	return u
}

// ID is the set's applyset.kubernetes.io/id, computed by KRO's applyset
// package from the parent's name, namespace, kind and group (KEP-3659).
func (r ApplySetRef) ID() string { return applyset.ID(r.parent()) }

func (r ApplySetRef) String() string {
	return strings.ToLower(r.Kind) + "/" + r.Name + " -n " + r.Namespace
}

func (r ApplySetRef) gvr() schema.GroupVersionResource {
	return schema.GroupVersionResource{Version: "v1", Resource: strings.ToLower(r.Kind) + "s"}
}

// applySet is an apply set during one apply: the live parent's memory of
// earlier members' kinds and namespaces, and this apply's.
type applySet struct {
	ref ApplySetRef
	id  string
	// live parent (nil when the set is new) and the scope it records.
	live      *unstructured.Unstructured
	prevKinds sets.Set[schema.GroupKind]
	prevNS    sets.Set[string]
	kinds     sets.Set[schema.GroupKind]
	ns        sets.Set[string]
}

// openApplySet reads the parent, if there is one. It refuses a parent
// another tool manages, as the KEP asks.
func (e *Engine) openApplySet(ctx context.Context, ref ApplySetRef) (*applySet, error) {
	s := &applySet{ref: ref, id: ref.ID(), kinds: sets.New[schema.GroupKind](), ns: sets.New[string]()}
	live, err := e.Dynamic.Resource(ref.gvr()).Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		s.prevKinds, s.prevNS = sets.New[schema.GroupKind](), sets.New[string]()
	case err != nil:
		return nil, fmt.Errorf("ApplySet parent %s: %w", ref, err)
	default:
		if t := live.GetAnnotations()[applyset.ApplySetToolingAnnotation]; t != ApplySetTooling {
			return nil, fmt.Errorf("ApplySet parent %s is managed by %q, not typekro: choose another --applyset", ref, t)
		}
		// KRO's validator checks the id, the recorded kinds and namespaces
		// and their hash, but insists on KRO's own tooling prefix; typekro
		// checked the tooling above, so it validates a copy under KRO's.
		probe := live.DeepCopy()
		annotations := probe.GetAnnotations()
		annotations[applyset.ApplySetToolingAnnotation] = "kro/" + ApplySetTooling
		probe.SetAnnotations(annotations)
		if err := applyset.ValidateParentInventory(probe); err != nil {
			return nil, fmt.Errorf("ApplySet parent %s: %w", ref, err)
		}
		s.live = live
		s.prevKinds = parseGroupKinds(live.GetAnnotations()[applyset.ApplySetGKsAnnotation])
		s.prevNS = sets.New(splitNonEmpty(live.GetAnnotations()[applyset.ApplySetAdditionalNamespacesAnnotation])...)
	}
	return s, nil
}

// label makes every object of the set a member: a copy of each, labelled
// applyset.kubernetes.io/part-of=<id>, replaces it in the set.
func (s *applySet) label(set *Set) *Set {
	out := &Set{Definitions: set.Definitions, Objects: make([]render.Object, len(set.Objects))}
	for i, o := range set.Objects {
		u := o.Object.DeepCopy()
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[applyset.ApplysetPartOfLabel] = s.id
		u.SetLabels(labels)
		out.Objects[i] = render.Object{Role: o.Role, Object: u}
	}
	return out
}

// scope records the kinds and namespaces of the mapped members (the
// parent's own namespace is implicit, as the KEP says).
func (s *applySet) scope(items []*item) {
	for _, it := range items {
		s.kinds.Insert(it.Obj.GroupVersionKind().GroupKind())
		if ns := it.Obj.GetNamespace(); ns != "" && ns != s.ref.Namespace {
			s.ns.Insert(ns)
		}
	}
}

// writeParent server-side applies the parent recording kinds and
// namespaces. Before members are written it records the union with the
// earlier scope, so an interrupted apply leaves nothing outside the scope
// prune searches; after pruning, only the current members' scope.
func (e *Engine) writeParent(ctx context.Context, s *applySet, kinds sets.Set[schema.GroupKind], nss sets.Set[string]) error {
	md := applyset.Metadata{ID: s.id, Tooling: ApplySetTooling, GroupKinds: kinds, AdditionalNamespaces: nss}
	labels := map[string]any{"app.kubernetes.io/managed-by": "typekro"}
	for k, v := range md.Labels() {
		labels[k] = v
	}
	annotations := map[string]any{}
	for k, v := range md.Annotations() {
		annotations[k] = v
	}
	body, err := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": s.ref.Kind,
		"metadata": map[string]any{"name": s.ref.Name, "namespace": s.ref.Namespace, "labels": labels, "annotations": annotations},
	})
	if err != nil {
		return err
	}
	force := true // only typekro writes a parent it manages (checked in openApplySet)
	_, err = e.Dynamic.Resource(s.ref.gvr()).Namespace(s.ref.Namespace).Patch(ctx, s.ref.Name, types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: e.FieldManager, Force: &force})
	if err != nil {
		return fmt.Errorf("ApplySet parent %s: %w", s.ref, err)
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

// orphans are the members of the set that this apply does not write,
// in prune order (waves, each sorted): KRO's applyset lists them by label
// across the old and new scope.
func (e *Engine) orphans(ctx context.Context, s *applySet, keep sets.Set[types.UID]) (*applyset.ApplySet, [][]applyset.OrphanCandidate, error) {
	kro := applyset.New(applyset.Config{Client: e.Dynamic, RESTMapper: e.Mapper, Log: logr.Discard(), ParentNamespace: s.ref.Namespace}, s.ref.parent())
	scope := &applyset.PruneScope{GroupKinds: s.kinds.Union(s.prevKinds), Namespaces: s.ns.Union(s.prevNS)}
	found, err := kro.ListOrphans(ctx, applyset.PruneOptions{KeepUIDs: keep, Scope: scope})
	if err != nil {
		return nil, nil, fmt.Errorf("prune: %w", err)
	}
	waves := make([][]applyset.OrphanCandidate, len(pruneWaves))
	for i, inWave := range pruneWaves {
		for _, o := range found {
			if inWave(o.Object.GroupVersionKind().GroupKind()) {
				waves[i] = append(waves[i], o)
			}
		}
		sortOrphans(waves[i])
	}
	return kro, waves, nil
}

// prune deletes the orphans wave by wave, then records the current scope
// on the parent. With dryRun it only lists them.
func (e *Engine) prune(ctx context.Context, s *applySet, keep sets.Set[types.UID], dryRun bool, cs *fluxssa.ChangeSet) error {
	kro, waves, err := e.orphans(ctx, s, keep)
	if err != nil {
		return err
	}
	if err := e.deleteWaves(ctx, kro, waves, dryRun, cs); err != nil || dryRun {
		return err
	}
	return e.writeParent(ctx, s, s.kinds, s.ns)
}

// deleteWaves deletes members wave by wave, each with a UID precondition,
// waiting for a wave to be gone before the next.
func (e *Engine) deleteWaves(ctx context.Context, kro *applyset.ApplySet, waves [][]applyset.OrphanCandidate, dryRun bool, cs *fluxssa.ChangeSet) error {
	suffix := ""
	if dryRun {
		suffix = " (server dry run)"
	}
	for _, wave := range waves {
		var targets []readiness.Target
		for _, o := range wave {
			entry := prunedEntry(o.Object)
			if !dryRun {
				r, err := kro.DeleteOrphan(ctx, o)
				if err != nil {
					return fmt.Errorf("prune: %w", err)
				}
				if r.Conflict { // recreated since it was listed: not ours to delete
					continue
				}
				targets = append(targets, readiness.Target{GVR: o.GVR, Namespace: o.Object.GetNamespace(), Name: o.Object.GetName(), Ref: entry.Subject, Want: "deleted"})
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
func (e *Engine) deleteSet(ctx context.Context, ref ApplySetRef, keepDefinitions bool, cs *fluxssa.ChangeSet) error {
	s, err := e.openApplySet(ctx, ref)
	if err != nil || s.live == nil {
		return err
	}
	s.kinds, s.ns = s.prevKinds, s.prevNS
	kro, waves, err := e.orphans(ctx, s, sets.New[types.UID]())
	if err != nil {
		return err
	}
	if keepDefinitions {
		for i := range waves {
			waves[i] = slices.DeleteFunc(waves[i], func(o applyset.OrphanCandidate) bool {
				gk := o.Object.GroupVersionKind().GroupKind()
				return gk == rgdGK || gk == crdGK
			})
		}
	}
	if err := e.deleteWaves(ctx, kro, waves, false, cs); err != nil || keepDefinitions {
		return err
	}
	err = e.Dynamic.Resource(ref.gvr()).Namespace(ref.Namespace).Delete(ctx, ref.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("ApplySet parent %s: %w", ref, err)
	}
	entry := prunedEntry(s.ref.parent())
	entry.Action = fluxssa.DeletedAction
	cs.Add(entry)
	if e.Out != nil {
		fmt.Fprintln(e.Out, entry.String())
	}
	return nil
}

func prunedEntry(u *unstructured.Unstructured) fluxssa.ChangeSetEntry {
	return (&ssa.Object{Obj: u, Action: PrunedAction}).Entry()
}

func sortOrphans(os []applyset.OrphanCandidate) {
	key := func(u *unstructured.Unstructured) string {
		return u.GroupVersionKind().GroupKind().String() + "/" + u.GetNamespace() + "/" + u.GetName()
	}
	for i := 1; i < len(os); i++ {
		for j := i; j > 0 && key(os[j].Object) < key(os[j-1].Object); j-- {
			os[j], os[j-1] = os[j-1], os[j]
		}
	}
}

// parseGroupKinds reads contains-group-kinds ("Kind.group,Kind"); the
// parent was validated by KRO's ValidateParentInventory first.
func parseGroupKinds(s string) sets.Set[schema.GroupKind] {
	out := sets.New[schema.GroupKind]()
	for _, v := range splitNonEmpty(s) {
		out.Insert(schema.ParseGroupKind(v))
	}
	return out
}

func splitNonEmpty(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
