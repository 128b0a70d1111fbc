package render

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func obj(role Role, apiVersion, kind, ns, name string, ann map[string]string) Object {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": name}}}
	if ns != "" {
		u.SetNamespace(ns)
	}
	if ann != nil {
		u.SetAnnotations(ann)
	}
	return Object{Role: role, Object: u}
}

func sample() []Object {
	objs := []Object{
		obj(RoleInstance, "example.com/v1alpha1", "WebApp", "prod", "shop", map[string]string{ArgoSyncOptions: "Validate=false"}),
		obj(RoleCRD, "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "things.example.com", nil),
		obj(RoleRGD, "kro.run/v1alpha1", "ResourceGraphDefinition", "", "webapp", nil),
		obj(RoleNamespace, "v1", "Namespace", "", "prod", nil),
		obj(RoleResource, "v1", "ConfigMap", "prod", "settings", map[string]string{ArgoSyncWave: "5"}),
		obj(RoleInstance, "example.com/v1alpha1", "Database", "prod", "db", nil),
		obj(RoleInstance, "example.com/v1alpha1", "WebApp", "prod", "blog", map[string]string{ArgoSyncOptions: "SkipDryRunOnMissingResource=false"}),
	}
	Sort(objs)
	return objs
}

func TestArgoCD(t *testing.T) {
	in := sample()
	before, _ := YAML(Unstructured(in))
	out := ArgoCD(in)
	if after, _ := YAML(Unstructured(in)); string(after) != string(before) {
		t.Fatal("ArgoCD modified its input")
	}
	got := map[string][2]string{}
	for _, o := range out {
		a := o.Object.GetAnnotations()
		got[o.Object.GetKind()+"/"+o.Object.GetName()] = [2]string{a[ArgoSyncWave], a[ArgoSyncOptions]}
	}
	want := map[string][2]string{
		"CustomResourceDefinition/things.example.com": {"-2", ""},
		"Namespace/prod":                 {"-2", ""},
		"ResourceGraphDefinition/webapp": {"-1", ""},
		"ConfigMap/settings":             {"5", ""}, // the author's wave is kept
		"Database/db":                    {"1", "SkipDryRunOnMissingResource=true"},
		"WebApp/shop":                    {"1", "Validate=false,SkipDryRunOnMissingResource=true"},
		"WebApp/blog":                    {"1", "SkipDryRunOnMissingResource=false"}, // an explicit choice is kept
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("annotations:\n got %v\nwant %v", got, want)
	}
}

func TestFluxTree(t *testing.T) {
	tree, err := FluxTree(sample(), FluxOptions{Name: "shop", Path: "clusters/prod/shop"})
	if err != nil {
		t.Fatal(err)
	}
	// No kustomization.yaml in the layers: kustomize-controller generates
	// one from the files present, so a file deleted by hand cannot break
	// the build (issue 12).
	wantPaths := []string{
		"definitions/crds/things.example.com.yaml",
		"definitions/rgds/webapp.yaml",
		"flux/definitions.yaml",
		"flux/instances.yaml",
		"instances/instances/prod/database-db.yaml",
		"instances/instances/prod/webapp-blog.yaml",
		"instances/instances/prod/webapp-shop.yaml",
		"instances/namespaces/prod.yaml",
		"instances/resources/prod/configmap-settings.yaml",
		"kustomization.yaml",
	}
	if got := tree.Paths(); !reflect.DeepEqual(got, wantPaths) {
		t.Fatalf("paths:\n got %v\nwant %v", got, wantPaths)
	}
	if !strings.Contains(string(tree["definitions/rgds/webapp.yaml"]), FluxSubstitute+": disabled") {
		t.Errorf("RGD lacks the substitute annotation:\n%s", tree["definitions/rgds/webapp.yaml"])
	}
	if strings.Contains(string(tree["instances/instances/prod/webapp-shop.yaml"]), FluxSubstitute) {
		t.Errorf("instance got the substitute annotation")
	}

	// The root kustomization.yaml lists only files render always writes.
	var kust struct{ Resources []string }
	if err := yaml.Unmarshal(tree["kustomization.yaml"], &kust); err != nil {
		t.Fatal(err)
	}
	if want := []string{"flux/definitions.yaml", "flux/instances.yaml"}; !reflect.DeepEqual(kust.Resources, want) {
		t.Errorf("kustomization.yaml resources: %v, want %v", kust.Resources, want)
	}

	type hc struct{ APIVersion, Kind, Current, Failed, InProgress string }
	type ks struct {
		Metadata struct{ Name, Namespace string }
		Spec     struct {
			Path, Interval   string
			RetryInterval    string
			Wait, Prune      bool
			SourceRef        struct{ Kind, Name string }
			DependsOn        []struct{ Name string }
			HealthCheckExprs []hc
		}
	}
	var defs, insts ks
	if err := yaml.Unmarshal(tree["flux/definitions.yaml"], &defs); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(tree["flux/instances.yaml"], &insts); err != nil {
		t.Fatal(err)
	}
	if defs.Metadata.Name != "shop-definitions" || defs.Metadata.Namespace != "flux-system" || defs.Spec.Path != "./clusters/prod/shop/definitions" ||
		!defs.Spec.Wait || !defs.Spec.Prune || defs.Spec.SourceRef.Name != "flux-system" || defs.Spec.SourceRef.Kind != "GitRepository" || len(defs.Spec.DependsOn) != 0 ||
		defs.Spec.RetryInterval != FluxRetryInterval {
		t.Errorf("definitions Kustomization: %+v", defs)
	}
	if len(defs.Spec.HealthCheckExprs) != 1 || defs.Spec.HealthCheckExprs[0].Kind != "ResourceGraphDefinition" {
		t.Errorf("definitions health checks: %+v", defs.Spec.HealthCheckExprs)
	}
	if insts.Metadata.Name != "shop-instances" || insts.Spec.Path != "./clusters/prod/shop/instances" || !insts.Spec.Wait ||
		len(insts.Spec.DependsOn) != 1 || insts.Spec.DependsOn[0].Name != "shop-definitions" || insts.Spec.RetryInterval != FluxRetryInterval {
		t.Errorf("instances Kustomization: %+v", insts)
	}
	wantHC := []hc{
		{APIVersion: "example.com/v1alpha1", Kind: "Database", Current: FluxInstanceCurrent, Failed: FluxInstanceFailed},
		{APIVersion: "example.com/v1alpha1", Kind: "WebApp", Current: FluxInstanceCurrent, Failed: FluxInstanceFailed},
	}
	if !reflect.DeepEqual(insts.Spec.HealthCheckExprs, wantHC) {
		t.Errorf("instance health checks:\n got %+v\nwant %+v", insts.Spec.HealthCheckExprs, wantHC)
	}

	// Same input, same bytes.
	again, err := FluxTree(sample(), FluxOptions{Name: "shop", Path: "clusters/prod/shop"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tree, again) {
		t.Error("FluxTree is not deterministic")
	}
	// Written and checked like any tree.
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	if diff, err := tree.Diff(dir); err != nil || len(diff) != 0 {
		t.Fatalf("diff after write: %v %v", diff, err)
	}

	if _, err := FluxTree(sample(), FluxOptions{Name: "x", Path: "/abs"}); err == nil {
		t.Error("absolute flux path accepted")
	}
	root, err := FluxTree(sample(), FluxOptions{Name: "x", Path: "."})
	if err != nil || !strings.Contains(string(root["flux/instances.yaml"]), "path: ./instances") {
		t.Errorf("repo-root tree: %v\n%s", err, root["flux/instances.yaml"])
	}
}

func TestArgoCDFromEnv(t *testing.T) {
	s := ArgoCDFromEnv([]string{
		"ARGOCD_APP_NAME=shop", "ARGOCD_APP_NAMESPACE=shop-prod",
		"ARGOCD_ENV_TYPEKRO_MODE=direct", "PARAM_MODE=kro",
		"PARAM_PATHS_1=instances/prod.yaml", "PARAM_PATHS_0=compositions", "PARAM_PATHS_10=extra.yaml",
		"ARGOCD_ENV_TYPEKRO_PATHS=ignored",
	})
	want := ArgoCDSettings{AppName: "shop", AppNamespace: "shop-prod", Mode: "kro", Namespace: "shop-prod",
		Paths: []string{"compositions", "instances/prod.yaml", "extra.yaml"}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
	s = ArgoCDFromEnv([]string{"ARGOCD_APP_NAMESPACE=a", "ARGOCD_ENV_TYPEKRO_NAMESPACE=b", "ARGOCD_ENV_TYPEKRO_MODE=direct", "ARGOCD_ENV_TYPEKRO_PATHS=x.yaml, y/"})
	if s.Namespace != "b" || s.Mode != "direct" || !reflect.DeepEqual(s.Paths, []string{"x.yaml", "y/"}) {
		t.Errorf("env entries: %+v", s)
	}
	s = ArgoCDFromEnv([]string{"ARGOCD_APP_NAMESPACE=a", "ARGOCD_ENV_TYPEKRO_NAMESPACE=b", "PARAM_NAMESPACE=c"})
	if s.Namespace != "c" {
		t.Errorf("PARAM_NAMESPACE should win: %+v", s)
	}
}

func TestRepoRelative(t *testing.T) {
	repo := t.TempDir()
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := RepoRelative(filepath.Join(repo, "clusters", "prod"))
	if err != nil || got != "clusters/prod" {
		t.Errorf("RepoRelative = %q, %v", got, err)
	}
	if got, err := RepoRelative(repo); err != nil || got != "." {
		t.Errorf("RepoRelative(root) = %q, %v", got, err)
	}
	if _, err := RepoRelative(t.TempDir()); err == nil {
		t.Error("want an error outside a repository")
	}
}

func TestFluxName(t *testing.T) {
	for in, want := range map[string]string{
		"deploy/":               "deploy",
		"clusters/Prod_EU":      "prod-eu",
		".":                     "typekro",
		"../--x--":              "x",
		strings.Repeat("a", 60): strings.Repeat("a", 40),
	} {
		if got := FluxName(in); got != want {
			t.Errorf("FluxName(%q) = %q, want %q", in, got, want)
		}
	}
}

// Instances in a namespace no input declares get a Namespace in the instance
// layer (issue 12: "namespaces \"development\" not found" on a fresh
// cluster), never pruned, and only when asked.
func TestFluxTreeNamespaces(t *testing.T) {
	objs := []Object{
		obj(RoleNamespace, "v1", "Namespace", "", "declared", nil),
		obj(RoleInstance, "example.com/v1alpha1", "WebApp", "development", "a", nil),
		obj(RoleInstance, "example.com/v1alpha1", "WebApp", "development", "b", nil),
		obj(RoleInstance, "example.com/v1alpha1", "WebApp", "declared", "c", nil),
		obj(RoleInstance, "example.com/v1alpha1", "Cluster", "", "global", nil),
		obj(RoleInstance, "example.com/v1alpha1", "WebApp", "default", "d", nil),
		obj(RoleResource, "v1", "ConfigMap", "shared", "settings", nil),
		obj(RoleRGD, "kro.run/v1alpha1", "ResourceGraphDefinition", "", "webapp", nil),
	}
	Sort(objs)
	for _, tc := range []struct {
		name   string
		create bool
		want   []string // namespace files
	}{
		{"created", true, []string{"instances/namespaces/declared.yaml", "instances/namespaces/development.yaml", "instances/namespaces/shared.yaml"}},
		{"opted out", false, []string{"instances/namespaces/declared.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree, err := FluxTree(objs, FluxOptions{Name: "x", Path: "deploy", CreateNamespaces: tc.create})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range tree.Paths() {
				if strings.HasPrefix(p, "instances/namespaces/") {
					got = append(got, p)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("namespace files: %v, want %v", got, tc.want)
			}
			if string(tree["instances/namespaces/declared.yaml"]) != "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: declared\n" {
				t.Errorf("a declared Namespace was changed:\n%s", tree["instances/namespaces/declared.yaml"])
			}
			if tc.create {
				want := "apiVersion: v1\nkind: Namespace\nmetadata:\n  annotations:\n    " + FluxPruneDisabled + ": disabled\n  name: development\n"
				if got := string(tree["instances/namespaces/development.yaml"]); got != want {
					t.Errorf("generated Namespace:\n%s\nwant\n%s", got, want)
				}
			}
		})
	}
}

// A file deleted by hand leaves a tree Flux can still build (nothing lists
// it), and render --check's Diff still reports the tree as stale.
func TestFluxTreeDeletedFile(t *testing.T) {
	tree, err := FluxTree(sample(), FluxOptions{Name: "shop", Path: "deploy"})
	if err != nil {
		t.Fatal(err)
	}
	const gone = "instances/instances/prod/webapp-blog.yaml"
	for p, b := range tree {
		if strings.HasSuffix(p, "kustomization.yaml") && strings.Contains(string(b), "webapp-blog") {
			t.Errorf("%s lists %s: deleting the file would break the build", p, gone)
		}
	}
	dir := t.TempDir()
	if err := tree.Write(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(gone))); err != nil {
		t.Fatal(err)
	}
	if diff, err := tree.Diff(dir); err != nil || !reflect.DeepEqual(diff, []string{gone}) {
		t.Errorf("Diff after deleting %s: %v, %v", gone, diff, err)
	}
}
