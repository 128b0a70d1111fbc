// Package schemas resolves the OpenAPI v3 schema and the REST mapping of
// Kubernetes kinds without a cluster, so that KRO's graph builder can
// type-check a ResourceGraphDefinition offline:
//
//	reg := schemas.Builtin().Clone()
//	_ = reg.AddCRD(crd) // custom kinds the RGD uses
//	b, _ := graph.NewBuilder(nil, nil,
//		graph.WithSchemaResolver(reg), graph.WithRESTMapper(reg.RESTMapper()))
//
// The built-in kinds come from the OpenAPI v3 spec that the Kubernetes release
// KRO is built against publishes (api/openapi-spec/v3 of k8s.io/kubernetes
// KubernetesVersion), trimmed of descriptions, embedded in data/ and decoded
// on first use (see gen/). v3 matters: int-or-string fields such as a Service
// targetPort accept both 80 and "http", which the v2 spec gets wrong. Schemas
// of custom kinds are built from their CustomResourceDefinition the way the
// apiextensions-apiserver publishes them (structural schema, unfolded,
// converted with Structural.ToKubeOpenAPI, plus ObjectMeta, apiVersion and
// kind). $refs of both are populated with k8s.io/apiserver's
// resolver.PopulateRefs, so a resolved schema is the one
// resolver.ClientDiscoveryResolver (what KRO uses against a live cluster)
// returns, minus descriptions.
//
// ClusterResolver gives the live equivalent for --schemas=cluster.
package schemas

//go:generate go run ./gen -k8s v1.36.3 -out data

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// KubernetesVersion is the Kubernetes release whose OpenAPI v3 spec the
// built-in schemas are generated from (the one KRO v0.9.4 is built against).
const KubernetesVersion = "v1.36.3"

// ErrUnknownKind is wrapped by the errors ResolveSchema returns for a kind that
// is neither built in nor defined by an added CRD. Such errors also match
// resolver.ErrSchemaNotFound, as the SchemaResolver contract asks.
var ErrUnknownKind = errors.New("unknown kind")

// UnknownKindError reports a kind that is neither built in nor defined by an
// added CRD. errors.Is matches it with ErrUnknownKind and
// resolver.ErrSchemaNotFound.
type UnknownKindError struct {
	GVK schema.GroupVersionKind
	// Alternatives are the apiVersions under which a kind of the same name is
	// known, if any (another version of the group, or another group).
	Alternatives []string
}

func (e *UnknownKindError) Error() string {
	msg := fmt.Sprintf("unknown kind %q (apiVersion %q): not a built-in Kubernetes %s kind and no CustomResourceDefinition for it was loaded",
		e.GVK.Kind, e.GVK.GroupVersion().String(), KubernetesVersion)
	if len(e.Alternatives) > 0 {
		msg += fmt.Sprintf("; kind %s is known with apiVersion %s", e.GVK.Kind, strings.Join(e.Alternatives, ", "))
	}
	return msg + "; pass its CRD with --crds DIR"
}

// Is makes errors.Is(err, ErrUnknownKind) and
// errors.Is(err, resolver.ErrSchemaNotFound) true.
func (e *UnknownKindError) Is(target error) bool {
	return target == ErrUnknownKind || target == resolver.ErrSchemaNotFound
}

// Registry resolves schemas and REST mappings of the built-in kinds plus the
// kinds of the CRDs added to it. It implements resolver.SchemaResolver.
// A Registry is safe for concurrent use. Resolved schemas are shared and must
// not be mutated.
type Registry struct {
	mu     sync.RWMutex
	crds   map[schema.GroupVersionKind]*crdKind
	mapper *meta.DefaultRESTMapper // nil when it must be rebuilt
}

var _ resolver.SchemaResolver = (*Registry)(nil)

// Builtin returns a Registry of the built-in Kubernetes kinds. The embedded
// data is decoded on first use, not at process start. Every call returns a
// new Registry (all share the decoded built-in data), so adding CRDs to one
// never affects another.
func Builtin() *Registry {
	return &Registry{crds: map[schema.GroupVersionKind]*crdKind{}}
}

// Clone returns a copy of r that can be given more CRDs without changing r.
// It is cheap: the built-in data and the schemas already resolved are shared.
func (r *Registry) Clone() *Registry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c := &Registry{crds: make(map[schema.GroupVersionKind]*crdKind, len(r.crds)), mapper: r.mapper}
	for k, v := range r.crds {
		c.crds[k] = v
	}
	return c
}

// Known reports whether gvk is a built-in kind or a kind of an added CRD
// (ResolveSchema and the RESTMapper both succeed for it).
func (r *Registry) Known(gvk schema.GroupVersionKind) bool {
	r.mu.RLock()
	_, ok := r.crds[gvk]
	r.mu.RUnlock()
	if ok {
		return true
	}
	_, ok = builtinKind(gvk)
	return ok
}

// ResolveSchema returns the OpenAPI v3 schema of gvk with every $ref
// populated, as the API server publishes it (descriptions trimmed from
// built-in kinds). CRD kinds include metadata (ObjectMeta), apiVersion and
// kind like the apiextensions-apiserver publishes them. An unknown kind gives
// an *UnknownKindError (errors.Is ErrUnknownKind).
func (r *Registry) ResolveSchema(gvk schema.GroupVersionKind) (*spec.Schema, error) {
	r.mu.RLock()
	c, ok := r.crds[gvk]
	r.mu.RUnlock()
	if ok {
		return c.resolve()
	}
	if k, ok := builtinKind(gvk); ok {
		return resolveBuiltin(k)
	}
	return nil, r.unknown(gvk)
}

// unknown builds the error for an unknown kind, listing the apiVersions under
// which a kind of the same name is known.
func (r *Registry) unknown(gvk schema.GroupVersionKind) error {
	seen := map[string]bool{}
	add := func(g schema.GroupVersionKind) {
		if g.Kind == gvk.Kind && g != gvk {
			seen[g.GroupVersion().String()] = true
		}
	}
	for _, k := range builtinKinds() {
		add(k.gvk())
	}
	r.mu.RLock()
	for g := range r.crds {
		add(g)
	}
	r.mu.RUnlock()
	alts := make([]string, 0, len(seen))
	for a := range seen {
		alts = append(alts, a)
	}
	sort.Strings(alts)
	return &UnknownKindError{GVK: gvk, Alternatives: alts}
}
