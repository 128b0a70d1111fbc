package factories

import (
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	krocel "github.com/kubernetes-sigs/kro/pkg/cel"
	"github.com/kubernetes-sigs/kro/pkg/graph/parser"
	yaml3 "go.yaml.in/yaml/v3"
)

func manifest(t *testing.T, kind, cfg string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml3.Unmarshal([]byte(cfg), &m); err != nil {
		t.Fatal(err)
	}
	out, err := Expand(kind, m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDefaultReadyWhenSelection(t *testing.T) {
	cases := []struct {
		name     string
		manifest map[string]any
		want     int
		contains string
	}{
		{"deployment", manifest(t, "Deployment", `{name: a, image: b}`), 4, "availableReplicas"},
		{"statefulset", manifest(t, "StatefulSet", `{name: a, image: b}`), 3, "currentRevision"},
		{"statefulset OnDelete", manifest(t, "StatefulSet", `{name: a, image: b, updateStrategy: {type: OnDelete}}`), 2, "readyReplicas"},
		{"daemonset", manifest(t, "DaemonSet", `{name: a, image: b}`), 3, "updatedNumberScheduled"},
		{"daemonset OnDelete", manifest(t, "DaemonSet", `{name: a, image: b, updateStrategy: {type: OnDelete}}`), 2, "numberReady"},
		{"job", manifest(t, "Job", `{name: a, image: b}`), 1, "'Complete'"},
		{"cronjob", manifest(t, "CronJob", `{name: a, image: b, schedule: x}`), 0, ""},
		{"service clusterip", manifest(t, "Service", `{name: a, selector: {a: b}, ports: [80]}`), 0, ""},
		{"service loadbalancer", manifest(t, "Service", `{name: a, selector: {a: b}, ports: [80], type: LoadBalancer}`), 1, "loadBalancer.ingress"},
		{"service CEL type", manifest(t, "Service", `{name: a, selector: {a: b}, ports: [80], type: "${schema.spec.type}"}`), 0, ""},
		{"pvc", manifest(t, "Pvc", `{name: a, size: 1Gi}`), 0, ""},
		{"ingress", manifest(t, "Ingress", `{name: a, serviceName: s, servicePort: 80}`), 0, ""},
		{"hpa", manifest(t, "Hpa", `{name: a, target: a, maxReplicas: 2}`), 0, ""},
		{"crd", map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}, 1, "'Established'"},
		{"foreign Deployment group", map[string]any{"apiVersion": "example.com/v1", "kind": "Deployment"}, 0, ""},
		{"CEL kind", map[string]any{"apiVersion": "apps/v1", "kind": "${schema.spec.kind}"}, 0, ""},
		{"empty", map[string]any{}, 0, ""},
	}
	for _, tc := range cases {
		got := DefaultReadyWhen("res", tc.manifest)
		if len(got) != tc.want || (tc.want == 0 && got != nil) {
			t.Errorf("%s: got %d expressions %v, want %d", tc.name, len(got), got, tc.want)
			continue
		}
		if tc.want > 0 && !strings.Contains(strings.Join(got, " "), tc.contains) {
			t.Errorf("%s: %v does not mention %s", tc.name, got, tc.contains)
		}
		for _, e := range got {
			if strings.Contains(e, "schema") || !strings.Contains(e, "res.status") {
				t.Errorf("%s: %q must reference only the resource itself", tc.name, e)
			}
		}
	}
	// The shared expression table must not be modified by appends.
	if n := len(DefaultReadyWhen("x", map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet"})); n != 3 {
		t.Errorf("StatefulSet: %d expressions after repeated calls", n)
	}
}

// compileReady compiles a readyWhen string in KRO's CEL environment with only
// the resource id declared, as KRO's builder does (untyped).
func compileReady(t *testing.T, id, expr string) cel.Program {
	t.Helper()
	inner, err := parser.UnwrapExpressions([]string{expr})
	if err != nil || len(inner) != 1 {
		t.Fatalf("%q is not a single ${...} expression: %v", expr, err)
	}
	env, err := krocel.DefaultEnvironment(krocel.WithResourceIDs([]string{id}))
	if err != nil {
		t.Fatal(err)
	}
	ast, iss := env.Compile(inner[0].Original)
	if iss.Err() != nil {
		t.Fatalf("%q does not compile: %v", expr, iss.Err())
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		t.Fatalf("%q returns %s, want bool", expr, ast.OutputType())
	}
	prg, err := env.Program(ast)
	if err != nil {
		t.Fatal(err)
	}
	return prg
}

// ready evaluates all expressions like KRO's runtime: an error matching
// KRO's "data pending" patterns means not ready yet; other errors are bugs.
func ready(t *testing.T, id string, exprs []string, obj map[string]any) bool {
	t.Helper()
	for _, e := range exprs {
		out, _, err := compileReady(t, id, e).Eval(map[string]any{id: obj})
		if err != nil {
			if !isDataPending(err) {
				t.Fatalf("%q: non-pending error %v", e, err)
			}
			return false
		}
		if out.Value() != true {
			return false
		}
	}
	return true
}

// isDataPending mirrors kro v0.9.4 pkg/runtime/errors.go isCELDataPending.
func isDataPending(err error) bool {
	for _, p := range []string{"no such key", "no such field", "no such attribute", "index out of bounds"} {
		if strings.Contains(err.Error(), p) {
			return true
		}
	}
	return false
}

func obj(t *testing.T, y string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml3.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return clone(m).(map[string]any)
}

// readinessSubjects returns, by resource id, the manifests whose default
// readyWhen the scenarios below exercise. "c" checks that the comprehension
// variable is renamed when it equals the id.
func readinessSubjects(t *testing.T) map[string]map[string]any {
	return map[string]map[string]any{
		"web": manifest(t, "Deployment", `{name: web, image: nginx}`),
		"db":  manifest(t, "StatefulSet", `{name: db, image: postgres}`),
		"ds":  manifest(t, "DaemonSet", `{name: ds, image: agent}`),
		"c":   manifest(t, "Job", `{name: c, image: busybox}`),
		"svc": manifest(t, "Service", `{name: svc, type: LoadBalancer, selector: {app: web}, ports: [80]}`),
		"crd": {
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]any{"name": "widgets.example.com"},
			"spec": map[string]any{
				"group": "example.com", "scope": "Namespaced",
				"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget"},
				"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
					"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object"}}}},
			},
		},
	}
}

