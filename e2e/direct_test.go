package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// exampleIn copies examples/<name> to a temp dir with every instance moved
// to namespace ns (JSON documents are YAML).
func exampleIn(t *testing.T, name, ns string) (dir string, instances []*unstructured.Unstructured) {
	t.Helper()
	src := filepath.Join("..", "examples", name)
	dir = t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasPrefix(rel, "instances") {
			var docs []string
			for _, o := range e2eutil.Objects(t, string(data)) {
				o.SetNamespace(ns)
				instances = append(instances, o)
				b, _ := json.Marshal(o.Object)
				docs = append(docs, string(b))
			}
			data = []byte(strings.Join(docs, "\n---\n"))
		}
		out := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir, instances
}

var comparedKinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "ConfigMap"}, {Version: "v1", Kind: "Secret"}, {Version: "v1", Kind: "Service"},
	{Version: "v1", Kind: "PersistentVolumeClaim"}, {Group: "apps", Version: "v1", Kind: "Deployment"},
	{Group: "apps", Version: "v1", Kind: "StatefulSet"}, {Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
	{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"},
}

// created lists the objects made for instances in ns (by KRO or typekro:
// both put kro.run/instance-name on them), keyed Kind/name.
func created(t *testing.T, ns string) map[string]*unstructured.Unstructured {
	t.Helper()
	c := e2eutil.Clients(t)
	out := map[string]*unstructured.Unstructured{}
	for _, gvk := range comparedKinds {
		list, err := c.ResourceFor(t, gvk, ns).List(t.Context(), metav1.ListOptions{LabelSelector: "kro.run/instance-name"})
		if err != nil {
			t.Fatal(err)
		}
		for i := range list.Items {
			out[gvk.Kind+"/"+list.Items[i].GetName()] = &list.Items[i]
		}
	}
	return out
}

// clusterIPs maps each Service clusterIP in objs to a placeholder, so
// values built from it (DATABASE_URL) compare across namespaces.
func clusterIPs(objs map[string]*unstructured.Unstructured) map[string]string {
	out := map[string]string{}
	for k, o := range objs {
		if ip, _, _ := unstructured.NestedString(o.Object, "spec", "clusterIP"); ip != "" && ip != "None" {
			out[ip] = "<clusterIP of " + k + ">"
		}
	}
	return out
}

func ignoredKey(k string) bool {
	for _, p := range []string{"kro.run/", "internal.kro.run/", "applyset.kubernetes.io/", "app.kubernetes.io/managed-by", "deployment.kubernetes.io/", "kubectl.kubernetes.io/"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// normalize drops what may differ: server-set metadata, namespace, KRO's
// and typekro's labels and annotations, status, assigned IPs.
func normalize(o *unstructured.Unstructured, ips map[string]string) map[string]any {
	c := o.DeepCopy().Object
	md := map[string]any{"name": o.GetName()}
	for _, f := range []string{"labels", "annotations"} {
		m := map[string]any{}
		src, _, _ := unstructured.NestedStringMap(o.Object, "metadata", f)
		for k, v := range src {
			if !ignoredKey(k) {
				m[k] = v
			}
		}
		if len(m) > 0 {
			md[f] = m
		}
	}
	c["metadata"] = md
	delete(c, "status")
	if o.GetKind() == "Service" {
		unstructured.RemoveNestedField(c, "spec", "clusterIP")
		unstructured.RemoveNestedField(c, "spec", "clusterIPs")
	}
	if ports, ok, _ := unstructured.NestedSlice(c, "spec", "ports"); ok && o.GetKind() == "Service" {
		for _, p := range ports {
			delete(p.(map[string]any), "nodePort") // assigned by the server
		}
		_ = unstructured.SetNestedSlice(c, ports, "spec", "ports")
	}
	if sd, ok, _ := unstructured.NestedStringMap(c, "stringData"); ok && o.GetKind() == "Secret" {
		// The server folds stringData into data.
		data, _, _ := unstructured.NestedMap(c, "data")
		if data == nil {
			data = map[string]any{}
		}
		for k, v := range sd {
			data[k] = base64.StdEncoding.EncodeToString([]byte(v))
		}
		c["data"] = data
		delete(c, "stringData")
	}
	if o.GetKind() == "PersistentVolumeClaim" {
		unstructured.RemoveNestedField(c, "spec", "volumeName")
	}
	return replaceStrings(c, ips).(map[string]any)
}

func replaceStrings(v any, ips map[string]string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = replaceStrings(e, ips)
		}
	case []any:
		for i, e := range x {
			x[i] = replaceStrings(e, ips)
		}
	case string:
		for ip, ph := range ips {
			x = strings.ReplaceAll(x, ip, ph)
		}
		return x
	}
	return v
}

// diffPaths lists the paths where a and b differ (b nil: only in a).
func diffPaths(prefix string, a, b any, out *[]string) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for k := range keys {
			diffPaths(prefix+"."+k, am[k], bm[k], out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, fmt.Sprintf("%s: %v != %v", prefix, a, b))
	}
}

