package readiness

import (
	"context"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
)

// WatchList calls observe with every object matching selector in namespace
// ("" is all namespaces, or cluster scope), sorted by namespace and name,
// once the initial list is in and after every change, until ctx ends. Like
// Watch, it survives dropped watches and API server restarts.
func WatchList(ctx context.Context, client dynamic.Interface, gvr schema.GroupVersionResource, namespace string, selector labels.Selector, observe func([]*unstructured.Unstructured)) {
	ri := client.Resource(gvr).Namespace(namespace)
	sel := selector.String()
	lw := listWatch(ri, func(o *metav1.ListOptions) { o.LabelSelector = sel })
	// A reflector with Watch's reconnect backoff (an informer cannot take
	// one), over a store that signals every change.
	changed := make(chan struct{}, 1)
	store := &notifyingStore{Store: cache.NewStore(cache.MetaNamespaceKeyFunc), changed: changed}
	backoff := reconnectBackoff
	r := cache.NewReflectorWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, client), &unstructured.Unstructured{}, store, cache.ReflectorOptions{
		Name:    "follow " + gvr.Resource + " " + selector.String(),
		Backoff: &backoff,
	})
	go r.RunWithContext(ctx)
	for {
		// The first signal is the initial list (Replace), even when empty.
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		items := store.List()
		out := make([]*unstructured.Unstructured, 0, len(items))
		for _, it := range items {
			if u, ok := it.(*unstructured.Unstructured); ok {
				out = append(out, u.DeepCopy())
			}
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].GetNamespace() != out[j].GetNamespace() {
				return out[i].GetNamespace() < out[j].GetNamespace()
			}
			return out[i].GetName() < out[j].GetName()
		})
		observe(out)
	}
}

// notifyingStore is a store that signals each change on a channel (which
// holds one pending signal: a reader then sees the latest state).
type notifyingStore struct {
	cache.Store
	changed chan struct{}
}

func (s *notifyingStore) poke() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *notifyingStore) Add(obj any) error    { defer s.poke(); return s.Store.Add(obj) }
func (s *notifyingStore) Update(obj any) error { defer s.poke(); return s.Store.Update(obj) }
func (s *notifyingStore) Delete(obj any) error { defer s.poke(); return s.Store.Delete(obj) }
func (s *notifyingStore) Replace(list []any, rv string) error {
	defer s.poke()
	return s.Store.Replace(list, rv)
}
