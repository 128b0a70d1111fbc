// Package ssa is the one layer through which typekro writes to a cluster,
// for both modes: mapping a kind through live discovery, reading the live
// object, server-side apply (dry run or for real) with kubectl's conflict
// semantics, the one rule for created/configured/unchanged (Drifted),
// deletes with UID preconditions, diffs with Secret values masked, and the
// KEP-3659 ApplySet of a direct-mode instance (applyset.go).
//
// It builds on github.com/fluxcd/pkg/ssa's normalize and utils packages for
// dry-run normalization and CRD handling and keeps Flux's change-set model
// and Secret masks (changeset.go), but sends the apply requests itself: fluxcd's ResourceManager
// always applies with force ownership, and typekro, like kubectl, must fail
// on a field-manager conflict unless the user passes --force-conflicts.
// The staging, waiting and ordering live in pkg/deploy and pkg/direct/live.
package ssa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/pkg/ssa/normalize"
	"github.com/fluxcd/pkg/ssa/utils"
	"github.com/kubernetes-sigs/kro/pkg/controller/instance/applyset"
	"github.com/kubernetes-sigs/kro/pkg/metadata"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// DefaultFieldManager owns the fields typekro applies.
const DefaultFieldManager = "typekro"

// ErrUnreachable marks errors talking to the cluster at all (as opposed to
// the cluster refusing an object).
var ErrUnreachable = errors.New("cluster unreachable")

// Client talks to one cluster.
type Client struct {
	Dynamic dynamic.Interface
	// Mapper maps kinds to resources (live discovery, or a fixed mapper in
	// tests). Reset it after CRDs and RGDs are applied: KRO serves new
	// kinds only then.
	Mapper       meta.ResettableRESTMapper
	FieldManager string
	// DefaultNamespace is used for namespaced objects that name none.
	DefaultNamespace string
}

// New connects to the cluster behind cfg and checks that it answers.
func New(ctx context.Context, cfg *rest.Config) (*Client, error) {
	cfg = rest.CopyConfig(cfg)
	// client-go's default of 5 requests/s would throttle a staged apply of
	// a dozen objects into seconds of client-side waiting.
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := dc.RESTClient().Get().AbsPath("/version").Do(pingCtx).Error(); err != nil {
		return nil, fmt.Errorf("%w at %s: %v", ErrUnreachable, cfg.Host, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	return &Client{
		Dynamic:          dyn,
		Mapper:           restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)),
		FieldManager:     DefaultFieldManager,
		DefaultNamespace: "default",
	}, nil
}

// Object is one desired object and what the cluster says about it.
type Object struct {
	Obj        *unstructured.Unstructured
	Mapping    *meta.RESTMapping // nil while the kind is not served
	Namespaced bool
	Live       *unstructured.Unstructured // nil when absent
	Merged     *unstructured.Unstructured // the server's dry-run result
	Action     Action
}

// Subject names an object like kubectl's output does, with a namespace
// flag that makes the line copy-pasteable:
// "deployment.apps/webapp -n production". It is the one way typekro names
// an object to users (change lines, errors, diffs, progress).
func Subject(obj *unstructured.Unstructured) string {
	gvk := obj.GroupVersionKind()
	res := strings.ToLower(gvk.Kind)
	if gvk.Group != "" {
		res += "." + gvk.Group
	}
	s := res + "/" + obj.GetName()
	if ns := obj.GetNamespace(); ns != "" {
		s += " -n " + ns
	}
	return s
}

// Key identifies an object in sets and sort orders: group-kind, namespace
// and name (not the version: one object is served under several).
func Key(obj *unstructured.Unstructured) string {
	return obj.GroupVersionKind().GroupKind().String() + "/" + obj.GetNamespace() + "/" + obj.GetName()
}

// Entry is the object's change-set entry.
func (o *Object) Entry() ChangeSetEntry {
	return ChangeSetEntry{Subject: Subject(o.Obj), Action: o.Action}
}

// Resource is the dynamic client for the object (mapped).
func (c *Client) Resource(o *Object) dynamic.ResourceInterface {
	ri := c.Dynamic.Resource(o.Mapping.Resource)
	if o.Namespaced {
		return ri.Namespace(o.Obj.GetNamespace())
	}
	return ri
}

// Mapping maps u's kind to its resource.
func (c *Client) Mapping(u *unstructured.Unstructured) (*meta.RESTMapping, error) {
	gvk := u.GroupVersionKind()
	return c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
}

// ResourceFor maps u's kind and returns its dynamic client, for objects
// that do not go through Map (live objects, ApplySet members).
func (c *Client) ResourceFor(u *unstructured.Unstructured) (dynamic.ResourceInterface, *meta.RESTMapping, error) {
	m, err := c.Mapping(u)
	if err != nil {
		return nil, nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.Dynamic.Resource(m.Resource).Namespace(u.GetNamespace()), m, nil
	}
	return c.Dynamic.Resource(m.Resource), m, nil
}

