package readiness

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kubernetes-sigs/kro/pkg/metadata"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/clock"
)

// SlowAfter is how long a wait on one object goes before the Explainer
// looks for the reason, and how often it looks again while the wait goes
// on. Most waits end sooner and cost no event look-up at all.
const SlowAfter = 5 * time.Second

// Bounds on one look-up: the Warning events read from the object's
// namespace, the owner levels followed up from an event's object (a Pod's
// ReplicaSet's Deployment's KRO instance: 3), and the objects read to
// follow them.
const (
	eventLimit = 100
	maxDepth   = 3
	maxGets    = 20
)

var eventsGVR = schema.GroupVersionResource{Version: "v1", Resource: "events"}

// Explainer says why an object is slow to get ready, the way kapp and
// `kubectl describe` do: the last Warning event of the object or of an
// object under it (FailedCreate for a quota on a Deployment's ReplicaSet,
// FailedScheduling or ErrImagePull on its Pods), and that object's failing
// condition. "Under" follows owner references, and KRO's instance-id label
// from an instance's resources, at most maxDepth levels. It is used by the
// Waiter and by direct mode's apply, which call Why only once a wait has
// been slow for SlowAfter, and then every SlowAfter.
type Explainer struct {
	Client dynamic.Interface
	// Mapper resolves the kinds of owners to read; nil looks only at the
	// waited object's own events.
	Mapper meta.RESTMapper
	// Clock paces the look-ups (a fake one in tests); nil is the real clock.
	Clock clock.WithTicker

	mu   sync.Mutex
	seen map[types.UID]*unstructured.Unstructured // objects read to follow owners: owners do not change
}

// Ticker fires every SlowAfter: the first tick is the moment a wait counts
// as slow.
func (e *Explainer) Ticker() clock.Ticker {
	c := e.Clock
	if c == nil {
		c = clock.RealClock{}
	}
	return c.NewTicker(SlowAfter)
}

// Reason is why a wait is slow.
type Reason struct {
	// Event names the Warning event (namespace/name): the same event
	// repeating — the ReplicaSet controller retries every few seconds, each
	// time with a new pod name in the message — is one reason, said once.
	Event string
	// Text is the event's reason and message, with the failing condition of
	// its object when that adds to them.
	Text string
}

// Why returns the reason obj is not ready yet; the zero Reason when no
// Warning event explains it. Errors reading events or owners leave the
// reason out: the explanation is a courtesy and must not fail a wait.
func (e *Explainer) Why(ctx context.Context, obj *unstructured.Unstructured) Reason {
	if e == nil || obj == nil || obj.GetUID() == "" {
		return Reason{}
	}
	opts := metav1.ListOptions{Limit: eventLimit}
	sel := fields.Set{"type": "Warning"}
	// A cluster-scoped object, or no way to follow owners: only its own
	// events, selected by UID.
	if obj.GetNamespace() == "" || e.Mapper == nil {
		sel["involvedObject.uid"] = string(obj.GetUID())
	}
	opts.FieldSelector = sel.AsSelector().String()
	list, err := e.Client.Resource(eventsGVR).Namespace(obj.GetNamespace()).List(ctx, opts)
	if err != nil {
		return Reason{}
	}
	events := list.Items
	// Newest first; the field selector is honoured by the API server but
	// not by fake clients, so the type is checked again below.
	sort.SliceStable(events, func(i, j int) bool { return lastSeen(&events[i]).After(lastSeen(&events[j])) })
	gets := 0
	for i := range events {
		ev := &events[i]
		if str(ev.Object, "type") != "Warning" {
			continue
		}
		inv, _, _ := unstructured.NestedMap(ev.Object, "involvedObject")
		uid := types.UID(str(inv, "uid"))
		var under *unstructured.Unstructured
		switch {
		case uid == obj.GetUID():
		case obj.GetNamespace() == "" || e.Mapper == nil:
			continue
		default:
			var ok bool
			if under, ok = e.under(ctx, obj.GetUID(), inv, obj.GetNamespace(), &gets); !ok {
				continue
			}
		}
		return Reason{Event: key(ev.GetNamespace(), ev.GetName()), Text: explain(ev, inv, under)}
	}
	return Reason{}
}

// WhyAny is Why of the first of objs (a node's live objects) that has a
// reason; nil entries (not created yet) are skipped.
func (e *Explainer) WhyAny(ctx context.Context, objs []*unstructured.Unstructured) Reason {
	for _, o := range objs {
		if why := e.Why(ctx, o); why.Event != "" {
			return why
		}
	}
	return Reason{}
}

