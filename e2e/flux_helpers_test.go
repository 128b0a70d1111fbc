package e2e

import (
	"context"
	"fmt"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
)

// Flux's kinds, as source-controller and kustomize-controller v1.9.6 serve them.
var (
	gitRepositoryGVK     = schema.GroupVersionKind{Group: "source.toolkit.fluxcd.io", Version: "v1", Kind: "GitRepository"}
	fluxKustomizationGVK = schema.GroupVersionKind{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization"}
)

// fluxNamespace is where render and bootstrap put the Flux Kustomizations and
// where the tests' GitRepositories live (as `flux bootstrap` does).
const fluxNamespace = "flux-system"

// requireFlux fails the test unless Flux's controllers run in the cluster
// (the harness starts them with --flux-bin-dir, as `make e2e` does) and
// makes sure flux-system exists (shared by the Flux tests, never deleted).
func requireFlux(t *testing.T) *e2eutil.ClientSet {
	t.Helper()
	c := e2eutil.Clients(t)
	_, err := c.Dynamic.Resource(crdGVR).Get(t.Context(), "gitrepositories.source.toolkit.fluxcd.io", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Flux is not installed in the cluster (%v): run the e2e tests with `make e2e`, whose cluster "+
			"runs Flux's source-controller and kustomize-controller (cluster up --flux-bin-dir --flux-crds)", err)
	}
	c.ApplyYAML(t, "", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "+fluxNamespace+"\n")
	return c
}

// servedRepo is a Git repository on disk served read-only over smart HTTP on
// 127.0.0.1 by git's own http-backend (CGI, run by net/http/cgi), the way
// source-controller clones a real remote. Commits are made in the
// repository itself; http-backend serves a non-bare repository as is.
type servedRepo struct {
	t   *testing.T
	Dir string
	URL string // http://127.0.0.1:PORT/repo
}

func newServedRepo(t *testing.T) *servedRepo {
	t.Helper()
	root := t.TempDir()
	r := &servedRepo{t: t, Dir: filepath.Join(root, "repo")}
	r.git("init", "-q", "-b", "main", r.Dir)
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend")
	srv := httptest.NewServer(&cgi.Handler{
		Path: backend,
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	})
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/repo"
	return r
}

// git runs git in the repository with a fixed identity.
func (r *servedRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=typekro e2e", "-c", "user.email=e2e@typekro.dev", "-c", "commit.gpgsign=false"}, args...)...)
	if r.Dir != "" && args[0] != "init" {
		cmd.Dir = r.Dir
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit commits every change and returns the revision as Flux reports it
// (main@sha1:<sha>) and the time of the commit.
func (r *servedRepo) commit(msg string) (string, time.Time) {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	sha := r.git("rev-parse", "HEAD")
	r.t.Logf("committed %q: %s", msg, sha[:12])
	return "main@sha1:" + sha, time.Now()
}

// fluxObject is a GitRepository or Kustomization the test manages.
type fluxObject struct {
	gvk  schema.GroupVersionKind
	name string
}

// requestReconcile asks a Flux controller to reconcile the object now, as
// `flux reconcile` does (the reconcile.fluxcd.io/requestedAt annotation),
// instead of waiting for its interval.
func requestReconcile(t *testing.T, c *e2eutil.ClientSet, o fluxObject) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, time.Now().Format(time.RFC3339Nano))
	_, err := c.ResourceFor(t, o.gvk, fluxNamespace).Patch(t.Context(), o.name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("request reconcile of %s %s: %v", o.gvk.Kind, o.name, err)
	}
}

// fluxReadyAt reports whether a Flux object is Ready for its current
// generation with revision applied (Kustomization: lastAppliedRevision;
// GitRepository: the artifact's revision).
func fluxReadyAt(obj *unstructured.Unstructured, revision string) bool {
	if obj == nil || !readyForGeneration(obj, "Ready") {
		return false
	}
	got, _, _ := unstructured.NestedString(obj.Object, "status", "lastAppliedRevision")
	if obj.GetKind() == gitRepositoryGVK.Kind {
		got, _, _ = unstructured.NestedString(obj.Object, "status", "artifact", "revision")
	}
	return got == revision
}

// readyForGeneration reports whether condition condType is True and was
// set for the object's current generation (Flux and KRO both record
// observedGeneration on their conditions).
func readyForGeneration(obj *unstructured.Unstructured, condType string) bool {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != condType {
			continue
		}
		og, ok := m["observedGeneration"].(int64)
		return m["status"] == "True" && ok && og == obj.GetGeneration()
	}
	return false
}

// conditionMessage returns "status reason: message" of condType, "" when absent.
func conditionMessage(obj *unstructured.Unstructured, condType string) string {
	if obj == nil {
		return ""
	}
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == condType {
			return fmt.Sprintf("%v %v: %v", m["status"], m["reason"], m["message"])
		}
	}
	return ""
}

