package schemas

import (
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
)

// RESTMapper returns a RESTMapper of the built-in kinds and the added CRDs'
// kinds, with their plural resource names and scopes. It follows the
// registry: CRDs added later are mapped too.
func (r *Registry) RESTMapper() meta.RESTMapper {
	return &registryMapper{r: r}
}

// snapshot returns the current mapper, rebuilding it after AddCRD. A built
// mapper is never changed, so clones may share it.
func (r *Registry) snapshot() *meta.DefaultRESTMapper {
	r.mu.RLock()
	m := r.mapper
	r.mu.RUnlock()
	if m != nil {
		return m
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mapper == nil {
		r.mapper = r.buildMapper()
	}
	return r.mapper
}

// buildMapper must be called with r.mu held.
func (r *Registry) buildMapper() *meta.DefaultRESTMapper {
	type mapping struct {
		gvk                schema.GroupVersionKind
		resource, singular string
		namespaced         bool
	}
	var all []mapping
	for _, k := range builtinKinds() {
		if _, overridden := r.crds[k.gvk()]; overridden {
			continue
		}
		all = append(all, mapping{k.gvk(), k.Resource, "", k.Namespaced})
	}
	for gvk, k := range r.crds {
		all = append(all, mapping{gvk, k.resource, k.singular, k.namespaced})
	}

	// Preferred order of group-versions: by group, then the Kubernetes
	// version priority (v2 > v1 > v1beta1 > v1alpha1), as discovery orders them.
	seen := map[schema.GroupVersion]bool{}
	var gvs []schema.GroupVersion
	for _, m := range all {
		if gv := m.gvk.GroupVersion(); !seen[gv] {
			seen[gv] = true
			gvs = append(gvs, gv)
		}
	}
	sort.Slice(gvs, func(i, j int) bool {
		if gvs[i].Group != gvs[j].Group {
			return gvs[i].Group < gvs[j].Group
		}
		return version.CompareKubeAwareVersionStrings(gvs[i].Version, gvs[j].Version) > 0
	})
	m := meta.NewDefaultRESTMapper(gvs)
	for _, e := range all {
		scope := meta.RESTScopeRoot
		if e.namespaced {
			scope = meta.RESTScopeNamespace
		}
		singular := e.singular
		if singular == "" {
			singular = strings.ToLower(e.gvk.Kind)
		}
		m.AddSpecific(e.gvk,
			e.gvk.GroupVersion().WithResource(e.resource),
			e.gvk.GroupVersion().WithResource(singular),
			scope)
	}
	return m
}

// registryMapper delegates to the registry's current snapshot.
type registryMapper struct {
	r *Registry
}

var _ meta.RESTMapper = (*registryMapper)(nil)

func (m *registryMapper) KindFor(resource schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	return m.r.snapshot().KindFor(resource)
}

func (m *registryMapper) KindsFor(resource schema.GroupVersionResource) ([]schema.GroupVersionKind, error) {
	return m.r.snapshot().KindsFor(resource)
}

func (m *registryMapper) ResourceFor(input schema.GroupVersionResource) (schema.GroupVersionResource, error) {
	return m.r.snapshot().ResourceFor(input)
}

func (m *registryMapper) ResourcesFor(input schema.GroupVersionResource) ([]schema.GroupVersionResource, error) {
	return m.r.snapshot().ResourcesFor(input)
}

func (m *registryMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	return m.r.snapshot().RESTMapping(gk, versions...)
}

func (m *registryMapper) RESTMappings(gk schema.GroupKind, versions ...string) ([]*meta.RESTMapping, error) {
	return m.r.snapshot().RESTMappings(gk, versions...)
}

func (m *registryMapper) ResourceSingularizer(resource string) (string, error) {
	return m.r.snapshot().ResourceSingularizer(resource)
}
