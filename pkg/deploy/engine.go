// Package deploy puts kro-mode output into a cluster and takes it out
// again: server-side apply in stages (CRDs and namespaces, then
// ResourceGraphDefinitions in dependency waves, then plain objects and
// instances), waiting on KRO between stages; server-side diff; and ordered
// deletion.
//
// It builds on github.com/fluxcd/pkg/ssa for its change-set model, dry-run
// error reporting and dry-run normalization, but sends the apply requests
// itself: fluxcd's ResourceManager always applies with force ownership,
// and typekro, like kubectl, must fail on a field-manager conflict unless
// the user passes --force-conflicts.
package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/normalize"
	"github.com/fluxcd/pkg/ssa/utils"
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

	"github.com/typekro/kubectl-typekro/pkg/readiness"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// DefaultFieldManager owns the fields typekro applies.
const DefaultFieldManager = "typekro"

// ErrUnreachable marks errors talking to the cluster at all (as opposed to
// the cluster refusing an object).
var ErrUnreachable = errors.New("cluster unreachable")

// Engine talks to one cluster.
type Engine struct {
	Dynamic dynamic.Interface
	// Mapper maps kinds to resources from live discovery. It is reset after
	// CRDs and RGDs are applied, since KRO serves new kinds only then.
	Mapper       *restmapper.DeferredDiscoveryRESTMapper
	FieldManager string
	// DefaultNamespace is used for namespaced objects that name none.
	DefaultNamespace string
	// Out receives change-set lines as stages are written (stdout); Progress
	// receives wait progress (stderr). Either may be nil.
	Out, Progress io.Writer
}

// New connects to the cluster behind cfg and checks that it answers.
func New(ctx context.Context, cfg *rest.Config) (*Engine, error) {
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
	return &Engine{
		Dynamic:          dyn,
		Mapper:           restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)),
		FieldManager:     DefaultFieldManager,
		DefaultNamespace: "default",
	}, nil
}

// item is one object on its way into the cluster.
type item struct {
	obj        *unstructured.Unstructured
	role       render.Role
	mapping    *meta.RESTMapping // nil while the kind is not served
	namespaced bool
	existing   *unstructured.Unstructured // live object, nil when absent
	dryRun     *unstructured.Unstructured // server's dry-run result
	// deferred says why the object cannot be dry-run before the earlier
	// stages are written ("" when it can).
	deferred string
	// byDefinition: deferred because its kind's definition changes in this
	// apply (the served schema is about to change), not because it is absent.
	byDefinition bool
	// newNamespace: deferred because its namespace is created by this apply.
	newNamespace bool
	action       ssa.Action
}

// Subject names an object like kubectl's output does, with a namespace
// flag that makes the line copy-pasteable:
// "deployment.apps/webapp -n production".
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

func (it *item) entry() ssa.ChangeSetEntry {
	e := ssa.ChangeSetEntry{Subject: Subject(it.obj), Action: it.action, GroupVersion: it.obj.GroupVersionKind().GroupVersion().String()}
	e.ObjMetadata.Name, e.ObjMetadata.Namespace = it.obj.GetName(), it.obj.GetNamespace()
	e.ObjMetadata.GroupKind = it.obj.GroupVersionKind().GroupKind()
	return e
}

func (e *Engine) resource(it *item) dynamic.ResourceInterface {
	ri := e.Dynamic.Resource(it.mapping.Resource)
	if it.namespaced {
		return ri.Namespace(it.obj.GetNamespace())
	}
	return ri
}

// remap looks the kind up in discovery; false when it is not served.
func (e *Engine) remap(it *item) (bool, error) {
	gvk := it.obj.GroupVersionKind()
	m, err := e.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: discovery: %v", ErrUnreachable, err)
	}
	it.mapping = m
	it.namespaced = m.Scope.Name() == meta.RESTScopeNameNamespace
	if it.namespaced && it.obj.GetNamespace() == "" {
		it.obj.SetNamespace(e.DefaultNamespace)
	}
	if !it.namespaced {
		it.obj.SetNamespace("")
	}
	return true, nil
}

