package composition

import (
	"strings"
	"testing"
)

const header = `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata: {name: app}
spec:
  apiVersion: v1alpha1
  kind: App
  schema:
    spec: {name: string, tags: "map[string]string"}
`

// TestParseCompositionRefusesNonsense: values KRO (or the factories) would
// accept silently are errors at the file:line of the field.
func TestParseCompositionRefusesNonsense(t *testing.T) {
	cases := []struct {
		name, body string
		line       int
		field, msg string
	}{
		{"duplicate id", `
  resources:
  - id: web
    ConfigMap: {name: a}
  - id: db
    ConfigMap: {name: b}
  - id: web
    ConfigMap: {name: c}
    dependsOn: [web]
`, 14, "spec.resources[2].id", `duplicate resource id "web": already used by spec.resources[0] (line 10)`},
		{"unclosed in template", `
  resources:
  - id: cm
    template:
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: ${schema.spec.name
`, 15, "spec.resources[0].template.metadata.name", `unclosed ${ in "${schema.spec.name": missing }`},
		{"unclosed after a closed one", `
  resources:
  - id: cm
    ConfigMap:
      name: x
      data: {k: "${schema.spec.name}-${schema.spec.name"}
`, 13, "spec.resources[0].ConfigMap.data.k", "unclosed ${"},
		{"unclosed in status", `
    status:
      url: ${cm.metadata.name
  resources:
  - id: cm
    ConfigMap: {name: x}
`, 10, "spec.schema.status.url", "unclosed ${"},
		{"unclosed in readyWhen", `
  resources:
  - id: cm
    ConfigMap: {name: x}
    readyWhen: ["${cm.metadata.name != ''"]
`, 12, "spec.resources[0].readyWhen[0]", "unclosed ${"},
		{"null volumeClaimTemplate", `
  resources:
  - id: db
    StatefulSet:
      name: db
      image: postgres
      volumeClaimTemplates:
      - null
`, 15, "spec.resources[0].StatefulSet.volumeClaimTemplates[0]", "empty list item (null)"},
		{"null item in template", `
  resources:
  - id: cm
    template:
      apiVersion: apps/v1
      kind: StatefulSet
      metadata: {name: x}
      spec:
        volumeClaimTemplates: [null]
`, 16, "spec.resources[0].template.spec.volumeClaimTemplates[0]", "empty list item (null)"},
		{"SimpleSchema marker with a lone quote", `
    types:
      Host:
        name: string | default="
  resources:
  - id: cm
    ConfigMap: {name: x}
`, 11, "spec.schema.types.Host.name", "invalid SimpleSchema field"},
		{"empty factory name", `
  resources:
  - id: cm
    ConfigMap:
      name: ""
`, 12, "spec.resources[0].ConfigMap.name", "required: must not be empty"},
		{"service without ports", `
  resources:
  - id: svc
    Service:
      name: svc
      selector: {app: x}
      ports: []
`, 14, "spec.resources[0].Service.ports", "at least one port"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := parseOne(t, header+strings.TrimPrefix(tc.body, "\n"))
			if len(errs) != 1 {
				t.Fatalf("want exactly one error, got %d:\n%v", len(errs), errs)
			}
			e := errs[0]
			if e.File != "c.yaml" || e.Line != tc.line || e.Field != tc.field || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got %s\nwant c.yaml:%d, field %s, message containing %q", e, tc.line, tc.field, tc.msg)
			}
		})
	}
}

// TestParseCompositionAccepts: whole-map expressions for factory settings
// and literal text that merely contains "$" are fine.
func TestParseCompositionAccepts(t *testing.T) {
	errs := parseOne(t, header+`  resources:
  - id: web
    Deployment:
      name: ${schema.spec.name}
      image: nginx
      labels: ${schema.spec.tags}
      env: {PRICE: "$5 {not an expression}"}
  - id: cm
    ConfigMap: {name: x, data: "${schema.spec.tags}"}
`)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
}

func parseOne(t *testing.T, src string) Errors {
	t.Helper()
	docs, errs := Parse("c.yaml", []byte(src))
	if len(errs) > 0 || len(docs) != 1 {
		t.Fatalf("Parse: %v (%d docs)", errs, len(docs))
	}
	_, errs = ParseComposition(docs[0])
	return errs
}
