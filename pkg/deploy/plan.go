package deploy

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/render"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

// Definition is what the engine needs to know about an RGD in the inputs.
type Definition struct {
	Name       string // the RGD's name
	CRDName    string // the CRD KRO generates: <plural>.<group>
	GVK        schema.GroupVersionKind
	Namespaced bool
	// Uses are the kinds its resources create or reference; an RGD using
	// another RGD's kind is applied after that one is Active, because KRO
	// resolves the schema of every kind when it accepts a graph.
	Uses []schema.GroupVersionKind
	// CRD is the CRD KRO generates: apply waits until the cluster serves
	// its schema before it applies instances.
	CRD *extv1.CustomResourceDefinition
}

// Set is a compiled set of objects to apply, diff or delete.
type Set struct {
	Objects     []render.Object
	Definitions []Definition
}

// NewSet takes kro-mode objects and definitions from a compile result.
func NewSet(res *compile.Result) *Set {
	s := &Set{Objects: render.KroObjects(res)}
	for _, d := range res.Definitions {
		def := Definition{Name: d.Name(), GVK: d.GVK, Namespaced: true}
		if d.Graph != nil && d.Graph.CRD != nil {
			def.CRDName = d.Graph.CRD.Name
			def.CRD = d.Graph.CRD
			def.Namespaced = d.Graph.CRD.Spec.Scope != "Cluster"
		}
		def.Uses = composition.ResourceGVKs(d.RGD)
		s.Definitions = append(s.Definitions, def)
	}
	return s
}

// provider says which object of the set makes a kind servable.
type provider struct {
	name       string // "CustomResourceDefinition/x" or "ResourceGraphDefinition/y"
	namespaced bool
	rgd        string // RGD name when an RGD provides it
	crd        string // CRD name when a CRD in the inputs provides it
}

func (s *Set) providers() map[schema.GroupVersionKind]provider {
	out := map[schema.GroupVersionKind]provider{}
	for _, d := range s.Definitions {
		out[d.GVK] = provider{name: "ResourceGraphDefinition/" + d.Name, namespaced: d.Namespaced, rgd: d.Name}
	}
	for _, o := range s.Objects {
		if o.Role != render.RoleCRD {
			continue
		}
		u := o.Object
		group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(u.Object, "spec", "scope")
		versions, _, _ := unstructured.NestedSlice(u.Object, "spec", "versions")
		for _, v := range versions {
			vm, _ := v.(map[string]any)
			name, _ := vm["name"].(string)
			out[schema.GroupVersionKind{Group: group, Version: name, Kind: kind}] = provider{
				name: "CustomResourceDefinition/" + u.GetName(), namespaced: scope != "Cluster", crd: u.GetName()}
		}
	}
	return out
}

// plan is a set resolved against the cluster.
type plan struct {
	items      []*item
	providers  map[schema.GroupVersionKind]provider
	namespaces []*item // namespaces to create (--create-namespace)
}

func (p *plan) byRole(roles ...render.Role) []*item {
	var out []*item
	for _, it := range p.items {
		for _, r := range roles {
			if it.role == r {
				out = append(out, it)
			}
		}
	}
	return out
}

// createsNamespace reports whether the plan creates namespace ns.
func (p *plan) createsNamespace(ns string) bool {
	for _, it := range append(append([]*item{}, p.namespaces...), p.byRole(render.RoleNamespace)...) {
		if it.Obj.GetName() == ns && it.Live == nil {
			return true
		}
	}
	return false
}

// planOptions are shared by apply and diff.
type planOptions struct {
	Force            bool
	CreateNamespaces bool
}

// prepare maps every object, checks its namespace and dry-runs everything
// that can be dry-run now. The dry-run goes in two rounds: first the
// definitions layer (CRDs, namespaces, RGDs), then the rest, so an object
// whose CRD or RGD changes in this apply is known to be deferred before
// its dry-run could fail against the schema that is about to be replaced.
// Every error is collected; the caller writes nothing when there is one.
func (e *Engine) prepare(ctx context.Context, set *Set, o planOptions) (*plan, error) {
	p := &plan{providers: set.providers()}
	var errs []string
	for _, ro := range set.Objects {
		it := &item{Object: ssa.Object{Obj: ro.Object.DeepCopy()}, role: ro.Role}
		served, err := e.Map(&it.Object)
		if err != nil {
			return nil, err
		}
		if !served {
			pr, ok := p.providers[it.Obj.GroupVersionKind()]
			if !ok {
				errs = append(errs, fmt.Sprintf("%s: the cluster does not serve %s and no CRD or RGD in the inputs defines it", Subject(it.Obj), it.Obj.GroupVersionKind()))
				continue
			}
			it.Namespaced = pr.namespaced
			if it.Namespaced && it.Obj.GetNamespace() == "" {
				it.Obj.SetNamespace(e.DefaultNamespace)
			}
			it.deferred = "its kind is served only once " + pr.name + " is applied"
		}
		p.items = append(p.items, it)
	}
	errs = append(errs, e.checkNamespaces(ctx, p, o.CreateNamespaces)...)

	first := p.byRole(render.RoleCRD, render.RoleNamespace, render.RoleRGD)
	errs = append(errs, e.dryRunAll(ctx, first, o.Force)...)
	changed := map[string]bool{} // providers whose object changes
	for _, it := range first {
		if it.Action != ssa.UnchangedAction {
			changed[it.Obj.GetKind()+"/"+it.Obj.GetName()] = true
		}
	}
	rest := p.byRole(render.RoleResource, render.RoleInstance)
	for _, it := range rest {
		// A kind served by a CRD KRO left behind (or an older RGD version)
		// is about to change: neither a dry run nor a preflight against it
		// means anything yet.
		if pr, ok := p.providers[it.Obj.GroupVersionKind()]; ok && it.Mapping != nil && changed[pr.name] {
			if it.deferred == "" {
				it.deferred = "its definition " + pr.name + " changes in this apply"
			}
			it.byDefinition = true
		}
	}
	errs = append(errs, e.dryRunAll(ctx, rest, o.Force)...)
	errs = append(errs, e.preflightAll(ctx, p.items)...)
	if len(errs) > 0 {
		sort.Strings(errs)
		return p, &InvalidError{Errors: errs}
	}
	return p, nil
}

