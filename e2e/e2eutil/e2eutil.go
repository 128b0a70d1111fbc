// Package e2eutil has helpers for typekro e2e tests against a running
// cluster (normally the local one `make e2e` starts, see e2e/README.md):
// clients from KUBECONFIG, running the typekro binary and kubectl, waiting
// with watches or deadline-bound polls, and throw-away namespaces.
//
// Environment (exported by `make e2e`):
//
//	KUBECONFIG   admin kubeconfig of the cluster (required)
//	TYPEKRO_BIN  the kubectl-typekro binary under test (required by RunTypekro)
//	KUBECTL      kubectl binary (optional; default: kubectl from PATH)
//	E2E_CLUSTER  the cluster CLI (e2e/cmd/cluster) that started the cluster and
//	E2E_STATE    its state directory, $E2E_STATE/kubeconfig being $KUBECONFIG
//	             (required by RestartAPIServer)
package e2eutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	watchtools "k8s.io/client-go/tools/watch"
)

// FieldManager is the server-side apply field manager used by Apply.
const FieldManager = "typekro-e2e"

// NamespaceLabel is set on every namespace created by Namespace.
const NamespaceLabel = "e2e.typekro.dev/test"

// Well-known resources of KRO.
var (
	RGDGVR = schema.GroupVersionResource{Group: "kro.run", Version: "v1alpha1", Resource: "resourcegraphdefinitions"}
	RGDGVK = schema.GroupVersionKind{Group: "kro.run", Version: "v1alpha1", Kind: "ResourceGraphDefinition"}
)

const missingKubeconfig = "KUBECONFIG is not set: the e2e tests need a running cluster. " +
	"Run them with `make e2e` (builds the tools, starts the local cluster, runs the tests, stops it), " +
	"or start one with `make cluster-up` and export KUBECONFIG=<repo>/.cache/cluster/kubeconfig"

// Kubeconfig returns $KUBECONFIG, failing the test with instructions when it
// is not set.
func Kubeconfig(t testing.TB) string {
	t.Helper()
	kc := os.Getenv("KUBECONFIG")
	if kc == "" {
		t.Fatal(missingKubeconfig)
	}
	return kc
}

// ClientSet bundles the clients of the cluster under test. It is shared by
// all tests of a test binary and safe for concurrent use.
type ClientSet struct {
	Config    *rest.Config
	Kube      kubernetes.Interface
	Dynamic   dynamic.Interface
	Discovery discovery.CachedDiscoveryInterface
	// Mapper maps kinds to resources via discovery; ResourceFor resets it
	// when a kind is unknown (e.g. the CRD of a freshly created RGD).
	Mapper *restmapper.DeferredDiscoveryRESTMapper
}

var (
	clientsMu sync.Mutex
	clients   *ClientSet
)

// Clients returns clients for $KUBECONFIG (created once per test binary).
func Clients(t testing.TB) *ClientSet {
	t.Helper()
	kc := Kubeconfig(t)
	clientsMu.Lock()
	defer clientsMu.Unlock()
	if clients != nil {
		return clients
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatalf("load KUBECONFIG=%s: %v", kc, err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	disc := memory.NewMemCacheClient(kube.Discovery())
	clients = &ClientSet{
		Config:    cfg,
		Kube:      kube,
		Dynamic:   dyn,
		Discovery: disc,
		Mapper:    restmapper.NewDeferredDiscoveryRESTMapper(disc),
	}
	return clients
}

// ResourceFor returns the dynamic client for gvk, scoped to namespace when
// the resource is namespaced (namespace "" means "default"). Kinds that are
// not (yet) served, like the CRD of an RGD that just became Active, are
// retried with fresh discovery for up to 30s.
func (c *ClientSet) ResourceFor(t testing.TB, gvk schema.GroupVersionKind, namespace string) dynamic.ResourceInterface {
	t.Helper()
	var mapping *meta.RESTMapping
	WaitFor(t, 30*time.Second, func(context.Context) (bool, error) {
		m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			c.Mapper.Reset()
			return false, fmt.Errorf("map %s: %w", gvk, err)
		}
		mapping = m
		return true, nil
	})
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		return c.Dynamic.Resource(mapping.Resource)
	}
	if namespace == "" {
		namespace = "default"
	}
	return c.Dynamic.Resource(mapping.Resource).Namespace(namespace)
}

