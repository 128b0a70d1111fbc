package schemas

import (
	"errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"reflect"
	"strings"
	"testing"

	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Every embedded definition decodes, on the fast path, to exactly what
// spec.Schema.UnmarshalJSON builds.
func TestDecodeDefinition(t *testing.T) {
	builtinDefs.once.Do(loadDefinitions)
	if builtinDefs.err != nil {
		t.Fatal(builtinDefs.err)
	}
	for name, raw := range builtinDefs.raw {
		got, ok := decodeDefinition(raw)
		if !ok {
			t.Errorf("%s: not on the fast path", name)
			continue
		}
		want := &spec.Schema{}
		if err := want.UnmarshalJSON(raw); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded differently\n got: %#v\nwant: %#v", name, got, want)
		}
	}
	if len(builtinDefs.raw) < 500 {
		t.Errorf("only %d definitions", len(builtinDefs.raw))
	}
}

// What the fast path does not read, it declines, and UnmarshalJSON decodes.
func TestDecodeDefinitionDeclines(t *testing.T) {
	for _, in := range []string{
		`{"type":["string","null"]}`,
		`{"description":"x"}`,
		`{"enum":["a"]}`,
		`{"format":"a\"b"}`,
		`{"type":"string"} `,
		`{"type":"string"`,
		`{"items":[{"type":"string"}]}`,
		`{"additionalProperties":"x"}`,
		`{"default":tru}`,
	} {
		if _, ok := decodeDefinition([]byte(in)); ok {
			t.Errorf("%s: accepted", in)
		}
	}
	for _, in := range []string{
		`{"additionalProperties":false,"default":[1,-2.5e3,null,true,{"a":"b"}],"x-kubernetes-int-or-string":true}`,
		`{"required":[],"properties":{},"allOf":[]}`,
	} {
		got, ok := decodeDefinition([]byte(in))
		want := &spec.Schema{}
		if err := want.UnmarshalJSON([]byte(in)); err != nil {
			t.Fatal(err)
		}
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v (%v), want %#v", in, got, ok, want)
		}
	}
}

// populateRefs builds, for every built-in kind, what resolver.PopulateRefs
// builds (a fresh registry each, so neither sees the other's cache).
func TestPopulateRefs(t *testing.T) {
	resetBuiltin()
	builtinDefs.once.Do(loadDefinitions)
	schemaOf := func(ref string) (*spec.Schema, bool) {
		d, ok, err := builtinDefinition(strings.TrimPrefix(ref, refPrefix))
		if err != nil {
			t.Fatal(err)
		}
		return d, ok
	}
	builtinDefs.mu.Lock()
	defer builtinDefs.mu.Unlock()
	kinds := builtinKinds()
	for _, k := range kinds {
		got, err := populateRefs(schemaOf, k.Definition)
		if err != nil {
			t.Fatal(err)
		}
		want, err := resolver.PopulateRefs(schemaOf, k.Definition)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: populated differently", k.Definition)
		}
	}
	if len(kinds) < 50 {
		t.Errorf("only %d kinds", len(kinds))
	}
	// The kinds include a cycle, cut as upstream cuts it: a CRD's
	// JSONSchemaProps refers to itself.
	if _, ok := builtinKind(gvk("apiextensions.k8s.io/v1", "CustomResourceDefinition")); !ok {
		t.Error("no CustomResourceDefinition among the built-in kinds")
	}
	if _, err := populateRefs(schemaOf, "no.such.Definition"); !errors.Is(err, resolver.ErrSchemaNotFound) {
		t.Errorf("missing root: %v", err)
	}
}

// A definition met inside a cycle is populated anew where it is referenced
// from outside that cycle, as upstream does.
func TestPopulateRefsCycles(t *testing.T) {
	defs := map[string]string{
		"R": `{"properties":{"a":{"$ref":"#/components/schemas/A"},"b":{"allOf":[{"$ref":"#/components/schemas/B"}]},"c":{"items":{"$ref":"#/components/schemas/C"}}}}`,
		"A": `{"properties":{"x":{"$ref":"#/components/schemas/B"}}}`,
		"B": `{"properties":{"y":{"$ref":"#/components/schemas/A"},"z":{"additionalProperties":{"$ref":"#/components/schemas/C"}}}}`,
		"C": `{"type":"string"}`,
	}
	schemaOf := func(ref string) (*spec.Schema, bool) {
		raw, ok := defs[strings.TrimPrefix(ref, refPrefix)]
		if !ok {
			return nil, false
		}
		s := &spec.Schema{}
		if err := s.UnmarshalJSON([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		return s, true
	}
	got, err := populateRefs(schemaOf, "R")
	if err != nil {
		t.Fatal(err)
	}
	want, err := resolver.PopulateRefs(schemaOf, "R")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := got.MarshalJSON()
		w, _ := want.MarshalJSON()
		t.Errorf("got  %s\nwant %s", g, w)
	}
}

// Warm fills the process-wide cache with the built-in kinds it is given and
// leaves other kinds alone.
func TestWarm(t *testing.T) {
	resetBuiltin()
	deployment := gvk("apps/v1", "Deployment")
	Warm([]schema.GroupVersionKind{gvk("example.com/v1", "Widget"), deployment})
	builtinDefs.mu.Lock()
	_, cached := builtinDefs.resolved[deployment]
	n := len(builtinDefs.resolved)
	builtinDefs.mu.Unlock()
	if !cached || n != 1 {
		t.Errorf("after Warm: Deployment cached %v, %d kinds cached, want only Deployment", cached, n)
	}
}
