package readiness

import (
	"context"
	"errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
)

var instGVR = schema.GroupVersionResource{Group: "example.com", Version: "v1alpha1", Resource: "krowebapps"}

func instance(t *testing.T, rv, state, ready string) *unstructured.Unstructured {
	return obj(t, `
apiVersion: example.com/v1alpha1
kind: KroWebApp
metadata: {name: webapp, namespace: prod, generation: 1, resourceVersion: "`+rv+`"}
status:
  state: `+state+`
  conditions:
  - {type: Ready, status: "`+ready+`", observedGeneration: 1}`)
}

// TestWatchSurvivesDisconnect: the first watch connection drops after one
// event; Watch must reconnect and still see the object become ready.
func TestWatchSurvivesDisconnect(t *testing.T) {
	scheme := runtime.NewScheme()
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme,
		map[schema.GroupVersionResource]string{instGVR: "KroWebAppList"},
		instance(t, "1", "IN_PROGRESS", "False"))
	var watches atomic.Int32
	client.PrependWatchReactor("krowebapps", func(clienttesting.Action) (bool, watch.Interface, error) {
		w := watch.NewFake()
		switch watches.Add(1) {
		case 1:
			go func() {
				w.Modify(instance(t, "2", "IN_PROGRESS", "Unknown"))
				w.Stop() // the connection drops
			}()
		default:
			go w.Modify(instance(t, "3", "ACTIVE", "True"))
		}
		return true, w, nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var seen []string
	err := Watch(ctx, client, instGVR, "prod", "webapp", func(u *unstructured.Unstructured) bool {
		v := Instance(u)
		seen = append(seen, v.Message)
		return v.Ready
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 || seen[len(seen)-1] != "state ACTIVE" {
		t.Fatalf("never saw the object ready; saw %v", seen)
	}
	if watches.Load() < 2 {
		t.Errorf("watch was not re-established (%d watch calls)", watches.Load())
	}
}

// TestWatchRetriesUnreachableServer: while the API server restarts, list
// and watch fail with "connection refused"; Watch must keep retrying (not
// return, not give up) and report the state the object reached meanwhile.
func TestWatchRetriesUnreachableServer(t *testing.T) {
	scheme := runtime.NewScheme()
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme,
		map[schema.GroupVersionResource]string{instGVR: "KroWebAppList"},
		instance(t, "1", "IN_PROGRESS", "False"))
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	var lists, watches atomic.Int32
	client.PrependReactor("list", "krowebapps", func(clienttesting.Action) (bool, runtime.Object, error) {
		switch lists.Add(1) {
		case 1:
			return false, nil, nil // the real list: IN_PROGRESS
		case 2, 3, 4:
			return true, nil, refused
		default:
			// Back after the restart: the object got ready meanwhile.
			return true, &unstructured.UnstructuredList{
				Object: map[string]any{"apiVersion": "example.com/v1alpha1", "kind": "KroWebAppList", "metadata": map[string]any{"resourceVersion": "5"}},
				Items:  []unstructured.Unstructured{*instance(t, "5", "ACTIVE", "True")},
			}, nil
		}
	})
	client.PrependWatchReactor("krowebapps", func(clienttesting.Action) (bool, watch.Interface, error) {
		if watches.Add(1) == 1 {
			w := watch.NewFake()
			go func() {
				// The server goes away with the watch; its resource version
				// is gone too, so the reflector has to list again.
				w.Error(&metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired, Message: "too old resource version"})
				w.Stop()
			}()
			return true, w, nil
		}
		if lists.Load() < 5 {
			return true, nil, refused
		}
		return true, watch.NewFake(), nil
	})

	// The reflector's outer retry loop sleeps on apimachinery's own real
	// clock, which no option replaces: the test shortens the backoff
	// instead (its bounds are TestReconnectBackoffIsBounded's).
	saved := reconnectBackoff
	reconnectBackoff = wait.Backoff{Duration: time.Millisecond, Factor: 2, Cap: 4 * time.Millisecond, Steps: 10}
	t.Cleanup(func() { reconnectBackoff = saved })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var seen []string
	err := Watch(ctx, client, instGVR, "prod", "webapp", func(u *unstructured.Unstructured) bool {
		v := Instance(u)
		seen = append(seen, v.Message)
		return v.Ready
	})
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatalf("Watch gave up retrying; saw %v after %d lists", seen, lists.Load())
	}
	if len(seen) == 0 || seen[len(seen)-1] != "state ACTIVE" {
		t.Fatalf("never saw the object ready; saw %v", seen)
	}
	if lists.Load() < 5 {
		t.Errorf("%d lists, want the refused ones retried", lists.Load())
	}
}

