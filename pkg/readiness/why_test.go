package readiness

import (
	"context"
	"k8s.io/apimachinery/pkg/util/wait"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clocktesting "k8s.io/utils/clock/testing"
)

var (
	deployGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	rsGVR     = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	podGVR    = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
)

// A KRO instance (uid inst) owns, by KRO's label, Deployment web (uid d),
// whose ReplicaSet web-1 (uid rs) owns Pod web-1-a (uid p). Deployment
// other (uid o) belongs to nobody here.
const family = `
apiVersion: example.com/v1alpha1
kind: KroWebApp
metadata: {name: webapp, namespace: prod, uid: inst}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod, uid: d, labels: {kro.run/instance-id: inst}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-1
  namespace: prod
  uid: rs
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: d}]
status:
  conditions:
  - {type: ReplicaFailure, status: "True", reason: FailedCreate, message: "pods \"web-1-b\" is forbidden: exceeded quota: pods"}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1-a
  namespace: prod
  uid: p
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-1, uid: rs}]
status:
  conditions:
  - {type: Initialized, status: "True"}
  - {type: PodScheduled, status: "False", reason: Unschedulable, message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: other, namespace: prod, uid: o}
`

func event(name, typ, reason, msg, kind, objName, uid, last string) string {
	apiVersion := "apps/v1"
	if kind == "Pod" {
		apiVersion = "v1"
	}
	return `
apiVersion: v1
kind: Event
metadata: {name: ` + name + `, namespace: prod}
type: ` + typ + `
reason: ` + reason + `
message: "` + msg + `"
lastTimestamp: "` + last + `"
involvedObject: {apiVersion: ` + apiVersion + `, kind: ` + kind + `, name: ` + objName + `, namespace: prod, uid: ` + uid + `}
`
}

var (
	quotaEvent = event("q", "Warning", "FailedCreate", `(combined from similar events): Error creating: pods \"web-1-b\" is forbidden: exceeded quota: pods`, "ReplicaSet", "web-1", "rs", "2026-01-01T00:00:10Z")
	schedEvent = event("s", "Warning", "FailedScheduling", `0/1 nodes are available`, "Pod", "web-1-a", "p", "2026-01-01T00:00:20Z")
	ownEvent   = event("w", "Warning", "Oops", `the deployment itself`, "Deployment", "web", "d", "2026-01-01T00:00:05Z")
	otherEvent = event("x", "Warning", "FailedCreate", `not ours`, "Deployment", "other", "o", "2026-01-01T00:00:30Z")
	normal     = event("n", "Normal", "ScalingReplicaSet", `Scaled up`, "Deployment", "web", "d", "2026-01-01T00:00:40Z")
)

func testMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	m.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Group: "example.com", Version: "v1alpha1", Kind: "KroWebApp"}, meta.RESTScopeNamespace)
	return m
}

func fakeCluster(t *testing.T, docs ...string) *dynamicfake.FakeDynamicClient {
	var objs []runtime.Object
	for _, d := range docs {
		for _, doc := range strings.Split(d, "\n---\n") {
			if strings.TrimSpace(doc) != "" {
				objs = append(objs, obj(t, doc))
			}
		}
	}
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		eventsGVR: "EventList", deployGVR: "DeploymentList", rsGVR: "ReplicaSetList", podGVR: "PodList", instGVR: "KroWebAppList",
	}, objs...)
}