// ObjectFor maps u's kind and wraps it for the calls below, leaving its
// namespace as it is (Map defaults it). A kind not served is the mapper's
// NoMatch error.
func (c *Client) ObjectFor(u *unstructured.Unstructured) (*Object, error) {
	_, m, err := c.ResourceFor(u)
	if err != nil {
		return nil, err
	}
	return &Object{Obj: u, Mapping: m, Namespaced: m.Scope.Name() == meta.RESTScopeNameNamespace}, nil
}

// Resettable gives a mapper that cannot forget what it discovered (a
// fixed one, in tests and offline) the Reset Client.Mapper needs.
func Resettable(m meta.RESTMapper) meta.ResettableRESTMapper {
	if r, ok := m.(meta.ResettableRESTMapper); ok {
		return r
	}
	return fixedMapper{m}
}

type fixedMapper struct{ meta.RESTMapper }

func (fixedMapper) Reset() {}

// Map looks the kind up in discovery; false when it is not served. It
// gives namespaced objects without a namespace the default one and drops
// the namespace of cluster-scoped ones.
func (c *Client) Map(o *Object) (bool, error) {
	gvk := o.Obj.GroupVersionKind()
	m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: discovery: %v", ErrUnreachable, err)
	}
	o.Mapping = m
	o.Namespaced = m.Scope.Name() == meta.RESTScopeNameNamespace
	if o.Namespaced && o.Obj.GetNamespace() == "" {
		o.Obj.SetNamespace(c.DefaultNamespace)
	}
	if !o.Namespaced {
		o.Obj.SetNamespace("")
	}
	return true, nil
}

// Get fills o.Live.
func (c *Client) Get(ctx context.Context, o *Object) error {
	live, err := c.Resource(o).Get(ctx, o.Obj.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		o.Live = nil
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w", Subject(o.Obj), err)
	}
	o.Live = live
	return nil
}

// Apply sends a server-side apply. Strict field validation makes the server
// reject unknown fields the way kubectl does, instead of dropping them.
// Unlike fluxcd's ResourceManager, force is the caller's choice: without
// it, fields another field manager owns are a conflict, as in kubectl.
func (c *Client) Apply(ctx context.Context, o *Object, dryRun, force bool) (*unstructured.Unstructured, error) {
	obj := o.Obj.DeepCopy()
	utils.RemoveCABundleFromCRD(obj)
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, err
	}
	opts := metav1.PatchOptions{FieldManager: c.FieldManager, Force: &force, FieldValidation: metav1.FieldValidationStrict}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return c.Resource(o).Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts)
}

// DryRun fetches the live object, dry-runs the apply and decides the
// action from the difference.
func (c *Client) DryRun(ctx context.Context, o *Object, force bool) error {
	if err := c.Get(ctx, o); err != nil {
		return err
	}
	res, err := c.Apply(ctx, o, true, force)
	if err != nil {
		return ApplyError(err, o.Obj)
	}
	o.Merged = res
	o.Action = c.Decide(o.Live, res)
	return nil
}

// Decide is the one rule for what an apply does to an object: created
// when there was none, configured when Drifted, unchanged otherwise. merged
// is the server's answer to the apply (a dry run's or the real one's).
func (c *Client) Decide(live, merged *unstructured.Unstructured) Action {
	switch {
	case live == nil:
		return CreatedAction
	case Drifted(live, merged, c.FieldManager):
		return ConfiguredAction
	default:
		return UnchangedAction
	}
}

// Write applies o for real and says what changed: it reads the live object
// first, refuses one that belongs to another ApplySet (when o.Obj carries
// a part-of label), applies, and decides the action from the live object
// and the server's answer. o.Live and o.Merged hold both afterwards.
func (c *Client) Write(ctx context.Context, o *Object, force bool) error {
	if err := c.Get(ctx, o); err != nil {
		return err
	}
	if err := OwnerConflict(o.Live, o.Obj); err != nil {
		return err
	}
	res, err := c.Apply(ctx, o, false, force)
	if err != nil {
		return ApplyError(err, o.Obj)
	}
	o.Merged = res
	o.Action = c.Decide(o.Live, res)
	return nil
}

// CreateDryRun has the server validate the object with a dry-run create
// in namespace ns under a generated name (nothing is stored, nothing can
// collide): for objects whose own namespace does not exist yet.
func (c *Client) CreateDryRun(ctx context.Context, o *Object, ns string) error {
	obj := o.Obj.DeepCopy()
	obj.SetNamespace(ns)
	obj.SetGenerateName(obj.GetName() + "-")
	obj.SetName("")
	_, err := c.Dynamic.Resource(o.Mapping.Resource).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{
		DryRun: []string{metav1.DryRunAll}, FieldManager: c.FieldManager, FieldValidation: metav1.FieldValidationStrict})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("%s: %v", Subject(o.Obj), err)
	}
	return nil
}

