package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// A Team creates a Space (an instance of another definition) and a
// ConfigMap built from the Space's status, which comes from a Service the
// Space creates: status flows out of a nested instance.
const nestedRGDs = `apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: spaces.e2e.typekro.dev
spec:
  schema:
    apiVersion: v1alpha1
    kind: Space
    group: e2e.typekro.dev
    spec:
      name: string
    status:
      endpoint: ${svc.spec.clusterIP}
  resources:
    - id: svc
      template:
        apiVersion: v1
        kind: Service
        metadata:
          name: ${schema.spec.name}-space
        spec:
          selector:
            app: ${schema.spec.name}
          ports:
            - port: 80
---
apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: teams.e2e.typekro.dev
spec:
  schema:
    apiVersion: v1alpha1
    kind: Team
    group: e2e.typekro.dev
    spec:
      name: string
    status:
      endpoint: ${space.status.endpoint}
  resources:
    - id: space
      template:
        apiVersion: e2e.typekro.dev/v1alpha1
        kind: Space
        metadata:
          name: ${schema.spec.name}
        spec:
          name: ${schema.spec.name}
    - id: settings
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-settings
        data:
          endpoint: ${space.status.endpoint}
`

// TestDirectNested: a nested instance is deployed in direct mode, its
// hydrated status feeds the outer instance, prune removes it with all it
// created, and delete leaves nothing.
func TestDirectNested(t *testing.T) {
	ns := e2eutil.Namespace(t)
	dir := t.TempDir()
	writeFile(t, dir, "rgds.yaml", nestedRGDs)
	writeFile(t, dir, "team.yaml", "apiVersion: e2e.typekro.dev/v1alpha1\nkind: Team\nmetadata:\n  name: blue\n  namespace: "+ns+"\nspec:\n  name: blue\n")
	out := typekro(t, 0, "apply", "--mode", "direct", dir, "--timeout", "2m", "-o", "json")

	c := e2eutil.Clients(t)
	cms := c.ResourceFor(t, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns)
	svc := get(t, schema.GroupVersionKind{Version: "v1", Kind: "Service"}, ns, "blue-space")
	ip, _, _ := unstructured.NestedString(svc.Object, "spec", "clusterIP")
	settings := get(t, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns, "blue-settings")
	if got, _, _ := unstructured.NestedString(settings.Object, "data", "endpoint"); ip == "" || got != ip {
		t.Errorf("settings endpoint %q, want the nested Service's clusterIP %q", got, ip)
	}
	mustContain(t, "apply output", out.Stdout, `"endpoint": "`+ip+`"`)
	// KRO's labels on what the nested instance created name the Space.
	if l := svc.GetLabels(); l["kro.run/instance-kind"] != "Space" || l["kro.run/instance-name"] != "blue" {
		t.Errorf("nested Service labels: %v", l)
	}
	// The nested instance's ApplySet parent is a member of the Team's.
	space, err := cms.Get(t.Context(), "typekro-space-blue", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	team, err := cms.Get(t.Context(), "typekro-team-blue", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if space.GetLabels()["applyset.kubernetes.io/part-of"] != team.GetLabels()["applyset.kubernetes.io/id"] {
		t.Errorf("nested parent labels %v, outer parent id %s", space.GetLabels(), team.GetLabels()["applyset.kubernetes.io/id"])
	}

	st := typekro(t, 0, "status", "--mode", "direct", "-f", dir, "-o", "json")
	mustContain(t, "status output", st.Stdout, `"endpoint": "`+ip+`"`)
	if d := typekro(t, 0, "diff", "--mode", "direct", dir); d.Stdout != "" {
		t.Errorf("diff after apply is not empty:\n%s", d.Stdout)
	}

	// Prune: the Team no longer creates the Space.
	rgds := nestedRGDs[:strings.Index(nestedRGDs, "    - id: space")] + `    - id: settings
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}-settings
        data:
          endpoint: none
`
	rgds = strings.Replace(rgds, "endpoint: ${space.status.endpoint}\n  resources:", "endpoint: ${settings.data.endpoint}\n  resources:", 1)
	if err := os.WriteFile(filepath.Join(dir, "rgds.yaml"), []byte(rgds), 0o644); err != nil {
		t.Fatal(err)
	}
	pr := typekro(t, 0, "apply", "--mode", "direct", "--prune", dir, "--timeout", "2m")
	mustContain(t, "prune output", pr.Stdout, "service/blue-space -n "+ns+" deleted", "configmap/typekro-space-blue -n "+ns+" deleted")
	if _, err := cms.Get(t.Context(), "typekro-space-blue", metav1.GetOptions{}); err == nil {
		t.Error("the nested parent is still there after prune")
	}

	typekro(t, 0, "delete", "--mode", "direct", dir)
	left, err := cms.List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range left.Items {
		if cm.GetName() != "kube-root-ca.crt" {
			t.Errorf("left after delete: configmap/%s", cm.GetName())
		}
	}
	if names := names(t, schema.GroupVersionKind{Version: "v1", Kind: "Service"}, ns); len(names) > 0 {
		t.Errorf("left after delete: services %v", names)
	}
}

// TestDirectCrossGraphSeparateApplies: an externalRef to another
// composition's instance reads the status a previous, separate
// apply --mode direct left on that instance's ApplySet parent.
func TestDirectCrossGraphSeparateApplies(t *testing.T) {
	ns := e2eutil.Namespace(t)
	ex := copyExample(t, "cross-graph", inNamespace(ns))
	inst := filepath.Join(ex.Dir, "instances", "platform.yaml")
	data, err := os.ReadFile(inst)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(data), "\n---\n")
	if len(docs) != 2 || !strings.Contains(docs[0], "kind: Infrastructure") {
		t.Fatalf("unexpected instances file:\n%s", data)
	}
	if err := os.Remove(inst); err != nil {
		t.Fatal(err)
	}
	infra, app := filepath.Join(t.TempDir(), "infra.yaml"), filepath.Join(t.TempDir(), "app.yaml")
	writeFile(t, filepath.Dir(infra), "infra.yaml", docs[0])
	writeFile(t, filepath.Dir(app), "app.yaml", docs[1])
	comps := []string{filepath.Join(ex.Dir, "infrastructure.yaml"), filepath.Join(ex.Dir, "app.yaml")}

	typekro(t, 0, append([]string{"apply", "--mode", "direct", "--timeout", "2m", "-f", infra}, prefixF(comps)...)...)
	typekro(t, 0, append([]string{"apply", "--mode", "direct", "--timeout", "2m", "-f", app}, prefixF(comps)...)...)

	svc := get(t, schema.GroupVersionKind{Version: "v1", Kind: "Service"}, ns, "shared-database")
	ip, _, _ := unstructured.NestedString(svc.Object, "spec", "clusterIP")
	dep := get(t, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, ns, "billing")
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	env, _ := containers[0].(map[string]any)["env"].([]any)
	var url string
	for _, e := range env {
		if m := e.(map[string]any); m["name"] == "DATABASE_URL" {
			url, _ = m["value"].(string)
		}
	}
	if ip == "" || url != "postgresql://app@"+ip+":5432/billing" {
		t.Errorf("DATABASE_URL %q does not hold the infrastructure's database clusterIP %q", url, ip)
	}
	args := append([]string{"delete", "--mode", "direct", "-f", infra, "-f", app}, prefixF(comps)...)
	typekro(t, 0, args...)
}

func prefixF(paths []string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, "-f", p)
	}
	return out
}