// Apply server-side applies obj (force, field manager FieldManager) and
// returns the result; failures fail the test.
func (c *ClientSet) Apply(t testing.TB, obj *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	ri := c.ResourceFor(t, obj.GroupVersionKind(), obj.GetNamespace())
	out, err := ri.Apply(t.Context(), obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		t.Fatalf("apply %s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
	return out
}

// ApplyYAML applies every document of manifest; namespaced objects without
// a namespace go to namespace.
func (c *ClientSet) ApplyYAML(t testing.TB, namespace, manifest string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, obj := range Objects(t, manifest) {
		if obj.GetNamespace() == "" && namespace != "" {
			obj.SetNamespace(namespace)
		}
		out = append(out, c.Apply(t, obj))
	}
	return out
}

// Objects decodes a multi-document YAML (or JSON) manifest.
func Objects(t testing.TB, manifest string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs
			}
			t.Fatalf("decode manifest: %v", err)
		}
		if len(m) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

// Object decodes a manifest holding exactly one object.
func Object(t testing.TB, manifest string) *unstructured.Unstructured {
	t.Helper()
	objs := Objects(t, manifest)
	if len(objs) != 1 {
		t.Fatalf("manifest has %d objects, want 1", len(objs))
	}
	return objs[0]
}

// Namespace creates a throw-away namespace named after the test, waits for
// its default ServiceAccount (pods cannot be created before it exists) and
// deletes it when the test ends.
func Namespace(t testing.TB) string {
	t.Helper()
	c := Clients(t)
	base := strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(base) > 40 {
		base = strings.TrimRight(base[:40], "-")
	}
	name := fmt.Sprintf("e2e-%s-%05x", base, rand.IntN(1<<20))
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": name, "labels": map[string]any{NamespaceLabel: labelValue(base)}},
	}}
	_, err := c.Dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).
		Create(t.Context(), ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("E2E_KEEP_NAMESPACES") != "" {
			t.Logf("keeping namespace %s of failed test", name)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		policy := metav1.DeletePropagationBackground
		err := c.Kube.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", name, err)
		}
	})
	WaitFor(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := c.Kube.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
	return name
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

func labelValue(s string) string {
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

// WaitFor calls cond every 100ms until it reports done, failing the test
// when timeout passes first (or the test's context ends). An error from cond
// does not stop the wait: it is remembered and reported on timeout, so cond
// can simply return the error of a Get that is expected to fail for a while.
// To give up early, call t.Fatal in cond.
func WaitFor(t testing.TB, timeout time.Duration, cond func(ctx context.Context) (done bool, err error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		done, err := cond(ctx)
		if done {
			return
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				t.Fatalf("condition not met within %s; last error: %v", timeout, last)
			}
			t.Fatalf("condition not met within %s", timeout)
		case <-tick.C:
		}
	}
}

// WaitForObject watches the object name of ri (list + watch, so no change is
// missed) until cond returns true for it and returns that state of the
// object. cond sees nil when the object does not exist (yet or any more). An
// error from cond fails the test at once; timeout fails it too, showing the
// last state seen.
func WaitForObject(t testing.TB, ri dynamic.ResourceInterface, name string, timeout time.Duration, cond func(obj *unstructured.Unstructured) (bool, error)) *unstructured.Unstructured {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	selector := "metadata.name=" + name
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.FieldSelector = selector
			return ri.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = selector
			return ri.Watch(ctx, opts)
		},
	}
	var last *unstructured.Unstructured
	var condErr error
	check := func(obj *unstructured.Unstructured) bool {
		last = obj
		ok, err := cond(obj)
		if err != nil {
			condErr = err
			return true
		}
		return ok
	}
	precondition := func(store cache.Store) (bool, error) {
		// The list is filtered by name, so the store holds at most the object.
		for _, item := range store.List() {
			if obj, ok := item.(*unstructured.Unstructured); ok && obj.GetName() == name {
				return check(obj), nil
			}
		}
		return check(nil), nil
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, precondition, func(ev watch.Event) (bool, error) {
		obj, _ := ev.Object.(*unstructured.Unstructured)
		if ev.Type == watch.Deleted {
			obj = nil
		}
		return check(obj), nil
	})
	if condErr != nil {
		t.Fatalf("waiting for %s: %v", name, condErr)
	}
	if err != nil {
		state := "object does not exist"
		if last != nil {
			b, _ := last.MarshalJSON()
			state = "last state: " + string(b)
		}
		t.Fatalf("waiting for %s: condition not met within %s (%v); %s", name, timeout, err, state)
	}
	return last
}