// InvalidError lists every object the server refused in a dry run, or
// that cannot be applied to this cluster at all.
type InvalidError struct{ Errors []string }

func (e *InvalidError) Error() string {
	return fmt.Sprintf("%d object(s) rejected by the server:\n  %s", len(e.Errors), strings.Join(e.Errors, "\n  "))
}

// checkNamespaces makes sure every namespace the set uses exists or will:
// objects in a namespace created by this apply are deferred, since a dry
// run in a missing namespace fails.
func (e *Engine) checkNamespaces(ctx context.Context, p *plan, create bool) []string {
	inSet := map[string]bool{}
	for _, it := range p.items {
		if it.role == render.RoleNamespace {
			inSet[it.Obj.GetName()] = true
		}
	}
	users := map[string][]*item{}
	var names []string
	for _, it := range p.items {
		if ns := it.Obj.GetNamespace(); it.Namespaced && ns != "" {
			if users[ns] == nil {
				names = append(names, ns)
			}
			users[ns] = append(users[ns], it)
		}
	}
	sort.Strings(names)
	nsGVR := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	var errs []string
	for _, ns := range names {
		_, err := e.Dynamic.Resource(nsGVR).Get(ctx, ns, metav1.GetOptions{})
		switch {
		case err == nil:
			continue
		case !apierrors.IsNotFound(err):
			errs = append(errs, fmt.Sprintf("namespace %s: %v", ns, err))
			continue
		case !inSet[ns] && !create:
			errs = append(errs, fmt.Sprintf("namespace %q not found (used by %s); create it or pass --create-namespace", ns, Subject(users[ns][0].Obj)))
			continue
		case !inSet[ns]:
			nsObj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}
			it := &item{Object: ssa.Object{Obj: nsObj, Action: ssa.CreatedAction}, role: render.RoleNamespace}
			if _, err := e.Map(&it.Object); err != nil {
				errs = append(errs, err.Error())
				continue
			}
			p.namespaces = append(p.namespaces, it)
		}
		for _, it := range users[ns] {
			if it.deferred == "" {
				it.deferred = "its namespace " + ns + " is created by this apply"
				it.newNamespace = true
			}
		}
	}
	return errs
}

// dryRunAll dry-runs the items that are not deferred, a few at a time.
func (e *Engine) dryRunAll(ctx context.Context, items []*item, force bool) []string {
	var (
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 8)
	)
	for _, it := range items {
		if it.deferred != "" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := e.DryRun(ctx, &it.Object, force); err != nil {
				mu.Lock()
				errs = append(errs, err.Error())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

// preflightAll checks objects whose namespace this apply creates. They
// cannot be dry-run where they will live, since a dry run in a missing
// namespace fails; so the server validates them with a dry-run create
// (nothing is stored) in an existing namespace, under a generated name
// that cannot collide. That runs the kind's validation and admission —
// everything but namespace-specific policy — before anything is written;
// the real dry run follows once the namespace exists.
func (e *Engine) preflightAll(ctx context.Context, items []*item) []string {
	var errs []string
	for _, it := range items {
		if !it.newNamespace || it.Mapping == nil || it.byDefinition {
			continue
		}
		if err := e.CreateDryRun(ctx, &it.Object, e.scratchNamespace()); err != nil {
			errs = append(errs, err.Error())
		}
	}
	return errs
}

// scratchNamespace is where preflight dry runs go: "default", which every
// cluster has (a NotFound there just skips the preflight).
func (e *Engine) scratchNamespace() string { return "default" }

// rgdWaves orders the RGD items so that an RGD comes after the RGDs whose
// kinds it uses.
func rgdWaves(items []*item, defs []Definition) [][]*item {
	byName := map[string]Definition{}
	kindOf := map[schema.GroupVersionKind]string{}
	for _, d := range defs {
		byName[d.Name] = d
		kindOf[d.GVK] = d.Name
	}
	done := map[string]bool{}
	var waves [][]*item
	pending := items
	for len(pending) > 0 {
		var wave, next []*item
		for _, it := range pending {
			ready := true
			for _, u := range byName[it.Obj.GetName()].Uses {
				if dep, ok := kindOf[u]; ok && dep != it.Obj.GetName() && !done[dep] && inItems(pending, dep) {
					ready = false
				}
			}
			if ready {
				wave = append(wave, it)
			} else {
				next = append(next, it)
			}
		}
		if len(wave) == 0 { // a cycle, which compile rejects; apply the rest together
			wave, next = next, nil
		}
		for _, it := range wave {
			done[it.Obj.GetName()] = true
		}
		waves = append(waves, wave)
		pending = next
	}
	return waves
}

func inItems(items []*item, name string) bool {
	for _, it := range items {
		if it.Obj.GetName() == name {
			return true
		}
	}
	return false
}