// readinessScenarios are observed objects and whether the subject with that
// id must count as ready.
var readinessScenarios = []struct {
	name, id, object string
	want             bool
}{
	{"deployment just created", "web", `{metadata: {generation: 1}, spec: {replicas: 3}}`, false},
	{"deployment empty status", "web", `{metadata: {generation: 1}, spec: {replicas: 3}, status: {}}`, false},
	{"deployment observed, no pods", "web", `{metadata: {generation: 1}, spec: {replicas: 3}, status: {observedGeneration: 1, replicas: 3, updatedReplicas: 3, unavailableReplicas: 3}}`, false},
	{"deployment ready", "web", `{metadata: {generation: 1}, spec: {replicas: 3}, status: {observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3}}`, true},
	{"deployment stale generation", "web", `{metadata: {generation: 2}, spec: {replicas: 3}, status: {observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3}}`, false},
	{"deployment old pods left", "web", `{metadata: {generation: 2}, spec: {replicas: 3}, status: {observedGeneration: 2, replicas: 4, updatedReplicas: 3, readyReplicas: 4, availableReplicas: 3}}`, false},
	{"deployment scaled to zero (counters omitted)", "web", `{metadata: {generation: 1}, spec: {replicas: 0}, status: {observedGeneration: 1}}`, true},
	{"statefulset not observed", "db", `{metadata: {generation: 1}, spec: {replicas: 2}, status: {replicas: 0, availableReplicas: 0}}`, false},
	{"statefulset rolling", "db", `{metadata: {generation: 2}, spec: {replicas: 2}, status: {observedGeneration: 2, readyReplicas: 2, currentRevision: db-1, updateRevision: db-2}}`, false},
	{"statefulset ready", "db", `{metadata: {generation: 2}, spec: {replicas: 2}, status: {observedGeneration: 2, readyReplicas: 2, currentRevision: db-2, updateRevision: db-2}}`, true},
	{"daemonset all-zero initial status", "ds", `{metadata: {generation: 1}, status: {currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0}}`, false},
	{"daemonset partly ready", "ds", `{metadata: {generation: 1}, status: {observedGeneration: 1, desiredNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3}}`, false},
	{"daemonset rolling", "ds", `{metadata: {generation: 2}, status: {observedGeneration: 2, desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 1}}`, false},
	{"daemonset ready", "ds", `{metadata: {generation: 1}, status: {observedGeneration: 1, desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 3}}`, true},
	{"daemonset no matching nodes", "ds", `{metadata: {generation: 1}, status: {observedGeneration: 1, desiredNumberScheduled: 0, numberReady: 0}}`, true},
	{"job running", "c", `{status: {active: 1}}`, false},
	{"job failed", "c", `{status: {conditions: [{type: Failed, status: "True"}]}}`, false},
	{"job complete", "c", `{status: {conditions: [{type: SuccessCriteriaMet, status: "True"}, {type: Complete, status: "True"}]}}`, true},
	{"lb pending", "svc", `{status: {loadBalancer: {}}}`, false},
	{"lb assigned", "svc", `{status: {loadBalancer: {ingress: [{ip: 1.2.3.4}]}}}`, true},
	{"crd new", "crd", `{status: {conditions: [{type: NamesAccepted, status: "True"}]}}`, false},
	{"crd established", "crd", `{status: {conditions: [{type: NamesAccepted, status: "True"}, {type: Established, status: "True"}]}}`, true},
}

// TestReadinessEvaluation evaluates the defaults in KRO's untyped CEL
// environment; TestKROReadinessRuntime repeats this with the typed programs
// KRO's graph builder compiles.
func TestReadinessEvaluation(t *testing.T) {
	subjects := readinessSubjects(t)
	for _, tc := range readinessScenarios {
		exprs := DefaultReadyWhen(tc.id, subjects[tc.id])
		if got := ready(t, tc.id, exprs, obj(t, tc.object)); got != tc.want {
			t.Errorf("%s: ready=%v, want %v (%v)", tc.name, got, tc.want, exprs)
		}
	}
}

func TestDefaultReadinessDoc(t *testing.T) {
	doc := DefaultReadinessDoc()
	for _, want := range []string{"| Deployment |", "<id>.status.?availableReplicas.orValue(0) == <id>.spec.replicas", "| PersistentVolumeClaim |", "WaitForFirstConsumer", "| CustomResourceDefinition |"} {
		if !strings.Contains(doc, want) {
			t.Errorf("doc lacks %q:\n%s", want, doc)
		}
	}
}
