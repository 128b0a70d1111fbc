// Package test runs typekro's GitOps integrations with the real tools:
// the standalone kustomize binary, kubectl's kustomize command, the Argo CD
// CMP plugin.yaml commands as argocd-cmp-server runs them, and the Argo CD
// health Lua under gopher-lua. `make gitops-test` builds the binaries and
// sets TYPEKRO_BIN, KUSTOMIZE and KUBECTL_KUSTOMIZE.
package test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// repoRoot is the typekro repository (this module lives in plugins/test).
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// tool returns the absolute path of a binary named by an environment
// variable that `make gitops-test` sets.
func tool(t testing.TB, env string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		t.Fatalf("%s is not set: run these tests with `make gitops-test`, which builds the tools", env)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	return abs
}

// pathWithTypekro is PATH with the directory of kubectl-typekro first, as a
// user who installed it (or the CMP sidecar image) has it.
func pathWithTypekro(t testing.TB) string {
	t.Helper()
	bin := tool(t, "TYPEKRO_BIN")
	if filepath.Base(bin) != "kubectl-typekro" {
		t.Fatalf("TYPEKRO_BIN must point to a file named kubectl-typekro, not %s", bin)
	}
	return filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")
}

// environ is the current environment with PATH replaced and extra entries.
func environ(path string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	return append(append(env, "PATH="+path), extra...)
}

type result struct {
	stdout, stderr string
	err            error
}

func run(dir string, env []string, name string, args ...string) result {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return result{out.String(), errb.String(), err}
}

// docs splits a YAML stream into objects.
func docs(t testing.TB, stream string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, part := range strings.Split("\n"+stream, "\n---") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(part), &m); err != nil {
			t.Fatalf("parse %q: %v", part, err)
		}
		if m != nil {
			out = append(out, m)
		}
	}
	return out
}

func find(objs []map[string]any, kind, name string) map[string]any {
	for _, o := range objs {
		md, _ := o["metadata"].(map[string]any)
		if o["kind"] == kind && md["name"] == name {
			return o
		}
	}
	return nil
}

// field reads a nested field.
func field(o map[string]any, path ...string) any {
	var cur any = o
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func kinds(objs []map[string]any) []string {
	var out []string
	for _, o := range objs {
		md, _ := o["metadata"].(map[string]any)
		out = append(out, o["kind"].(string)+"/"+md["name"].(string))
	}
	return out
}

// copyDir copies a directory tree (regular files and directories).
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// command prepares bin with stdin.
func command(dir, bin, stdin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}