// get fills it.existing.
func (e *Engine) get(ctx context.Context, it *item) error {
	live, err := e.resource(it).Get(ctx, it.obj.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		it.existing = nil
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w", Subject(it.obj), err)
	}
	it.existing = live
	return nil
}

// apply sends a server-side apply. Strict field validation makes the server
// reject unknown fields the way kubectl does, instead of dropping them.
func (e *Engine) apply(ctx context.Context, it *item, dryRun, force bool) (*unstructured.Unstructured, error) {
	obj := it.obj.DeepCopy()
	utils.RemoveCABundleFromCRD(obj)
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, err
	}
	opts := metav1.PatchOptions{FieldManager: e.FieldManager, Force: &force, FieldValidation: metav1.FieldValidationStrict}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return e.resource(it).Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts)
}

// dryRun fetches the live object, dry-runs the apply and decides the
// action from the difference.
func (e *Engine) dryRun(ctx context.Context, it *item, force bool) error {
	if err := e.get(ctx, it); err != nil {
		return err
	}
	res, err := e.apply(ctx, it, true, force)
	if err != nil {
		return dryRunError(err, it.obj)
	}
	it.dryRun = res
	switch {
	case it.existing == nil:
		it.action = ssa.CreatedAction
	case drifted(it.existing, res, e.FieldManager):
		it.action = ssa.ConfiguredAction
	default:
		it.action = ssa.UnchangedAction
	}
	return nil
}

// dryRunError words an apply error with the object's name; for a conflict
// it adds the way out.
func dryRunError(err error, obj *unstructured.Unstructured) error {
	msg := err.Error()
	if apierrors.IsConflict(err) {
		if _, ok := apierrors.StatusCause(err, metav1.CauseTypeFieldManagerConflict); ok {
			msg += " (rerun with --force-conflicts to take these fields over)"
		}
	}
	return fmt.Errorf("%s: %s", Subject(obj), msg)
}

// drifted reports whether applying would change the object: labels,
// annotations or anything outside metadata and status, compared like
// fluxcd's ResourceManager does. An object whose fields typekro does not
// own yet also counts: applying takes ownership, so later applies can
// remove fields.
func drifted(existing, dry *unstructured.Unstructured, manager string) bool {
	if !apiequality.Semantic.DeepEqual(existing.GetLabels(), dry.GetLabels()) ||
		!apiequality.Semantic.DeepEqual(existing.GetAnnotations(), dry.GetAnnotations()) {
		return true
	}
	owned := false
	for _, mf := range existing.GetManagedFields() {
		if mf.Manager == manager && mf.Operation == metav1.ManagedFieldsOperationApply && mf.Subresource == "" {
			owned = true
		}
	}
	if !owned {
		return true
	}
	a, b := stripped(existing), stripped(dry)
	_ = normalize.DryRunUnstructured(b)
	return !apiequality.Semantic.DeepEqual(a.Object, b.Object)
}

func stripped(u *unstructured.Unstructured) *unstructured.Unstructured {
	c := u.DeepCopy()
	delete(c.Object, "metadata")
	delete(c.Object, "status")
	return c
}

// waitTarget describes an object for the readiness waiter.
func waitTarget(it *item, want string, check readiness.Check) readiness.Target {
	ref := it.obj.GetKind() + "/" + it.obj.GetName()
	if ns := it.obj.GetNamespace(); ns != "" {
		ref += " -n " + ns
	}
	return readiness.Target{GVR: it.mapping.Resource, Namespace: it.obj.GetNamespace(), Name: it.obj.GetName(), Ref: ref, Want: want, Check: check}
}

func (e *Engine) waiter() *readiness.Waiter {
	return &readiness.Waiter{Client: e.Dynamic, Progress: e.Progress}
}

func (e *Engine) printChanges(items []*item, suffix string) {
	if e.Out == nil {
		return
	}
	for _, it := range items {
		fmt.Fprintln(e.Out, it.entry().String()+suffix)
	}
}