// explain formats one event and, for an object under the waited one, its
// failing condition when that adds to the event's message.
func explain(ev *unstructured.Unstructured, inv map[string]any, under *unstructured.Unstructured) string {
	msg := oneLine(str(ev.Object, "message"))
	if msg == "-" {
		msg, _, _ = unstructured.NestedString(ev.Object, "note") // events.k8s.io/v1 spelling
	}
	// The event correlator's prefix for a repeating event says nothing.
	msg = strings.TrimPrefix(msg, "(combined from similar events): ")
	reason := str(ev.Object, "reason")
	s := fmt.Sprintf("Warning %s on %s/%s: %s", reason, str(inv, "kind"), str(inv, "name"), msg)
	// The condition only when it is news: not the event's own cause
	// again (ReplicaFailure FailedCreate, PodScheduled's scheduler message).
	if under != nil {
		if c := failing(under); c != nil && c.Reason != reason && !strings.Contains(msg, c.Message) {
			s += "; " + c.String()
		}
	}
	return s
}

// failing is the first condition that says something is wrong: a False
// one (Available, Ready, PodScheduled), or a True one whose type names a
// failure (a ReplicaSet's ReplicaFailure).
func failing(obj *unstructured.Unstructured) *Condition {
	conds := Conditions(obj)
	for i := range conds {
		c := &conds[i]
		bad := c.Status == "False"
		if strings.HasSuffix(c.Type, "Failure") || strings.HasSuffix(c.Type, "Failed") {
			bad = c.Status == "True"
		}
		if bad {
			c.Message = oneLine(c.Message)
			return c
		}
	}
	return nil
}

// under reports whether the event's object (ref, an involvedObject) is
// owned, directly or through at most maxDepth-1 other objects, by top; it
// then returns the object as it is now, for its conditions. Objects read
// to follow owners are kept for the Explainer's life (owner references and
// KRO's labels do not change), and at most maxGets are read per look-up.
func (e *Explainer) under(ctx context.Context, top types.UID, ref map[string]any, namespace string, gets *int) (*unstructured.Unstructured, bool) {
	if ns := str(ref, "namespace"); ns != "" && ns != namespace {
		return nil, false // only objects in the waited object's namespace
	}
	frontier := []map[string]any{ref}
	for depth := 1; depth <= maxDepth && len(frontier) > 0; depth++ {
		var next []map[string]any
		for _, r := range frontier {
			o := e.cached(ctx, r, namespace, gets)
			if o == nil {
				continue
			}
			owned := o.GetLabels()[metadata.InstanceIDLabel] == string(top)
			for _, or := range o.GetOwnerReferences() {
				owned = owned || or.UID == top
				next = append(next, map[string]any{"apiVersion": or.APIVersion, "kind": or.Kind, "name": or.Name, "uid": string(or.UID)})
			}
			if owned {
				fresh, err := e.read(ctx, ref, namespace, gets)
				return fresh, err == nil && fresh != nil
			}
		}
		frontier = next
	}
	return nil, false
}

// cached is read, once per object.
func (e *Explainer) cached(ctx context.Context, ref map[string]any, namespace string, gets *int) *unstructured.Unstructured {
	uid := types.UID(str(ref, "uid"))
	e.mu.Lock()
	o, ok := e.seen[uid]
	e.mu.Unlock()
	if ok {
		return o
	}
	o, err := e.read(ctx, ref, namespace, gets)
	if err != nil || o == nil || uid == "" {
		return o // not kept: the budget may be spent, the API server back later
	}
	e.mu.Lock()
	if e.seen == nil {
		e.seen = map[types.UID]*unstructured.Unstructured{}
	}
	e.seen[uid] = o
	e.mu.Unlock()
	return o
}

// read gets the object ref names in namespace, or nil when it is gone,
// unmapped, or the look-up's budget is spent.
func (e *Explainer) read(ctx context.Context, ref map[string]any, namespace string, gets *int) (*unstructured.Unstructured, error) {
	if *gets >= maxGets {
		return nil, nil
	}
	gv, err := schema.ParseGroupVersion(str(ref, "apiVersion"))
	if err != nil {
		return nil, err
	}
	m, err := e.Mapper.RESTMapping(gv.WithKind(str(ref, "kind")).GroupKind(), gv.Version)
	if err != nil {
		return nil, err
	}
	*gets++
	ri := e.Client.Resource(m.Resource)
	var obj *unstructured.Unstructured
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		obj, err = ri.Namespace(namespace).Get(ctx, str(ref, "name"), metav1.GetOptions{})
	} else {
		obj, err = ri.Get(ctx, str(ref, "name"), metav1.GetOptions{})
	}
	if err != nil {
		return nil, err
	}
	if uid := str(ref, "uid"); uid != "" && string(obj.GetUID()) != uid {
		return nil, nil // a newer object of the same name
	}
	return obj, nil
}

// lastSeen is when an event last happened, whichever API wrote it: the
// legacy recorder's lastTimestamp, the new one's series or eventTime.
func lastSeen(ev *unstructured.Unstructured) time.Time {
	var best time.Time
	for _, path := range [][]string{{"lastTimestamp"}, {"eventTime"}, {"series", "lastObservedTime"}, {"metadata", "creationTimestamp"}} {
		s, _, _ := unstructured.NestedString(ev.Object, path...)
		for _, layout := range []string{time.RFC3339Nano, time.RFC3339} {
			if t, err := time.Parse(layout, s); err == nil {
				if t.After(best) {
					best = t
				}
				break
			}
		}
	}
	return best
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}
