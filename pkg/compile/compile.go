// Package compile checks a loaded input set exactly as KRO would: every
// ResourceGraphDefinition is built with KRO's own graph builder against
// OpenAPI schemas, and every instance is validated and defaulted against the
// CRD KRO would generate for it.
package compile

import (
	"encoding/json"
	"fmt"
	goruntime "runtime"
	"sort"
	"strings"
	"sync"

	"github.com/kubernetes-sigs/kro/api/v1alpha1"
	"github.com/kubernetes-sigs/kro/pkg/graph"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	sigsjson "sigs.k8s.io/json"

	"github.com/typekro/kubectl-typekro/internal/parallel"
	"github.com/typekro/kubectl-typekro/pkg/celexpr"
	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/schemas"
)

// GraphConfig mirrors the KRO controller's default limits.
var GraphConfig = graph.Config{MaxCollectionSize: 1000, MaxCollectionDimensionSize: 10}

// Options tune a compilation.
type Options struct {
	// Namespace is set on namespaced instances that have none (-n).
	Namespace string
	// Registry provides schemas; nil means the embedded built-in schemas.
	// CRDs found in the inputs are added to a copy of it.
	Registry *schemas.Registry
	// Resolver and RESTMapper, when both set, replace the registry for
	// resource kinds (e.g. live discovery with --schemas=cluster).
	Resolver   resolver.SchemaResolver
	RESTMapper meta.RESTMapper
	// CELCostLimit bounds every evaluation of the definitions' expressions
	// (0: celexpr.DefaultCostLimit, celexpr.Unlimited: none).
	CELCostLimit uint64
	// LoadErrors are the problems found while loading the set (the loader
	// keeps every document it could read). They are reported with
	// Compile's own, and a composition they name is not built: building
	// it would only repeat them, and its instances are reported as not
	// checked rather than checked against a half-read definition.
	LoadErrors composition.Errors
}

// Definition is a composition that KRO's builder accepted.
type Definition struct {
	*composition.Composition
	Typed *v1alpha1.ResourceGraphDefinition // with API server defaults applied
	Graph *graph.Graph
	GVK   schema.GroupVersionKind // of its instances
	// Composed maps the ids of nodes whose kind is another definition's
	// instance kind (nested instances, or externalRefs to one) to that
	// definition: direct mode expands or reads them itself, since without
	// KRO no such kind is served.
	Composed map[string]*Definition
	inst     *instanceSchema
}

// Instance is a validated, defaulted instance of a Definition.
type Instance struct {
	Doc        *composition.Document
	Object     *unstructured.Unstructured
	Definition *Definition
}

// Result is the checked model: what render, apply and the KRM function use.
type Result struct {
	Definitions []*Definition
	Instances   []*Instance
	Manifests   []*composition.Document // plain objects of known kinds, passed through
	CRDs        []*composition.Document
}

// Definition finds a definition by instance kind.
func (r *Result) Definition(gvk schema.GroupVersionKind) *Definition {
	for _, d := range r.Definitions {
		if d.GVK == gvk {
			return d
		}
	}
	return nil
}

