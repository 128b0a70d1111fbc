package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBootstrapOffline covers what bootstrap does without a cluster:
// --render with --set, flag errors (exit 2), and --output-dir trees.
func TestBootstrapOffline(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string // substrings
		stderr string
	}{
		{"render defaults", []string{"bootstrap", "--render"}, 0,
			[]string{"name: resourcegraphdefinitions.kro.run", "kind: Namespace\nmetadata:\n  labels:\n    app.kubernetes.io/part-of: kro\n  name: kro-system", "image: registry.k8s.io/kro/kro:0.9.4"}, ""},
		{"render with --set", []string{"bootstrap", "--render", "--set", "namespace=kro", "--set", "replicas=2", "--set", "image=example.com/kro:dev"}, 0,
			[]string{"namespace: kro\n", "replicas: 2", "image: example.com/kro:dev"}, ""},
		{"unknown --set key", []string{"bootstrap", "--render", "--set", "foo=bar"}, 2, nil, `unknown key "foo"`},
		{"bad --dry-run", []string{"bootstrap", "--dry-run=client"}, 2, nil, `--dry-run must be "server"`},
		{"flux without dir", []string{"bootstrap", "--target", "flux"}, 2, nil, "give --output-dir"},
		{"--force without --uninstall", []string{"bootstrap", "--force"}, 2, nil, "go with --uninstall"},
		{"render and uninstall", []string{"bootstrap", "--render", "--uninstall"}, 2, nil, "do not go with --uninstall"},
		{"no arguments", []string{"bootstrap", "x"}, 2, nil, "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, errOut)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q", s)
				}
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr %q lacks %q", errOut, tc.stderr)
			}
			if tc.code != 0 && out != "" {
				t.Errorf("stdout on error: %s", out)
			}
		})
	}
}

func TestBootstrapOutputDir(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		files []string
	}{
		{"plain", nil, []string{"kro-v0.9.4.yaml"}},
		{"flux", []string{"--target", "flux", "--flux-path", "clusters/dev/kro"}, []string{"kustomization.yaml", "kro/kro.yaml", "flux/kro.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"bootstrap", "--output-dir", dir}, tc.args...)
			if _, errOut, code := run(t, args...); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, f := range tc.files {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Error(err)
				}
			}
			// Again: the same tree, nothing to refuse (the writer owns its files).
			if _, errOut, code := run(t, args...); code != 0 {
				t.Fatalf("second run: exit %d: %s", code, errOut)
			}
			// A file it does not own is never overwritten.
			if err := os.WriteFile(filepath.Join(dir, tc.files[0]), []byte("mine\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, _, code := run(t, args...); code == 0 {
				t.Error("overwrote a file changed by someone else")
			}
		})
	}
}
