package factories

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/typekro/kubectl-typekro/internal/golden"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	yaml3 "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// typed maps each factory to the API type its literal output must strictly
// decode into (unknown or mistyped fields fail).
var typed = map[string]func() any{
	"Deployment":       func() any { return &appsv1.Deployment{} },
	"StatefulSet":      func() any { return &appsv1.StatefulSet{} },
	"DaemonSet":        func() any { return &appsv1.DaemonSet{} },
	"Job":              func() any { return &batchv1.Job{} },
	"CronJob":          func() any { return &batchv1.CronJob{} },
	"Service":          func() any { return &corev1.Service{} },
	"Ingress":          func() any { return &networkingv1.Ingress{} },
	"NetworkPolicy":    func() any { return &networkingv1.NetworkPolicy{} },
	"ConfigMap":        func() any { return &corev1.ConfigMap{} },
	"Secret":           func() any { return &corev1.Secret{} },
	"Pvc":              func() any { return &corev1.PersistentVolumeClaim{} },
	"PersistentVolume": func() any { return &corev1.PersistentVolume{} },
	"Hpa":              func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
}

func TestKinds(t *testing.T) {
	kinds := Kinds()
	if len(kinds) != 13 || !sort.StringsAreSorted(kinds) {
		t.Fatalf("Kinds() = %v, want 13 sorted names", kinds)
	}
	for _, k := range kinds {
		if !IsFactory(k) || typed[k] == nil {
			t.Errorf("kind %s: IsFactory=%v, typed=%v", k, IsFactory(k), typed[k] != nil)
		}
		if files, _ := filepath.Glob(filepath.Join("testdata", k, "*.in.yaml")); len(files) == 0 {
			t.Errorf("kind %s has no golden test case", k)
		}
	}
	for _, k := range []string{"deployment", "PersistentVolumeClaim", "template", "id", ""} {
		if IsFactory(k) {
			t.Errorf("IsFactory(%q) = true", k)
		}
	}
}

