package ssa

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kubernetes-sigs/kro/pkg/controller/instance/applyset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
)

// A direct-mode instance's objects form a KEP-3659 ApplySet, as KRO's
// instances do: members carry applyset.kubernetes.io/part-of=<id>, so
// `kubectl get -l applyset.kubernetes.io/part-of=<id>` lists them, and the
// parent records the group-kinds and namespaces to search when pruning.
// KRO's parent is the instance; typekro's, with no custom resource to hang
// it on, is a ConfigMap. kro mode's `apply --prune --applyset` makes all the
// objects of an apply one ApplySet, with a Secret (kubectl's default) or
// ConfigMap parent.
//
// KRO v0.9.4's pkg/controller/instance/applyset supplies the ID, the
// parent's labels and annotations (Metadata), the parsing of a parent's
// annotations and the orphan listing and UID-preconditioned deletes. Two of
// its parts do not fit, and are not used:
//   - ApplySet.Apply applies with KRO's own field manager
//     ("kro.run/applyset") and always with force; typekro applies with its
//     field manager and kubectl's conflict semantics (Client.Write);
//   - ValidateParentInventory accepts only parents whose tooling is "kro/…";
//     typekro's parents say Tooling. The label check it does is done here.

// Tooling is typekro's value of applyset.kubernetes.io/tooling.
const Tooling = "typekro/v1"

// The KEP-3659 keys, as KRO names them.
const (
	ApplySetIDLabel     = applyset.ApplySetParentIDLabel
	ApplySetPartOfLabel = applyset.ApplysetPartOfLabel
	ApplySetTooling     = applyset.ApplySetToolingAnnotation
	ApplySetGroupKinds  = applyset.ApplySetGKsAnnotation
	ApplySetNamespaces  = applyset.ApplySetAdditionalNamespacesAnnotation
)

// ApplySet is one ApplySet and what its parent records.
type ApplySet struct {
	// ParentKind is ConfigMap or Secret (core/v1).
	ParentKind      string
	Name, Namespace string
	ID              string
	// Kinds and Namespaces are the parent's record: the group-kinds of its
	// members and the namespaces besides its own they live in.
	Kinds      sets.Set[schema.GroupKind]
	Namespaces sets.Set[string]
	// Exists says the parent was found; UID is its uid then.
	Exists bool
	UID    types.UID
	// Parent is the parent as read (nil when it does not exist).
	Parent *unstructured.Unstructured
}

// ParentStub is the identity of the parent, as applyset.ID hashes it.
func (s *ApplySet) ParentStub() *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: s.ParentKind})
	u.SetName(s.Name)
	u.SetNamespace(s.Namespace)
	return u
}

// ParentGVR is the parent's resource.
func (s *ApplySet) ParentGVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Version: "v1", Resource: strings.ToLower(s.ParentKind) + "s"}
}

// String names the parent: "configmap/name -n namespace".
func (s *ApplySet) String() string {
	return strings.ToLower(s.ParentKind) + "/" + s.Name + " -n " + s.Namespace
}

// NewApplySet is the ApplySet whose parent is configmap name in namespace,
// with nothing recorded yet.
func NewApplySet(name, namespace string) *ApplySet {
	return NewApplySetOf("ConfigMap", name, namespace)
}

// NewApplySetOf is NewApplySet with a ConfigMap or Secret parent.
func NewApplySetOf(kind, name, namespace string) *ApplySet {
	s := &ApplySet{ParentKind: kind, Name: name, Namespace: namespace, Kinds: sets.New[schema.GroupKind](), Namespaces: sets.New[string]()}
	s.ID = applyset.ID(s.ParentStub())
	return s
}

// ParseApplySet reads an ApplySet from its parent: the id label must be
// the one KEP-3659 derives from the parent's identity (another tool's
// object of the same name is not ours), the tooling typekro's (the KEP
// tells tools to refuse another tool's parent), and the annotations must
// parse.
func ParseApplySet(parent *unstructured.Unstructured) (*ApplySet, error) {
	s := NewApplySetOf(parent.GetKind(), parent.GetName(), parent.GetNamespace())
	if t, ok := parent.GetAnnotations()[ApplySetTooling]; ok && t != Tooling {
		return nil, fmt.Errorf("ApplySet parent %s is managed by %q, not typekro: choose another", s, t)
	}
	if got := parent.GetLabels()[ApplySetIDLabel]; got != s.ID {
		return nil, fmt.Errorf("%s exists and is not typekro's ApplySet parent (label %s is %q, want %q)", s, ApplySetIDLabel, got, s.ID)
	}
	// Project of no resources is the parent's own record, parsed and
	// validated by KRO's parser.
	md, err := applyset.New(applyset.Config{ParentNamespace: s.Namespace}, parent).Project(nil)
	if err != nil {
		return nil, fmt.Errorf("ApplySet parent %s: %w", s, err)
	}
	s.Kinds, s.Namespaces = md.GroupKinds, md.AdditionalNamespaces
	s.Exists, s.UID, s.Parent = true, parent.GetUID(), parent
	return s, nil
}

