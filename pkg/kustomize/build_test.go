package kustomize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const baseInstance = `apiVersion: example.com/v1alpha1
kind: WebApp
metadata: {name: shop, namespace: prod}
spec: {name: shop, replicas: 1}
`

func TestBuild(t *testing.T) {
	// Functions are refused before anything runs, so self is never executed.
	const self = "/nonexistent/kubectl-typekro"
	tests := []struct {
		name    string
		files   map[string]string
		dir     string
		want    string
		wantErr string
	}{{
		name: "overlay patches the base instance",
		files: map[string]string{
			"base/kustomization.yaml": "resources: [shop.yaml]\n",
			"base/shop.yaml":          baseInstance,
			"prod/kustomization.yaml": "resources: [../base]\npatches:\n- target: {kind: WebApp, name: shop}\n  patch: '[{\"op\": \"replace\", \"path\": \"/spec/replicas\", \"value\": 5}]'\n",
		},
		dir:  "prod",
		want: "replicas: 5",
	}, {
		name: "another exec function is refused, naming its file",
		files: map[string]string{
			"kustomization.yaml": "generators: [gen.yaml]\n",
			"gen.yaml":           "apiVersion: example.com/v1\nkind: Evil\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/function: |\n      exec: {path: /bin/sh}\n",
		},
		wantErr: "gen.yaml: document 1 (Evil x): runs a KRM function other than typekro's",
	}, {
		name: "typekro's function as a container is refused",
		files: map[string]string{
			"kustomization.yaml": "transformers: [typekro.yaml]\n",
			"typekro.yaml":       "apiVersion: typekro.dev/v1alpha1\nkind: TypeKro\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/function: |\n      container: {image: ghcr.io/typekro/fn}\n",
		},
		wantErr: "-k runs typekro's function as exec only (got container)",
	}, {
		name: "a missing resource is kustomize's error",
		files: map[string]string{
			"kustomization.yaml": "resources: [gone.yaml]\n",
		},
		wantErr: "gone.yaml",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := writeFiles(t, tc.files)
			out, err := Build(filepath.Join(root, tc.dir), self)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}

// The exec path of typekro's function config is pointed at self; the rest
// of the config is kept.
func TestFunctionFSRewritesTypekroExec(t *testing.T) {
	dir := writeFiles(t, map[string]string{"typekro.yaml": "apiVersion: typekro.dev/v1alpha1\nkind: TypeKro\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/function: |\n      exec: {path: kubectl-typekro, args: [fn]}\nspec: {paths: [webapp/]}\n"})
	fs := &functionFS{FileSystem: nil, self: "/opt/bin/kubectl-typekro"}
	data, err := os.ReadFile(filepath.Join(dir, "typekro.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := fs.rewrite("typekro.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"path: /opt/bin/kubectl-typekro", "args: [fn]", "paths: [webapp/]"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("rewritten config lacks %q:\n%s", want, out)
		}
	}
}