func TestWhy(t *testing.T) {
	webapp := obj(t, "apiVersion: example.com/v1alpha1\nkind: KroWebApp\nmetadata: {name: webapp, namespace: prod, uid: inst}")
	web := obj(t, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod, uid: d}")
	for _, tc := range []struct {
		name     string
		waited   *unstructured.Unstructured
		events   []string
		noMapper bool
		want     string // "" when nothing explains the wait
	}{
		{"quota on the ReplicaSet of a waited Deployment", web, []string{quotaEvent, otherEvent, normal}, false,
			`Warning FailedCreate on ReplicaSet/web-1: Error creating: pods "web-1-b" is forbidden: exceeded quota: pods`},
		{"the newest warning wins: scheduling on the Pod", web, []string{quotaEvent, schedEvent, ownEvent}, false,
			`Warning FailedScheduling on Pod/web-1-a: 0/1 nodes are available; PodScheduled=False (Unschedulable): 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.`},
		{"the object's own warning", web, []string{ownEvent, otherEvent}, false, `Warning Oops on Deployment/web: the deployment itself`},
		{"a KRO instance: three levels down through its label", webapp, []string{schedEvent}, false,
			`Warning FailedScheduling on Pod/web-1-a: 0/1 nodes are available; PodScheduled=False (Unschedulable): 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.`},
		{"another object's warning is not the reason", web, []string{otherEvent, normal}, false, ""},
		{"without a mapper only the object's own events", web, []string{quotaEvent, ownEvent}, true, `Warning Oops on Deployment/web: the deployment itself`},
		{"no events", web, nil, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &Explainer{Client: fakeCluster(t, append([]string{family}, tc.events...)...)}
			if !tc.noMapper {
				e.Mapper = testMapper()
			}
			got := e.Why(context.Background(), tc.waited).Text
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestWhyIsBounded: a namespace full of unrelated warnings costs at most
// one event list and maxGets reads per look-up.
func TestWhyIsBounded(t *testing.T) {
	var evs []string
	for i := range 50 {
		n := string(rune('a'+i%26)) + string(rune('a'+i/26))
		evs = append(evs, event("e"+n, "Warning", "BackOff", "x", "Pod", "pod-"+n, "uid-"+n, "2026-01-01T00:00:00Z"))
	}
	client := fakeCluster(t, append([]string{family}, evs...)...)
	e := &Explainer{Client: client, Mapper: testMapper()}
	web := obj(t, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod, uid: d}")
	if got := e.Why(context.Background(), web); got.Event != "" {
		t.Fatalf("got %q", got)
	}
	lists, gets := 0, 0
	for _, a := range client.Actions() {
		switch a.GetVerb() {
		case "list":
			lists++
		case "get":
			gets++
		}
	}
	if lists != 1 || gets > maxGets {
		t.Errorf("%d lists and %d gets, want 1 and at most %d", lists, gets, maxGets)
	}
}

// syncWriter collects progress lines and signals each write.
type syncWriter struct {
	mu     sync.Mutex
	b      strings.Builder
	writes chan struct{}
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	select {
	case w.writes <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestWaiterSaysWhyWhenSlow: the waiter quotes the Warning event only once
// the wait has been slow for SlowAfter (a fake clock), and once per reason.
func TestWaiterSaysWhyWhenSlow(t *testing.T) {
	client := fakeCluster(t, family, quotaEvent)
	clock := clocktesting.NewFakeClock(time.Now())
	progress := &syncWriter{writes: make(chan struct{}, 1)}
	w := &Waiter{Client: client, Progress: progress, Explain: &Explainer{Client: client, Mapper: testMapper(), Clock: clock}}
	notReady := func(*unstructured.Unstructured) Verdict { return Verdict{Message: "Available=False"} }
	target := Target{GVR: deployGVR, Namespace: "prod", Name: "web", Ref: "Deployment/web -n prod", Want: "Available", Check: notReady}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = w.Wait(ctx, []Target{target})
	}()
	<-progress.writes // the first observation
	eventually(t, "the explainer's ticker exists", clock.HasWaiters)
	if strings.Contains(progress.String(), "why:") {
		t.Fatalf("explained before the wait was slow: %q", progress.String())
	}
	clock.Step(SlowAfter)
	select {
	case <-progress.writes:
	case <-time.After(30 * time.Second): // a guard against hanging, not a measurement
		t.Fatalf("no line after the wait became slow: %q", progress.String())
	}
	want := "— why: Warning FailedCreate on ReplicaSet/web-1: Error creating: pods \"web-1-b\" is forbidden: exceeded quota: pods"
	if !strings.Contains(progress.String(), want) || !strings.Contains(progress.String(), "waiting for Deployment/web -n prod: Available (") {
		t.Errorf("progress %q\nwant %q", progress.String(), want)
	}
	// The same event again, repeated by its controller with a new pod
	// name, is not quoted again: one more look-up (a second event list)
	// prints nothing.
	ev := obj(t, strings.ReplaceAll(quotaEvent, "web-1-b", "web-1-c"))
	if _, err := client.Resource(eventsGVR).Namespace("prod").Update(ctx, ev, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	clock.Step(SlowAfter)
	eventually(t, "a second event list", func() bool { return eventLists(client) >= 2 })
	cancel()
	<-done
	if n := strings.Count(progress.String(), "why:"); n != 1 {
		t.Errorf("reason printed %d times, want once: %q", n, progress.String())
	}
}

func eventLists(c *dynamicfake.FakeDynamicClient) int {
	n := 0
	for _, a := range c.Actions() {
		if a.GetVerb() == "list" && a.GetResource() == eventsGVR {
			n++
		}
	}
	return n
}

// eventually polls cond (it is set by another goroutine) until it holds,
// failing the test after 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
