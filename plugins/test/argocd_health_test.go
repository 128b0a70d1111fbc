package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"
)

// runHealth evaluates a health script the way Argo CD does (util/lua,
// VM.runLua + ExecuteHealthLua): a state without the standard libraries,
// then package, base and table opened, the object as the global obj, a
// one-second deadline, and a returned table with status and message.
func runHealth(t *testing.T, script string, obj map[string]any) (status, message string) {
	t.Helper()
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.fn), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		t.Fatalf("health.lua: %v", err)
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("health.lua returned %s, want a table", l.Get(-1).Type())
	}
	status = lua.LVAsString(ret.RawGetString("status"))
	message = lua.LVAsString(ret.RawGetString("message"))
	switch status {
	case "Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown":
	default:
		t.Fatalf("health.lua returned status %q, which Argo CD turns into Unknown", status)
	}
	return status, message
}

// toLua converts a decoded object as Argo CD's decodeValue does.
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := l.NewTable()
		for k, e := range v {
			t.RawSetString(k, toLua(l, e))
		}
		return t
	case []any:
		t := l.NewTable()
		for _, e := range v {
			t.Append(toLua(l, e))
		}
		return t
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case nil:
		return lua.LNil
	}
	panic("unhandled type")
}

func object(t *testing.T, y string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func healthScript(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "plugins", "argocd", "health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHealthLua(t *testing.T) {
	script := healthScript(t)
	const rgd = "apiVersion: kro.run/v1alpha1\nkind: ResourceGraphDefinition\nmetadata: {name: webapp, generation: 2}\n"
	const inst = "apiVersion: example.com/v1alpha1\nkind: KroWebApp\nmetadata: {name: shop, generation: 2}\n"
	for _, tc := range []struct {
		name, obj, status, message string
	}{
		{"rgd without status", rgd, "Progressing", "Waiting for KRO to report status"},
		{"rgd ready", rgd + `status:
  state: Active
  conditions:
  - {type: GraphAccepted, status: "True", observedGeneration: 2}
  - {type: KindReady, status: "True", observedGeneration: 2}
  - {type: ControllerReady, status: "True", observedGeneration: 2}
  - {type: Ready, status: "True", observedGeneration: 2}`, "Healthy", "ResourceGraphDefinition is active and serving instances"},
		// KRO keeps an RGD Active while it works on a new generation: the
		// CRD may not have the new field yet (issue 12).
		{"rgd active for the previous generation", rgd + `status:
  state: Active
  conditions:
  - {type: GraphAccepted, status: "True", observedGeneration: 1}
  - {type: Ready, status: "True", observedGeneration: 1}`, "Progressing", "Waiting for ResourceGraphDefinition to become ready: KRO has not reconciled generation 2 yet"},
		{"rgd creating its CRD", rgd + `status:
  state: Inactive
  conditions:
  - {type: GraphAccepted, status: "True", observedGeneration: 2}
  - {type: KindReady, status: "Unknown", reason: Pending, message: CRD not established yet, observedGeneration: 2}
  - {type: Ready, status: "Unknown", observedGeneration: 2}`, "Progressing", "Waiting for ResourceGraphDefinition to become ready: KindReady (Pending): CRD not established yet; Ready"},
		{"rgd rejected", rgd + `status:
  state: Inactive
  conditions:
  - {type: GraphAccepted, status: "False", reason: InvalidResourceGraph, message: "unknown resource id foo", observedGeneration: 2}`, "Degraded", "KRO rejected the ResourceGraphDefinition: GraphAccepted (InvalidResourceGraph): unknown resource id foo"},
		// A rejection of the previous spec says nothing about the new one.
		{"rgd rejected for the previous generation", rgd + `status:
  state: Inactive
  conditions:
  - {type: GraphAccepted, status: "False", reason: InvalidResourceGraph, message: "unknown resource id foo", observedGeneration: 1}`, "Progressing", "Waiting for ResourceGraphDefinition to become ready: GraphAccepted (InvalidResourceGraph): unknown resource id foo"},
		{"instance without status", inst, "Progressing", "Waiting for KRO to report status"},
		{"instance ready", inst + `status:
  state: ACTIVE
  conditions:
  - {type: Ready, status: "True", observedGeneration: 2}`, "Healthy", "Instance is active and running"},
		{"instance active but stale", inst + `status:
  state: ACTIVE
  conditions:
  - {type: Ready, status: "True", observedGeneration: 1}`, "Progressing", "Waiting for instance to become ready: ACTIVE: KRO has not reconciled generation 2 yet"},
		// What Flux saw in issue 12: ACTIVE, but Ready=False for the new generation.
		{"instance active but not ready", inst + `status:
  state: ACTIVE
  conditions:
  - {type: ResourcesReady, status: "False", reason: NotReady, message: "deployment 5/7", observedGeneration: 2}
  - {type: Ready, status: "False", observedGeneration: 2}`, "Progressing", "Waiting for instance to become ready: ACTIVE: ResourcesReady (NotReady): deployment 5/7; Ready"},
		{"instance in progress", inst + `status:
  state: IN_PROGRESS
  conditions:
  - {type: InstanceManaged, status: "True", observedGeneration: 2}
  - {type: ResourcesReady, status: "False", reason: NotReady, message: "deployment not ready", observedGeneration: 2}
  - {type: Ready, status: Unknown, observedGeneration: 2}`, "Progressing", "Waiting for instance to become ready: IN_PROGRESS: ResourcesReady (NotReady): deployment not ready; Ready"},
		{"instance deleting", inst + "status: {state: DELETING, conditions: []}", "Progressing", "Waiting for instance to become ready: DELETING"},
		{"instance error", inst + `status:
  state: ERROR
  conditions:
  - {type: GraphResolved, status: "False", message: "cannot resolve service.spec.clusterIP", observedGeneration: 2}`, "Degraded", "KRO failed to reconcile the instance: ERROR: GraphResolved: cannot resolve service.spec.clusterIP"},
		{"instance error for the previous generation", inst + `status:
  state: ERROR
  conditions:
  - {type: GraphResolved, status: "False", message: "cannot resolve service.spec.clusterIP", observedGeneration: 1}`, "Progressing", "Waiting for instance to become ready: ERROR: GraphResolved: cannot resolve service.spec.clusterIP"},
		{"instance failed without conditions", inst + "status: {state: FAILED}", "Progressing", "Waiting for KRO to report status"},
		{"instance with an author condition False", inst + `status:
  state: ERROR
  conditions:
  - {type: DatabaseReachable, status: "False", observedGeneration: 2}`, "Progressing", "Waiting for instance to become ready: ERROR: DatabaseReachable"},
		{"instance being deleted", "apiVersion: example.com/v1alpha1\nkind: KroWebApp\nmetadata: {name: shop, deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: [kro.run/finalizer]}\n",
			"Progressing", "Pending deletion; blocked by finalizers: kro.run/finalizer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, message := runHealth(t, script, object(t, tc.obj))
			if status != tc.status || message != tc.message {
				t.Errorf("got %s %q, want %s %q", status, message, tc.status, tc.message)
			}
		})
	}
}

