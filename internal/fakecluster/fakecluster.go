// Package fakecluster is the in-memory cluster of the engine unit tests
// (pkg/ssa, pkg/deploy, pkg/direct/live): client-go's fake dynamic client
// with the reactors it lacks. Its object tracker treats an apply patch as
// a strategic merge onto an existing object, ignores dry runs, sets no
// uid, resourceVersion or managed fields, and deletes without checking
// preconditions; the reactors here give server-side apply the semantics
// the engines rely on:
//   - apply creates a missing object (uid, resourceVersion, managed fields
//     for the field manager), replaces the manager's top-level fields of an
//     existing one and merges labels and annotations, and bumps the
//     resourceVersion only when something changed;
//   - a dry run answers the same without storing anything;
//   - fields another manager applied are a conflict without force (the
//     API server's 409 with a FieldManagerConflict cause);
//   - a namespaced object in a namespace that does not exist is NotFound
//     once the test declares namespaces (Namespaces);
//   - delete honours a uid precondition (409 on a mismatch).
//
// Every request is recorded in order (Client.Actions()) for staging-order
// assertions.
package fakecluster

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
)

// Kind is one kind the cluster serves.
type Kind struct {
	GVK        schema.GroupVersionKind
	Resource   string
	Namespaced bool
	// Later kinds are not served until Serve is called (a CRD not
	// established yet, an RGD's kind before KRO accepts it).
	Later bool
}

// Common kinds.
var (
	ConfigMap  = Kind{GVK: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Resource: "configmaps", Namespaced: true}
	Secret     = Kind{GVK: schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, Resource: "secrets", Namespaced: true}
	Namespace  = Kind{GVK: schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, Resource: "namespaces"}
	Deployment = Kind{GVK: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, Resource: "deployments", Namespaced: true}
	CRD        = Kind{GVK: schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}, Resource: "customresourcedefinitions"}
	RGD        = Kind{GVK: schema.GroupVersionKind{Group: "kro.run", Version: "v1alpha1", Kind: "ResourceGraphDefinition"}, Resource: "resourcegraphdefinitions"}
)

// Cluster is a fake cluster: its dynamic client and RESTMapper.
type Cluster struct {
	Client *dynamicfake.FakeDynamicClient
	Mapper *meta.DefaultRESTMapper
	// CheckNamespaces makes objects in namespaces that do not exist
	// NotFound, as the API server does (set by Namespaces).
	CheckNamespaces bool
	// Controller, when set, plays the cluster's controllers: it is called
	// with every object an apply stored and may update it in the tracker
	// (status conditions, generated objects, newly served kinds).
	Controller func(c *Cluster, obj *unstructured.Unstructured)

	mu   sync.Mutex
	next int // uid and resourceVersion counter
}

// New is a cluster serving kinds, holding objs.
func New(kinds []Kind, objs ...*unstructured.Unstructured) *Cluster {
	// The group versions are the mapper's defaults, so kinds map without
	// a version too (as ApplySet prune looks them up).
	var gvs []schema.GroupVersion
	for _, k := range kinds {
		gvs = append(gvs, k.GVK.GroupVersion())
	}
	c := &Cluster{Mapper: meta.NewDefaultRESTMapper(gvs)}
	listKinds := map[schema.GroupVersionResource]string{}
	for _, k := range kinds {
		if !k.Later {
			c.Serve(k)
		}
		listKinds[k.GVR()] = k.GVK.Kind + "List"
	}
	c.Client = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds)
	for _, o := range objs {
		c.Add(o)
	}
	c.Client.PrependReactor("patch", "*", c.apply)
	c.Client.PrependReactor("delete", "*", c.delete)
	c.Client.PrependReactor("create", "*", c.createDryRun)
	return c
}

// GVR is the kind's resource.
func (k Kind) GVR() schema.GroupVersionResource { return k.GVK.GroupVersion().WithResource(k.Resource) }

// Namespaces creates namespaces and turns namespace checks on.
func (c *Cluster) Namespaces(names ...string) {
	c.CheckNamespaces = true
	for _, n := range names {
		ns := &unstructured.Unstructured{}
		ns.SetGroupVersionKind(Namespace.GVK)
		ns.SetName(n)
		c.Add(ns)
	}
}