// A Roster lists the ConfigMaps labelled with its team (an externalRef
// collection) in a ConfigMap of its own.
const rosterRGD = "../pkg/compile/testdata/roster-collection.yaml"

// TestDirectExternalCollection: an externalRef collection is listed (in
// the API server's order) and followed, in direct mode as in KRO.
func TestDirectExternalCollection(t *testing.T) {
	c := e2eutil.Clients(t)
	setup := func() (ns, dir string) {
		ns = e2eutil.Namespace(t)
		cms := c.ResourceFor(t, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns)
		for _, name := range []string{"zoe", "adam", "other"} {
			team := "blue"
			if name == "other" {
				team = "red"
			}
			cm := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": name, "labels": map[string]any{"team": team}}}}
			if _, err := cms.Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		dir = t.TempDir()
		rgd, err := os.ReadFile(rosterRGD)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, "rgd.yaml", string(rgd))
		writeFile(t, dir, "roster.yaml", "apiVersion: e2e.typekro.dev/v1alpha1\nkind: Roster\nmetadata:\n  name: blue\n  namespace: "+ns+"\nspec:\n  team: blue\n")
		return ns, dir
	}
	names := func(ns string) string {
		roster := get(t, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns, "blue-roster")
		if roster == nil {
			t.Fatalf("no roster in %s", ns)
		}
		s, _, _ := unstructured.NestedString(roster.Object, "data", "names")
		return s
	}
	// The same instance through KRO, for reference.
	nsKRO, dirKRO := setup()
	typekroDeleteAtEnd(t, nil, dirKRO)
	typekro(t, 0, "apply", dirKRO, "--timeout", "3m")
	kro := names(nsKRO)

	ns, dir := setup()
	out := typekro(t, 0, "apply", "--mode", "direct", dir, "--timeout", "2m", "-o", "json")
	if got := names(ns); got != "adam,zoe" || got != kro {
		t.Errorf("roster names: direct mode %q, KRO %q, want adam,zoe", got, kro)
	}
	mustContain(t, "apply output", out.Stdout, `"members": 2`)
	st := typekro(t, 0, "status", "--mode", "direct", "-f", dir, "-o", "json")
	mustContain(t, "status output", st.Stdout, `"members": 2`)
	if d := typekro(t, 0, "diff", "--mode", "direct", dir); d.Stdout != "" {
		t.Errorf("diff after apply is not empty:\n%s", d.Stdout)
	}
	typekro(t, 0, "delete", "--mode", "direct", dir)
	if get(t, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns, "zoe") == nil {
		t.Error("delete removed a ConfigMap it only read")
	}
}
