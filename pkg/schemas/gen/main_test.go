package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A miniature api/openapi-spec/v3: two group-versions sharing ObjectMeta, and
// a group discovery document that must be ignored.
var specFiles = map[string]string{
	"api__v1_openapi.json": `{
  "openapi": "3.0.0",
  "paths": {
    "/api/v1/namespaces/{namespace}/widgets": {"get": {"x-kubernetes-action": "list", "x-kubernetes-group-version-kind": {"group": "", "version": "v1", "kind": "Widget"}}},
    "/api/v1/namespaces/{namespace}/widgets/{name}": {"get": {"x-kubernetes-action": "get", "x-kubernetes-group-version-kind": {"group": "", "version": "v1", "kind": "Widget"}}},
    "/api/v1/namespaces/{namespace}/widgets/{name}/status": {"get": {"x-kubernetes-action": "get", "x-kubernetes-group-version-kind": {"group": "", "version": "v1", "kind": "Widget"}}},
    "/api/v1/widgets": {"get": {"x-kubernetes-action": "list", "x-kubernetes-group-version-kind": {"group": "", "version": "v1", "kind": "Widget"}}},
    "/api/v1/watch/namespaces/{namespace}/widgets": {"get": {"x-kubernetes-action": "watchlist", "x-kubernetes-group-version-kind": {"group": "", "version": "v1", "kind": "Widget"}}},
    "/api/v1/namespaces/{name}": {"get": {"x-kubernetes-action": "get", "x-kubernetes-group-version-kind": {"group": "", "version": "v1", "kind": "Namespace"}}},
    "/api/v1/namespaces": {"get": {"x-kubernetes-action": "list", "x-kubernetes-group-version-kind": {"group": "", "version": "v1", "kind": "Namespace"}}}
  },
  "components": {"schemas": {
    "io.k8s.api.core.v1.Widget": {
      "description": "Widget is a test kind.",
      "type": "object",
      "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Widget"}],
      "properties": {
        "metadata": {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}], "default": {}, "description": "meta"},
        "description": {"type": "string", "description": "a property named description"},
        "port": {"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}], "description": "port"},
        "size": {"type": "integer", "format": "int64", "maximum": 9007199254740993},
        "items": {"type": "array", "items": {"type": "string", "example": "x"}, "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"}
      }
    },
    "io.k8s.api.core.v1.Namespace": {
      "type": "object",
      "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Namespace"}],
      "properties": {"metadata": {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]}}
    },
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {"type": "object", "description": "ObjectMeta", "properties": {"name": {"type": "string", "description": "Name"}}}
  }}
}`,
	"apis__example.com__v1beta1_openapi.json": `{
  "paths": {
    "/apis/example.com/v1beta1/gadgets/{name}": {"get": {"x-kubernetes-action": "get", "x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1beta1", "kind": "Gadget"}}}
  },
  "components": {"schemas": {
    "com.example.v1beta1.Gadget": {
      "type": "object",
      "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1beta1", "kind": "Gadget"}],
      "properties": {"metadata": {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]}}
    },
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {"type": "object", "description": "ObjectMeta, differently described", "properties": {"name": {"type": "string"}}}
  }}
}`,
	"apis__example.com_openapi.json": `{"paths": {}, "components": {"schemas": {"io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup": {"type": "object"}}}}`,
}

func writeSpec(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range specFiles {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestGenerate(t *testing.T) {
	spec := writeSpec(t)
	out1, out2 := t.TempDir(), t.TempDir()
	if err := run(spec, "v0.0.1", out1); err != nil {
		t.Fatal(err)
	}
	if err := run(spec, "v0.0.1", out2); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"index.json", "definitions.tsv"} {
		a, _ := os.ReadFile(filepath.Join(out1, f))
		b, _ := os.ReadFile(filepath.Join(out2, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", f)
		}
	}

	index, err := os.ReadFile(filepath.Join(out1, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantIndex := `{
"kubernetesVersion": "v0.0.1",
"kinds": [
{"group":"","version":"v1","kind":"Namespace","resource":"namespaces","namespaced":false,"definition":"io.k8s.api.core.v1.Namespace"},
{"group":"","version":"v1","kind":"Widget","resource":"widgets","namespaced":true,"definition":"io.k8s.api.core.v1.Widget"},
{"group":"example.com","version":"v1beta1","kind":"Gadget","resource":"gadgets","namespaced":false,"definition":"com.example.v1beta1.Gadget"}
]
}
`
	if string(index) != wantIndex {
		t.Errorf("index.json:\n%s\nwant:\n%s", index, wantIndex)
	}

	raw, err := os.ReadFile(filepath.Join(out1, "definitions.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		name, def, ok := strings.Cut(line, "\t")
		if !ok || !json.Valid([]byte(def)) {
			t.Fatalf("bad line %q", line)
		}
		defs[name] = def
	}
	if len(defs) != 4 {
		t.Errorf("%d definitions, want 4 (APIGroup of the discovery document excluded)", len(defs))
	}
	widget := defs["io.k8s.api.core.v1.Widget"]
	wantWidget := `{"properties":{"description":{"type":"string"},"items":{"items":{"type":"string"},"type":"array","x-kubernetes-list-type":"set"},` +
		`"metadata":{"allOf":[{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}],"default":{}},` +
		`"port":{"format":"int-or-string","oneOf":[{"type":"integer"},{"type":"string"}]},` +
		`"size":{"format":"int64","maximum":9007199254740993,"type":"integer"}},"type":"object"}`
	if widget != wantWidget {
		t.Errorf("trimmed Widget:\n%s\nwant:\n%s", widget, wantWidget)
	}
}

func TestGenerateRejectsConflictingDefinitions(t *testing.T) {
	spec := writeSpec(t)
	path := filepath.Join(spec, "apis__example.com__v1beta1_openapi.json")
	b, _ := os.ReadFile(path)
	b = []byte(strings.Replace(string(b), `"properties": {"name": {"type": "string"}}`, `"properties": {"name": {"type": "integer"}}`, 1))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	err := run(spec, "v0.0.1", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta differs") {
		t.Errorf("run = %v, want a conflict on ObjectMeta", err)
	}
}
