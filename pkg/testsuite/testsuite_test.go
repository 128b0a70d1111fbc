package testsuite_test

import (
	"bytes"
	"github.com/typekro/kubectl-typekro/internal/golden"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/testsuite"
)

func runner() *testsuite.Runner {
	return &testsuite.Runner{Reader: composition.NewReader("", nil)}
}

func runDir(t testing.TB, dir string) []*testsuite.Result {
	t.Helper()
	r := runner()
	tests, err := r.Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	results, err := r.Run(tests)
	if err != nil {
		t.Fatal(err)
	}
	return results
}

// TestReports runs the passing and the failing suite and compares every
// report format with its golden file: the failing suite (a changed
// image, a wrong status, a resource that should be absent, a wrong
// count, a missing resource, an error not raised, an unexpected error,
// a golden file that differs) fails on each, naming the field.
func TestReports(t *testing.T) {
	for _, tc := range []struct {
		dir            string
		passed, failed int
	}{
		{"testdata/app/passing", 3, 0},
		{"testdata/app/failing", 0, 7},
	} {
		t.Run(filepath.Base(tc.dir), func(t *testing.T) {
			results := runDir(t, tc.dir)
			passed, failed := testsuite.Counts(results)
			if passed != tc.passed || failed != tc.failed {
				t.Errorf("%d passed, %d failed; want %d, %d", passed, failed, tc.passed, tc.failed)
			}
			for _, f := range []struct {
				ext   string
				write func(*bytes.Buffer, []*testsuite.Result) error
			}{
				{"txt", func(b *bytes.Buffer, r []*testsuite.Result) error { return testsuite.WriteText(b, r) }},
				{"json", func(b *bytes.Buffer, r []*testsuite.Result) error { return testsuite.WriteJSON(b, r) }},
				{"junit.xml", func(b *bytes.Buffer, r []*testsuite.Result) error { return testsuite.WriteJUnit(b, r) }},
			} {
				var b bytes.Buffer
				if err := f.write(&b, results); err != nil {
					t.Fatal(err)
				}
				golden.Assert(t, filepath.Join("testdata", "golden", filepath.Base(tc.dir)+"."+f.ext), b.Bytes())
			}
		})
	}
}

// TestFailuresNameTheField pins the failures the issue asks for, beyond
// the golden report: each names the field, want and got.
func TestFailuresNameTheField(t *testing.T) {
	var b bytes.Buffer
	if err := testsuite.WriteText(&b, runDir(t, "testdata/app/failing")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`failing/shop.yaml:15: expect.resources[0] Deployment/prod/shop: spec.template.spec.containers[0].image: want "shop:1.0", got "shop:1.1"`,
		`failing/shop.yaml:31: expect.status.url: want "http://192.0.2.99", got "http://192.0.2.10"`,
		`failing/shop.yaml:48: expect.absent Ingress/prod/shop: rendered, want absent: Ingress/prod/shop`,
		"0 passed, 7 failed\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// TestUpdateRewritesGolden: --update writes the golden file the next run
// compares with.
func TestUpdateRewritesGolden(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"composition.yaml", "observed/shop.observed"} {
		data, err := os.ReadFile(filepath.Join("testdata/app", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	test := `apiVersion: typekro.dev/v1alpha1
kind: Test
metadata: {name: g}
spec:
  inputs: [composition.yaml]
  instance: {apiVersion: test.typekro.dev/v1alpha1, kind: Shop, metadata: {name: shop, namespace: prod}, spec: {name: shop, image: "shop:1.0"}}
  golden: out/g.golden
`
	if err := os.WriteFile(filepath.Join(dir, "t.yaml"), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runner()
	tests, err := r.Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	first, err := r.Run(tests)
	if err != nil {
		t.Fatal(err)
	}
	if first[0].Passed() {
		t.Fatal("a missing golden file must fail")
	}
	r.Update = true
	if _, err := r.Run(tests); err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(filepath.Join(dir, "out/g.golden"))
	if err != nil || !strings.Contains(string(written), "image: shop:1.0") {
		t.Fatalf("golden not written: %v %q", err, written)
	}
	r.Update = false
	again, err := r.Run(tests)
	if err != nil || !again[0].Passed() {
		t.Fatalf("after --update the test must pass: %v %v", err, again[0].Failures)
	}
}

// TestParseErrors: a malformed Test is a load error located at its field.
func TestParseErrors(t *testing.T) {
	head := "apiVersion: typekro.dev/v1alpha1\nkind: Test\nmetadata: {name: x}\n"
	inst := "  instance: {apiVersion: test.typekro.dev/v1alpha1, kind: Shop, metadata: {name: s}}\n"
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"unknown spec field", head + "spec:\n" + inst + "  expekt: {}\n", `t.yaml:6: Test/x: spec.expekt: unknown field "expekt"`},
		{"unknown expect field", head + "spec:\n" + inst + "  expect:\n    resourcez: []\n", `t.yaml:7: Test/x: spec.expect.resourcez: unknown field`},
		{"no instance", head + "spec:\n  expect: {ready: true}\n", "spec: a Test needs spec.instance or spec.instanceFile"},
		{"both instances", head + "spec:\n" + inst + "  instanceFile: i.yaml\n", "spec.instanceFile: give instance or instanceFile, not both"},
		{"bad absent", head + "spec:\n" + inst + "  expect: {absent: [shop]}\n", `spec.expect.absent[0]: "shop": write Kind/name or Kind/namespace/name`},
		{"error with others", head + "spec:\n" + inst + "  expect: {error: x, ready: true}\n", "spec.expect.ready: expect.error stands instead of the other expectations"},
		{"count not a number", head + "spec:\n" + inst + "  expect: {count: {Deployment: one}}\n", "spec.expect.count.Deployment: must be a whole number"},
		{"no name", "apiVersion: typekro.dev/v1alpha1\nkind: Test\nspec:\n" + inst, "metadata.name: a Test needs metadata.name"},
		{"duplicate name", head + "spec:\n" + inst + "---\n" + head + "spec:\n" + inst, `t.yaml:9: Test/x: metadata.name: duplicate test name "x" in this directory (also at `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "t.yaml"), []byte(tc.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := runner().Find(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	r := runner()
	tests, err := r.Find("testdata/app")
	if err != nil {
		t.Fatal(err)
	}
	got := testsuite.Filter(tests, regexp.MustCompile("^(changed|private)"))
	var names []string
	for _, t := range got {
		names = append(names, t.Name)
	}
	if strings.Join(names, ",") != "changed-image,private-shop" {
		t.Errorf("filtered %v", names)
	}
}

// TestCollectionsBySelector: an externalRef collection selects observed
// objects by its label selector, in its namespace only, in the API
// server's order (namespace, name).
func TestCollectionsBySelector(t *testing.T) {
	for _, r := range runDir(t, "testdata/roster") {
		if !r.Passed() {
			t.Errorf("%s: %v", r.Test.Name, r.Failures)
		}
	}
}
