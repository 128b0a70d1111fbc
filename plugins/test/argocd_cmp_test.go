package test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// pluginConfig is Argo CD's ConfigManagementPlugin (cmpserver/plugin/config.go).
type pluginConfig struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version  string     `json:"version"`
		Init     cmpCommand `json:"init"`
		Generate cmpCommand `json:"generate"`
		Discover struct {
			Find struct {
				cmpCommand
				Glob string `json:"glob"`
			} `json:"find"`
			FileName string `json:"fileName"`
		} `json:"discover"`
		Parameters struct {
			Static []struct {
				Name           string            `json:"name"`
				Title          string            `json:"title"`
				Tooltip        string            `json:"tooltip"`
				Required       bool              `json:"required"`
				ItemType       string            `json:"itemType"`
				CollectionType string            `json:"collectionType"`
				String         string            `json:"string"`
				Array          []string          `json:"array"`
				Map            map[string]string `json:"map"`
			} `json:"static"`
			Dynamic cmpCommand `json:"dynamic"`
		} `json:"parameters"`
		PreserveFileMode bool `json:"preserveFileMode"`
		ProvideGitCreds  bool `json:"provideGitCreds"`
		AllowConcurrency bool `json:"allowConcurrency"`
		LockRepo         bool `json:"lockRepo"`
	} `json:"spec"`
}

type cmpCommand struct {
	Command []string `json:"command"`
	Args    []string `json:"args"`
}

func loadPlugin(t *testing.T) *pluginConfig {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "plugins", "argocd", "plugin.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c pluginConfig
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		t.Fatal(err)
	}
	// Argo CD's ValidatePluginConfig.
	if c.Metadata.Name == "" || c.Kind != "ConfigManagementPlugin" || c.APIVersion != "argoproj.io/v1alpha1" || len(c.Spec.Generate.Command) == 0 {
		t.Fatalf("invalid plugin.yaml: %+v", c)
	}
	if c.Spec.Discover.Find.Glob == "" && len(c.Spec.Discover.Find.Command) == 0 && c.Spec.Discover.FileName == "" {
		t.Fatal("plugin.yaml has no discovery")
	}
	return &c
}

// runCMP runs a plugin command the way argocd-cmp-server's runCommand does:
// command[0] with command[1:] + args, in the app directory, with the
// sidecar's environment plus the app's entries; trailing newline trimmed.
func runCMP(t *testing.T, c cmpCommand, appPath string, env []string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Command[0], append(c.Command[1:], c.Args...)...)
	cmd.Dir = appPath
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return strings.TrimSuffix(stdout.String(), "\n"), stderr.String(), err
}

// appEnv is what the repo server sends for an app (reposerver
// getPluginEnvs: the build environment, KUBE_VERSION/KUBE_API_VERSIONS,
// ARGOCD_ENV_<name> for spec.source.plugin.env and ARGOCD_APP_PARAMETERS
// plus PARAM_<NAME>[_<i>|_<KEY>] for spec.source.plugin.parameters), on top
// of the sidecar's own environment.
func appEnv(t *testing.T, app, namespace, sourcePath string, pluginEnv map[string]string, params []map[string]any) []string {
	t.Helper()
	env := environ(pathWithTypekro(t),
		"ARGOCD_APP_NAME="+app,
		"ARGOCD_APP_NAMESPACE="+namespace,
		"ARGOCD_APP_PROJECT_NAME=default",
		"ARGOCD_APP_REVISION=0123456789abcdef0123456789abcdef01234567",
		"ARGOCD_APP_REVISION_SHORT=0123456",
		"ARGOCD_APP_REVISION_SHORT_8=01234567",
		"ARGOCD_APP_SOURCE_REPO_URL=https://git.example.com/platform.git",
		"ARGOCD_APP_SOURCE_PATH="+sourcePath,
		"ARGOCD_APP_SOURCE_TARGET_REVISION=HEAD",
		"KUBE_VERSION=1.36.3",
		"KUBE_API_VERSIONS=v1,apps/v1,kro.run/v1alpha1",
	)
	for k, v := range pluginEnv {
		env = append(env, "ARGOCD_ENV_"+k+"="+v)
	}
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, "ARGOCD_APP_PARAMETERS="+string(b))
		for _, p := range params {
			name := "PARAM_" + escapeParam(p["name"].(string))
			switch v := p["string"].(type) {
			case string:
				env = append(env, name+"="+v)
			}
			if arr, ok := p["array"].([]string); ok {
				for i, v := range arr {
					env = append(env, fmt.Sprintf("%s_%d=%s", name, i, v))
				}
			}
		}
	}
	return env
}

