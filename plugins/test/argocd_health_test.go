package test

import (
	"context"
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
	const rgd = "apiVersion: kro.run/v1alpha1\nkind: ResourceGraphDefinition\nmetadata: {name: webapp, generation: 1}\n"
	const inst = "apiVersion: example.com/v1alpha1\nkind: KroWebApp\nmetadata: {name: shop, generation: 2}\n"
	for _, tc := range []struct {
		name, obj, status, message string
	}{
		{"rgd without status", rgd, "Progressing", "Waiting for KRO to report a status"},
		{"rgd active", rgd + `status:
  state: Active
  conditions:
  - {type: GraphAccepted, status: "True"}
  - {type: KindReady, status: "True"}
  - {type: ControllerReady, status: "True"}
  - {type: Ready, status: "True"}`, "Healthy", "ResourceGraphDefinition is Active"},
		{"rgd creating its CRD", rgd + `status:
  state: Inactive
  conditions:
  - {type: GraphAccepted, status: "True"}
  - {type: KindReady, status: "False", reason: Pending, message: CRD not established yet}
  - {type: Ready, status: "False"}`, "Progressing", "Inactive: KindReady (Pending): CRD not established yet; Ready"},
		{"rgd rejected", rgd + `status:
  state: Inactive
  conditions:
  - {type: GraphAccepted, status: "False", reason: InvalidResourceGraph, message: "unknown resource id foo"}`, "Degraded", "KRO rejected the graph: GraphAccepted (InvalidResourceGraph): unknown resource id foo"},
		{"instance without status", inst, "Progressing", "Waiting for KRO to report a status"},
		{"instance active", inst + `status:
  state: ACTIVE
  conditions:
  - {type: Ready, status: "True", observedGeneration: 2}`, "Healthy", "ACTIVE"},
		{"instance active but stale", inst + `status:
  state: ACTIVE
  conditions:
  - {type: Ready, status: "True", observedGeneration: 1}`, "Progressing", "Waiting for KRO to reconcile generation 2"},
		{"instance in progress", inst + `status:
  state: IN_PROGRESS
  conditions:
  - {type: InstanceManaged, status: "True"}
  - {type: ResourcesReady, status: "False", reason: NotReady, message: "deployment not ready"}
  - {type: Ready, status: Unknown}`, "Progressing", "IN_PROGRESS: ResourcesReady (NotReady): deployment not ready; Ready"},
		{"instance deleting", inst + "status: {state: DELETING}", "Progressing", "DELETING"},
		{"instance error", inst + `status:
  state: ERROR
  conditions:
  - {type: GraphResolved, status: "False", message: "cannot resolve service.spec.clusterIP"}`, "Degraded", "ERROR: GraphResolved: cannot resolve service.spec.clusterIP"},
		{"instance failed", inst + "status: {state: FAILED}", "Degraded", "FAILED"},
		{"instance with status but no state", inst + "status: {url: x}", "Progressing", "Waiting for KRO (state nil)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, message := runHealth(t, script, object(t, tc.obj))
			if status != tc.status || message != tc.message {
				t.Errorf("got %s %q, want %s %q", status, message, tc.status, tc.message)
			}
		})
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
