package test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kustomizeBuild runs the standalone kustomize from an unrelated working
// directory, so any path the function resolves against its own working
// directory only works if kustomize set that to the kustomization dir.
func kustomizeBuild(t testing.TB, dir string, flags ...string) result {
	t.Helper()
	args := append([]string{"build"}, flags...)
	return run(t.TempDir(), environ(pathWithTypekro(t)), tool(t, "KUSTOMIZE"), append(args, dir)...)
}

var execFlags = []string{"--enable-alpha-plugins", "--enable-exec"}

func TestKustomizeGenerator(t *testing.T) {
	r := kustomizeBuild(t, filepath.Join(repoRoot(t), "examples", "kustomize"), execFlags...)
	if r.err != nil {
		t.Fatalf("kustomize build: %v\n%s", r.err, r.stderr)
	}
	objs := docs(t, r.stdout)
	want := []string{"WebService/staging-admin", "WebService/staging-webapp", "ResourceGraphDefinition/staging-web-service"}
	if got := kinds(objs); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("objects: %v, want %v\n%s", got, want, r.stdout)
	}
	for _, o := range objs {
		if field(o, "metadata", "labels", "team") != "web" {
			t.Errorf("%s lacks the kustomization's label team=web", o["kind"])
		}
		for k := range mapOf(field(o, "metadata", "annotations")) {
			if strings.Contains(k, "config.kubernetes.io") || strings.Contains(k, "config.k8s.io") {
				t.Errorf("%s kept a bookkeeping annotation %s", o["kind"], k)
			}
		}
	}
	rgd := find(objs, "ResourceGraphDefinition", "staging-web-service")
	if field(rgd, "spec", "schema", "kind") != "WebService" || field(rgd, "metadata", "namespace") != nil {
		t.Errorf("RGD: %v", rgd)
	}
	web := find(objs, "WebService", "staging-webapp")
	// Inline instance: namespace from spec.namespace, replicas from the kustomize patch.
	if field(web, "metadata", "namespace") != "staging" || field(web, "spec", "replicas") != float64(3) || field(web, "spec", "environment") != "staging" {
		t.Errorf("inline instance: %v", web)
	}
	admin := find(objs, "WebService", "staging-admin")
	// File instance: defaulted by typekro (replicas 1), not patched.
	if field(admin, "metadata", "namespace") != "staging" || field(admin, "spec", "replicas") != float64(1) {
		t.Errorf("file instance: %v", admin)
	}
}

func TestKustomizeTransformer(t *testing.T) {
	r := kustomizeBuild(t, filepath.Join(repoRoot(t), "examples", "kustomize", "transformer"), execFlags...)
	if r.err != nil {
		t.Fatalf("kustomize build: %v\n%s", r.err, r.stderr)
	}
	objs := docs(t, r.stdout)
	want := []string{"WebService/prod-admin", "ResourceGraphDefinition/prod-web-service"}
	if got := kinds(objs); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("objects: %v, want %v (the Composition must be replaced)\n%s", got, want, r.stdout)
	}
	admin := find(objs, "WebService", "prod-admin")
	if field(admin, "metadata", "namespace") != "production" || field(admin, "spec", "replicas") != float64(2) || field(admin, "metadata", "labels", "team") != "web" {
		t.Errorf("instance: %v", admin)
	}
	if field(find(objs, "ResourceGraphDefinition", "prod-web-service"), "metadata", "labels", "team") != "web" {
		t.Errorf("the RGD did not keep the Composition's labels")
	}
}

