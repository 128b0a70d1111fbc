package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// render --target flux writes a Namespace for the README example's
// instance namespaces (issue 12: `namespaces "development" not found` on a
// fresh cluster) unless --create-namespaces=false; the flag needs --target flux.
func TestRenderFluxNamespaces(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
		code  int
		want  bool // instances/namespaces/development.yaml written
		err   string
	}{
		{"default", nil, ExitOK, true, ""},
		{"opted out", []string{"--create-namespaces=false"}, ExitOK, false, ""},
		{"needs --target flux", []string{"--target", "plain", "--create-namespaces=false"}, 2, false, "--create-namespaces needs --target flux"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := t.TempDir()
			if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(repo, "clusters", "dev")
			args := append([]string{"render", "--target", "flux", "--output-dir", out, examples + "webapp"}, tc.flags...)
			_, stderr, code := run(t, args...)
			if code != tc.code || !strings.Contains(stderr, tc.err) {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			ns, err := os.ReadFile(filepath.Join(out, "instances", "namespaces", "development.yaml"))
			if got := err == nil; got != tc.want {
				t.Fatalf("development Namespace written: %v, want %v (%v)", got, tc.want, err)
			}
			if tc.want && !strings.Contains(string(ns), "kustomize.toolkit.fluxcd.io/prune: disabled") {
				t.Errorf("generated Namespace can be pruned:\n%s", ns)
			}
		})
	}
}

// Deleting an instance's file by hand leaves no list naming it (Flux would
// fail with "no such file"); render --check reports the tree as stale.
func TestRenderFluxDeletedInstanceFile(t *testing.T) {
	repo := t.TempDir()
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(repo, "deploy")
	if _, stderr, code := run(t, "render", "--target", "flux", "--output-dir", out, examples+"webapp"); code != ExitOK {
		t.Fatalf("render: exit %d\n%s", code, stderr)
	}
	gone := filepath.Join(out, "instances", "instances", "development", "krowebapp-webapp-dev.yaml")
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(p) != "kustomization.yaml" {
			return err
		}
		b, err := os.ReadFile(p)
		if strings.Contains(string(b), "krowebapp-webapp-dev") {
			t.Errorf("%s lists the deleted file:\n%s", p, b)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, "render", "--target", "flux", "--output-dir", out, "--check", examples+"webapp")
	if code != 1 || !strings.Contains(stderr, "instances/instances/development/krowebapp-webapp-dev.yaml") {
		t.Errorf("render --check after deleting a file: exit %d, want 1 naming it\n%s", code, stderr)
	}
}
