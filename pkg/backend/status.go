package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/typekro/kubectl-typekro/pkg/bootstrap"
	"github.com/typekro/kubectl-typekro/pkg/deploy"
	"github.com/typekro/kubectl-typekro/pkg/readiness"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// RGDResource is KRO's ResourceGraphDefinition resource.
var RGDResource = schema.GroupVersionResource{Group: "kro.run", Version: "v1alpha1", Resource: "resourcegraphdefinitions"}

// ErrNoObjects: the arguments matched nothing.
var ErrNoObjects = errors.New("no objects found")

// ref is one object to show.
type ref struct {
	gvr             schema.GroupVersionResource
	namespace, name string
	desc            string
	obj             *unstructured.Unstructured
}

// collection is a kind (in a namespace, or all) that --watch follows.
type collection struct {
	gvr       schema.GroupVersionResource
	namespace string
}

// Status reads what KRO reports for the RGDs and instances of Inputs, the
// objects named by Args, or (neither) every RGD of the cluster plus KRO's
// own installation.
func (k *Kro) Status(ctx context.Context, o StatusOptions) (*StatusResult, error) {
	if err := needCluster(k.e); err != nil {
		return nil, err
	}
	out := &StatusResult{}
	var refs []*ref
	var follow []collection
	var err error
	switch {
	case o.Inputs != nil:
		refs, out.Missing, err = k.fromInputs(ctx, o)
	case len(o.Args) > 0:
		if o.Watch {
			// `status KIND --watch` follows the whole collection, so objects
			// created after it starts are shown too.
			if follow, err = k.collections(o); err != nil {
				return nil, err
			}
		}
		refs, err = fromArgs(o)
		if err != nil && len(follow) > 0 && errors.Is(err, ErrNoObjects) {
			refs, err = nil, nil
		}
	default:
		out.RGDList = true
		if o.Watch {
			follow = []collection{{gvr: RGDResource}}
		} else {
			// Whether KRO itself is installed, and at which version, first.
			// Not being allowed to list Deployments must not hide the RGDs.
			inst, ierr := bootstrap.Installed(ctx, k.e.Dynamic)
			out.KRO, out.KROErr = &inst, ierr
		}
		refs, err = k.allRGDs(ctx)
	}
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		out.Objects = append(out.Objects, r.obj)
	}
	if o.Watch {
		out.Follow = func(ctx context.Context, onChange func(Event)) {
			if len(follow) > 0 {
				k.watchCollections(ctx, follow, refs, onChange)
			} else {
				k.watch(ctx, refs, onChange)
			}
		}
	}
	return out, nil
}

// fromInputs finds the RGDs and instances of the inputs in the cluster.
func (k *Kro) fromInputs(ctx context.Context, o StatusOptions) ([]*ref, []string, error) {
	var refs []*ref
	var missing []string
	for _, ro := range deploy.NewSet(o.Inputs).Objects {
		if ro.Role != render.RoleRGD && ro.Role != render.RoleInstance {
			continue
		}
		u := ro.Object
		gvk := u.GroupVersionKind()
		m, err := k.e.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s: not found (the cluster does not serve %s)", readiness.Ref(u), gvk))
			continue
		}
		r := &ref{gvr: m.Resource, name: u.GetName(), desc: readiness.Ref(u)}
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			r.namespace = u.GetNamespace()
			if r.namespace == "" {
				r.namespace = o.Namespace
			}
		}
		live, err := k.e.Dynamic.Resource(r.gvr).Namespace(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			missing = append(missing, r.desc+": not found")
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		r.obj = live
		refs = append(refs, r)
	}
	return refs, missing, nil
}

// fromArgs resolves kubectl-style arguments with live discovery, as
// kubectl get does (cli-runtime's resource builder).
func fromArgs(o StatusOptions) ([]*ref, error) {
	b := resource.NewBuilder(o.Getter).Unstructured().
		NamespaceParam(o.Namespace).DefaultNamespace().AllNamespaces(o.AllNamespaces).
		ResourceTypeOrNameArgs(true, o.Args...).ContinueOnError().Latest().Flatten()
	infos, err := b.Do().Infos()
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, err
		}
		return nil, &ArgumentError{Err: err}
	}
	var refs []*ref
	for _, info := range infos {
		u, ok := info.Object.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		refs = append(refs, &ref{gvr: info.Mapping.Resource, namespace: info.Namespace, name: info.Name, desc: readiness.Ref(u), obj: u})
	}
	if len(refs) == 0 {
		return nil, ErrNoObjects
	}
	return refs, nil
}