// TestQuietWatchAfterCancel: once the watch request's context ends, the
// stream's failure is not passed on (the reflector would log it), while a
// close by the server before that is (the reflector must re-watch).
func TestQuietWatchAfterCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	fake := watch.NewFakeWithChanSize(1, false)
	q := quietAfter(ctx, fake)
	fake.Modify(instance(t, "2", "IN_PROGRESS", "False"))
	if ev := <-q.ResultChan(); ev.Type != watch.Modified {
		t.Fatalf("first event %v, want Modified", ev.Type)
	}
	cancel()
	fake.Error(&metav1.Status{Status: metav1.StatusFailure, Message: "context canceled"})
	select {
	case ev, ok := <-q.ResultChan():
		t.Fatalf("event after cancellation: %v (open %v)", ev.Type, ok)
	case <-time.After(200 * time.Millisecond):
	}
	q.Stop()
	if _, ok := <-q.ResultChan(); ok {
		t.Fatal("result channel still open after Stop")
	}
	q.Stop() // idempotent

	server := watch.NewFake()
	q = quietAfter(context.Background(), server)
	server.Stop() // the server ends the watch
	if _, ok := <-q.ResultChan(); ok {
		t.Fatal("a watch closed by the server must close the result channel")
	}
	q.Stop()
}

// TestReconnectBackoffIsBounded: however long the server stays away, two
// attempts are never more than Cap*(1+Jitter) apart, so a wait notices the
// server is back within seconds, not client-go's default of up to a minute.
func TestReconnectBackoffIsBounded(t *testing.T) {
	b := reconnectBackoff
	limit := time.Duration(float64(b.Cap) * (1 + b.Jitter))
	var longest time.Duration
	for range 100 {
		d := b.Step()
		if d > limit {
			t.Fatalf("backoff step %s > %s", d, limit)
		}
		longest = max(longest, d)
	}
	if longest < b.Cap {
		t.Errorf("backoff never reached its cap %s (longest %s): it does not back off", b.Cap, longest)
	}
}

// TestWaiterTimeoutAndFailure: a deadline reports the last state; a failed
// target stops the wait at once.
func TestWaiterTimeoutAndFailure(t *testing.T) {
	scheme := runtime.NewScheme()
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme,
		map[schema.GroupVersionResource]string{instGVR: "KroWebAppList"},
		instance(t, "1", "IN_PROGRESS", "False"))
	var progress strings.Builder
	w := &Waiter{Client: client, Progress: &progress}
	target := Target{GVR: instGVR, Namespace: "prod", Name: "webapp", Ref: "KroWebApp/webapp -n prod", Want: "ACTIVE", Check: Instance}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := w.Wait(ctx, []Target{target})
	var nre *NotReadyError
	if !errors.As(err, &nre) || !nre.TimedOut {
		t.Fatalf("want a timeout, got %v", err)
	}
	if !strings.Contains(err.Error(), "waiting for KroWebApp/webapp -n prod to be ACTIVE: state IN_PROGRESS; Ready=False") {
		t.Errorf("timeout message: %v", err)
	}
	if !strings.Contains(progress.String(), "waiting for KroWebApp/webapp -n prod: ACTIVE (") {
		t.Errorf("progress: %q", progress.String())
	}

	failing := target
	failing.Check = func(*unstructured.Unstructured) Verdict { return Verdict{Failed: true, Message: "rejected"} }
	start := time.Now()
	_, err = w.Wait(context.Background(), []Target{failing, target})
	if !errors.As(err, &nre) || nre.TimedOut || len(nre.Outcomes) != 1 || nre.Outcomes[0].Message != "rejected" {
		t.Fatalf("want one failure, got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("a failure did not stop the wait promptly (%s)", time.Since(start))
	}

	gone := Target{GVR: instGVR, Namespace: "prod", Name: "absent", Ref: "x", Want: "deleted"}
	if _, err := w.Wait(context.Background(), []Target{gone}); err != nil {
		t.Errorf("absent object: %v", err)
	}
}