// Condition returns the status of condition type condType in
// obj.status.conditions, "" when absent.
func Condition(obj *unstructured.Unstructured, condType string) string {
	if obj == nil {
		return ""
	}
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == condType {
			s, _ := m["status"].(string)
			return s
		}
	}
	return ""
}

// Result is the outcome of running a command.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
	Duration       time.Duration
}

// Cmd describes a command for Run.
type Cmd struct {
	Bin   string
	Args  []string
	Dir   string    // working directory; default: the test's package dir
	Stdin io.Reader // optional
	Env   []string  // added to the test process environment
	// Timeout kills the command and fails the test; default 2 minutes.
	Timeout time.Duration
}

// Run runs a command with the test environment (KUBECONFIG included) and
// returns its output and exit code. A command that cannot be started or
// times out fails the test; a non-zero exit code does not.
func Run(t testing.TB, c Cmd) Result {
	t.Helper()
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(t.Context(), c.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Bin, c.Args...)
	cmd.Dir = c.Dir
	cmd.Stdin = c.Stdin
	cmd.Env = append(os.Environ(), c.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String(), Duration: time.Since(start)}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %s: killed after %s\nstdout:\n%s\nstderr:\n%s", c.Bin, strings.Join(c.Args, " "), c.Timeout, res.Stdout, res.Stderr)
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v", c.Bin, err)
	}
	t.Logf("$ %s %s (exit %d, %s)", c.Bin, strings.Join(c.Args, " "), res.ExitCode, res.Duration.Round(time.Millisecond))
	return res
}

// TypekroBin returns $TYPEKRO_BIN, failing the test when it is unset or
// missing.
func TypekroBin(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("TYPEKRO_BIN")
	if bin == "" {
		t.Fatal("TYPEKRO_BIN is not set: run the e2e tests with `make e2e`, which builds bin/kubectl-typekro and exports it")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("TYPEKRO_BIN: %v (run `make build`)", err)
	}
	return bin
}

// KubectlBin returns $KUBECTL, or kubectl from PATH.
func KubectlBin(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("KUBECTL"); bin != "" {
		return bin
	}
	bin, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal("KUBECTL is not set and no kubectl in PATH: run the e2e tests with `make e2e`")
	}
	return bin
}

// RunTypekro runs the typekro binary under test with args.
func RunTypekro(t testing.TB, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	r := Run(t, Cmd{Bin: TypekroBin(t), Args: args})
	return r.Stdout, r.Stderr, r.ExitCode
}

// RunKubectl runs kubectl with args against $KUBECONFIG.
func RunKubectl(t testing.TB, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	r := Run(t, Cmd{Bin: KubectlBin(t), Args: args})
	return r.Stdout, r.Stderr, r.ExitCode
}
