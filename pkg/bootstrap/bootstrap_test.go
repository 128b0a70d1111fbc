package bootstrap

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/typekro/kubectl-typekro/pkg/render"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func container(t *testing.T, objs []*unstructured.Unstructured) map[string]any {
	t.Helper()
	d := find(objs, "Deployment", DeploymentName)
	if d == nil {
		t.Fatal("no kro Deployment")
	}
	cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	return cs[0].(map[string]any)
}

// TestManifestsDefaults: the chart's defaults, in apply order (CRDs, then
// the Namespace, then Helm's install order), every namespaced object in
// kro-system, the released image.
func TestManifestsDefaults(t *testing.T) {
	objs, err := Manifests(Values{})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind()+"/"+o.GetName())
	}
	want := "CustomResourceDefinition/graphrevisions.internal.kro.run CustomResourceDefinition/resourcegraphdefinitions.kro.run " +
		"Namespace/kro-system ServiceAccount/kro ClusterRole/kro-cluster-role ClusterRole/kro-edit ClusterRole/kro-view " +
		"ClusterRoleBinding/kro-cluster-role-binding Deployment/kro"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("objects:\n got %s\nwant %s", got, want)
	}
	if img := container(t, objs)["image"]; img != "registry.k8s.io/kro/kro:0.9.4" {
		t.Errorf("image %v", img)
	}
	if !SameVersion(ImageVersion(container(t, objs)["image"].(string)), Version) {
		t.Errorf("the embedded image is not KRO %s", Version)
	}
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" && ns != DefaultNamespace {
			t.Errorf("%s/%s in namespace %q", o.GetKind(), o.GetName(), ns)
		}
	}
}

// TestManifestsOverrides: --set values land where the chart's values would
// have put them, and nowhere else.
func TestManifestsOverrides(t *testing.T) {
	v, err := ParseSet([]string{"namespace=kro", "image=example.com/kro:dev", "replicas=3",
		"resources.requests.cpu=100m", "resources.limits.memory=2Gi"})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Manifests(v)
	if err != nil {
		t.Fatal(err)
	}
	if find(objs, "Namespace", "kro") == nil || find(objs, "Namespace", DefaultNamespace) != nil {
		t.Error("the Namespace is not kro")
	}
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" && ns != "kro" {
			t.Errorf("%s/%s in namespace %q", o.GetKind(), o.GetName(), ns)
		}
	}
	crb := find(objs, "ClusterRoleBinding", "kro-cluster-role-binding")
	subj, _, _ := unstructured.NestedSlice(crb.Object, "subjects")
	if ns := subj[0].(map[string]any)["namespace"]; ns != "kro" {
		t.Errorf("ClusterRoleBinding subject namespace %v", ns)
	}
	d := find(objs, "Deployment", DeploymentName)
	if r, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); r != 3 {
		t.Errorf("replicas %d", r)
	}
	c := container(t, objs)
	if c["image"] != "example.com/kro:dev" {
		t.Errorf("image %v", c["image"])
	}
	res := c["resources"].(map[string]any)
	for path, want := range map[string]string{"requests.cpu": "100m", "limits.memory": "2Gi", "requests.memory": "128Mi", "limits.cpu": "1000m"} {
		k, r, _ := strings.Cut(path, ".")
		if got := res[k].(map[string]any)[r]; got != want {
			t.Errorf("resources.%s = %v, want %s", path, got, want)
		}
	}
	// The embedded text itself is untouched by an override.
	again, _ := Manifests(Values{})
	if container(t, again)["image"] != "registry.k8s.io/kro/kro:0.9.4" {
		t.Error("overrides leaked into the defaults")
	}
}