// Add stores obj as it is, with a uid and resourceVersion when it has none.
func (c *Cluster) Add(obj *unstructured.Unstructured) *unstructured.Unstructured {
	obj = obj.DeepCopy()
	if obj.GetUID() == "" {
		obj.SetUID(types.UID("uid-" + c.count()))
	}
	if obj.GetResourceVersion() == "" {
		obj.SetResourceVersion(c.count())
	}
	m, err := c.Mapper.RESTMapping(obj.GroupVersionKind().GroupKind(), obj.GroupVersionKind().Version)
	if err != nil {
		panic(fmt.Sprintf("fakecluster: %v", err))
	}
	if err := c.Client.Tracker().Create(m.Resource, obj, obj.GetNamespace()); err != nil {
		panic(fmt.Sprintf("fakecluster: %v", err))
	}
	return obj
}

// Get returns the stored object, nil when there is none.
func (c *Cluster) Get(k Kind, ns, name string) *unstructured.Unstructured {
	o, err := c.Client.Tracker().Get(k.GVR(), ns, name)
	if err != nil {
		return nil
	}
	return o.(*unstructured.Unstructured)
}

// Verbs lists the recorded requests as "verb resource ns/name" (watches
// and lists left out), for order assertions.
func (c *Cluster) Verbs(verbs ...string) []string {
	want := map[string]bool{}
	for _, v := range verbs {
		want[v] = true
	}
	var out []string
	for _, a := range c.Client.Actions() {
		if !want[a.GetVerb()] {
			continue
		}
		name := ""
		switch a := a.(type) {
		case clienttesting.PatchAction:
			name = a.GetName()
			if p, ok := a.(clienttesting.PatchActionImpl); ok && len(p.PatchOptions.DryRun) > 0 {
				name += " (dry run)"
			}
		case clienttesting.DeleteAction:
			name = a.GetName()
		case clienttesting.CreateActionImpl:
			if len(a.CreateOptions.DryRun) > 0 {
				name = "(dry run)"
			}
		case clienttesting.GetAction:
			name = a.GetName()
		}
		out = append(out, a.GetVerb()+" "+a.GetResource().Resource+" "+a.GetNamespace()+"/"+name)
	}
	return out
}

func (c *Cluster) count() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	return strconv.Itoa(c.next)
}

func (c *Cluster) apply(action clienttesting.Action) (bool, runtime.Object, error) {
	p := action.(clienttesting.PatchActionImpl)
	if p.GetPatchType() != types.ApplyPatchType {
		return false, nil, nil
	}
	gvr, ns, name := p.GetResource(), p.GetNamespace(), p.GetName()
	applied := &unstructured.Unstructured{}
	if err := json.Unmarshal(p.GetPatch(), &applied.Object); err != nil {
		return true, nil, errors.NewBadRequest(err.Error())
	}
	if c.CheckNamespaces && ns != "" {
		if _, err := c.Client.Tracker().Get(Namespace.GVR(), "", ns); err != nil {
			return true, nil, errors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, ns)
		}
	}
	manager := p.PatchOptions.FieldManager
	force := p.PatchOptions.Force != nil && *p.PatchOptions.Force
	dryRun := len(p.PatchOptions.DryRun) > 0
	cur, err := c.Client.Tracker().Get(gvr, ns, name)
	if errors.IsNotFound(err) {
		obj := applied.DeepCopy()
		obj.SetNamespace(ns)
		obj.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: manager, Operation: metav1.ManagedFieldsOperationApply, APIVersion: obj.GetAPIVersion()}})
		obj.SetUID(types.UID("uid-" + c.count()))
		obj.SetResourceVersion(c.count())
		if !dryRun {
			if err := c.Client.Tracker().Create(gvr, obj, ns); err != nil {
				return true, nil, err
			}
			c.control(obj)
		}
		return true, obj, nil
	}
	if err != nil {
		return true, nil, err
	}
	live := cur.(*unstructured.Unstructured)
	merged := live.DeepCopy()
	var others []string
	for _, mf := range live.GetManagedFields() {
		if mf.Manager != manager && mf.Operation == metav1.ManagedFieldsOperationApply {
			others = append(others, mf.Manager)
		}
	}
	for k, v := range applied.Object {
		if k == "metadata" || k == "status" {
			continue
		}
		if len(others) > 0 && !force && !reflect.DeepEqual(live.Object[k], v) {
			return true, nil, conflict(gvr, name, others[0], k)
		}
		merged.Object[k] = v
	}
	merged.SetLabels(union(live.GetLabels(), applied.GetLabels()))
	merged.SetAnnotations(union(live.GetAnnotations(), applied.GetAnnotations()))
	owned := false
	for _, mf := range live.GetManagedFields() {
		owned = owned || mf.Manager == manager
	}
	if !owned {
		merged.SetManagedFields(append(live.GetManagedFields(), metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationApply, APIVersion: applied.GetAPIVersion()}))
	}
	if reflect.DeepEqual(merged.Object, live.Object) {
		return true, merged, nil
	}
	merged.SetResourceVersion(c.count())
	if !dryRun {
		if err := c.Client.Tracker().Update(gvr, merged, ns); err != nil {
			return true, nil, err
		}
		c.control(merged)
	}
	return true, merged, nil
}

