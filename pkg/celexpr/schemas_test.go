package celexpr

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	krocel "github.com/kubernetes-sigs/kro/pkg/cel"
	celunstructured "github.com/kubernetes-sigs/kro/pkg/cel/unstructured"
	"github.com/kubernetes-sigs/kro/pkg/graph"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apiserver/pkg/cel/openapi"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"sigs.k8s.io/yaml"
)

// testSchema has what UnstructuredToVal treats specially: an embedded
// resource, list-type map and set lists, additionalProperties, int-or-string,
// byte, date-time and duration formats, nullable, numbers, and a field of
// ObjectMeta's size.
const testSchema = `type: object
properties:
  apiVersion: {type: string}
  kind: {type: string}
  metadata:
    type: object
    properties:
      name: {type: string}
      namespace: {type: string}
      labels: {type: object, additionalProperties: {type: string}}
      annotations: {type: object, additionalProperties: {type: string}}
      uid: {type: string}
      generation: {type: integer}
      finalizers: {type: array, items: {type: string}}
  spec:
    type: object
    properties:
      name: {type: string}
      replicas: {type: integer}
      ratio: {type: number}
      port: {x-kubernetes-int-or-string: true}
      data: {type: string, format: byte}
      since: {type: string, format: date-time}
      every: {type: string, format: duration}
      maybe: {type: string, nullable: true}
      free: {type: object, x-kubernetes-preserve-unknown-fields: true}
      template: {type: object, x-kubernetes-embedded-resource: true, x-kubernetes-preserve-unknown-fields: true}
      ports:
        type: array
        x-kubernetes-list-type: map
        x-kubernetes-list-map-keys: [name]
        items: {type: object, properties: {name: {type: string}, port: {type: integer}}}
      tags: {type: array, x-kubernetes-list-type: set, items: {type: string}}
      env: {type: object, additionalProperties: {type: object, properties: {value: {type: string}}}}
`

var testObjects = []string{
	`{apiVersion: x/v1, kind: X, metadata: {name: a, labels: {app: a}, generation: 3, finalizers: [f]},
  spec: {name: a, replicas: 2, ratio: 1.5, port: http, data: aGVsbG8=, since: "2024-01-02T03:04:05Z", every: 1m30s, maybe: null,
  free: {anything: [1, {b: c}]}, template: {apiVersion: v1, kind: ConfigMap, metadata: {name: t}, data: {k: v}},
  ports: [{name: http, port: 80}, {name: https, port: 443}], tags: [a, b], env: {A: {value: "1"}}}}`,
	`{apiVersion: x/v1, kind: X, metadata: {name: b}, spec: {port: 8080, ratio: 2, ports: []}}`,
	`{apiVersion: x/v1, kind: X}`,
}

func parseSchema(t testing.TB) *spec.Schema {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(testSchema))
	if err != nil {
		t.Fatal(err)
	}
	s := &spec.Schema{}
	if err := s.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return s
}

func parseObject(t testing.TB, y string) map[string]any {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	var u unstructured.Unstructured // integers as int64, as the runtime has them
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return u.Object
}

// TestSharedSchemaReadsTheSame: KRO's CEL view of an object through a
// sharedSchema is the one through openapi.Schema: same native value, equal
// both ways, same value field by field and item by item, also when read
// twice (the shared sub-schemas are reused).
func TestSharedSchemaReadsTheSame(t *testing.T) {
	s := parseSchema(t)
	shared := newSharedSchema(s)
	for i, y := range testObjects {
		o := parseObject(t, y)
		for round := 0; round < 2; round++ {
			full := celunstructured.UnstructuredToVal(o, &openapi.Schema{Schema: s})
			got := celunstructured.UnstructuredToVal(o, shared)
			want, err := full.ConvertToNative(reflect.TypeOf(map[string]any{}))
			if err != nil {
				t.Fatal(err)
			}
			native, err := got.ConvertToNative(reflect.TypeOf(map[string]any{}))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(native, want) {
				t.Errorf("object %d: native value differs:\n got %v\nwant %v", i, native, want)
			}
			sameView(t, fmt.Sprintf("object %d", i), full, got)
			if self := fmt.Sprint(full.Equal(full)); fmt.Sprint(got.Equal(full)) != self || fmt.Sprint(full.Equal(got)) != self {
				t.Errorf("object %d: shared and openapi values compare differently", i)
			}
		}
	}
	if shared.Properties() == nil || reflect.ValueOf(shared.Properties()).Pointer() != reflect.ValueOf(shared.Properties()).Pointer() {
		t.Error("Properties is built again on every call")
	}
	if shared.Items() != nil || shared.AdditionalProperties() != nil {
		t.Error("an object schema without items or additionalProperties returns non-nil ones")
	}
}