// escapeParam is Argo CD's escaped(): upper case, [^A-Z0-9_] -> _.
func escapeParam(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// A repository like Argo CD hands the sidecar: apps side by side.
func repo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	root := repoRoot(t)
	copyDir(t, filepath.Join(root, "examples", "webapp"), filepath.Join(dir, "apps", "webapp"))
	write(t, filepath.Join(dir, "apps", "webapp", "instances", "no-namespace.yaml"), `apiVersion: example.com/v1alpha1
kind: KroWebApp
metadata:
  name: webapp-qa
spec:
  name: webapp-qa
  image: nginx:1.27
`)
	write(t, filepath.Join(dir, "apps", "plain", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
	write(t, filepath.Join(dir, "apps", "empty", "README.md"), "nothing here yet\n")
	// Crossplane also has a kind Composition: not ours.
	write(t, filepath.Join(dir, "apps", "crossplane", "composition.yaml"), "apiVersion: apiextensions.crossplane.io/v1\nkind: Composition\nmetadata: {name: x}\n")
	write(t, filepath.Join(dir, "apps", "hidden", ".git", "composition.yaml"), "apiVersion: typekro.dev/v1alpha1\nkind: Composition\n")
	copyDir(t, filepath.Join(root, "examples", "webapp"), filepath.Join(dir, "apps", "broken"))
	write(t, filepath.Join(dir, "apps", "broken", "instances", "bad.yaml"), "apiVersion: example.com/v1alpha1\nkind: KroWebApp\nmetadata: {name: bad, namespace: x}\nspec: {name: bad, image: nginx, replicas: 500}\n")
	return dir
}

func TestArgoCDDiscover(t *testing.T) {
	c := loadPlugin(t)
	dir := repo(t)
	for app, want := range map[string]bool{"webapp": true, "plain": false, "crossplane": false, "hidden": false, "broken": true} {
		out, stderr, err := runCMP(t, c.Spec.Discover.Find.cmpCommand, filepath.Join(dir, "apps", app), appEnv(t, app, "default", "apps/"+app, nil, nil))
		if err != nil {
			t.Fatalf("%s: discover failed: %v\n%s", app, err, stderr)
		}
		if got := out != ""; got != want {
			t.Errorf("%s: discovered=%v (output %q), want %v", app, got, out, want)
		}
	}
}

func TestArgoCDGenerate(t *testing.T) {
	c := loadPlugin(t)
	if len(c.Spec.Init.Command) != 0 {
		t.Fatal("the test does not run init commands; add that if plugin.yaml gets one")
	}
	dir := repo(t)
	app := filepath.Join(dir, "apps", "webapp")

	t.Run("defaults", func(t *testing.T) {
		out, stderr, err := runCMP(t, c.Spec.Generate, app, appEnv(t, "webapp", "team-a", "apps/webapp", nil, nil))
		if err != nil {
			t.Fatalf("generate: %v\n%s", err, stderr)
		}
		objs := docs(t, out)
		want := "ResourceGraphDefinition/kro-webapp KroWebApp/webapp-dev KroWebApp/webapp KroWebApp/webapp-qa"
		if got := strings.Join(kinds(objs), " "); got != want {
			t.Fatalf("objects %s, want %s", got, want)
		}
		rgd := objs[0]
		if field(rgd, "metadata", "annotations", "argocd.argoproj.io/sync-wave") != "-1" {
			t.Errorf("RGD sync wave: %v", field(rgd, "metadata", "annotations"))
		}
		for _, o := range objs[1:] {
			ann := mapOf(field(o, "metadata", "annotations"))
			if ann["argocd.argoproj.io/sync-wave"] != "1" || ann["argocd.argoproj.io/sync-options"] != "SkipDryRunOnMissingResource=true" {
				t.Errorf("%v: annotations %v", field(o, "metadata", "name"), ann)
			}
		}
		// The app's destination namespace for the instance that has none.
		if ns := field(find(objs, "KroWebApp", "webapp-qa"), "metadata", "namespace"); ns != "team-a" {
			t.Errorf("webapp-qa namespace %v, want team-a", ns)
		}
		if ns := field(find(objs, "KroWebApp", "webapp"), "metadata", "namespace"); ns != "production" {
			t.Errorf("webapp namespace %v, want production (its own)", ns)
		}
		if !strings.Contains(stderr, "argocd app webapp: rendered 4 objects") {
			t.Errorf("stderr: %s", stderr)
		}
	})

	t.Run("parameters", func(t *testing.T) {
		params := []map[string]any{
			{"name": "mode", "string": "kro"},
			{"name": "namespace", "string": "qa"},
			{"name": "paths", "array": []string{"composition.yaml", "instances/no-namespace.yaml"}},
		}
		env := appEnv(t, "webapp-qa", "team-a", "apps/webapp", map[string]string{"TYPEKRO_NAMESPACE": "ignored"}, params)
		out, stderr, err := runCMP(t, c.Spec.Generate, app, env)
		if err != nil {
			t.Fatalf("generate: %v\n%s", err, stderr)
		}
		objs := docs(t, out)
		if got := strings.Join(kinds(objs), " "); got != "ResourceGraphDefinition/kro-webapp KroWebApp/webapp-qa" {
			t.Fatalf("objects %s", got)
		}
		if ns := field(objs[1], "metadata", "namespace"); ns != "qa" {
			t.Errorf("namespace %v, want qa from PARAM_NAMESPACE", ns)
		}
	})

	t.Run("plugin env", func(t *testing.T) {
		env := appEnv(t, "webapp", "team-a", "apps/webapp", map[string]string{"TYPEKRO_MODE": "kro", "TYPEKRO_NAMESPACE": "envns", "TYPEKRO_PATHS": "composition.yaml,instances/no-namespace.yaml"}, nil)
		out, stderr, err := runCMP(t, c.Spec.Generate, app, env)
		if err != nil {
			t.Fatalf("generate: %v\n%s", err, stderr)
		}
		objs := docs(t, out)
		if len(objs) != 2 || field(objs[1], "metadata", "namespace") != "envns" {
			t.Errorf("ARGOCD_ENV_TYPEKRO_*: %v", kinds(objs))
		}
	})

	// Every failure: non-zero exit, nothing on stdout, the reason on stderr.
	for _, tc := range []struct {
		name   string
		app    string
		env    map[string]string
		params []map[string]any
		want   string
	}{
		{"invalid instance", "broken", nil, nil, "replicas"},
		{"unknown mode", "webapp", map[string]string{"TYPEKRO_MODE": "fast"}, nil, "--mode"},
		{"path outside the app", "webapp", nil, []map[string]any{{"name": "paths", "array": []string{"../broken"}}}, "leaves the base directory"},
		{"nothing to render", "empty", nil, nil, "refusing to print an empty stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := runCMP(t, c.Spec.Generate, filepath.Join(dir, "apps", tc.app), appEnv(t, tc.app, "default", "apps/"+tc.app, tc.env, tc.params))
			if err == nil {
				t.Fatalf("generate succeeded:\n%s", out)
			}
			if out != "" {
				t.Errorf("stdout must be empty on error, got:\n%s", out)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr)
			}
		})
	}
}

func TestArgoCDPluginParameters(t *testing.T) {
	c := loadPlugin(t)
	got := map[string]string{}
	for _, p := range c.Spec.Parameters.Static {
		got[p.Name] = p.CollectionType
	}
	want := map[string]string{"mode": "string", "namespace": "string", "paths": "array"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("parameter %s: collectionType %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("parameters %v, want %v", got, want)
	}
}