func (c *Cluster) control(obj *unstructured.Unstructured) {
	if c.Controller != nil {
		c.Controller(c, obj.DeepCopy())
	}
}

// Serve adds a kind to the mapper (a CRD became established).
func (c *Cluster) Serve(k Kind) {
	scope := meta.RESTScopeRoot
	if k.Namespaced {
		scope = meta.RESTScopeNamespace
	}
	c.Mapper.AddSpecific(k.GVK, k.GVR(), k.GVK.GroupVersion().WithResource(k.Resource[:len(k.Resource)-1]), scope)
}

// createDryRun answers a dry-run create (with generateName) without
// storing anything; the tracker would store it.
func (c *Cluster) createDryRun(action clienttesting.Action) (bool, runtime.Object, error) {
	a := action.(clienttesting.CreateActionImpl)
	if len(a.CreateOptions.DryRun) == 0 {
		return false, nil, nil
	}
	obj := a.GetObject().(*unstructured.Unstructured).DeepCopy()
	if c.CheckNamespaces && a.GetNamespace() != "" {
		if _, err := c.Client.Tracker().Get(Namespace.GVR(), "", a.GetNamespace()); err != nil {
			return true, nil, errors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, a.GetNamespace())
		}
	}
	if obj.GetName() == "" {
		obj.SetName(obj.GetGenerateName() + "x")
	}
	return true, obj, nil
}

func union(a, b map[string]string) map[string]string {
	if len(a)+len(b) == 0 {
		return nil
	}
	out := maps.Clone(a)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, b)
	return out
}

// conflict is the API server's answer to an apply that would take fields
// another manager owns.
func conflict(gvr schema.GroupVersionResource, name, manager, field string) error {
	err := errors.NewConflict(gvr.GroupResource(), name, fmt.Errorf("Apply failed with 1 conflict: conflict with %q: .%s", manager, field))
	err.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: metav1.CauseTypeFieldManagerConflict, Message: fmt.Sprintf("conflict with %q", manager), Field: "." + field}}
	return err
}

func (c *Cluster) delete(action clienttesting.Action) (bool, runtime.Object, error) {
	d := action.(clienttesting.DeleteActionImpl)
	pre := d.DeleteOptions.Preconditions
	if pre == nil || pre.UID == nil {
		return false, nil, nil
	}
	cur, err := c.Client.Tracker().Get(d.GetResource(), d.GetNamespace(), d.GetName())
	if err != nil {
		return true, nil, err
	}
	if got := cur.(*unstructured.Unstructured).GetUID(); got != *pre.UID {
		return true, nil, errors.NewConflict(d.GetResource().GroupResource(), d.GetName(),
			fmt.Errorf("Precondition failed: UID in precondition: %s, UID in object meta: %s", *pre.UID, got))
	}
	return false, nil, nil // the tracker deletes it
}