func TestParseSetErrors(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"namespace=Kro_System", "namespace=Kro_System"},
		{"replicas=-1", "whole number"},
		{"replicas=two", "whole number"},
		{"resources.limits.cpu=lots", "resources.limits.cpu=lots"},
		{"image=a b", "no spaces"},
		{"tolerations=x", `unknown key "tolerations"`},
		{"namespace", "want key=value"},
	} {
		_, err := ParseSet([]string{tc.set})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--set %s: error %v, want it to mention %q", tc.set, err, tc.want)
		}
	}
}

// TestApplyPlanIdempotent: the CRDs and Namespace go first, and objects the
// server says are unchanged are not written again.
func TestApplyPlanIdempotent(t *testing.T) {
	objs, err := Manifests(Values{})
	if err != nil {
		t.Fatal(err)
	}
	st := Stages(objs)
	if len(st) != 2 || len(st[0]) != 3 || st[0][2].GetKind() != "Namespace" {
		t.Fatalf("stages: %d, first %d", len(st), len(st[0]))
	}
	for _, o := range st[1] {
		if IsCRD(o) || o.GetKind() == "Namespace" {
			t.Errorf("%s in the second stage", o.GetKind())
		}
	}
	for _, tc := range []struct {
		name    string
		actions []ssa.Action
		want    int
	}{
		{"fresh cluster", []ssa.Action{ssa.CreatedAction, ssa.CreatedAction, ssa.CreatedAction}, 3},
		{"re-run", []ssa.Action{ssa.UnchangedAction, ssa.UnchangedAction, ssa.UnchangedAction}, 0},
		{"drifted", []ssa.Action{ssa.UnchangedAction, ssa.ConfiguredAction, ssa.UnchangedAction}, 1},
	} {
		var items []*ssa.Object
		for i, a := range tc.actions {
			items = append(items, &ssa.Object{Obj: st[0][i], Action: a})
		}
		if got := len(ToWrite(items)); got != tc.want {
			t.Errorf("%s: %d objects to write, want %d", tc.name, got, tc.want)
		}
	}
}

func rgd(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("kro.run/v1alpha1")
	u.SetKind("ResourceGraphDefinition")
	u.SetName(name)
	return u
}

func TestRefuseUninstall(t *testing.T) {
	lists := map[schema.GroupVersionResource]string{RGDResource: "ResourceGraphDefinitionList"}
	for _, tc := range []struct {
		name string
		rgds []runtime.Object
		o    UninstallOptions
		want string // "" allowed
	}{
		{"no RGDs", nil, UninstallOptions{}, ""},
		{"RGDs", []runtime.Object{rgd("webapp"), rgd("db")}, UninstallOptions{}, "2 ResourceGraphDefinition(s) exist (db, webapp)"},
		{"RGDs, --force", []runtime.Object{rgd("webapp")}, UninstallOptions{Force: true}, ""},
		{"RGDs, --keep-crds", []runtime.Object{rgd("webapp")}, UninstallOptions{KeepCRDs: true}, ""},
	} {
		dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, tc.rgds...)
		err := RefuseUninstall(context.Background(), dyn, tc.o)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestInstalled(t *testing.T) {
	objs, _ := Manifests(Values{Namespace: "kro"})
	d := find(objs, "Deployment", DeploymentName)
	old := d.DeepCopy()
	cs, _, _ := unstructured.NestedSlice(old.Object, "spec", "template", "spec", "containers")
	cs[0].(map[string]any)["image"] = "registry.k8s.io/kro/kro:0.8.0"
	_ = unstructured.SetNestedSlice(old.Object, cs, "spec", "template", "spec", "containers")
	lists := map[schema.GroupVersionResource]string{DeploymentResource: "DeploymentList"}
	for _, tc := range []struct {
		name             string
		objs             []runtime.Object
		found, supported bool
		version          string
	}{
		{"none", nil, false, false, ""},
		{"bootstrapped", []runtime.Object{d}, true, true, "0.9.4"},
		{"older", []runtime.Object{old}, true, false, "0.8.0"},
	} {
		dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, tc.objs...)
		inst, err := Installed(context.Background(), dyn)
		if err != nil {
			t.Fatal(err)
		}
		if inst.Found != tc.found || inst.Supported != tc.supported || inst.Version != tc.version {
			t.Errorf("%s: %+v", tc.name, inst)
		}
		if tc.found && (inst.Namespace != "kro" || inst.Available) {
			t.Errorf("%s: a Deployment without status is in %q, Available=%v", tc.name, inst.Namespace, inst.Available)
		}
	}
}

