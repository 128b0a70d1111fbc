package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// examplesDir is the repository's examples/, relative to this package.
const examplesDir = "../examples"

var (
	serviceGVK   = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	namespaceGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	webappGVK    = schema.GroupVersionKind{Group: "example.com", Version: "v1alpha1", Kind: "KroWebApp"}
)

// example is a copy of an example directory whose instances live in test
// namespaces.
type example struct {
	Dir string
	// Namespaces maps each original instance namespace to its test
	// namespace. Key "" stands for instances without a namespace: they keep
	// none in the copy, so pass `-n Namespaces[""]`.
	Namespaces map[string]string
	// Instances are the instances as written to the copy.
	Instances []*unstructured.Unstructured
	// Kinds are the kinds the example's Compositions and RGDs define, with
	// their schema's spec.
	Kinds map[schema.GroupKind]map[string]any
	// Definitions names the Compositions and RGDs; Resources counts their
	// resources.
	Definitions []string
	Resources   int
}

// copyExample copies an example directory (a name under examples/, or a
// path) into a temporary directory and moves every instance (an object of a
// kind a Composition or RGD of the example defines) to namespace
// nsFor(its original namespace), or leaves it without one when it had
// none (nsFor("") is then the namespace to pass with -n). A schema field
// spec.namespace, which KRO examples use for where the resources go, is
// moved along: an instance's spec.namespace becomes nsFor(its value), or
// nsFor(the instance's namespace) when unset. Files with instances are
// rewritten as YAML (comments are lost); all other files are copied as
// they are.
func copyExample(t testing.TB, src string, nsFor func(orig string) string) *example {
	t.Helper()
	if !filepath.IsAbs(src) && !strings.HasPrefix(src, ".") {
		src = filepath.Join(examplesDir, src)
	}
	ex := &example{Dir: filepath.Join(t.TempDir(), filepath.Base(src)), Namespaces: map[string]string{}, Kinds: map[schema.GroupKind]map[string]any{}}
	mapNS := func(orig string) string {
		if _, ok := ex.Namespaces[orig]; !ok {
			ex.Namespaces[orig] = nsFor(orig)
		}
		return ex.Namespaces[orig]
	}
	docs := map[string][]*unstructured.Unstructured{} // YAML file (relative) → documents
	var files []string
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		files = append(files, rel)
		if ext := filepath.Ext(path); ext == ".yaml" || ext == ".yml" || ext == ".json" {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			docs[rel] = e2eutil.Objects(t, string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("copy example %s: %v", src, err)
	}
	for _, rel := range files {
		for _, d := range docs[rel] {
			var gv, kind string
			var spec map[string]any
			var resources []any
			switch d.GroupVersionKind() {
			case schema.GroupVersionKind{Group: "typekro.dev", Version: "v1alpha1", Kind: "Composition"}:
				gv, _, _ = unstructured.NestedString(d.Object, "spec", "apiVersion")
				kind, _, _ = unstructured.NestedString(d.Object, "spec", "kind")
				spec, _, _ = unstructured.NestedMap(d.Object, "spec", "schema", "spec")
				resources, _, _ = unstructured.NestedSlice(d.Object, "spec", "resources")
			case e2eutil.RGDGVK:
				group, ok, _ := unstructured.NestedString(d.Object, "spec", "schema", "group")
				if !ok {
					group = "kro.run" // KRO's default group
				}
				version, _, _ := unstructured.NestedString(d.Object, "spec", "schema", "apiVersion")
				gv = group + "/" + version
				kind, _, _ = unstructured.NestedString(d.Object, "spec", "schema", "kind")
				spec, _, _ = unstructured.NestedMap(d.Object, "spec", "schema", "spec")
				resources, _, _ = unstructured.NestedSlice(d.Object, "spec", "resources")
			default:
				continue
			}
			g, err := schema.ParseGroupVersion(gv)
			if err != nil || kind == "" {
				t.Fatalf("%s: %s %s defines no valid kind (%q %q)", rel, d.GetKind(), d.GetName(), gv, kind)
			}
			ex.Kinds[schema.GroupKind{Group: g.Group, Kind: kind}] = spec
			ex.Definitions = append(ex.Definitions, d.GetName())
			ex.Resources += len(resources)
		}
	}
	for _, rel := range files {
		target := filepath.Join(ex.Dir, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(src, rel))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		moved := false
		for _, d := range docs[rel] {
			if spec, ok := ex.Kinds[d.GroupVersionKind().GroupKind()]; ok {
				moved = true
				orig := d.GetNamespace()
				if ns := mapNS(orig); orig != "" {
					d.SetNamespace(ns)
				}
				if _, hasField := spec["namespace"]; hasField {
					v, ok, _ := unstructured.NestedString(d.Object, "spec", "namespace")
					if !ok {
						v = orig
					}
					if err := unstructured.SetNestedField(d.Object, mapNS(v), "spec", "namespace"); err != nil {
						t.Fatal(err)
					}
				}
				ex.Instances = append(ex.Instances, d)
			}
			y, err := yaml.Marshal(d.Object)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(y))
		}
		if moved {
			b = []byte(strings.Join(out, "---\n"))
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return ex
}

// createdByApply names test namespaces "e2e-<random>-<original>" (and
// "…-default" for instances without one) for apply --create-namespace to
// create; they are deleted when the test ends.
func createdByApply(t testing.TB) func(string) string {
	prefix := fmt.Sprintf("e2e-%05x", rand.IntN(1<<20))
	return func(orig string) string {
		if orig == "" {
			orig = "default"
		}
		ns := prefix + "-" + orig
		deleteNamespacesAtEnd(t, ns)
		return ns
	}
}

// inNamespace puts every instance in ns.
func inNamespace(ns string) func(string) string {
	return func(string) string { return ns }
}

// deleteNamespacesAtEnd removes namespaces that typekro apply
// --create-namespace made (and all left in them) when the test ends.
func deleteNamespacesAtEnd(t testing.TB, names ...string) {
	c := e2eutil.Clients(t)
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("E2E_KEEP_NAMESPACES") != "" {
			t.Logf("keeping namespaces %v of failed test", names)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, ns := range names {
			err := c.Dynamic.Resource(namespaceGVR).Delete(ctx, ns, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("delete namespace %s: %v", ns, err)
			}
		}
	})
}

// typekroDeleteAtEnd runs `typekro delete` on paths when the test ends,
// so a failed test leaves no instance, RGD or KRO-created resource behind
// (RGDs are cluster-scoped and shared between tests). It is registered
// after copyExample, so it runs before the namespaces are deleted.
func typekroDeleteAtEnd(t testing.TB, extra []string, paths ...string) {
	bin := e2eutil.TypekroBin(t)
	t.Cleanup(func() {
		// Not e2eutil.Run: it runs under t.Context(), which is already
		// cancelled while cleanups run.
		args := append(append([]string{"delete"}, paths...), extra...)
		args = append(args, "--timeout", "2m")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("cleanup: typekro %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
}

// typekro runs the binary and fails the test unless it exits with want.
func typekro(t *testing.T, want int, args ...string) e2eutil.Result {
	t.Helper()
	r := e2eutil.Run(t, e2eutil.Cmd{Bin: e2eutil.TypekroBin(t), Args: args, Timeout: 5 * time.Minute})
	if r.ExitCode != want {
		t.Fatalf("typekro %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.ExitCode, want, r.Stdout, r.Stderr)
	}
	return r
}

// get returns the live object, or nil when it does not exist.
func get(t *testing.T, gvk schema.GroupVersionKind, ns, name string) *unstructured.Unstructured {
	t.Helper()
	c := e2eutil.Clients(t)
	obj, err := c.ResourceFor(t, gvk, ns).Get(t.Context(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("get %s %s/%s: %v", gvk.Kind, ns, name, err)
	}
	return obj
}

// getRGD returns the live RGD, or nil.
func getRGD(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	obj, err := e2eutil.Clients(t).Dynamic.Resource(e2eutil.RGDGVR).Get(t.Context(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("get RGD %s: %v", name, err)
	}
	return obj
}

// namespaceExists reports whether a namespace exists (and is not terminating).
func namespaceExists(t *testing.T, name string) bool {
	t.Helper()
	obj, err := e2eutil.Clients(t).Dynamic.Resource(namespaceGVR).Get(t.Context(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return obj.GetDeletionTimestamp() == nil
}

// names lists the names of all objects of a kind in a namespace.
func names(t *testing.T, gvk schema.GroupVersionKind, ns string) []string {
	t.Helper()
	list, err := e2eutil.Clients(t).ResourceFor(t, gvk, ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list %s in %s: %v", gvk.Kind, ns, err)
	}
	var out []string
	for _, o := range list.Items {
		out = append(out, o.GetName())
	}
	sort.Strings(out)
	return out
}

func state(obj *unstructured.Unstructured) string {
	if obj == nil {
		return "<absent>"
	}
	s, _, _ := unstructured.NestedString(obj.Object, "status", "state")
	return s
}

func statusInt(obj *unstructured.Unstructured, field string) int64 {
	v, _, _ := unstructured.NestedInt64(obj.Object, "status", field)
	return v
}

func statusString(obj *unstructured.Unstructured, field string) string {
	v, _, _ := unstructured.NestedString(obj.Object, "status", field)
	return v
}

// changeLines returns the change-set lines of an apply's stdout (the lines
// before the blank line that starts the status blocks).
func changeLines(stdout string) []string {
	var out []string
	for _, l := range strings.Split(stdout, "\n") {
		if l == "" {
			break
		}
		out = append(out, l)
	}
	return out
}

// mustContain fails the test unless s contains every want.
func mustContain(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, s)
		}
	}
}

// writeFile writes a file under dir, creating directories.
func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