// subset reports fields of want missing or different in got.
func subset(prefix string, want, got any, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, _ := got.(map[string]any)
		for k, v := range w {
			subset(prefix+"."+k, v, g[k], out)
		}
	case []any:
		g, _ := got.([]any)
		if len(g) != len(w) {
			*out = append(*out, fmt.Sprintf("%s: %d items != %d", prefix, len(w), len(g)))
			return
		}
		for i := range w {
			subset(fmt.Sprintf("%s[%d]", prefix, i), w[i], g[i], out)
		}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			*out = append(*out, fmt.Sprintf("%s: rendered %v, KRO made %v", prefix, want, got))
		}
	}
}

// TestDirectConformance creates each example's instances through KRO in
// one namespace and through apply --mode direct in another, and compares
// every object; render --mode direct must match KRO's objects too.
func TestDirectConformance(t *testing.T) {
	for _, example := range []string{"webapp", "database-stack", "autoscaling", "multi-env"} {
		t.Run(example, func(t *testing.T) {
			nsKRO, nsDirect := e2eutil.Namespace(t), e2eutil.Namespace(t)
			dirKRO, insts := exampleIn(t, example, nsKRO)
			dirDirect, _ := exampleIn(t, example, nsDirect)
			// RGDs are cluster-scoped: leave none behind for later tests.
			typekroDeleteAtEnd(t, nil, dirKRO)
			if out, errOut, code := e2eutil.RunTypekro(t, "apply", dirKRO, "--timeout", "3m"); code != 0 {
				t.Fatalf("kro apply: exit %d\n%s\n%s", code, out, errOut)
			}
			out, errOut, code := e2eutil.RunTypekro(t, "apply", "--mode", "direct", dirDirect, "--timeout", "3m")
			if code != 0 {
				t.Fatalf("direct apply: exit %d\n%s\n%s", code, out, errOut)
			}
			kro, dir := created(t, nsKRO), created(t, nsDirect)
			if len(kro) == 0 {
				t.Fatal("KRO created nothing")
			}
			ipsK, ipsD := clusterIPs(kro), clusterIPs(dir)
			var keys []string
			for k := range kro {
				keys = append(keys, k)
			}
			for k := range dir {
				if kro[k] == nil {
					t.Errorf("%s: created by direct mode, not by KRO", k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				if dir[k] == nil {
					t.Errorf("%s: created by KRO, not by direct mode", k)
					continue
				}
				var d []string
				diffPaths(k, normalize(kro[k], ipsK), normalize(dir[k], ipsD), &d)
				for _, line := range d {
					t.Errorf("KRO vs direct: %s", line)
				}
			}
			// render --mode direct == KRO's objects, for every rendered field.
			rendered, errOut, code := e2eutil.RunTypekro(t, "render", "--mode", "direct", "--allow-pending", dirKRO, "-o", "json")
			if code != 0 {
				t.Fatalf("render: exit %d: %s", code, errOut)
			}
			var list struct{ Items []map[string]any }
			if err := json.Unmarshal([]byte(rendered), &list); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, item := range list.Items {
				u := &unstructured.Unstructured{Object: item}
				if u.GetLabels()["kro.run/instance-name"] == "" {
					continue
				}
				k := u.GetKind() + "/" + u.GetName()
				if kro[k] == nil {
					t.Errorf("render: %s not created by KRO", k)
					continue
				}
				n++
				var d []string
				subset(k, normalize(u, nil), normalize(kro[k], nil), &d)
				for _, line := range d {
					t.Errorf("render vs KRO: %s", line)
				}
			}
			t.Logf("%s: %d objects compared with KRO's, %d rendered objects checked (%d instances)", example, len(keys), n, len(insts))
		})
	}
}

// TestDirectDatabaseStack: runtime references resolve from live objects,
// status is hydrated, prune and delete clean up.
func TestDirectDatabaseStack(t *testing.T) {
	ns := e2eutil.Namespace(t)
	dir, _ := exampleIn(t, "database-stack", ns)
	out, errOut, code := e2eutil.RunTypekro(t, "apply", "--mode", "direct", dir, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	c := e2eutil.Clients(t)
	svc, err := c.ResourceFor(t, schema.GroupVersionKind{Version: "v1", Kind: "Service"}, ns).Get(t.Context(), "orders-db-service", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip, _, _ := unstructured.NestedString(svc.Object, "spec", "clusterIP")
	app, err := c.ResourceFor(t, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, ns).Get(t.Context(), "orders", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	containers, _, _ := unstructured.NestedSlice(app.Object, "spec", "template", "spec", "containers")
	env, _ := containers[0].(map[string]any)["env"].([]any)
	var url string
	for _, e := range env {
		if m := e.(map[string]any); m["name"] == "DATABASE_URL" {
			url, _ = m["value"].(string)
		}
	}
	if ip == "" || !strings.Contains(url, "@"+ip+":5432/") {
		t.Errorf("DATABASE_URL %q does not hold the Service clusterIP %q", url, ip)
	}
	if !strings.Contains(out, `"databaseEndpoint": "`+ip+`:5432"`) || !strings.Contains(out, `"fullyOperational": true`) {
		t.Errorf("status not hydrated:\n%s", out)
	}
	// Re-apply is idempotent.
	out2, errOut, code := e2eutil.RunTypekro(t, "apply", "--mode", "direct", dir)
	if code != 0 || strings.Contains(out2, " created") || strings.Contains(out2, " configured") {
		t.Errorf("re-apply changed something (exit %d):\n%s\n%s", code, out2, errOut)
	}
	// status --mode direct recomputes the same status from live objects.
	st, errOut, code := e2eutil.RunTypekro(t, "status", "--mode", "direct", "-f", dir, "-o", "json")
	if code != 0 || !strings.Contains(st, `"databaseEndpoint": "`+ip+`:5432"`) {
		t.Errorf("status --mode direct (exit %d):\n%s\n%s", code, st, errOut)
	}
	// Prune: drop the app's Service from the composition.
	comp := filepath.Join(dir, "composition.yaml")
	data, _ := os.ReadFile(comp)
	i := strings.Index(string(data), "    - id: appService")
	if i < 0 {
		t.Fatal("no appService in the composition")
	}
	withoutSvc := strings.Replace(string(data[:i]), "      appEndpoint: ${\"http://\" + appService.spec.clusterIP}\n", "", 1)
	if err := os.WriteFile(comp, []byte(withoutSvc), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = e2eutil.RunTypekro(t, "apply", "--mode", "direct", "--prune", dir)
	if code != 0 || !strings.Contains(out, "service/orders-service -n "+ns+" deleted") {
		t.Errorf("prune (exit %d):\n%s\n%s", code, out, errOut)
	}
	// Delete leaves nothing.
	out, errOut, code = e2eutil.RunTypekro(t, "delete", "--mode", "direct", dir)
	if code != 0 {
		t.Fatalf("delete: exit %d\n%s\n%s", code, out, errOut)
	}
	if left := created(t, ns); len(left) > 0 {
		t.Errorf("left after delete: %v", left)
	}
	if _, err := c.ResourceFor(t, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns).Get(t.Context(), "typekro-databasestack-orders", metav1.GetOptions{}); err == nil {
		t.Error("ApplySet parent left after delete")
	}
}
