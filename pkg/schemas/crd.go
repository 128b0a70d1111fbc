package schemas

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	kroschema "github.com/kubernetes-sigs/kro/pkg/graph/schema"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// crdKind is one served version of an added CRD. Its schema is built on
// first resolution and then shared by every clone of the registry.
type crdKind struct {
	gvk        schema.GroupVersionKind
	resource   string
	singular   string
	namespaced bool
	crdName    string
	structural *structuralschema.Structural // consumed by the first resolve

	once   sync.Once
	schema *spec.Schema
	err    error
}

// AddCRD registers every served version of crd: its schema for ResolveSchema
// and its plural resource and scope for the RESTMapper. Adding a CRD of the
// same group and plural again replaces the earlier one. It returns an error,
// and changes nothing, for a CRD the API server would not serve: missing
// names, no served version, or a served version without a structural schema.
func (r *Registry) AddCRD(crd *apiextensionsv1.CustomResourceDefinition) error {
	if crd == nil {
		return errors.New("nil CustomResourceDefinition")
	}
	c := crd.DeepCopy()
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(c)
	if err := checkCRD(c); err != nil {
		return crdError(c, err)
	}
	namespaced := c.Spec.Scope == apiextensionsv1.NamespaceScoped
	var kinds []*crdKind
	for i, v := range c.Spec.Versions {
		if !v.Served {
			continue
		}
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			return crdError(c, fmt.Errorf("version %s has no schema (spec.versions[%d].schema.openAPIV3Schema is required)", v.Name, i))
		}
		ss, err := structural(v.Schema)
		if err != nil {
			return crdError(c, fmt.Errorf("version %s: %w", v.Name, err))
		}
		kinds = append(kinds, &crdKind{
			gvk:        schema.GroupVersionKind{Group: c.Spec.Group, Version: v.Name, Kind: c.Spec.Names.Kind},
			resource:   c.Spec.Names.Plural,
			singular:   c.Spec.Names.Singular,
			namespaced: namespaced,
			crdName:    c.Name,
			structural: ss,
		})
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	for gvk, k := range r.crds {
		if gvk.Group == c.Spec.Group && k.resource == c.Spec.Names.Plural {
			delete(r.crds, gvk)
		}
	}
	for _, k := range kinds {
		r.crds[k.gvk] = k
	}
	r.mapper = nil
	return nil
}

// AddCRDFromUnstructured converts u (an apiextensions.k8s.io/v1
// CustomResourceDefinition, e.g. read from YAML) and adds it with AddCRD.
func (r *Registry) AddCRDFromUnstructured(u *unstructured.Unstructured) error {
	if u == nil {
		return errors.New("nil CustomResourceDefinition")
	}
	gvk := u.GroupVersionKind()
	if gvk.GroupKind() != (schema.GroupKind{Group: apiextensionsv1.GroupName, Kind: "CustomResourceDefinition"}) {
		return fmt.Errorf("%s %q is not a CustomResourceDefinition", gvk.Kind, u.GetName())
	}
	if gvk.Version != apiextensionsv1.SchemeGroupVersion.Version {
		return fmt.Errorf("CustomResourceDefinition %q: apiVersion %s is not served since Kubernetes 1.22; use %s",
			u.GetName(), gvk.GroupVersion(), apiextensionsv1.SchemeGroupVersion)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, crd); err != nil {
		return fmt.Errorf("CustomResourceDefinition %q: %w", u.GetName(), err)
	}
	return r.AddCRD(crd)
}

func crdError(c *apiextensionsv1.CustomResourceDefinition, err error) error {
	if c.Name != "" {
		return fmt.Errorf("CustomResourceDefinition %s: %w", c.Name, err)
	}
	return err
}

// checkCRD rejects names and versions the API server would not serve.
func checkCRD(c *apiextensionsv1.CustomResourceDefinition) error {
	var missing []string
	if c.Spec.Group == "" {
		missing = append(missing, "spec.group")
	}
	if c.Spec.Names.Kind == "" {
		missing = append(missing, "spec.names.kind")
	}
	if c.Spec.Names.Plural == "" {
		missing = append(missing, "spec.names.plural")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	switch c.Spec.Scope {
	case apiextensionsv1.NamespaceScoped, apiextensionsv1.ClusterScoped:
	default:
		return fmt.Errorf("spec.scope must be %s or %s, not %q", apiextensionsv1.NamespaceScoped, apiextensionsv1.ClusterScoped, c.Spec.Scope)
	}
	served := 0
	for i, v := range c.Spec.Versions {
		if !v.Served {
			continue
		}
		served++
		if v.Name == "" {
			return fmt.Errorf("spec.versions[%d].name is empty", i)
		}
	}
	if served == 0 {
		return errors.New("no served version")
	}
	return nil
}

// structural converts a version's schema to the apiextensions structural
// schema and applies the structural rules the API server enforces (and
// without which the OpenAPI builder publishes an empty object schema).
func structural(v *apiextensionsv1.CustomResourceValidation) (*structuralschema.Structural, error) {
	internal := &apiextensions.CustomResourceValidation{}
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(v, internal, nil); err != nil {
		return nil, fmt.Errorf("converting schema: %w", err)
	}
	ss, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("schema is not structural: %w", err)
	}
	if errs := structuralschema.ValidateStructural(nil, ss); len(errs) > 0 {
		return nil, fmt.Errorf("schema is not structural: %w", errs.ToAggregate())
	}
	return ss, nil
}