func TestImageVersion(t *testing.T) {
	for in, want := range map[string]string{
		"registry.k8s.io/kro/kro:0.9.4":        "0.9.4",
		"localhost:5000/kro":                   "",
		"localhost:5000/kro:v1@sha256:abc":     "v1",
		"registry.k8s.io/kro/kro@sha256:abcde": "",
	} {
		if got := ImageVersion(in); got != want {
			t.Errorf("ImageVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFluxTree: the Kustomization applies kro/ with health checks on both
// CRDs and the controller, and Flux never prunes the CRDs.
func TestFluxTree(t *testing.T) {
	objs, _ := Manifests(Values{})
	tree, err := FluxTree(objs, FluxOptions{Path: "clusters/prod/kro"})
	if err != nil {
		t.Fatal(err)
	}
	ks := string(tree[FluxKustomization])
	for _, want := range []string{"path: ./clusters/prod/kro/kro", "kind: GitRepository", "name: resourcegraphdefinitions.kro.run",
		"name: graphrevisions.internal.kro.run", "kind: Deployment", "namespace: kro-system", "prune: true"} {
		if !strings.Contains(ks, want) {
			t.Errorf("flux/kro.yaml lacks %q:\n%s", want, ks)
		}
	}
	if !strings.Contains(string(tree["kustomization.yaml"]), "- flux/kro.yaml") {
		t.Errorf("kustomization.yaml:\n%s", tree["kustomization.yaml"])
	}
	if n := strings.Count(string(tree[FluxManifest]), "kustomize.toolkit.fluxcd.io/prune: disabled"); n != 3 {
		t.Errorf("%d objects with prune disabled, want the 2 CRDs and the Namespace", n)
	}
	if _, err := FluxTree(objs, FluxOptions{Path: "/abs"}); err == nil {
		t.Error("an absolute path was accepted")
	}
}

// TestDefaultsAreHelmTemplate: with no --set, what bootstrap applies and
// prints (--render) is the embedded `helm template` output object for
// object, plus the Namespace; the gen module's test ties that file to
// Helm's rendering byte for byte.
func TestDefaultsAreHelmTemplate(t *testing.T) {
	helm, err := decode(manifest)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Manifests(Values{})
	if err != nil {
		t.Fatal(err)
	}
	text, err := render.YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	printed, err := decode(text)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]*unstructured.Unstructured{"Manifests": objs, "--render": printed} {
		var rest []*unstructured.Unstructured
		for _, o := range got {
			if o.GetKind() != "Namespace" {
				rest = append(rest, o)
			}
		}
		if len(rest) != len(helm) {
			t.Fatalf("%s: %d objects besides the Namespace, helm template %d", name, len(rest), len(helm))
		}
		for _, h := range helm {
			o := find(rest, h.GetKind(), h.GetName())
			if o == nil || !reflect.DeepEqual(o.Object, h.Object) {
				t.Errorf("%s: %s/%s differs from helm template's", name, h.GetKind(), h.GetName())
			}
		}
	}
}

// Test binaries carry no dependency build info, so the release typekro links
// is read from go.mod here; `kubectl typekro version` reads the binary's.
func TestEmbeddedManifestsAreTheRequiredKRO(t *testing.T) {
	b, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var required string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == kroModule {
			required = f[1]
		}
	}
	if required != Version {
		t.Errorf("go.mod requires KRO %q but the embedded manifests are %s: run make generate", required, Version)
	}
}