// LoadApplySet reads the parent of the ApplySet (configmap name in
// namespace); a missing parent is an empty ApplySet (Exists false), not an
// error.
func (c *Client) LoadApplySet(ctx context.Context, name, namespace string) (*ApplySet, error) {
	return c.Load(ctx, NewApplySet(name, namespace))
}

// Load reads s's parent into a copy of s.
func (c *Client) Load(ctx context.Context, s *ApplySet) (*ApplySet, error) {
	parent, err := c.Dynamic.Resource(s.ParentGVR()).Namespace(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return NewApplySetOf(s.ParentKind, s.Name, s.Namespace), nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, s, err)
	}
	if parent.GetKind() == "" {
		parent.SetKind(s.ParentKind)
	}
	return ParseApplySet(parent)
}

// ParentMetadata is the parent's KEP-3659 labels and annotations recording
// kinds and nss (the parent's own namespace is implicit, as the KEP says).
func (s *ApplySet) ParentMetadata(kinds sets.Set[schema.GroupKind], nss sets.Set[string]) (labels, annotations map[string]string) {
	md := applyset.Metadata{ID: s.ID, Tooling: Tooling, GroupKinds: kinds.Clone(),
		AdditionalNamespaces: nss.Clone().Delete(s.Namespace, "")}
	return md.Labels(), md.Annotations()
}

// Label marks obj (in place) as a member of the ApplySet.
func (s *ApplySet) Label(obj *unstructured.Unstructured) {
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[ApplySetPartOfLabel] = s.ID
	obj.SetLabels(labels)
}

func (c *Client) kroApplySet(s *ApplySet) *applyset.ApplySet {
	return applyset.New(applyset.Config{Client: c.Dynamic, RESTMapper: c.Mapper, ParentNamespace: s.Namespace}, s.ParentStub())
}

// Members lists the live members of the ApplySet whose uid is not in keep,
// across its recorded kinds and namespaces plus the given ones (kinds no
// longer served are skipped), sorted by Key.
func (c *Client) Members(ctx context.Context, s *ApplySet, kinds sets.Set[schema.GroupKind], nss sets.Set[string], keep sets.Set[types.UID]) ([]*unstructured.Unstructured, error) {
	scope := &applyset.PruneScope{GroupKinds: kinds.Union(s.Kinds), Namespaces: nss.Union(s.Namespaces).Insert(s.Namespace)}
	if keep == nil {
		keep = sets.New[types.UID]()
	}
	found, err := c.kroApplySet(s).ListOrphans(ctx, applyset.PruneOptions{KeepUIDs: keep, Scope: scope})
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, len(found))
	for i, f := range found {
		out[i] = f.Object
		// Lists leave kind and apiVersion off their items on some servers.
		if out[i].GetKind() == "" {
			if m, err := c.Mapper.KindFor(f.GVR); err == nil {
				out[i].SetGroupVersionKind(m)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return Key(out[i]) < Key(out[j]) })
	return out, nil
}

// DeleteMember deletes a member as KRO prunes: with its uid as the
// precondition, so an object deleted and recreated since it was listed
// stays. false when it was already gone or recreated.
func (c *Client) DeleteMember(ctx context.Context, s *ApplySet, member *unstructured.Unstructured) (bool, error) {
	_, m, err := c.ResourceFor(member)
	if err != nil {
		return false, fmt.Errorf("delete %s: %w", Subject(member), err)
	}
	res, err := c.kroApplySet(s).DeleteOrphan(ctx, applyset.OrphanCandidate{Object: member, GVR: m.Resource})
	if err != nil {
		return false, fmt.Errorf("delete %s: %w", Subject(member), err)
	}
	return res.Pruned != nil, nil
}
