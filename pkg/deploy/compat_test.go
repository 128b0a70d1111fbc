package deploy

import (
	"testing"

	extv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/typekro/kubectl-typekro/pkg/render"
)

// TestServesSchema: apply's wait for a changed RGD's CRD is over only when
// the CRD is Established and serves the generated schema, so instances are
// not checked (and pruned) against the old one.
func TestServesSchema(t *testing.T) {
	want := &extv1.CustomResourceDefinition{Spec: extv1.CustomResourceDefinitionSpec{Versions: []extv1.CustomResourceDefinitionVersion{{
		Name: "v1", Schema: &extv1.CustomResourceValidation{OpenAPIV3Schema: &extv1.JSONSchemaProps{
			Type: "object", Properties: map[string]extv1.JSONSchemaProps{"spec": {Type: "object", Properties: map[string]extv1.JSONSchemaProps{
				"a": {Type: "integer", Default: &extv1.JSON{Raw: []byte(`1`)}}}}}}},
	}}}}
	const established = "status: {conditions: [{type: Established, status: \"True\"}]}\n"
	crd := func(props, status string) string {
		return "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x}\n" +
			"spec:\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema: {type: object, properties: {spec: {type: object, properties: " + props + "}}}\n" + status
	}
	tests := []struct {
		name  string
		live  string
		ready bool
	}{
		{"new schema, established", crd("{a: {type: integer, default: 1.0}}", established), true},
		{"old schema, established", crd("{a: {type: string}}", established), false},
		{"new schema, not established yet", crd("{a: {type: integer, default: 1}}", "status: {conditions: [{type: Established, status: \"False\"}]}\n"), false},
		{"extra field still served", crd("{a: {type: integer, default: 1}, b: {type: string}}", established), false},
	}
	check := servesSchema(want)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v := check(u(t, tt.live)); v.Ready != tt.ready {
				t.Errorf("ready = %v (%s), want %v", v.Ready, v.Message, tt.ready)
			}
		})
	}
}

// TestAllowBreaking: --allow-breaking-changes annotates only the named RGD,
// on a copy (the compile result keeps the RGD as written).
func TestAllowBreaking(t *testing.T) {
	a := u(t, "{apiVersion: kro.run/v1alpha1, kind: ResourceGraphDefinition, metadata: {name: a, annotations: {keep: me}}}")
	b := u(t, "{apiVersion: kro.run/v1alpha1, kind: ResourceGraphDefinition, metadata: {name: b}}")
	s := &Set{Objects: []render.Object{{Role: render.RoleRGD, Object: a}, {Role: render.RoleRGD, Object: b}}}
	s.allowBreaking("a")
	if got := s.Objects[0].Object.GetAnnotations(); got["kro.run/allow-breaking-changes"] != "true" || got["keep"] != "me" {
		t.Errorf("a's annotations = %v", got)
	}
	if got := s.Objects[1].Object.GetAnnotations(); len(got) != 0 {
		t.Errorf("b was annotated too: %v", got)
	}
	if len(a.GetAnnotations()) != 1 {
		t.Errorf("the original object was changed: %v", a.GetAnnotations())
	}
}