// sameView walks two CEL views of one object field by field: every field
// and item must come out as the same kind of value and print the same.
func sameView(t *testing.T, path string, a, b ref.Val) {
	t.Helper()
	if fmt.Sprintf("%T", a) != fmt.Sprintf("%T", b) {
		t.Errorf("%s: %T through openapi.Schema, %T through sharedSchema", path, a, b)
		return
	}
	switch m := a.(type) {
	case traits.Mapper:
		for it := m.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			av, _ := m.Find(k)
			bv, _ := b.(traits.Mapper).Find(k)
			if av == nil || bv == nil {
				if (av == nil) != (bv == nil) {
					t.Errorf("%s.%v: %v through openapi.Schema, %v through sharedSchema", path, k, av, bv)
				}
				continue
			}
			sameView(t, fmt.Sprintf("%s.%v", path, k), av, bv)
		}
	case traits.Lister:
		n := m.Size().(types.Int)
		for i := types.Int(0); i < n; i++ {
			sameView(t, fmt.Sprintf("%s[%d]", path, i), m.Get(i), b.(traits.Lister).Get(i))
		}
	default:
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s: %v through openapi.Schema, %v through sharedSchema", path, a, b)
		}
	}
}

// TestShareSchemas: after ShareSchemas, a graph's programs compute what
// KRO's did, from activations as KRO's runtime builds them (resources
// wrapped with openapi.Schema, collections as lists of them), and allocate
// less doing it (the point of it).
func TestShareSchemas(t *testing.T) {
	s := parseSchema(t)
	exprs := map[string]string{
		"field":      `schema.spec.name + "-" + string(schema.spec.replicas)`,
		"meta":       `schema.metadata.labels.app`,
		"embedded":   `schema.spec.template.data.k`,
		"listMap":    `schema.spec.ports.map(p, p.port).sum()`,
		"set":        `schema.spec.tags == ["b", "a"]`,
		"bytes":      `string(schema.spec.data)`,
		"time":       `schema.spec.since + schema.spec.every`,
		"intOrStr":   `string(schema.spec.port)`,
		"has":        `has(schema.spec.maybe) ? "set" : "unset"`,
		"additional": `schema.spec.env.A.value`,
		"collection": `items.map(i, i.metadata.name).join(",")`,
		"whole":      `schema.spec`,
	}
	env, err := krocel.DefaultEnvironment(krocel.WithCustomDeclarations([]cel.EnvOption{
		cel.Variable("schema", cel.DynType), cel.Variable("items", cel.ListType(cel.DynType)),
	}))
	if err != nil {
		t.Fatal(err)
	}
	g := &graph.Graph{
		Nodes:           map[string]*graph.Node{},
		ResourceSchemas: map[string]*spec.Schema{graph.InstanceNodeID: s, "items": s},
	}
	plain := map[string]cel.Program{}
	for name, e := range exprs {
		ast, iss := env.Compile(e)
		if iss != nil && iss.Err() != nil {
			t.Fatalf("%s: %v", name, iss.Err())
		}
		prg, err := env.Program(ast)
		if err != nil {
			t.Fatal(err)
		}
		plain[name] = prg
		g.Nodes[name] = &graph.Node{IncludeWhen: []*krocel.Expression{{Original: e, Program: prg}}}
	}
	if RuntimeSchemas(g) != nil {
		t.Fatal("runtime schemas for a graph whose programs are not shared")
	}
	ShareSchemas(g)
	runtimeSchemas := RuntimeSchemas(g)
	if runtimeSchemas == nil {
		t.Fatal("no runtime schemas for a graph whose programs are shared")
	}
	o := parseObject(t, testObjects[0])
	// activation wraps objects as KRO's runtime does, with the schema of
	// node id in schemas.
	activation := func(schemas map[string]*spec.Schema) map[string]any {
		return map[string]any{
			"schema": celunstructured.UnstructuredToVal(o, &openapi.Schema{Schema: schemas["schema"]}),
			"items": []any{
				celunstructured.UnstructuredToVal(o, &openapi.Schema{Schema: schemas["items"]}),
				celunstructured.UnstructuredToVal(parseObject(t, testObjects[1]), &openapi.Schema{Schema: schemas["items"]}),
			},
		}
	}
	for name := range exprs {
		shared := g.Nodes[name].IncludeWhen[0].Program
		if _, ok := shared.(*sharedProgram); !ok {
			t.Fatalf("%s: program not wrapped", name)
		}
		want, _, werr := plain[name].Eval(activation(g.ResourceSchemas))
		for _, schemas := range []map[string]*spec.Schema{g.ResourceSchemas, runtimeSchemas} {
			got, _, gerr := shared.Eval(activation(schemas))
			if fmt.Sprint(werr) != fmt.Sprint(gerr) {
				t.Fatalf("%s: error %v, want %v", name, gerr, werr)
			}
			if werr != nil {
				continue
			}
			if got.Equal(want) != types.True || !reflect.DeepEqual(got.Value(), want.Value()) {
				t.Errorf("%s: %v, want %v", name, got, want)
			}
		}
	}
	in := activation(g.ResourceSchemas)
	field := g.Nodes["field"].IncludeWhen[0].Program
	sharedAllocs := testing.AllocsPerRun(50, func() { _, _, _ = field.Eval(in) })
	plainAllocs := testing.AllocsPerRun(50, func() { _, _, _ = plain["field"].Eval(in) })
	if sharedAllocs >= plainAllocs {
		t.Errorf("shared schemas: %v allocations per evaluation, KRO's own: %v", sharedAllocs, plainAllocs)
	}
}
