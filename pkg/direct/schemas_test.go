package direct

import (
	"fmt"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"reflect"
	"testing"

	celunstructured "github.com/kubernetes-sigs/kro/pkg/cel/unstructured"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apiserver/pkg/cel/openapi"
	"sigs.k8s.io/yaml"

	"github.com/typekro/kubectl-typekro/internal/benchinputs"
	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// TestNarrowedSchemaReadsTheSame: KRO's CEL view of an object through the
// schema narrow cuts down (to that object's keys) is the same as through
// the full schema: same native value, equal, same field lookups. Objects
// are the fleet's rendered ones plus hand-written ones with fields and
// lists the template never sets.
func TestNarrowedSchemaReadsTheSame(t *testing.T) {
	dir := t.TempDir()
	if err := benchinputs.WriteFleet(dir, 4); err != nil {
		t.Fatal(err)
	}
	set, err := composition.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := compile.Compile(set, compile.Options{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	var objs = map[string][]map[string]any{}
	r, err := Render(res, Options{AllowPending: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range r.Resources {
		objs[rs.NodeID] = append(objs[rs.NodeID], rs.Object.Object)
	}
	extra := map[string]string{
		"app": `{apiVersion: apps/v1, kind: Deployment, metadata: {name: x, annotations: {a: b}, ownerReferences: [{apiVersion: v1, kind: X, name: o, uid: u}]},
  spec: {replicas: 2, selector: {matchLabels: {app: x}}, strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 1}},
  template: {spec: {containers: [{name: a, image: i, ports: [{containerPort: 80}], resources: {limits: {cpu: 500m}}}, {name: b, image: j, env: [{name: E, value: v}]}],
  volumes: [{name: v, emptyDir: {}}]}}}, status: {availableReplicas: 2, conditions: [{type: Available, status: "True"}]}}`,
		"service": `{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {clusterIP: 10.0.0.1, ports: [{port: 80, targetPort: http, protocol: TCP}]}}`,
	}
	for id, y := range extra {
		j, err := yaml.YAMLToJSON([]byte(y))
		if err != nil {
			t.Fatal(err)
		}
		var u unstructured.Unstructured // integers as int64, as the runtime has them
		if err := u.UnmarshalJSON(j); err != nil {
			t.Fatal(err)
		}
		objs[id] = append(objs[id], u.Object)
	}
	d := res.Definitions[0]
	c := newContent(d.Graph)
	for id, list := range objs {
		for _, o := range list {
			_, schemas := c.instanceGraph()
			c.narrow(schemas, id, []*unstructured.Unstructured{{Object: o}})
			full := celunstructured.UnstructuredToVal(o, &openapi.Schema{Schema: c.graph.ResourceSchemas[id]})
			cut := celunstructured.UnstructuredToVal(o, &openapi.Schema{Schema: schemas[id]})
			if cut, full := schemas[id].Properties["metadata"], c.graph.ResourceSchemas[id].Properties["metadata"]; len(cut.Properties) >= len(full.Properties) {
				t.Errorf("%s: metadata schema not narrowed (%d of %d properties)", id, len(cut.Properties), len(full.Properties))
			}
			want, err := full.ConvertToNative(reflect.TypeOf(map[string]any{}))
			if err != nil {
				t.Fatal(err)
			}
			got, err := cut.ConvertToNative(reflect.TypeOf(map[string]any{}))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: native value differs:\n got %v\nwant %v", id, got, want)
			}
			sameView(t, id, full, cut)
			// Equal as KRO's values compare to themselves (a list of maps
			// keyed by x-kubernetes-list-map-keys may not).
			if self := fmt.Sprint(full.Equal(full)); fmt.Sprint(cut.Equal(full)) != self || fmt.Sprint(full.Equal(cut)) != self || fmt.Sprint(cut.Equal(cut)) != self {
				t.Errorf("%s: narrowed and full values compare differently (full to itself: %v; cut to full: %v)", id, self, cut.Equal(full))
			}
		}
	}
	if n := len(c.pruned); n == 0 || n > len(objs)+len(extra)+2 {
		t.Errorf("%d cached shapes for %d nodes", n, len(objs))
	}
}

// sameView walks two CEL views of one object field by field: every field
// and item must come out as the same kind of value (a field the narrowed
// schema lost would come out untyped).
func sameView(t *testing.T, path string, a, b ref.Val) {
	t.Helper()
	if fmt.Sprintf("%T", a) != fmt.Sprintf("%T", b) {
		t.Errorf("%s: %T through the full schema, %T through the narrowed one", path, a, b)
		return
	}
	switch m := a.(type) {
	case traits.Mapper:
		for it := m.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			av, _ := m.Find(k)
			bv, _ := b.(traits.Mapper).Find(k)
			sameView(t, fmt.Sprintf("%s.%v", path, k), av, bv)
		}
	case traits.Lister:
		n := m.Size().(types.Int)
		for i := types.Int(0); i < n; i++ {
			sameView(t, fmt.Sprintf("%s[%d]", path, i), m.Get(i), b.(traits.Lister).Get(i))
		}
	default:
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s: %v through the full schema, %v through the narrowed one", path, a, b)
		}
	}
}
