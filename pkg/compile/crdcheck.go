package compile

import (
	"context"
	"regexp"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"

	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// checkCRD validates the CRD KRO generates for a composition as the API
// server does when KRO creates it (apiextensions-apiserver's
// ValidateCustomResourceDefinition, with its CEL rule cost estimation: a
// validation= rule whose estimated cost is over the per-rule budget would
// leave the RGD Inactive). Problems are reported at the schema field.
func checkCRD(c *composition.Composition, crd *extv1.CustomResourceDefinition) composition.Errors {
	v1 := crd.DeepCopy()
	extv1.SetObjectDefaults_CustomResourceDefinition(v1)
	internal := &apiextensions.CustomResourceDefinition{}
	if err := extv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(v1, internal, nil); err != nil {
		return composition.Errors{c.Doc.Errorf("spec.schema", "generated CRD: %v", err)}
	}
	// What the API server's create strategy sets before validating.
	for _, v := range internal.Spec.Versions {
		if v.Storage {
			internal.Status.StoredVersions = []string{v.Name}
		}
	}
	var errs composition.Errors
	for _, fe := range validation.ValidateCustomResourceDefinition(context.Background(), internal) {
		path, rest := schemaPath(fe.Field)
		msg := fe.ErrorBody()
		if rest != "" {
			msg = rest + ": " + msg
		}
		errs = append(errs, c.Doc.Errorf(path, "the API server would reject the generated CRD: %s", msg))
	}
	return errs
}

var (
	// openAPIV3Schema is where a CRD's schema starts, hoisted to
	// spec.validation or per version.
	openAPIV3Schema = regexp.MustCompile(`^spec\.(?:validation|versions\[\d+\]\.schema)\.openAPIV3Schema`)
	schemaStep      = regexp.MustCompile(`^\.properties\[([^\]]+)\]|^\.items|^\.additionalProperties`)
)

// schemaPath maps a field of the generated CRD
// (spec.validation.openAPIV3Schema.properties[spec].properties[tags].x-kubernetes-validations[0].rule)
// to the composition field it comes from (spec.schema.spec.tags) and the
// rest of the path (x-kubernetes-validations[0].rule).
func schemaPath(crdField string) (string, string) {
	loc := openAPIV3Schema.FindStringIndex(crdField)
	if loc == nil {
		return "spec.schema", crdField
	}
	rest := crdField[loc[1]:]
	path := "spec.schema"
	for {
		m := schemaStep.FindStringSubmatch(rest)
		if m == nil {
			break
		}
		if m[1] != "" {
			path += "." + m[1]
		}
		rest = rest[len(m[0]):]
	}
	return path, strings.TrimPrefix(rest, ".")
}