// waitFluxReady watches a Flux object until it is Ready with revision and
// returns when it turned so. Every state of the object seen Ready at that
// revision is first passed to invariant, which reports what the cluster must
// already show at that moment (e.g. every instance Ready for its generation);
// an error fails the test: Flux went Ready too early. The invariants checked
// only grow true (a CRD gaining a field, an instance becoming Ready), so
// seeing one false after the watch event proves it was false when Flux
// turned Ready.
func waitFluxReady(t *testing.T, c *e2eutil.ClientSet, o fluxObject, revision string, timeout time.Duration, invariant func() error) time.Time {
	t.Helper()
	e2eutil.WaitForObject(t, c.ResourceFor(t, o.gvk, fluxNamespace), o.name, timeout, func(obj *unstructured.Unstructured) (bool, error) {
		if !fluxReadyAt(obj, revision) {
			return false, nil
		}
		if invariant != nil {
			if err := invariant(); err != nil {
				return false, fmt.Errorf("%s %s is Ready at %s, but %w", o.gvk.Kind, o.name, revision, err)
			}
		}
		return true, nil
	})
	return time.Now()
}

// deleteFluxObject deletes a Flux object and waits until its finalizer has
// run (a Kustomization with prune: true deletes what it applied first).
// For cleanups: no t.Context(), which is cancelled by then.
func deleteFluxObject(t *testing.T, c *e2eutil.ClientSet, o fluxObject) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ri := fluxResource(t, c, o)
	if ri == nil {
		return
	}
	if err := ri.Delete(ctx, o.name, metav1.DeleteOptions{}); err != nil {
		if !apierrors.IsNotFound(err) {
			t.Errorf("cleanup: delete %s %s: %v", o.gvk.Kind, o.name, err)
		}
		return
	}
	waitFluxGoneAtEnd(t, c, o)
}

// waitFluxGoneAtEnd waits (in a cleanup) until a Flux object is gone, its
// finalizer done; a Kustomization that another one's pruning deletes too.
func waitFluxGoneAtEnd(t *testing.T, c *e2eutil.ClientSet, o fluxObject) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ri := fluxResource(t, c, o)
	if ri == nil {
		return
	}
	for {
		if _, err := ri.Get(ctx, o.name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return
		}
		select {
		case <-ctx.Done():
			t.Errorf("cleanup: %s %s not gone within 3m", o.gvk.Kind, o.name)
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// gitRepositoryYAML is a GitRepository on the test's repository, as `flux
// bootstrap` would create for a real remote (interval: a push is picked up
// within a minute; the tests request reconciles instead of waiting).
func gitRepositoryYAML(name, url string) string {
	return fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: %s
  namespace: %s
spec:
  interval: 1m
  url: %s
  ref:
    branch: main
`, name, fluxNamespace, url)
}

// waitGoneAtEnd waits (in a cleanup) until no object of gvk is left in ns:
// Flux deleted them and KRO's finalizers removed what they made.
func waitGoneAtEnd(t *testing.T, c *e2eutil.ClientSet, gvk schema.GroupVersionKind, ns string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mapping, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return // the kind is not served: nothing left
	}
	for {
		list, err := c.Dynamic.Resource(mapping.Resource).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err == nil && len(list.Items) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Errorf("cleanup: %s left in %s after 2m", gvk.Kind, ns)
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// waitRGDGoneAtEnd waits (in a cleanup) until the RGD name is deleted,
// then deletes its CRD, which KRO leaves behind: a later run on the same
// cluster would otherwise find the last run's schema and KRO would call
// the first commit's schema a breaking change.
func waitRGDGoneAtEnd(t *testing.T, c *e2eutil.ClientSet, name, crd string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		if _, err := c.Dynamic.Resource(e2eutil.RGDGVR).Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			if err := c.Dynamic.Resource(crdGVR).Delete(ctx, crd, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("cleanup: delete CRD %s: %v", crd, err)
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Errorf("cleanup: RGD %s not deleted within 1m", name)
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// fluxResource is the client of a Flux object's kind in fluxNamespace; nil
// (and an error reported) when the kind is not served.
func fluxResource(t *testing.T, c *e2eutil.ClientSet, o fluxObject) dynamic.ResourceInterface {
	t.Helper()
	mapping, err := c.Mapper.RESTMapping(o.gvk.GroupKind(), o.gvk.Version)
	if err != nil {
		t.Errorf("cleanup: map %s: %v", o.gvk, err)
		return nil
	}
	return c.Dynamic.Resource(mapping.Resource).Namespace(fluxNamespace)
}

// typekroIn runs the typekro binary under test in dir and fails the test
// unless it exits with want.
func typekroIn(t *testing.T, dir string, want int, args ...string) e2eutil.Result {
	t.Helper()
	r := e2eutil.Run(t, e2eutil.Cmd{Bin: e2eutil.TypekroBin(t), Args: args, Dir: dir})
	if r.ExitCode != want {
		t.Fatalf("kubectl typekro %s: exit %d, want %d\n%s%s", strings.Join(args, " "), r.ExitCode, want, r.Stdout, r.Stderr)
	}
	return r
}
