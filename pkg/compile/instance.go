package compile

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// instanceSchema is the generated CRD's schema prepared the way the API
// server prepares it: structural (for defaulting and pruning), an OpenAPI
// validator, and the CEL rule validator for x-kubernetes-validations.
type instanceSchema struct {
	structural *structuralschema.Structural
	validator  validation.SchemaValidator
	cel        *cel.Validator
	namespaced bool
}

func newInstanceSchema(crd *extv1.CustomResourceDefinition) (*instanceSchema, error) {
	if crd == nil || len(crd.Spec.Versions) == 0 || crd.Spec.Versions[0].Schema == nil {
		return nil, fmt.Errorf("no schema")
	}
	var internal apiextensions.JSONSchemaProps
	if err := extv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(crd.Spec.Versions[0].Schema.OpenAPIV3Schema, &internal, nil); err != nil {
		return nil, err
	}
	s, err := structuralschema.NewStructural(&internal)
	if err != nil {
		return nil, err
	}
	v, _, err := validation.NewSchemaValidator(&internal)
	if err != nil {
		return nil, err
	}
	return &instanceSchema{
		structural: s,
		validator:  v,
		cel:        cel.NewValidator(s, true, celconfig.PerCallLimit),
		namespaced: crd.Spec.Scope == extv1.NamespaceScoped,
	}, nil
}

// checkInstance validates an instance like the API server would on create:
// defaults applied, unknown fields reported (the server would drop them
// silently, which hides typos), schema and CEL rules enforced.
func checkInstance(doc *composition.Document, def *Definition, namespace string) (*Instance, composition.Errors) {
	var errs composition.Errors
	u := doc.Unstructured()
	name := u.GetName()
	switch {
	case name == "":
		errs = append(errs, doc.Errorf("metadata.name", "required"))
	default:
		for _, msg := range utilvalidation.IsDNS1123Subdomain(name) {
			errs = append(errs, doc.Errorf("metadata.name", "%q: %s", name, msg))
		}
	}
	s := def.inst
	if s.namespaced && u.GetNamespace() == "" && namespace != "" {
		u.SetNamespace(namespace)
	}
	if !s.namespaced && u.GetNamespace() != "" {
		errs = append(errs, doc.Errorf("metadata.namespace", "%s is cluster-scoped: remove metadata.namespace", def.GVK.Kind))
	}

	opts := structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}
	obj := u.UnstructuredContent()
	unknown := pruning.PruneWithOptions(obj, s.structural, true, opts)
	for _, p := range unknown {
		if strings.HasPrefix(p, "metadata.") || p == "status" || strings.HasPrefix(p, "status.") {
			continue
		}
		errs = append(errs, doc.Errorf(p, "unknown field %q: %s's schema has no such field", p, def.GVK.Kind))
	}
	structuraldefaulting.Default(obj, s.structural)

	fieldErrs := validation.ValidateCustomResource(nil, obj, s.validator)
	celErrs, _ := s.cel.Validate(context.Background(), nil, s.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	fieldErrs = append(fieldErrs, celErrs...)
	for _, fe := range fieldErrs {
		errs = append(errs, fieldError(doc, fe))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &Instance{Doc: doc, Object: &unstructured.Unstructured{Object: obj}, Definition: def}, nil
}

func fieldError(doc *composition.Document, fe *field.Error) *composition.Error {
	msg := fe.ErrorBody()
	return doc.Errorf(fe.Field, "%s", msg)
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
	fieldErrs := validation.ValidateCustomResource(nil, content, s.validator)
	celErrs, _ := s.cel.Validate(context.Background(), nil, s.structural, content, nil, celconfig.RuntimeCELCostBudget)
	if errs := append(fieldErrs, celErrs...); len(errs) > 0 {
		return nil, fmt.Errorf("%s %s: %w", d.GVK.Kind, u.GetName(), errs.ToAggregate())
	}
	return &Instance{Object: u, Definition: d}, nil
}
