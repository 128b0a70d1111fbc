package kustomize_test

import (
	"bytes"
	"github.com/typekro/kubectl-typekro/internal/golden"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/fn/framework/frameworktestutil"
	"sigs.k8s.io/kustomize/kyaml/kio"

	"github.com/typekro/kubectl-typekro/pkg/kustomize"
)

// TestGolden runs every testdata/<case>/input.yaml ResourceList through the
// processor, from inside the case directory (the function's root), and
// compares with expected.yaml or errors.txt. UPDATE_GOLDEN=1 rewrites them.
func TestGolden(t *testing.T) {
	c := frameworktestutil.ProcessorResultsChecker{
		Processor:                func() framework.ResourceListProcessor { return &kustomize.Processor{} },
		UpdateExpectedFromActual: golden.Update(),
	}
	c.Assert(t)
	if got := len(c.TestCasesRun()); got < 6 {
		t.Fatalf("ran %d golden cases, want at least 6", got)
	}
}

func execute(t testing.TB, p framework.ResourceListProcessor, input string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := framework.Execute(p, &kio.ByteReadWriter{Reader: strings.NewReader(input), Writer: &out, KeepReaderAnnotations: true})
	return out.String(), err
}

// On error the items come back exactly as they went in, next to the results:
// a runner never sees a half-rendered list.
func TestErrorKeepsInputItems(t *testing.T) {
	root := t.TempDir()
	input := `apiVersion: config.kubernetes.io/v1
kind: ResourceList
functionConfig:
  apiVersion: typekro.dev/v1alpha1
  kind: TypeKro
  metadata: {name: x}
items:
- apiVersion: typekro.dev/v1alpha1
  kind: Composition
  metadata: {name: good}
  spec:
    apiVersion: example.com/v1
    kind: Good
    schema: {spec: {name: string}}
    resources:
    - id: cm
      template: {apiVersion: v1, kind: ConfigMap, metadata: {name: "${schema.spec.name}"}}
- apiVersion: example.com/v1
  kind: Good
  metadata: {name: bad}
  spec: {nam: typo}
`
	out, err := execute(t, &kustomize.Processor{Root: root}, input)
	if err == nil {
		t.Fatalf("want an error, got output:\n%s", out)
	}
	if strings.Contains(out, "ResourceGraphDefinition") {
		t.Errorf("output has rendered objects although rendering failed:\n%s", out)
	}
	for _, want := range []string{"kind: Composition", "nam: typo", "results:", "severity: error", "path: spec.nam"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// Symlinks are resolved before the containment check: a link inside the
// root that points outside it is refused, one that stays inside works.
func TestSymlinkEscape(t *testing.T) {
	outside := t.TempDir()
	root := t.TempDir()
	secret := filepath.Join(outside, "secret.yaml")
	if err := os.WriteFile(secret, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: secret}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "defs"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustLink := func(target, link string) {
		t.Helper()
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	mustLink(secret, filepath.Join(root, "link.yaml"))            // file link, named directly
	mustLink(outside, filepath.Join(root, "linkdir"))             // directory link
	mustLink(secret, filepath.Join(root, "defs", "inner.yaml"))   // file link found while walking
	mustLink("../defs", filepath.Join(root, "defs", "self-link")) // stays inside: fine (not walked)

	for _, tc := range []struct{ path, want string }{
		{"link.yaml", "outside the base directory"},
		{"linkdir", "outside the base directory"},
		{"linkdir/secret.yaml", "outside the base directory"},
		{"defs", "outside the base directory"},
		{"defs/../../x", "leaves the base directory"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			input := "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n  apiVersion: typekro.dev/v1alpha1\n  kind: TypeKro\n  metadata: {name: x}\n  spec:\n    paths: [" + tc.path + "]\nitems: []\n"
			out, err := execute(t, &kustomize.Processor{Root: root}, input)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("path %s: want error %q, got %v\n%s", tc.path, tc.want, err, out)
			}
			if strings.Contains(out, "name: secret") {
				t.Fatalf("path %s: read a file outside the root:\n%s", tc.path, out)
			}
		})
	}
}

// The output is the same bytes on every run.
func TestDeterministic(t *testing.T) {
	input, err := os.ReadFile("testdata/generator/input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for i := 0; i < 5; i++ {
		out, err := execute(t, &kustomize.Processor{Root: "testdata/generator"}, string(input))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = out
		} else if out != first {
			t.Fatalf("run %d differs:\n%s\n---\n%s", i, first, out)
		}
	}
}

// Regression (issue 9.10): a symlink loop in spec.paths printed the same
// error three times, without the file, and leaked the resolved absolute
// path. Now: one error per file, named relative to the root, no absolute path.
func TestSymlinkLoopReportedOnce(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "defs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("loop.yaml", filepath.Join(root, "defs", "loop.yaml")); err != nil {
		t.Fatal(err)
	}
	input := "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n  apiVersion: typekro.dev/v1alpha1\n  kind: TypeKro\n  metadata: {name: x}\n  spec:\n    paths: [defs]\nitems: []\n"
	out, err := execute(t, &kustomize.Processor{Root: root}, input)
	if err == nil {
		t.Fatalf("want an error:\n%s", out)
	}
	msg := err.Error()
	if n := strings.Count(msg, "symbolic link loop"); n != 1 || !strings.Contains(msg, "defs/loop.yaml: symbolic link loop") {
		t.Errorf("want one error naming defs/loop.yaml, got:\n%s", msg)
	}
	if strings.Contains(out, root) || strings.Contains(msg, root) {
		t.Errorf("leaks the absolute path %s:\n%s\n%s", root, msg, out)
	}
}

// typekro Test documents (kubectl typekro test) among the items, or in a
// directory the function reads, are not resources: they are left out of
// the output, not passed through to the cluster and not an error.
func TestTestDocumentsLeftOut(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "t.yaml"), []byte("apiVersion: typekro.dev/v1alpha1\nkind: Test\nmetadata: {name: from-file}\nspec: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	input := `apiVersion: config.kubernetes.io/v1
kind: ResourceList
functionConfig:
  apiVersion: typekro.dev/v1alpha1
  kind: TypeKro
  metadata: {name: x}
  spec: {paths: [t.yaml]}
items:
- apiVersion: typekro.dev/v1alpha1
  kind: Composition
  metadata: {name: good}
  spec:
    apiVersion: example.com/v1
    kind: Good
    schema: {spec: {name: string}}
    resources:
    - id: cm
      template: {apiVersion: v1, kind: ConfigMap, metadata: {name: "${schema.spec.name}"}}
- apiVersion: typekro.dev/v1alpha1
  kind: Test
  metadata: {name: from-stream}
  spec: {}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: passes-through}
`
	out, err := execute(t, &kustomize.Processor{Root: root}, input)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(out, "kind: Test") {
		t.Errorf("a Test document reached the output:\n%s", out)
	}
	for _, want := range []string{"kind: ResourceGraphDefinition", "name: passes-through"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
