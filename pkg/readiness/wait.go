package readiness

import (
	"context"
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
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
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
	// Explain, when set, adds to the progress why a readiness wait is
	// slow (see Explainer), once it has been for SlowAfter.
	Explain *Explainer

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
	var mu sync.Mutex // out, between the watch and the explainer
	if w.Explain != nil && w.Progress != nil && t.Check != nil {
		done := make(chan struct{})
		defer close(done)
		go w.explain(ctx, done, t, start, func() Outcome { mu.Lock(); defer mu.Unlock(); return out })
	}
	observe := func(obj *unstructured.Unstructured) bool {
		mu.Lock()
		defer mu.Unlock()
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
	mu.Lock()
	defer mu.Unlock()
	if err != nil && !out.Ready && !out.Failed && ctx.Err() == nil {
		out.Failed, out.Message = true, err.Error()
	}
	return out
}

// explain prints why t is slow, every SlowAfter while it is not ready,
// when the reason changed since the last line.
func (w *Waiter) explain(ctx context.Context, done <-chan struct{}, t Target, start time.Time, last func() Outcome) {
	tick := w.Explain.Ticker()
	defer tick.Stop()
	said := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-tick.C():
		}
		o := last()
		if o.Ready || o.Failed || o.Object == nil {
			continue
		}
		why := w.Explain.Why(ctx, o.Object)
		if why.Event == "" || why.Event == said {
			continue
		}
		said = why.Event
		w.mu.Lock()
		fmt.Fprintf(w.Progress, "waiting for %s: %s (%s) — why: %s\n", t.Ref, t.Want, time.Since(start).Round(100*time.Millisecond), why.Text)
		w.mu.Unlock()
	}
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

// listWatch lists and watches ri with the options narrowed by narrow; the
// watch goes quiet once its request's context ends.
func listWatch(ri dynamic.ResourceInterface, narrow func(*metav1.ListOptions)) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			narrow(&o)
			return ri.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			narrow(&o)
			w, err := ri.Watch(ctx, o)
			if err != nil {
				return nil, err
			}
			return quietAfter(ctx, w), nil
		},
	}
}

// reconnectBackoff paces a watch's re-list and re-watch after the API
// server went away (restart, upgrade, dropped connection). client-go's
// default (0.8s doubling to 30s, jitter 1.0: up to a minute between two
// attempts) suits controllers that run for days; a CLI waiting on a few
// objects would stay blind for up to a minute after the server is back, and
// could hit --timeout although the object got ready meanwhile (seen in the
// e2e cluster: ready 59s after a 25s outage ended). Attempts are at most
// 3s apart here (2s cap, jitter 0.5): one cheap list of one object each.
var reconnectBackoff = wait.Backoff{Duration: 250 * time.Millisecond, Factor: 2, Jitter: 0.5, Cap: 2 * time.Second, Steps: 10}

// Watch calls observe with the object's current state (nil when it does
// not exist) and then after every change, until observe returns true or
// ctx ends. A reflector lists and watches the one object: a dropped watch
// is resumed, an expired resource version triggers a re-list, and errors
// (connection refused while the API server restarts) are retried with
// reconnectBackoff until ctx ends, so a long wait survives API server
// restarts and connection resets. A re-list also reports the state the
// object reached while the server was unreachable. Watch returns nil when
// observe is done or ctx ends (the caller's deadline is not a watch
// failure); the error result is kept for callers. It runs a reflector of
// its own rather than an informer (watchtools.UntilWithSync) because only
// a reflector takes a backoff.
func Watch(ctx context.Context, client dynamic.Interface, gvr schema.GroupVersionResource, namespace, name string, observe func(*unstructured.Unstructured) bool) error {
	ri := client.Resource(gvr).Namespace(namespace)
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := listWatch(ri, func(o *metav1.ListOptions) { o.FieldSelector = sel })
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	store := &observingStore{name: name, observe: observe, done: cancel}
	backoff := reconnectBackoff
	// The wrapper tells the reflector whether the client can stream the
	// initial list over the watch (WatchList); fake clients cannot.
	r := cache.NewReflectorWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, client), &unstructured.Unstructured{}, store, cache.ReflectorOptions{
		Name:    "wait for " + gvr.Resource + " " + key(namespace, name), // names it in client-go's log lines
		Backoff: &backoff,
	})
	r.RunWithContext(ctx) // returns once ctx is cancelled: by observe, or by the caller
	return nil
}

// observingStore is the reflector's store for Watch: instead of keeping
// objects it passes every state of the one watched object to observe, in
// the order the reflector sees them. Replace (a list, also the re-list
// after a reconnect) reports the object or its absence; watch events
// report changes. Once observe returns true nothing more is reported.
type observingStore struct {
	name    string
	observe func(*unstructured.Unstructured) bool
	done    context.CancelFunc

	mu       sync.Mutex
	finished bool
}

func (s *observingStore) report(obj any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		return nil
	}
	var u *unstructured.Unstructured
	if obj != nil {
		var ok bool
		if u, ok = obj.(*unstructured.Unstructured); !ok {
			return fmt.Errorf("unexpected object %T", obj)
		}
	}
	if s.observe(u) {
		s.finished = true
		s.done()
	}
	return nil
}

func (s *observingStore) Add(obj any) error    { return s.report(obj) }
func (s *observingStore) Update(obj any) error { return s.report(obj) }
func (s *observingStore) Delete(any) error     { return s.report(nil) }
func (s *observingStore) Resync() error        { return nil }

func (s *observingStore) Replace(list []any, _ string) error {
	for _, obj := range list {
		// The list is filtered by name; check anyway.
		if u, ok := obj.(*unstructured.Unstructured); ok && u.GetName() == s.name {
			return s.report(u)
		}
	}
	return s.report(nil)
}

// quietWatch passes on the events of a watch until its request's context
// ends, and nothing after. Ending a wait (observe done, or the caller's
// deadline) cancels the watch request; the stream then fails with "context
// canceled", and the reflector, when it reads that before its own stop
// signal, prints "Warning: watch ended with error" (or "very short watch")
// on the user's stderr after a wait that went fine. Withholding the
// stream's end once the context is done leaves the reflector only its stop
// signal to see.
type quietWatch struct {
	w      watch.Interface
	out    chan watch.Event
	stop   chan struct{}
	done   chan struct{} // closed when forward returns
	once   sync.Once
	closed bool // out closed by forward; read after done
}

func quietAfter(ctx context.Context, w watch.Interface) *quietWatch {
	q := &quietWatch{w: w, out: make(chan watch.Event), stop: make(chan struct{}), done: make(chan struct{})}
	go q.forward(ctx)
	return q
}

func (q *quietWatch) forward(ctx context.Context) {
	defer close(q.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.stop:
			return
		case ev, ok := <-q.w.ResultChan():
			if ctx.Err() != nil {
				return // the end of the stream caused by the cancellation
			}
			if !ok {
				// Closed by the server (restart, timeout): the reflector
				// must see it to watch again.
				q.closed = true
				close(q.out)
				return
			}
			select {
			case q.out <- ev:
			case <-ctx.Done():
				return
			case <-q.stop:
				return
			}
		}
	}
}

func (q *quietWatch) ResultChan() <-chan watch.Event { return q.out }

func (q *quietWatch) Stop() {
	q.once.Do(func() {
		close(q.stop)
		q.w.Stop()
		<-q.done
		if !q.closed {
			close(q.out)
		}
	})
}

func key(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
