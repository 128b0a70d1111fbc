package compile

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// instanceSchema is the generated CRD's schema prepared the way the API
// server prepares it: structural (for defaulting and pruning), an OpenAPI
// validator, and the CEL rule validator for x-kubernetes-validations.
type instanceSchema struct {
	structural *structuralschema.Structural
	validator  *openAPIValidator
	cel        *cel.Validator
	namespaced bool
	// Whether the schema has embedded resources and set or map lists:
	// without them objectmeta's and listtype's checks find nothing, and
	// they walk every object (a fifth of a large kro-mode render).
	embedded, listTypes bool
}

func newInstanceSchema(crd *extv1.CustomResourceDefinition) (*instanceSchema, error) {
	if crd == nil || len(crd.Spec.Versions) == 0 || crd.Spec.Versions[0].Schema == nil {
		return nil, fmt.Errorf("no schema")
	}
	// The API server never sees KRO's Go value, only its JSON: KRO builds a
	// map[string]X as additionalProperties{Schema: X} with Allows false,
	// which JSON writes as {...} and reads back with Allows true. Converting
	// the Go value directly kept Allows false, and the OpenAPI validator then
	// called every map key a forbidden property.
	data, err := json.Marshal(crd.Spec.Versions[0].Schema.OpenAPIV3Schema)
	if err != nil {
		return nil, err
	}
	var served extv1.JSONSchemaProps
	if err := json.Unmarshal(data, &served); err != nil {
		return nil, err
	}
	var internal apiextensions.JSONSchemaProps
	if err := extv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(&served, &internal, nil); err != nil {
		return nil, err
	}
	s, err := structuralschema.NewStructural(&internal)
	if err != nil {
		return nil, err
	}
	v, err := newOpenAPIValidator(&internal)
	if err != nil {
		return nil, err
	}
	return &instanceSchema{
		structural: s,
		validator:  v,
		cel:        cel.NewValidator(s, true, celconfig.PerCallLimit),
		namespaced: crd.Spec.Scope == extv1.NamespaceScoped,
		embedded:   anyStructural(s, func(s *structuralschema.Structural) bool { return s.XEmbeddedResource }),
		listTypes: anyStructural(s, func(s *structuralschema.Structural) bool {
			return s.XListType != nil && (*s.XListType == "set" || *s.XListType == "map")
		}),
	}, nil
}

// anyStructural reports whether f holds for s or a schema under it.
func anyStructural(s *structuralschema.Structural, f func(*structuralschema.Structural) bool) bool {
	if s == nil {
		return false
	}
	if f(s) || anyStructural(s.Items, f) {
		return true
	}
	if s.AdditionalProperties != nil && anyStructural(s.AdditionalProperties.Structural, f) {
		return true
	}
	for _, p := range s.Properties {
		if anyStructural(&p, f) {
			return true
		}
	}
	return false
}

// validate runs, on a pruned and defaulted object, the checks of the API
// server's custom resource strategy on create, in its order: object meta,
// OpenAPI schema, embedded resources, list-type invariants, then CEL rules
// unless an earlier error makes them meaningless (as the server does; it
// then adds a note, which NewInstance keeps and checkInstance, listing the
// errors themselves, leaves out).
func (s *instanceSchema) validate(obj map[string]any) (errs field.ErrorList, celSkipped bool) {
	errs = append(errs, s.validateMeta(obj)...)
	errs = append(errs, s.validator.Validate(obj)...)
	if s.embedded {
		errs = append(errs, schemaobjectmeta.Validate(context.Background(), nil, obj, s.structural, false)...)
	}
	if s.listTypes {
		errs = append(errs, structurallisttype.ValidateListSetsAndMaps(nil, s.structural, obj)...)
	}
	if blocking(errs) {
		return errs, true
	}
	celErrs, _ := s.cel.Validate(context.Background(), nil, s.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...), false
}

// validateMeta checks metadata as the server does for a custom resource
// (names are DNS subdomains, labels and annotations well-formed). A missing
// namespace is not an error: kubectl and typekro fill in the default one.
func (s *instanceSchema) validateMeta(obj map[string]any) field.ErrorList {
	raw, ok := obj["metadata"]
	if !ok {
		raw = map[string]any{}
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return field.ErrorList{field.Invalid(field.NewPath("metadata"), raw, fmt.Sprintf("expected a mapping, got %T", raw))}
	}
	meta, ok := simpleMeta(m)
	if !ok {
		meta = &metav1.ObjectMeta{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, meta); err != nil {
			return field.ErrorList{field.Invalid(field.NewPath("metadata"), nil, err.Error())}
		}
	}
	if s.namespaced && meta.Namespace == "" {
		meta.Namespace = "default"
	}
	if !s.namespaced {
		meta.Namespace = "" // reported by checkInstance in typekro's words
	}
	errs := apivalidation.ValidateObjectMeta(meta, s.namespaced, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	if meta.Name == "" && meta.GenerateName != "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), "typekro renders and applies instances by name"))
	}
	return errs
}