// Compile checks everything and returns every problem at once as
// composition.Errors; the Result is returned only when there are none.
func Compile(set *composition.Set, opts Options) (*Result, error) {
	reg := opts.Registry
	if reg == nil {
		reg = schemas.Builtin()
	}
	reg = reg.Clone()
	var errs composition.Errors
	res := &Result{CRDs: set.CRDs}
	for _, d := range set.CRDs {
		if err := reg.AddCRDFromUnstructured(d.Unstructured()); err != nil {
			errs = append(errs, d.Errorf("spec", "invalid CustomResourceDefinition: %v", err))
		}
	}

	errs = append(errs, opts.LoadErrors...)
	broken := brokenDocs(opts.LoadErrors)
	var comps []*composition.Composition
	failed := map[schema.GroupVersionKind]*composition.Composition{}
	for _, c := range set.Compositions {
		if broken[docKey{c.Doc.File, c.Doc.Ref()}] {
			failed[c.InstanceGVK()] = c
			continue
		}
		comps = append(comps, c)
	}
	Prewarm()
	if opts.Resolver == nil { // the embedded schemas, not the cluster's
		warmSchemas(comps)
	}
	defs, derrs := buildDefinitions(comps, reg, opts, failed)
	errs = append(errs, derrs...)
	res.Definitions = defs

	byGVK := map[schema.GroupVersionKind]*Definition{}
	kinds := map[schema.GroupKind][]string{}
	for _, d := range defs {
		byGVK[d.GVK] = d
		kinds[d.GVK.GroupKind()] = append(kinds[d.GVK.GroupKind()], d.GVK.Version)
	}
	for _, d := range defs {
		for id, n := range d.Graph.Nodes {
			if c := byGVK[n.Template.GroupVersionKind()]; c != nil && id != graph.InstanceNodeID {
				if d.Composed == nil {
					d.Composed = map[string]*Definition{}
				}
				d.Composed[id] = c
			}
		}
	}
	for _, c := range comps {
		if _, ok := byGVK[c.InstanceGVK()]; !ok && failed[c.InstanceGVK()] == nil {
			failed[c.InstanceGVK()] = c
		}
	}
	unread := unreadDocs(set, opts.LoadErrors)
	checked := checkInstances(set.Others, byGVK, opts.Namespace)
	for i, doc := range set.Others {
		gvk := doc.GVK()
		switch {
		case byGVK[gvk] != nil:
			inst, ierrs := checked[i].inst, checked[i].errs
			errs = append(errs, ierrs...)
			if inst != nil {
				res.Instances = append(res.Instances, inst)
			}
		case failed[gvk] != nil:
			// One line per instance, so none disappears without a word.
			errs = append(errs, doc.Errorf("kind", "not checked: %s, which defines %s, has errors", defRef(failed[gvk]), gvk.Kind))
		case len(kinds[gvk.GroupKind()]) > 0:
			errs = append(errs, doc.Errorf("apiVersion", "%s %s is defined with version %s, not %q", gvk.Kind, gvk.Group, strings.Join(kinds[gvk.GroupKind()], ", "), gvk.Version))
		case reg.Known(gvk):
			res.Manifests = append(res.Manifests, doc)
		default:
			hint := ""
			if len(unread) > 0 {
				hint = fmt.Sprintf("; it may be defined in %s, which could not be read", strings.Join(unread, ", "))
			}
			errs = append(errs, doc.Errorf("kind", "unknown kind %s (apiVersion %s): no Composition, ResourceGraphDefinition or CRD in the inputs defines it (add its CRD to the inputs or --crds DIR)%s", gvk.Kind, doc.APIVersion(), hint))
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

type checkedInstance struct {
	inst *Instance
	errs composition.Errors
}

// checkInstances checks the documents that are instances of a definition
// on every core (each check is independent and most of a large render's
// compile time), indexed like docs so errors keep their input order.
func checkInstances(docs []*composition.Document, byGVK map[schema.GroupVersionKind]*Definition, namespace string) []checkedInstance {
	out := make([]checkedInstance, len(docs))
	parallel.Each(len(docs), func(i int) {
		if def := byGVK[docs[i].GVK()]; def != nil {
			out[i].inst, out[i].errs = checkInstance(docs[i], def, namespace)
		}
	})
	return out
}

// buildDefinitions builds every RGD, in an order where a definition whose
// resources are instances of another definition comes after it (its CRD is
// then known to the registry).
// A definition using the instance kind of one in failed (which did not
// build) is not built either: it gets one error naming the failed one, and
// joins failed.
func buildDefinitions(comps []*composition.Composition, reg *schemas.Registry, opts Options, failed map[schema.GroupVersionKind]*composition.Composition) ([]*Definition, composition.Errors) {
	var errs composition.Errors
	seen := map[string]*composition.Document{}
	pendingGVK := map[schema.GroupVersionKind]bool{}
	var pending []*composition.Composition
	for _, c := range comps {
		if prev, dup := seen[c.Name()]; dup {
			errs = append(errs, c.Doc.Errorf("metadata.name", "duplicate definition name %q (also in %s)", c.Name(), prev.File))
			continue
		}
		seen[c.Name()] = c.Doc
		gvk := c.InstanceGVK()
		if pendingGVK[gvk] {
			errs = append(errs, c.Doc.Errorf("spec.schema.kind", "%s is defined twice", gvk))
			continue
		}
		pendingGVK[gvk] = true
		pending = append(pending, c)
	}

	var defs []*Definition
	for len(pending) > 0 {
		var next, ready []*composition.Composition
		for _, c := range pending {
			if waitsFor(c, pendingGVK, reg) {
				next = append(next, c)
			} else {
				ready = append(ready, c)
			}
		}
		// KRO's builder spends most of its time creating CEL environments;
		// definitions of one round are independent, so build them in parallel.
		built := make([]*Definition, len(ready))
		berrs := make([]composition.Errors, len(ready))
		var wg sync.WaitGroup
		sem := make(chan struct{}, goruntime.GOMAXPROCS(0))
		for i, c := range ready {
			if dep, id := usesFailed(c, failed, reg); dep != nil {
				berrs[i] = composition.Errors{c.Doc.Errorf(resourcePath(c, id), "not checked: resource %q is a %s, and %s, which defines it, has errors", id, dep.InstanceGVK().Kind, defRef(dep))}
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				defer func() {
					// A crash in KRO's builder on some input must name that
					// input, not end the process with a stack trace.
					if p := recover(); p != nil {
						built[i], berrs[i] = nil, composition.Errors{c.Doc.Errorf("spec", "internal error while checking this definition: %v", p)}
					}
				}()
				built[i], berrs[i] = build(c, reg, opts)
			}()
		}
		wg.Wait()
		for i, c := range ready {
			delete(pendingGVK, c.InstanceGVK())
			errs = append(errs, berrs[i]...)
			d := built[i]
			if d == nil {
				if failed[c.InstanceGVK()] == nil {
					failed[c.InstanceGVK()] = c
				}
				continue
			}
			defs = append(defs, d)
			if err := reg.AddCRD(d.Graph.CRD); err != nil {
				errs = append(errs, c.Doc.Errorf("spec.schema", "generated CRD: %v", err))
			}
		}
		if len(ready) == 0 {
			for _, c := range next {
				errs = append(errs, c.Doc.Errorf("spec.resources", "uses instances of definitions that use its own kind: definitions depend on each other in a cycle"))
			}
			break
		}
		pending = next
	}
	sort.SliceStable(defs, func(i, j int) bool { return defs[i].Name() < defs[j].Name() })
	return defs, errs
}

// waitsFor reports whether c uses a kind defined by a not-yet-built definition.
func waitsFor(c *composition.Composition, pending map[schema.GroupVersionKind]bool, reg *schemas.Registry) bool {
	for _, gvk := range composition.ResourceGVKs(c.RGD) {
		if pending[gvk] && gvk != c.InstanceGVK() && !reg.Known(gvk) {
			return true
		}
	}
	return false
}

func build(c *composition.Composition, reg *schemas.Registry, opts Options) (*Definition, composition.Errors) {
	typed, errs := toTyped(c)
	if typed == nil {
		return nil, errs
	}
	var res resolver.SchemaResolver = reg
	var mapper meta.RESTMapper = reg.RESTMapper()
	if opts.Resolver != nil && opts.RESTMapper != nil {
		res, mapper = opts.Resolver, opts.RESTMapper
	}
	b, err := graph.NewBuilder(nil, nil, graph.WithSchemaResolver(res), graph.WithRESTMapper(mapper))
	if err != nil {
		return nil, append(errs, c.Doc.Errorf("", "%v", err))
	}
	g, err := b.NewResourceGraphDefinition(typed, GraphConfig)
	if err != nil {
		first := locate(c, err)
		errs = append(errs, first)
		return nil, append(errs, moreGraphErrors(c, typed, b, first)...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if cerrs := checkCRD(c, g.CRD); len(cerrs) > 0 {
		return nil, cerrs
	}
	if err := celexpr.LimitGraph(g, opts.CELCostLimit); err != nil {
		return nil, composition.Errors{c.Doc.Errorf("spec.resources", "CEL cost limit: %v", err)}
	}
	celexpr.ShareSchemas(g)
	d := &Definition{Composition: c, Typed: typed, Graph: g, GVK: c.InstanceGVK()}
	inst, err := newInstanceSchema(g.CRD)
	if err != nil {
		return nil, composition.Errors{c.Doc.Errorf("spec.schema", "generated CRD schema: %v", err)}
	}
	d.inst = inst
	return d, nil
}

// toTyped decodes the RGD strictly (a misspelled field is an error, not a
// silently dropped key) and applies the API server's defaults.
func toTyped(c *composition.Composition) (*v1alpha1.ResourceGraphDefinition, composition.Errors) {
	var errs composition.Errors
	data, err := json.Marshal(c.RGD)
	if err != nil {
		return nil, composition.Errors{c.Doc.Errorf("", "%v", err)}
	}
	typed := &v1alpha1.ResourceGraphDefinition{}
	strict, err := sigsjson.UnmarshalStrict(data, typed)
	if err != nil {
		return nil, composition.Errors{c.Doc.Errorf("spec", "%v", err)}
	}
	for _, se := range strict {
		path, msg := strictPath(se)
		if !c.FromRGD {
			path = sourcePath(c, path)
		}
		errs = append(errs, c.Doc.Errorf(path, "%s", msg))
	}
	if typed.Spec.Schema == nil {
		errs = append(errs, c.Doc.Errorf("spec.schema", "required: the schema of the new API (apiVersion, kind, spec)"))
		return nil, errs
	}
	if typed.Spec.Schema.Group == "" {
		typed.Spec.Schema.Group = composition.DefaultGroup
	}
	if typed.Spec.Schema.Scope == "" {
		typed.Spec.Schema.Scope = v1alpha1.ResourceScopeNamespaced
	}
	return typed, errs
}

// strictPath turns `unknown field "spec.resources[0].readyWhn"` into a path and message.
func strictPath(err error) (string, string) {
	msg := err.Error()
	if i := strings.Index(msg, `"`); i >= 0 {
		if j := strings.LastIndex(msg, `"`); j > i {
			return msg[i+1 : j], msg
		}
	}
	return "", msg
}

// sourcePath maps a path in the generated RGD back to the composition.
func sourcePath(c *composition.Composition, rgdPath string) string {
	const prefix = "spec.resources["
	if strings.HasPrefix(rgdPath, prefix) {
		var idx int
		if _, err := fmt.Sscanf(rgdPath[len(prefix):], "%d]", &idx); err == nil && idx < len(c.Resources) {
			rest := rgdPath[strings.Index(rgdPath, "]")+1:]
			src := c.Resources[idx]
			if t := strings.TrimPrefix(rest, ".template"); t != rest {
				return src.TemplatePath + t
			}
			return src.Path + rest
		}
	}
	if strings.HasPrefix(rgdPath, "spec.schema.") {
		for _, k := range []string{"spec", "status", "types"} {
			if strings.HasPrefix(rgdPath, "spec.schema."+k) {
				return rgdPath
			}
		}
		return "spec." + strings.TrimPrefix(rgdPath, "spec.schema.")
	}
	return rgdPath
}
