package readiness

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

// TestWatchListFollowsSelection: the initial list is reported (selected
// objects only, sorted), then each change to the selection.
func TestWatchListFollowsSelection(t *testing.T) {
	cmGVR := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	cm := func(name, team string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": "apps", "labels": map[string]any{"team": team}}}}
	}
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{cmGVR: "ConfigMapList"},
		cm("zoe", "blue"), cm("adam", "blue"), cm("other", "red"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	seen := make(chan string, 16)
	go WatchList(ctx, client, cmGVR, "apps", labels.SelectorFromSet(labels.Set{"team": "blue"}), func(items []*unstructured.Unstructured) {
		var names []string
		for _, u := range items {
			names = append(names, u.GetName())
		}
		seen <- strings.Join(names, ",")
	})
	next := func() string {
		select {
		case s := <-seen:
			return s
		case <-ctx.Done():
			t.Fatal("no report")
			return ""
		}
	}
	if got := next(); got != "adam,zoe" {
		t.Fatalf("initial list %q, want adam,zoe", got)
	}
	ri := client.Resource(cmGVR).Namespace("apps")
	if _, err := ri.Create(ctx, cm("bea", "blue"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "adam,bea,zoe" {
		t.Fatalf("after a create %q, want adam,bea,zoe", got)
	}
	if err := ri.Delete(ctx, "zoe", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "adam,bea" {
		t.Fatalf("after a delete %q, want adam,bea", got)
	}
}