// TestGolden expands testdata/<Kind>/<case>.in.yaml and compares the result
// with <case>.out.yaml (rewritten with -update).
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*/*.in.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		kind := filepath.Base(filepath.Dir(in))
		t.Run(kind+"/"+strings.TrimSuffix(filepath.Base(in), ".in.yaml"), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			// yaml.v3 yields int for integers.
			var cfg map[string]any
			if err := yaml3.Unmarshal(src, &cfg); err != nil {
				t.Fatal(err)
			}
			got, err := Expand(kind, cfg)
			if err != nil {
				t.Fatalf("Expand: %v", err)
			}
			out, err := yaml.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, strings.TrimSuffix(in, ".in.yaml")+".out.yaml", out)

			// JSON-style decoding (float64 numbers) must give the same manifest.
			var cfgJSON map[string]any
			if err := yaml.Unmarshal(src, &cfgJSON); err != nil {
				t.Fatal(err)
			}
			if again, err := Expand(kind, cfgJSON); err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("float64-decoded config differs: err=%v\n%v\nvs\n%v", err, again, got)
			}

			checkInvariants(t, kind, got)
			// Manifests without CEL must be valid for the typed API.
			if !bytes.Contains(out, []byte("${")) {
				js, _ := json.Marshal(got)
				dec := json.NewDecoder(bytes.NewReader(js))
				dec.DisallowUnknownFields()
				if err := dec.Decode(typed[kind]()); err != nil {
					t.Errorf("manifest does not decode strictly into the API type: %v", err)
				}
			}
		})
	}
}

// checkInvariants asserts API-server rules the typed decode cannot see.
func checkInvariants(t *testing.T, kind string, m map[string]any) {
	t.Helper()
	md := m["metadata"].(map[string]any)
	if md["name"] == nil {
		t.Error("metadata.name missing")
	}
	spec, _ := m["spec"].(map[string]any)
	template, _ := spec["template"].(map[string]any)
	if kind == "CronJob" {
		template = spec["jobTemplate"].(map[string]any)["spec"].(map[string]any)["template"].(map[string]any)
	}
	if template == nil {
		return
	}
	tl := template["metadata"].(map[string]any)["labels"].(map[string]any)
	if sel, ok := spec["selector"].(map[string]any); ok {
		for k, v := range sel["matchLabels"].(map[string]any) {
			if tl[k] != v {
				t.Errorf("selector %s=%v not in template labels %v", k, v, tl)
			}
		}
	}
	pod := template["spec"].(map[string]any)
	c := pod["containers"].([]any)[0].(map[string]any)
	if c["name"] == nil || c["image"] == nil {
		t.Errorf("container needs name and image: %v", c)
	}
	rp := pod["restartPolicy"]
	if (kind == "Job" || kind == "CronJob") != (rp == "Never" || rp == "OnFailure") {
		t.Errorf("restartPolicy %v invalid for %s", rp, kind)
	}
}

func TestIntegralForms(t *testing.T) {
	for _, n := range []any{int(3), int8(3), int32(3), int64(3), uint(3), uint64(3), float32(3), float64(3)} {
		got, err := Expand("Deployment", map[string]any{"name": "a", "image": "b", "replicas": n, "ports": []any{n}})
		if err != nil {
			t.Fatalf("%T: %v", n, err)
		}
		spec := got["spec"].(map[string]any)
		port := spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["ports"].([]any)[0]
		if spec["replicas"] != int64(3) || port.(map[string]any)["containerPort"] != int64(3) {
			t.Errorf("%T: replicas=%#v port=%#v, want int64(3)", n, spec["replicas"], port)
		}
	}
}

func TestExpandDoesNotAliasConfig(t *testing.T) {
	res := map[string]any{"limits": map[string]any{"cpu": "1"}}
	cfg := map[string]any{"name": "a", "image": "b", "resources": res, "labels": map[string]any{"x": "y"}}
	got, err := Expand("Deployment", cfg)
	if err != nil {
		t.Fatal(err)
	}
	res["limits"].(map[string]any)["cpu"] = "2"
	c := got["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	if c["resources"].(map[string]any)["limits"].(map[string]any)["cpu"] != "1" {
		t.Error("output aliases the config")
	}
	if len(cfg["labels"].(map[string]any)) != 1 {
		t.Error("Expand mutated the config labels")
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		kind, cfg, path, msg string
	}{
		{"Deployment", `{name: a, image: b, replcas: 3}`, "replcas", `unknown field (did you mean "replicas"?)`},
		{"Deployment", `{image: b}`, "name", "required"},
		{"Deployment", `{name: a}`, "image", "required"},
		{"Deployment", `{name: a, imgae: b}`, "imgae", `did you mean "image"`},
		{"Deployment", `{name: 5, image: b}`, "name", "must be a string"},
		{"Deployment", `{name: a, image: b, ports: 3000}`, "ports", "must be a list"},
		{"Deployment", `{name: a, image: b, ports: [80, {containerPort: http}]}`, "ports[1].containerPort", "must be an integer"},
		{"Deployment", `{name: a, image: b, ports: [80, {name: http}]}`, "ports[1].containerPort", "required"},
		{"Deployment", `{name: a, image: b, ports: [{contanerPort: 80}]}`, "ports[0].contanerPort", `did you mean "containerPort"`},
		{"Deployment", `{name: a, image: b, ports: [{port: 80, containerPort: 80}]}`, "ports[0].port", "duplicates containerPort"},
		{"Deployment", `{name: a, image: b, ports: [80, [81]]}`, "ports[1]", "must be an integer"},
		{"Deployment", `{name: a, image: b, ports: [{containerPort: 80, protocol: tcp}]}`, "ports[0].protocol", "must be one of TCP, UDP, SCTP"},
		{"Deployment", `{name: a, image: b, replicas: "3"}`, "replicas", "must be an integer or a ${...} expression"},
		{"Deployment", `{name: a, image: b, replicas: 2.5}`, "replicas", "must be an integer"},
		{"Deployment", `{name: a, image: b, restartPolicy: Never}`, "restartPolicy", "unknown field"},
		{"Deployment", `{name: a, image: b, schedule: "* * * * *"}`, "schedule", "unknown field"},
		{"Deployment", `{name: a, image: b, labels: {kro.run/owned: x}}`, "labels.kro.run/owned", "reserved for KRO"},
		{"Deployment", `{name: a, image: b, labels: "x-${schema.spec.labels}"}`, "labels", "must be a map of strings or a single ${...} expression"},
		{"Deployment", `{name: a, image: b, labels: "${schema.spec.labels"}`, "labels", "must be a map of strings"},
		{"Deployment", `{name: a, image: b, command: "run ${schema.spec.cmd}"}`, "command", "must be a list of strings or a single"},
		{"Deployment", `{name: a, image: b, replicas: "${schema.spec.n}0"}`, "replicas", "must be an integer or a ${...} expression"},
		{"Deployment", `{name: a, image: ""}`, "image", "required: must not be empty"},
		{"ConfigMap", `{name: ""}`, "name", "required: must not be empty"},
		{"CronJob", `{name: a, image: b, schedule: ""}`, "schedule", "must not be empty"},
		{"Service", `{name: a, selector: {app: a}, ports: []}`, "ports", "at least one port"},
		{"Service", `{name: a, selector: {app: a}, type: NodePort, ports: []}`, "ports", "at least one port"},
		{"Service", `{name: a, selector: {app: a}, ports: "${schema.spec.ports"}`, "ports", "must be a list"},
		{"Deployment", `{name: a, image: b, env: {FOO: [1]}}`, "env.FOO", "must be a string"},
		{"Deployment", `{name: a, image: b, env: [{value: x}]}`, "env[0].name", "required"},
		{"Deployment", `{name: a, image: b, env: [{name: X, value: x, valueFrom: {fieldRef: {fieldPath: x}}}]}`, "env[0].valueFrom", "only one"},
		{"Deployment", `{name: a, image: b, env: {X: {valu: 1}}}`, "env.X.valu", `did you mean "value"`},
		{"Deployment", `{name: a, image: b, env: FOO=bar}`, "env", "must be a map"},
		{"Deployment", `{name: a, image: b, imagePullPolicy: always}`, "imagePullPolicy", "must be one of"},
		{"DaemonSet", `{name: a, image: b, replicas: 2}`, "replicas", "unknown field"},
		{"Job", `{name: a, image: b, restartPolicy: Always}`, "restartPolicy", "must be one of OnFailure, Never"},
		{"CronJob", `{name: a, image: b}`, "schedule", "required"},
		{"CronJob", `{name: a, image: b, schedule: x, concurrencyPolicy: Skip}`, "concurrencyPolicy", "must be one of"},
		{"CronJob", `{name: a, image: b, schedule: x, suspend: "yes"}`, "suspend", "must be true, false"},
		{"Service", `{name: a, ports: [80]}`, "selector", "required"},
		{"Service", `{name: a, selector: {app: a}}`, "ports", "required"},
		{"Service", `{name: a, selector: {app: a}, ports: [{port: 80}, {targetPort: 8080}]}`, "ports[1].port", "required"},
		{"Service", `{name: a, selector: {app: a}, ports: [{port: 80, targetPort: [1]}]}`, "ports[0].targetPort", "integer or a string"},
		{"Service", `{name: a, selector: {app: a}, ports: [{port: 80, name: port-2}, 81]}`, "ports[1].name", "duplicate port name"},
		{"Service", `{name: a, selector: {app: a}, ports: {port: 80}}`, "ports", "must be a list"},
		{"Service", `{name: a, selector: {app: a}, ports: [80], type: Loadbalancer}`, "type", "must be one of"},
		{"Service", `{name: a, type: ExternalName}`, "externalName", "required"},
		{"Ingress", `{name: a}`, "rules", "required"},
		{"Ingress", `{name: a, host: x.com, serviceName: s}`, "servicePort", "required"},
		{"Ingress", `{name: a, serviceName: s, servicePort: 80, rules: []}`, "rules", "cannot be combined"},
		{"Ingress", `{name: a, serviceName: s, servicePort: 80, pathType: prefix}`, "pathType", "must be one of"},
		{"ConfigMap", `{name: a, data: {k: {nested: 1}}}`, "data.k", "must be a string"},
		{"Secret", `{name: a, stringData: [a]}`, "stringData", "must be a map"},
		{"Pvc", `{name: a}`, "size", "required"},
		{"Pvc", `{name: a, size: 1Gi, storageClass: x, storageClassName: y}`, "storageClass", `duplicates "storageClassName"`},
		{"Pvc", `{name: a, size: 1Gi, accessModes: ReadWriteOnce}`, "accessModes", "must be a list"},
		{"Pvc", `{name: a, size: [1]}`, "size", "must be a quantity"},
		{"PersistentVolume", `{name: a, size: 1Gi, hostPath: /x, namespace: b}`, "namespace", "unknown field"},
		{"PersistentVolume", `{name: a, size: 1Gi}`, "hostPath", "exactly one volume source"},
		{"PersistentVolume", `{name: a, size: 1Gi, hostPath: /x, nfs: {server: s, path: /}}`, "hostPath", "got 2"},
		{"PersistentVolume", `{name: a, hostPath: /x}`, "size", "required (or capacity)"},
		{"Hpa", `{name: a, maxReplicas: 3}`, "scaleTargetRef", "required"},
		{"Hpa", `{name: a, target: a}`, "maxReplicas", "required"},
		{"Hpa", `{name: a, target: a, minReplicas: 5, maxReplicas: 3}`, "minReplicas", "must not exceed"},
		{"Hpa", `{name: a, target: {kind: Deployment}, maxReplicas: 3}`, "target.name", "required"},
		{"Hpa", `{name: a, target: a, scaleTargetRef: {name: a}, maxReplicas: 3}`, "target", "duplicates scaleTargetRef"},
		{"Hpa", `{name: a, target: a, maxReplicas: 3, cpuUtilization: 50, metrics: "${x}"}`, "metrics", "must be a list"},
		{"Nope", `{name: a}`, "", "unknown factory"},
	}
	for _, tc := range cases {
		t.Run(tc.kind+"/"+tc.cfg, func(t *testing.T) {
			var cfg map[string]any
			if err := yaml3.Unmarshal([]byte(tc.cfg), &cfg); err != nil {
				t.Fatal(err)
			}
			got, err := Expand(tc.kind, cfg)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want *FieldError, got %v (manifest %v)", err, got)
			}
			if fe.Path != tc.path || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("got %q (path %q), want path %q and message containing %q", fe.Error(), fe.Path, tc.path, tc.msg)
			}
			if got != nil {
				t.Error("manifest returned together with an error")
			}
		})
	}
}

func TestFieldErrorString(t *testing.T) {
	if s := (&FieldError{Path: "ports[1].containerPort", Msg: "required"}).Error(); s != "ports[1].containerPort: required" {
		t.Errorf("got %q", s)
	}
	if s := (&FieldError{Msg: "bad"}).Error(); s != "bad" {
		t.Errorf("got %q", s)
	}
}