// A patch that breaks an instance is caught by the transformer, with the
// file, field and message, and kustomize fails with no output.
func TestKustomizeTransformerRejectsBadPatch(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, filepath.Join(repoRoot(t), "examples", "kustomize"), dir)
	kf := filepath.Join(dir, "transformer", "kustomization.yaml")
	data, err := os.ReadFile(kf)
	if err != nil {
		t.Fatal(err)
	}
	write(t, kf, strings.Replace(string(data), "value: 2", "value: many", 1))
	r := kustomizeBuild(t, filepath.Join(dir, "transformer"), execFlags...)
	if r.err == nil || r.stdout != "" {
		t.Fatalf("want a failure and no output, got err=%v\n%s", r.err, r.stdout)
	}
	for _, want := range []string{"WebService/prod-admin", "spec.replicas", "integer"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

// kustomize runs an exec function in the kustomization directory: shown
// with a function that reports its working directory.
func TestKustomizeExecWorkingDir(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "kustomization.yaml"), "generators: [pwd.yaml]\n")
	write(t, filepath.Join(dir, "pwd.yaml"), `apiVersion: example.com/v1
kind: Pwd
metadata:
  name: pwd
  annotations:
    config.kubernetes.io/function: |
      exec: {path: ./pwd.sh}
`)
	write(t, filepath.Join(dir, "pwd.sh"), `#!/bin/sh
cat >/dev/null
printf 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: pwd}\n  data: {pwd: "%s"}\n' "$(pwd -P)"
`)
	if err := os.Chmod(filepath.Join(dir, "pwd.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := kustomizeBuild(t, dir, execFlags...)
	if r.err != nil {
		t.Fatalf("kustomize build: %v\n%s", r.err, r.stderr)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := field(find(docs(t, r.stdout), "ConfigMap", "pwd"), "data", "pwd"); got != real {
		t.Fatalf("function ran in %v, want the kustomization dir %s", got, real)
	}
}

// Files outside the kustomization directory are refused, also through
// kustomize: "..", absolute paths, and symlinks pointing out.
func TestKustomizePathEscape(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	copyDir(t, filepath.Join(repoRoot(t), "examples", "kustomize", "webapp"), outside)
	dir := filepath.Join(base, "app")
	write(t, filepath.Join(dir, "kustomization.yaml"), "generators: [typekro.yaml]\n")
	if err := os.Symlink(outside, filepath.Join(dir, "linked")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, want string }{
		{"dotdot", "../outside", "leaves the base directory"},
		{"absolute", outside, "absolute paths are not allowed"},
		{"symlink", "linked/composition.yaml", "outside the base directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write(t, filepath.Join(dir, "typekro.yaml"), `apiVersion: typekro.dev/v1alpha1
kind: TypeKro
metadata:
  name: escape
  annotations:
    config.kubernetes.io/function: |
      exec: {path: kubectl-typekro, args: [fn]}
spec:
  paths: ["`+tc.path+`"]
`)
			r := kustomizeBuild(t, dir, execFlags...)
			if r.err == nil {
				t.Fatalf("kustomize build succeeded:\n%s", r.stdout)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty:\n%s", r.stdout)
			}
			if !strings.Contains(r.stderr, "spec.paths[0]") || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks spec.paths[0] / %q:\n%s", tc.want, r.stderr)
			}
		})
	}
}

// Without --enable-exec, kustomize skips the function without a word, and
// kubectl kustomize has no --enable-exec at all: with --enable-alpha-plugins
// the generator silently yields nothing, without it the build fails. This
// is what the README and examples/kustomize warn about.
func TestExecFunctionsSkippedWithoutEnableExec(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "examples", "kustomize")
	path := environ(pathWithTypekro(t))
	for _, tc := range []struct {
		name string
		bin  string
		args []string
	}{
		{"kustomize --enable-alpha-plugins", tool(t, "KUSTOMIZE"), []string{"build", "--enable-alpha-plugins", dir}},
		{"kubectl kustomize --enable-alpha-plugins", tool(t, "KUBECTL_KUSTOMIZE"), []string{"--enable-alpha-plugins", dir}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t.TempDir(), path, tc.bin, tc.args...)
			if r.err != nil {
				t.Fatalf("%v\n%s", r.err, r.stderr)
			}
			if got := kinds(docs(t, r.stdout)); len(got) != 0 {
				t.Errorf("want no objects (function skipped), got %v", got)
			}
		})
	}
	r := run(t.TempDir(), path, tool(t, "KUBECTL_KUSTOMIZE"), "--enable-alpha-plugins", "--enable-exec", dir)
	if r.err == nil || !strings.Contains(r.stderr, "unknown flag: --enable-exec") {
		t.Errorf("kubectl kustomize --enable-exec: want unknown flag, got %v %s", r.err, r.stderr)
	}
	r = run(t.TempDir(), path, tool(t, "KUBECTL_KUSTOMIZE"), dir)
	if r.err == nil || !strings.Contains(r.stderr, "external plugins disabled") {
		t.Errorf("kubectl kustomize: want external plugins disabled, got %v %s", r.err, r.stderr)
	}
}

// fn run by hand without a ResourceList explains how to use it.
func TestFnHint(t *testing.T) {
	r := run(t.TempDir(), environ(pathWithTypekro(t)), tool(t, "TYPEKRO_BIN"), "fn")
	if r.err == nil {
		t.Fatal("fn with empty stdin succeeded")
	}
	if code := exitCode(r.err); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	for _, want := range []string{"no ResourceList on stdin", "--enable-exec", "kubectl kustomize"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("hint lacks %q:\n%s", want, r.stderr)
		}
	}
}

// BenchmarkKustomizeBuild compares kustomize build of examples/kustomize
// with the function against the same kustomization with the function's
// output checked in as plain resources (budget: the function adds < 100 ms).
func BenchmarkKustomizeBuild(b *testing.B) {
	dir := filepath.Join(repoRoot(b), "examples", "kustomize")
	r := kustomizeBuild(b, dir, execFlags...)
	if r.err != nil {
		b.Fatal(r.err, r.stderr)
	}
	// The same kustomization, generator replaced by what it generated.
	plain := b.TempDir()
	copyDir(b, dir, plain)
	fnOut := run(dir, environ(pathWithTypekro(b)), tool(b, "TYPEKRO_BIN"), "fn", "typekro.yaml")
	if fnOut.err != nil {
		b.Fatal(fnOut.err, fnOut.stderr)
	}
	write(b, filepath.Join(plain, "rendered.yaml"), fnOut.stdout)
	kust, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	k := strings.Replace(string(kust), "generators:\n  - typekro.yaml\n", "resources:\n  - rendered.yaml\n", 1)
	write(b, filepath.Join(plain, "kustomization.yaml"), k)
	if got := kustomizeBuild(b, plain, execFlags...); got.err != nil || got.stdout != r.stdout {
		b.Fatalf("plain kustomization differs from the generated one: %v\n%s\n---\n%s", got.err, got.stdout, r.stdout)
	}
	for _, c := range []struct{ name, dir string }{{"with-fn", dir}, {"plain", plain}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if r := kustomizeBuild(b, c.dir, execFlags...); r.err != nil {
					b.Fatal(r.err, r.stderr)
				}
			}
		})
	}
}

// BenchmarkFn times kubectl-typekro fn on a small ResourceList (budget 50 ms).
func BenchmarkFn(b *testing.B) {
	dir := filepath.Join(repoRoot(b), "examples", "kustomize")
	input := `apiVersion: config.kubernetes.io/v1
kind: ResourceList
functionConfig:
  apiVersion: typekro.dev/v1alpha1
  kind: TypeKro
  metadata: {name: webapp}
  spec: {paths: [webapp/], namespace: staging}
items: []
`
	bin := tool(b, "TYPEKRO_BIN")
	start := time.Now()
	for i := 0; i < b.N; i++ {
		cmd := command(dir, bin, input, "fn")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatal(err, string(out))
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/run")
}

// mode: direct renders the concrete resources KRO would create, and
// kustomize's transformers apply to those.
func TestKustomizeDirectMode(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, filepath.Join(repoRoot(t), "examples", "kustomize"), dir)
	cfg := filepath.Join(dir, "typekro.yaml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	write(t, cfg, strings.Replace(string(data), "mode: kro", "mode: direct", 1))
	// The replicas patch targets the instance, which direct mode does not emit.
	kf := filepath.Join(dir, "kustomization.yaml")
	k, err := os.ReadFile(kf)
	if err != nil {
		t.Fatal(err)
	}
	write(t, kf, string(k[:strings.Index(string(k), "patches:")]))
	r := kustomizeBuild(t, dir, execFlags...)
	if r.err != nil {
		t.Fatalf("kustomize build: %v\n%s", r.err, r.stderr)
	}
	objs := docs(t, r.stdout)
	want := "Service/staging-admin-service Service/staging-webapp-service Deployment/staging-admin Deployment/staging-webapp"
	if got := strings.Join(kinds(objs), " "); got != want {
		t.Fatalf("objects %s, want %s", got, want)
	}
	if field(find(objs, "Deployment", "staging-webapp"), "metadata", "namespace") != "staging" {
		t.Errorf("direct-mode Deployment namespace")
	}
}

// `render -k DIR` builds the kustomization in process and runs typekro's
// own function without --enable-exec: its output must be byte for byte what
// the real kustomize with --enable-exec, piped into render, gives. The PATH
// has no kubectl-typekro, so -k must run its own binary.
func TestRenderKustomizeMatchesKustomizeBuild(t *testing.T) {
	for _, dir := range []string{"kustomize", "kustomize/transformer"} {
		t.Run(dir, func(t *testing.T) {
			abs := filepath.Join(repoRoot(t), "examples", dir)
			built := kustomizeBuild(t, abs, execFlags...)
			if built.err != nil {
				t.Fatalf("kustomize build: %v\n%s", built.err, built.stderr)
			}
			want := runStdin(t, built.stdout, tool(t, "TYPEKRO_BIN"), "render", "-f", "-")
			got := run(t.TempDir(), environ(os.Getenv("PATH")), tool(t, "TYPEKRO_BIN"), "render", "-k", abs)
			if got.err != nil || want.err != nil {
				t.Fatalf("render -k: %v\n%s\nrender -f -: %v\n%s", got.err, got.stderr, want.err, want.stderr)
			}
			if got.stdout != want.stdout || got.stdout == "" {
				t.Errorf("render -k differs from kustomize build | render -f -:\n--- -k\n%s\n--- kustomize\n%s", got.stdout, want.stdout)
			}
		})
	}
}

func runStdin(t testing.TB, stdin, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return result{stdout: out.String(), stderr: errb.String(), err: err}
}
