package readiness

import (
	"context"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
)

// WatchList calls observe with every object matching selector in namespace
// ("" is all namespaces, or cluster scope), sorted by namespace and name,
// once the initial list is in and after every change, until ctx ends. An
// informer keeps it going across dropped watches and API server restarts.
func WatchList(ctx context.Context, client dynamic.Interface, gvr schema.GroupVersionResource, namespace string, selector labels.Selector, observe func([]*unstructured.Unstructured)) {
	ri := client.Resource(gvr).Namespace(namespace)
	sel := selector.String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = sel
			return ri.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = sel
			return ri.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, client), &unstructured.Unstructured{}, 0, cache.Indexers{})
	synced := false
	changed := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: poke, UpdateFunc: func(_, n any) { poke(n) }, DeleteFunc: poke,
	})
	go inf.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return
	}
	for {
		if synced {
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
		}
		synced = true
		items := inf.GetStore().List()
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