// healthCase is one entry of testdata/argocd-health/cases.yaml.
type healthCase struct {
	Name    string         `json:"name"`
	Object  map[string]any `json:"object"`
	Status  string         `json:"status"`
	Message string         `json:"message"`
}

// TestHealthLuaCases runs health.lua over the KRO objects in
// testdata/argocd-health/cases.yaml: RGDs and instances that are ready,
// waiting, failed, ready or failed only for an older generation, without
// (observed) generation, without status, being deleted, and instances of
// kinds outside kro.run. These are the situations Argo CD's bundled kro.run
// checks distinguish, so ours gives the same status where both apply.
func TestHealthLuaCases(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "argocd-health", "cases.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []healthCase
	if err := yaml.UnmarshalStrict(b, &cases); err != nil {
		t.Fatalf("cases.yaml: %v", err)
	}
	script := healthScript(t)
	seen := map[string]bool{}
	// Every status must be expected of both an RGD and an instance, so a
	// cases.yaml that lost its entries (or was read as empty) fails.
	covered := map[string]bool{}
	for i, tc := range cases {
		if tc.Name == "" || tc.Object == nil || tc.Status == "" || tc.Message == "" {
			t.Fatalf("cases.yaml entry %d (%q): name, object, status and message are required", i, tc.Name)
		}
		if seen[tc.Name] {
			t.Fatalf("cases.yaml: duplicate case %q", tc.Name)
		}
		seen[tc.Name] = true
		covered[fmt.Sprint(tc.Object["kind"] == "ResourceGraphDefinition", tc.Status)] = true
		t.Run(tc.Name, func(t *testing.T) {
			status, message := runHealth(t, script, tc.Object)
			if status != tc.Status || message != tc.Message {
				t.Errorf("%s:\n got  %s %q\n want %s %q", tc.Name, status, message, tc.Status, tc.Message)
			}
		})
	}
	for _, rgd := range []bool{true, false} {
		for _, status := range []string{"Healthy", "Progressing", "Degraded"} {
			if !covered[fmt.Sprint(rgd, status)] {
				t.Errorf("cases.yaml has no %s case with ResourceGraphDefinition=%v", status, rgd)
			}
		}
	}
}

// argocd-cm.yaml carries health.lua verbatim under every key.
func TestArgoCDConfigMapMatchesHealthLua(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "plugins", "argocd", "argocd-cm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(data, &cm); err != nil {
		t.Fatal(err)
	}
	script := healthScript(t)
	for _, key := range []string{"resource.customizations.health.kro.run_ResourceGraphDefinition", "resource.customizations.health.example.com_KroWebApp"} {
		if cm.Data[key] != script {
			t.Errorf("argocd-cm.yaml %s differs from health.lua", key)
		}
	}
	if len(cm.Data) != 2 {
		t.Errorf("argocd-cm.yaml keys: %d", len(cm.Data))
	}
}