// collections maps `status KIND[,KIND...] --watch` to what to follow; named
// objects (KIND/NAME, KIND NAME) are watched one by one instead.
func (k *Kro) collections(o StatusOptions) ([]collection, error) {
	if len(o.Args) != 1 || strings.Contains(o.Args[0], "/") {
		return nil, nil
	}
	var out []collection
	for _, kind := range strings.Split(o.Args[0], ",") {
		gvr, err := k.e.Mapper.ResourceFor(schema.ParseGroupResource(kind).WithVersion(""))
		if err != nil {
			return nil, &ArgumentError{Err: fmt.Errorf("%s: %w", kind, err)}
		}
		c := collection{gvr: gvr}
		if !o.AllNamespaces && k.namespaced(gvr) {
			c.namespace = o.Namespace
		}
		out = append(out, c)
	}
	return out, nil
}

func (k *Kro) namespaced(gvr schema.GroupVersionResource) bool {
	gvk, err := k.e.Mapper.KindFor(gvr)
	if err != nil {
		return true
	}
	m, err := k.e.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	return err != nil || m.Scope.Name() == meta.RESTScopeNameNamespace
}

func (k *Kro) allRGDs(ctx context.Context) ([]*ref, error) {
	list, err := k.e.Dynamic.Resource(RGDResource).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var refs []*ref
	for i := range list.Items {
		u := &list.Items[i]
		refs = append(refs, &ref{gvr: RGDResource, name: u.GetName(), desc: readiness.Ref(u), obj: u})
	}
	return refs, nil
}

// watchCollections reports an object of the followed kinds whenever it
// appears, changes its generation or status, or is deleted; shown is what
// was reported already.
func (k *Kro) watchCollections(ctx context.Context, follow []collection, shown []*ref, onChange func(Event)) {
	var mu sync.Mutex
	last := map[string]string{} // id → statusKey, "gone" once deleted
	desc := map[string]string{}
	id := func(gvr schema.GroupVersionResource, u *unstructured.Unstructured) string {
		return gvr.String() + "|" + u.GetNamespace() + "/" + u.GetName()
	}
	for _, r := range shown {
		last[id(r.gvr, r.obj)] = statusKey(r.obj)
		desc[id(r.gvr, r.obj)] = r.desc
	}
	var wg sync.WaitGroup
	for _, c := range follow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prefix := c.gvr.String() + "|"
			readiness.WatchList(ctx, k.e.Dynamic, c.gvr, c.namespace, labels.Everything(), func(objs []*unstructured.Unstructured) {
				mu.Lock()
				defer mu.Unlock()
				present := map[string]bool{}
				for _, u := range objs {
					key := id(c.gvr, u)
					present[key] = true
					if sk := statusKey(u); last[key] != sk {
						last[key], desc[key] = sk, readiness.Ref(u)
						onChange(Event{Object: u, Desc: desc[key]})
					}
				}
				var gone []string
				for key, v := range last {
					if strings.HasPrefix(key, prefix) && !present[key] && v != "gone" && (c.namespace == "" || strings.HasPrefix(key, prefix+c.namespace+"/")) {
						gone = append(gone, key)
					}
				}
				sort.Strings(gone)
				for _, key := range gone {
					last[key] = "gone"
					onChange(Event{Desc: desc[key]})
				}
			})
		}()
	}
	wg.Wait()
}

// watch reports an object again whenever its generation or status changes.
func (k *Kro) watch(ctx context.Context, refs []*ref, onChange func(Event)) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, r := range refs {
		last := statusKey(r.obj)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = readiness.Watch(ctx, k.e.Dynamic, r.gvr, r.namespace, r.name, func(u *unstructured.Unstructured) bool {
				mu.Lock()
				defer mu.Unlock()
				if u == nil {
					if last != "gone" {
						last = "gone"
						onChange(Event{Desc: r.desc})
					}
					return false
				}
				if key := statusKey(u); key != last {
					last = key
					onChange(Event{Object: u, Desc: r.desc})
				}
				return false
			})
		}()
	}
	wg.Wait()
}

// statusKey changes when what status shows changes.
func statusKey(u *unstructured.Unstructured) string {
	if u == nil {
		return "gone"
	}
	st, _ := json.Marshal(u.Object["status"])
	return fmt.Sprintf("%d/%v/%s", u.GetGeneration(), u.GetDeletionTimestamp() != nil, st)
}
