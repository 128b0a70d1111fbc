package readiness

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
