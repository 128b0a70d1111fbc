package readiness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// Target is one object to wait for.
type Target struct {
	GVR             schema.GroupVersionResource
	Namespace, Name string
	// Ref names the object in messages, e.g. "ResourceGraphDefinition/kro-webapp".
	Ref string
	// Want names the awaited state in messages: "Active", "ACTIVE", "deleted".
	Want string
	// Check decides readiness; nil waits until the object no longer exists.
	Check Check
}

// Outcome is the last thing seen of a target.
type Outcome struct {
	Target  Target
	Ready   bool
	Failed  bool
	Message string
	Elapsed time.Duration
	Object  *unstructured.Unstructured // last observed, nil when absent
}

// NotReadyError reports targets that failed or did not get ready before
// the deadline, each with the last state observed.
type NotReadyError struct {
	TimedOut bool
	Waited   time.Duration // in this wait (a command's timeout may span several)
	Outcomes []Outcome     // only the ones not ready
}

func (e *NotReadyError) Error() string {
	var b strings.Builder
	if e.TimedOut {
		b.WriteString("timed out")
	} else {
		b.WriteString("failed")
	}
	for i, o := range e.Outcomes {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " waiting for %s to be %s: %s", o.Target.Ref, o.Target.Want, o.Message)
	}
	return b.String()
}

// Waiter waits for targets by watching them.
type Waiter struct {
	Client dynamic.Interface
	// Progress receives one line whenever a target's observed state changes
	// and when it becomes ready; nil discards them.
	Progress io.Writer

	mu sync.Mutex
}

// Wait blocks until every target is ready, one fails, or ctx ends. All
// targets are watched concurrently; the first failure cancels the rest.
func (w *Waiter) Wait(ctx context.Context, targets []Target) ([]Outcome, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	outcomes := make([]Outcome, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[i] = w.waitOne(ctx, t, start)
			if outcomes[i].Failed {
				cancel()
			}
		}()
	}
	wg.Wait()

	var bad []Outcome
	failed := false
	for _, o := range outcomes {
		if o.Failed {
			failed = true
		}
	}
	for _, o := range outcomes {
		// After a failure the others were cancelled: report only the failures.
		if !o.Ready && (!failed || o.Failed) {
			bad = append(bad, o)
		}
	}
	if len(bad) == 0 {
		return outcomes, nil
	}
	sort.SliceStable(bad, func(i, j int) bool { return bad[i].Target.Ref < bad[j].Target.Ref })
	return outcomes, &NotReadyError{TimedOut: !failed, Waited: time.Since(start), Outcomes: bad}
}

func (w *Waiter) waitOne(ctx context.Context, t Target, start time.Time) Outcome {
	out := Outcome{Target: t, Message: "not observed yet"}
	observe := func(obj *unstructured.Unstructured) bool {
		var v Verdict
		switch {
		case t.Check == nil && obj == nil:
			v = Verdict{Ready: true, Message: "deleted"}
		case t.Check == nil:
			v = Verdict{Message: "still exists"}
			if obj.GetDeletionTimestamp() != nil {
				v.Message = "terminating"
				if f := obj.GetFinalizers(); len(f) > 0 {
					v.Message += ", finalizers " + strings.Join(f, ", ")
				}
			}
		case obj == nil:
			v = Verdict{Message: "does not exist (yet)"}
		default:
			v = t.Check(obj)
		}
		changed := v.Message != out.Message || v.Ready != out.Ready
		out.Ready, out.Failed, out.Message, out.Object = v.Ready, v.Failed, v.Message, obj
		out.Elapsed = time.Since(start)
		if changed || v.Ready {
			w.report(t, out)
		}
		return v.Ready || v.Failed
	}
	err := Watch(ctx, w.Client, t.GVR, t.Namespace, t.Name, observe)
	if err != nil && !out.Ready && !out.Failed && ctx.Err() == nil {
		out.Failed, out.Message = true, err.Error()
	}
	return out
}

func (w *Waiter) report(t Target, o Outcome) {
	if w.Progress == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	el := o.Elapsed.Round(100 * time.Millisecond)
	switch {
	case o.Ready:
		fmt.Fprintf(w.Progress, "%s: %s (%s)\n", t.Ref, t.Want, el)
	case o.Failed:
		fmt.Fprintf(w.Progress, "%s: failed (%s): %s\n", t.Ref, el, o.Message)
	default:
		fmt.Fprintf(w.Progress, "waiting for %s: %s (%s) — last: %s\n", t.Ref, t.Want, el, o.Message)
	}
}

// Watch calls observe with the object's current state (nil when it does
// not exist) and then after every change, until observe returns true or
// ctx ends. It lists and watches through an informer: a dropped watch is
// resumed, and an expired resource version triggers a re-list, so a long
// wait survives API server restarts and connection resets.
func Watch(ctx context.Context, client dynamic.Interface, gvr schema.GroupVersionResource, namespace, name string, observe func(*unstructured.Unstructured) bool) error {
	ri := client.Resource(gvr).Namespace(namespace)
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return ri.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return ri.Watch(ctx, o)
		},
	}
	// After the initial sync the informer replays the listed object as an
	// Added event, possibly after the store has moved on; observing the store
	// here too would show states out of order. So the store only answers
	// "absent" (no event would ever say so), and events do the rest.
	pre := func(store cache.Store) (bool, error) {
		_, exists, err := store.GetByKey(key(namespace, name))
		if err != nil || exists {
			return false, err
		}
		return observe(nil), nil
	}
	cond := func(ev watch.Event) (bool, error) {
		switch ev.Type {
		case watch.Deleted:
			return observe(nil), nil
		case watch.Added, watch.Modified:
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				return false, nil
			}
			return observe(u), nil
		case watch.Error:
			return false, fmt.Errorf("watch %s: %v", gvr.Resource, ev.Object)
		}
		return false, nil
	}
	// The wrapper tells the reflector whether the client can stream the
	// initial list over the watch (WatchList); fake clients cannot.
	_, err := watchtools.UntilWithSync(ctx, cache.ToListWatcherWithWatchListSemantics(lw, client), &unstructured.Unstructured{}, pre, cond)
	if err != nil && ctx.Err() != nil {
		return nil // the caller's deadline or cancellation, not a watch failure
	}
	if errors.Is(err, watchtools.ErrWatchClosed) {
		return fmt.Errorf("watch of %s %s closed", gvr.Resource, key(namespace, name))
	}
	return err
}

func key(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