// simpleMeta converts the metadata instances nearly always have (name,
// generateName, namespace, string labels and annotations) without the
// reflection of the unstructured converter, a tenth of a kro-mode render;
// ok is false for anything else, which the converter then handles.
func simpleMeta(m map[string]any) (*metav1.ObjectMeta, bool) {
	meta := &metav1.ObjectMeta{}
	for k, v := range m {
		var ok bool
		switch k {
		case "name":
			meta.Name, ok = v.(string)
		case "generateName":
			meta.GenerateName, ok = v.(string)
		case "namespace":
			meta.Namespace, ok = v.(string)
		case "labels":
			meta.Labels, ok = stringMap(v)
		case "annotations":
			meta.Annotations, ok = stringMap(v)
		}
		if !ok {
			return nil, false
		}
	}
	return meta, true
}

func stringMap(v any) (map[string]string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out[k] = s
	}
	return out, true
}

// blocking mirrors the API server's hasBlockingErr: after these errors it
// does not run CEL rules.
func blocking(errs field.ErrorList) bool {
	for _, e := range errs {
		switch e.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true
		}
	}
	return false
}

// checkInstance validates an instance like the API server would on create
// with kubectl's default strict field validation: unknown fields reported
// (keys of a map are not fields, and are never reported), defaults applied,
// schema and CEL rules enforced. At most composition.MaxErrorsPerDocument
// errors are located and returned, plus a count of the rest.
func checkInstance(doc *composition.Document, def *Definition, namespace string) (*Instance, composition.Errors) {
	var problems []problem
	u := doc.Unstructured()
	s := def.inst
	if s.namespaced && u.GetNamespace() == "" && namespace != "" {
		u.SetNamespace(namespace)
	}
	if !s.namespaced && u.GetNamespace() != "" {
		problems = append(problems, problem{"metadata.namespace", fmt.Sprintf("%s is cluster-scoped: remove metadata.namespace", def.GVK.Kind)})
	}

	opts := structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}
	obj := u.UnstructuredContent()
	unknown := pruning.PruneWithOptions(obj, s.structural, true, opts)
	for _, p := range unknown {
		if strings.HasPrefix(p, "metadata.") || p == "status" || strings.HasPrefix(p, "status.") {
			continue
		}
		problems = append(problems, problem{p, fmt.Sprintf("unknown field %q: %s's schema has no such field", p, def.GVK.Kind)})
	}
	structuraldefaulting.Default(obj, s.structural)
	fieldErrs, _ := s.validate(obj)
	located := map[string]bool{}
	for _, fe := range fieldErrs {
		located[fe.Field] = true
	}
	for _, fe := range fieldErrs {
		path, body := fe.Field, fe.ErrorBody()
		if path == "" || path == "<nil>" {
			// kube-openapi's format check has no field path (printed as
			// <nil>) and names the field at the end of its detail; where
			// a type error already stands at that field it only repeats it.
			path = ""
			if i := strings.LastIndex(fe.Detail, " in "); i >= 0 {
				path, body = fe.Detail[i+4:], fe.Detail[:i]
			}
			if located[path] {
				continue
			}
		}
		problems = append(problems, problem{path, body})
	}
	if len(problems) > 0 {
		return nil, locateProblems(doc, problems, composition.MaxErrorsPerDocument)
	}
	return &Instance{Doc: doc, Object: &unstructured.Unstructured{Object: obj}, Definition: def}, nil
}

// NewInstance defaults, prunes and validates obj as the API server would on
// create (unknown fields are dropped, as the server does), for instances
// another definition creates: direct mode expands them without a CRD. A
// namespaced instance without a namespace gets namespace.
func (d *Definition) NewInstance(obj *unstructured.Unstructured, namespace string) (*Instance, error) {
	s := d.inst
	u := obj.DeepCopy()
	if s.namespaced && u.GetNamespace() == "" {
		u.SetNamespace(namespace)
	}
	content := u.UnstructuredContent()
	pruning.PruneWithOptions(content, s.structural, true, structuralschema.UnknownFieldPathOptions{})
	structuraldefaulting.Default(content, s.structural)
	errs, celSkipped := s.validate(content)
	if celSkipped {
		errs = append(errs, field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s %s: %w", d.GVK.Kind, u.GetName(), errs.ToAggregate())
	}
	return &Instance{Object: u, Definition: d}, nil
}
