package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// examplesDir is the repository's examples/, relative to this package.
const examplesDir = "../examples"

var (
	serviceGVK   = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	namespaceGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	webappGVK    = schema.GroupVersionKind{Group: "example.com", Version: "v1alpha1", Kind: "KroWebApp"}
)

// nsLine matches a literal metadata.namespace in an instance file.
var nsLine = regexp.MustCompile(`(?m)^(\s+namespace:\s*)([a-z0-9][-a-z0-9]*)\s*$`)

// copyExample copies examples/<name> into a temporary directory and moves
// every namespace the example names into a throw-away one
// ("<prefix>-<original>"), so tests never touch the namespaces a user
// would. It returns the directory and the original→new namespace map; the
// namespaces are deleted when the test ends.
func copyExample(t testing.TB, name string) (string, map[string]string) {
	t.Helper()
	src := filepath.Join(examplesDir, name)
	dst := filepath.Join(t.TempDir(), name)
	prefix := fmt.Sprintf("e2e-%05x", rand.IntN(1<<20))
	nss := map[string]string{}
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b = nsLine.ReplaceAllFunc(b, func(m []byte) []byte {
			sub := nsLine.FindSubmatch(m)
			orig := string(sub[2])
			nss[orig] = prefix + "-" + orig
			return []byte(string(sub[1]) + nss[orig])
		})
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy example %s: %v", name, err)
	}
	var list []string
	for _, ns := range nss {
		list = append(list, ns)
	}
	deleteNamespacesAtEnd(t, list...)
	return dst, nss
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