// resolve builds the schema the apiextensions-apiserver publishes for this
// version in OpenAPI v3 and populates its $refs like
// resolver.ClientDiscoveryResolver does against a live API server.
func (k *crdKind) resolve() (*spec.Schema, error) {
	k.once.Do(func() {
		k.schema, k.err = buildCRDSchema(k.structural, k.gvk)
		k.structural = nil
		if k.err != nil {
			k.err = fmt.Errorf("building schema of %s from CustomResourceDefinition %s: %w", k.gvk, k.crdName, k.err)
		}
	})
	return k.schema, k.err
}

const objectMetaDefinition = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

// buildCRDSchema (given the version's structural schema, which it unfolds in
// place) follows the apiextensions-apiserver's OpenAPI v3 publishing
// (k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder, with
// Options{V2: false}; that package itself is not imported because it drags the
// whole API server endpoint stack into the binary): the structural schema is
// unfolded and converted with Structural.ToKubeOpenAPI, metadata becomes a
// $ref to ObjectMeta, apiVersion and kind are added at the root and in every
// x-kubernetes-embedded-resource, and the root is tagged with its GVK. The
// result goes through JSON, as a client reads it, and its $refs are
// populated with resolver.PopulateRefs. ObjectMeta is the one the
// apiextensions-apiserver publishes for custom resources (its generated
// definitions, which KRO resolves once at start as schema.ObjectMetaSchema).
func buildCRDSchema(ss *structuralschema.Structural, gvk schema.GroupVersionKind) (*spec.Schema, error) {
	root := ss.Unfold().ToKubeOpenAPI()
	root.SetProperty("metadata", *spec.RefSchema(refPrefix + objectMetaDefinition))
	addTypeMetaProperties(root)
	addEmbeddedProperties(root)
	root.AddExtension("x-kubernetes-group-version-kind", []any{
		map[string]any{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind},
	})

	b, err := json.Marshal(root)
	if err != nil {
		return nil, err
	}
	published := &spec.Schema{}
	if err := json.Unmarshal(b, published); err != nil {
		return nil, err
	}
	rootName := modelName(gvk)
	return resolver.PopulateRefs(func(ref string) (*spec.Schema, bool) {
		switch strings.TrimPrefix(ref, refPrefix) {
		case rootName:
			return published, true
		case objectMetaDefinition:
			return &kroschema.ObjectMetaSchema, true
		}
		return nil, false
	}, rootName)
}

// modelName is the definition name the apiextensions-apiserver gives a CRD
// kind: the group reversed, then version and kind (com.coreos.monitoring.v1.ServiceMonitor).
func modelName(gvk schema.GroupVersionKind) string {
	parts := strings.Split(gvk.Group, ".")
	slices.Reverse(parts)
	return strings.Join(parts, ".") + "." + gvk.Version + "." + gvk.Kind
}

// typeMetaProperty is the published schema of TypeMeta's apiVersion and kind.
func typeMetaProperty() spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"string"}}}
}

func addTypeMetaProperties(s *spec.Schema) {
	s.SetProperty("apiVersion", typeMetaProperty())
	s.SetProperty("kind", typeMetaProperty())
}

// addEmbeddedProperties mirrors the OpenAPI builder's function of that name
// for v3: every x-kubernetes-embedded-resource object gets apiVersion, kind
// and ObjectMeta metadata, with apiVersion and kind required.
func addEmbeddedProperties(s *spec.Schema) {
	if s == nil {
		return
	}
	for k := range s.Properties {
		v := s.Properties[k]
		addEmbeddedProperties(&v)
		s.Properties[k] = v
	}
	if s.Items != nil {
		addEmbeddedProperties(s.Items.Schema)
	}
	if s.AdditionalProperties != nil {
		addEmbeddedProperties(s.AdditionalProperties.Schema)
	}
	if isTrue, ok := s.Extensions.GetBool("x-kubernetes-embedded-resource"); ok && isTrue {
		addTypeMetaProperties(s)
		s.SetProperty("metadata", *spec.RefSchema(refPrefix + objectMetaDefinition))
		if !slices.Contains(s.Required, "kind") {
			s.Required = append(s.Required, "kind")
		}
		if !slices.Contains(s.Required, "apiVersion") {
			s.Required = append(s.Required, "apiVersion")
		}
	}
}