// Delete deletes the object; false when it was already gone. With a uid,
// the delete holds only for that very object (metav1.Preconditions): one
// deleted and recreated since it was read is left alone, also reported as
// false.
func (c *Client) Delete(ctx context.Context, o *Object, uid types.UID) (bool, error) {
	opts := metav1.DeleteOptions{}
	if uid != "" {
		opts.Preconditions = &metav1.Preconditions{UID: &uid}
	}
	err := c.Resource(o).Delete(ctx, o.Obj.GetName(), opts)
	switch {
	case apierrors.IsNotFound(err), uid != "" && apierrors.IsConflict(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("%s: %w", Subject(o.Obj), err)
	}
	return true, nil
}

// DeleteCurrent deletes the object as it is now: it reads the live object
// and deletes that one by its uid, so a plan made earlier never deletes an
// object recreated in between. false when there is none.
func (c *Client) DeleteCurrent(ctx context.Context, o *Object) (bool, error) {
	if err := c.Get(ctx, o); err != nil {
		return false, err
	}
	if o.Live == nil {
		return false, nil
	}
	return c.Delete(ctx, o, o.Live.GetUID())
}

// ApplyError words an apply error with the object's name; for a conflict
// it adds the way out. The API error stays wrapped (errors.As, IsNotFound).
func ApplyError(err error, obj *unstructured.Unstructured) error {
	hint := ""
	if apierrors.IsConflict(err) {
		if _, ok := apierrors.StatusCause(err, metav1.CauseTypeFieldManagerConflict); ok {
			hint = " (rerun with --force-conflicts to take these fields over)"
		}
	}
	return fmt.Errorf("%s: %w%s", Subject(obj), err, hint)
}

// OwnerConflict refuses to write desired over a live object that is a
// member of another ApplySet, as KRO's applyset.ApplySetConflictError does:
// two instances rendering the same object would otherwise take it from
// each other on every apply (same field manager, so no SSA conflict). The
// error names both owners by their instances when KRO's instance labels
// say who they are. --force-conflicts does not override it.
func OwnerConflict(live, desired *unstructured.Unstructured) error {
	if live == nil {
		return nil
	}
	cur, want := live.GetLabels()[applyset.ApplysetPartOfLabel], desired.GetLabels()[applyset.ApplysetPartOfLabel]
	if cur == "" || want == "" || cur == want {
		return nil
	}
	ce := &applyset.ApplySetConflictError{ResourceName: live.GetName(), ResourceNamespace: live.GetNamespace(),
		ResourceGVK: live.GroupVersionKind().String(), CurrentApplySetID: cur, DesiredApplySetID: want}
	return fmt.Errorf("%s: owned by %s, also rendered by %s: %w", Subject(desired), ownerName(live, cur), ownerName(desired, want), ce)
}

// ownerName names the instance an object belongs to from KRO's instance
// labels ("Kind/name -n ns"), or by its ApplySet id without them.
func ownerName(u *unstructured.Unstructured, id string) string {
	l := u.GetLabels()
	kind, name := l[metadata.InstanceKindLabel], l[metadata.InstanceLabel]
	if kind == "" || name == "" {
		return "ApplySet " + id
	}
	s := kind + "/" + name
	if ns := l[metadata.InstanceNamespaceLabel]; ns != "" {
		s += " -n " + ns
	}
	return s
}

// Drifted reports whether applying would change the object: labels,
// annotations or anything outside metadata and status, compared like
// fluxcd's ResourceManager does. An object whose fields the manager does
// not own yet also counts: applying takes ownership, so later applies can
// remove fields.
func Drifted(live, merged *unstructured.Unstructured, manager string) bool {
	if !apiequality.Semantic.DeepEqual(live.GetLabels(), merged.GetLabels()) ||
		!apiequality.Semantic.DeepEqual(live.GetAnnotations(), merged.GetAnnotations()) {
		return true
	}
	owned := false
	for _, mf := range live.GetManagedFields() {
		if mf.Manager == manager && mf.Operation == metav1.ManagedFieldsOperationApply && mf.Subresource == "" {
			owned = true
		}
	}
	if !owned {
		return true
	}
	a, b := withoutMetadataAndStatus(live), withoutMetadataAndStatus(merged)
	_ = normalize.DryRunUnstructured(b)
	return !apiequality.Semantic.DeepEqual(a.Object, b.Object)
}

func withoutMetadataAndStatus(u *unstructured.Unstructured) *unstructured.Unstructured {
	c := u.DeepCopy()
	delete(c.Object, "metadata")
	delete(c.Object, "status")
	return c
}
