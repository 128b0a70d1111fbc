package compile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// composition header shared by the error cases; %RESOURCES% and %SCHEMA% are replaced.
const errBase = `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata:
  name: app
spec:
  apiVersion: example.com/v1
  kind: App
  schema:
    spec:
      name: string | required=true
      replicas: integer | default=1
      tier: string | enum="web,worker" default="web"
%SCHEMA%  resources:
%RESOURCES%`

const okDeployment = `    - id: deployment
      Deployment:
        name: ${schema.spec.name}
        image: nginx
        replicas: ${schema.spec.replicas}
`

func compose(schemaExtra, resources string) string {
	return strings.NewReplacer("%SCHEMA%", schemaExtra, "%RESOURCES%", resources).Replace(errBase)
}

// TestErrorClasses has one case per error class validate must catch. Each
// asserts the file, the document, the field path and the line reported.
func TestErrorClasses(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		file     string // file the error must name
		field    string // field path the error must name (prefix)
		line     int
		contains string
	}{
		{
			name: "misspelled schema field",
			files: map[string]string{"c.yaml": compose("", `    - id: deployment
      Deployment:
        name: ${schema.spec.nmae}
        image: nginx
`)},
			file: "c.yaml", field: "spec.resources[0].Deployment.name", line: 16, contains: "nmae",
		},
		{
			name: "unknown resource id",
			files: map[string]string{"c.yaml": compose("", okDeployment+`    - id: config
      ConfigMap:
        name: cfg
        data:
          ip: ${servce.spec.clusterIP}
`)},
			file: "c.yaml", field: "spec.resources[1].ConfigMap.data.ip", line: 23, contains: "servce",
		},
		{
			name: "type mismatch",
			files: map[string]string{"c.yaml": compose("", `    - id: deployment
      Deployment:
        name: app
        image: nginx
        replicas: ${schema.spec.name}
`)},
			file: "c.yaml", field: "spec.resources[0].Deployment.replicas", line: 18, contains: "replicas",
		},
		{
			name: "mixed string template with non-string piece",
			files: map[string]string{"c.yaml": compose("", `    - id: config
      ConfigMap:
        name: app-${schema.spec.replicas}
`)},
			file: "c.yaml", field: "spec.resources[0].ConfigMap.name", line: 16, contains: "string",
		},
		{
			name: "dependency cycle",
			files: map[string]string{"c.yaml": compose("", `    - id: first
      ConfigMap:
        name: ${second.metadata.name}-a
    - id: second
      ConfigMap:
        name: ${first.metadata.name}-b
`)},
			file: "c.yaml", field: "spec.resources[0].id", line: 14, contains: "cycle",
		},
		{
			name: "invalid id",
			files: map[string]string{"c.yaml": compose("", `    - id: my-cm
      ConfigMap:
        name: cm
`)},
			file: "c.yaml", field: "spec.resources[0].id", line: 14, contains: "my-cm",
		},
		{
			name: "reserved id",
			files: map[string]string{"c.yaml": compose("", `    - id: schema
      ConfigMap:
        name: cm
`)},
			file: "c.yaml", field: "spec.resources[0].id", line: 14, contains: "reserved",
		},
		{
			name:  "invalid SimpleSchema type",
			files: map[string]string{"c.yaml": compose("      extra: integr\n", okDeployment)},
			file:  "c.yaml", field: "spec.schema.spec.extra", line: 13, contains: "integr",
		},
		{
			name:  "invalid SimpleSchema marker",
			files: map[string]string{"c.yaml": compose("      extra: string | requird=true\n", okDeployment)},
			file:  "c.yaml", field: "spec.schema.spec.extra", line: 13, contains: "requird",
		},
		{
			name:  "status field without ${}",
			files: map[string]string{"c.yaml": compose("    status:\n      url: http://example.com\n", okDeployment)},
			file:  "c.yaml", field: "spec.schema.status.url", line: 14, contains: "url",
		},
		{
			name:  "status expression with a misspelled field",
			files: map[string]string{"c.yaml": compose("    status:\n      available: ${deployment.status.availableReplica}\n", okDeployment)},
			file:  "c.yaml", field: "spec.schema.status.available", line: 14, contains: "availableReplica",
		},
		{
			name: "template field misspelled",
			files: map[string]string{"c.yaml": compose("", `    - id: cm
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: x
        dat:
          a: b
`)},
			file: "c.yaml", field: "spec.resources[0].template.dat", line: 20, contains: "dat",
		},
		{
			name: "custom kind without its CRD",
			files: map[string]string{"c.yaml": compose("", `    - id: monitor
      template:
        apiVersion: monitoring.coreos.com/v1
        kind: ServiceMonitor
        metadata:
          name: x
`)},
			file: "c.yaml", field: "spec.resources[0].template", line: 15, contains: "--crds",
		},
		{
			name: "factory setting misspelled",
			files: map[string]string{"c.yaml": compose("", `    - id: deployment
      Deployment:
        name: app
        image: nginx
        replcas: 2
`)},
			file: "c.yaml", field: "spec.resources[0].Deployment.replcas", line: 18, contains: "replcas",
		},
		{
			name: "instance missing a required field",
			files: map[string]string{"c.yaml": compose("", okDeployment), "i.yaml": `apiVersion: example.com/v1
kind: App
metadata:
  name: a
spec:
  replicas: 2
`},
			file: "i.yaml", field: "spec.name", line: 5, contains: "Required",
		},
		{
			name: "instance enum violation",
			files: map[string]string{"c.yaml": compose("", okDeployment), "i.yaml": `apiVersion: example.com/v1
kind: App
metadata:
  name: a
spec:
  name: a
  tier: database
`},
			file: "i.yaml", field: "spec.tier", line: 7, contains: "Unsupported value",
		},
		{
			name: "instance type mismatch",
			files: map[string]string{"c.yaml": compose("", okDeployment), "i.yaml": `apiVersion: example.com/v1
kind: App
metadata:
  name: a
spec:
  name: a
  replicas: three
`},
			file: "i.yaml", field: "spec.replicas", line: 7, contains: "integer",
		},
		{
			name: "instance unknown field",
			files: map[string]string{"c.yaml": compose("", okDeployment), "i.yaml": `apiVersion: example.com/v1
kind: App
metadata:
  name: a
spec:
  name: a
  replicaz: 3
`},
			file: "i.yaml", field: "spec.replicaz", line: 7, contains: "unknown field",
		},
		{
			name: "instance of an unknown kind",
			files: map[string]string{"c.yaml": compose("", okDeployment), "i.yaml": `apiVersion: example.com/v1
kind: Ap
metadata:
  name: a
spec: {}
`},
			file: "i.yaml", field: "kind", line: 2, contains: "unknown kind Ap",
		},
		{
			name:  "malformed YAML",
			files: map[string]string{"c.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n"},
			file:  "c.yaml", contains: "malformed YAML", line: 4, // the unclosed [ on line 4
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			errs := compileDir(t, dir)
			if len(errs) == 0 {
				t.Fatal("no error reported")
			}
			var found *composition.Error
			for _, e := range errs {
				if strings.Contains(e.Error(), tt.contains) {
					found = e
					break
				}
			}
			if found == nil {
				t.Fatalf("no error mentions %q; got:\n%v", tt.contains, errs)
			}
			if filepath.Base(found.File) != tt.file {
				t.Errorf("file %q, want %q (%v)", found.File, tt.file, found)
			}
			if !strings.HasPrefix(found.Field, tt.field) {
				t.Errorf("field %q, want prefix %q (%v)", found.Field, tt.field, found)
			}
			if tt.line != 0 && found.Line != tt.line {
				t.Errorf("line %d, want %d (%v)", found.Line, tt.line, found)
			}
			t.Log(found)
		})
	}
}

func compileDir(t *testing.T, dir string) composition.Errors {
	t.Helper()
	set, err := composition.Load(dir)
	if err == nil {
		_, err = compile.Compile(set, compile.Options{})
	}
	var errs composition.Errors
	if err != nil && !errors.As(err, &errs) {
		t.Fatalf("unexpected error type %T: %v", err, err)
	}
	return errs
}
