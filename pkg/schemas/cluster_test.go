package schemas

import (
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

func TestClusterResolver(t *testing.T) {
	if _, _, err := ClusterResolver(nil); err == nil {
		t.Error("ClusterResolver(nil) succeeded")
	}
	// Nothing listens on port 1 of the loopback address: creating the
	// resolver must not contact the cluster, using it must fail fast.
	cfg := &rest.Config{Host: "https://127.0.0.1:1", Timeout: 5 * time.Second}
	sr, rm, err := ClusterResolver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sr == nil || rm == nil {
		t.Fatal("nil resolver or mapper")
	}
	if _, err := sr.ResolveSchema(gvk("apps/v1", "Deployment")); err == nil {
		t.Error("resolved a schema without a cluster")
	}
	if _, err := rm.RESTMapping(gvk("apps/v1", "Deployment").GroupKind(), "v1"); err == nil {
		t.Error("mapped a kind without a cluster")
	}
}
