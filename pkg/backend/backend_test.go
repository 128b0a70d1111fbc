package backend

import (
	"context"
	"errors"
	"github.com/typekro/kubectl-typekro/internal/compiletest"
	"k8s.io/apimachinery/pkg/watch"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/restmapper"
	clienttesting "k8s.io/client-go/testing"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/deploy"
	"github.com/typekro/kubectl-typekro/pkg/render"
	"github.com/typekro/kubectl-typekro/pkg/ssa"
)

var (
	webappGVR     = schema.GroupVersionResource{Group: "example.com", Version: "v1alpha1", Resource: "krowebapps"}
	deploymentGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

func compileWebapp(t *testing.T) *compile.Result {
	t.Helper()
	return compiletest.Dir(t, "../../examples/webapp")
}

func object(apiVersion, kind, ns, name string, status map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"name": name, "generation": int64(1)}}}
	if ns != "" {
		u.SetNamespace(ns)
	}
	if status != nil {
		u.Object["status"] = status
	}
	return u
}

// fakeCluster is an engine over client-go's fake dynamic client, with a
// RESTMapper from fake discovery serving RGDs, KroWebApps and Deployments.
func fakeCluster(t *testing.T, objs ...runtime.Object) (*deploy.Engine, *dynamicfake.FakeDynamicClient) {
	t.Helper()
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		RGDResource: "ResourceGraphDefinitionList", webappGVR: "KroWebAppList", deploymentGVR: "DeploymentList",
	}, objs...)
	disc := &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{Resources: []*metav1.APIResourceList{
		{GroupVersion: "kro.run/v1alpha1", APIResources: []metav1.APIResource{{Name: "resourcegraphdefinitions", Kind: "ResourceGraphDefinition", Verbs: metav1.Verbs{"get", "list", "watch"}}}},
		{GroupVersion: "example.com/v1alpha1", APIResources: []metav1.APIResource{{Name: "krowebapps", Kind: "KroWebApp", Namespaced: true, Verbs: metav1.Verbs{"get", "list", "watch"}}}},
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{{Name: "deployments", Kind: "Deployment", Namespaced: true, Verbs: metav1.Verbs{"get", "list"}}}},
	}}}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	return &deploy.Engine{Client: &ssa.Client{Dynamic: dyn, Mapper: mapper, FieldManager: ssa.DefaultFieldManager, DefaultNamespace: "default"}}, dyn
}

func TestNew(t *testing.T) {
	for _, mode := range []string{render.ModeKro, render.ModeDirect} {
		b, err := New(mode, nil)
		if err != nil || b.Mode() != mode {
			t.Errorf("New(%q): %v, %v", mode, b, err)
		}
	}
	if _, err := New("helm", nil); !IsArgument(err) {
		t.Errorf("New(helm): %v, want an ArgumentError", err)
	}
}

// Without a cluster only Render works; the others say so, not panic.
func TestNoCluster(t *testing.T) {
	res := compileWebapp(t)
	ctx := context.Background()
	for _, mode := range []string{render.ModeKro, render.ModeDirect} {
		b, _ := New(mode, nil)
		if r, err := b.Render(res, RenderOptions{AllowPending: true}); err != nil || len(r.Objects) == 0 {
			t.Errorf("%s: Render: %d objects, %v", mode, len(r.Objects), err)
		}
		_, aerr := b.Apply(ctx, res, ApplyOptions{})
		_, derr := b.Diff(ctx, res, DiffOptions{})
		_, serr := b.Status(ctx, StatusOptions{Inputs: res})
		xerr := b.Delete(ctx, res, DeleteOptions{})
		for _, err := range []error{aerr, derr, serr, xerr} {
			if err == nil || !strings.Contains(err.Error(), "no cluster connection") {
				t.Errorf("%s: %v, want no cluster connection", mode, err)
			}
		}
	}
}

func TestRender(t *testing.T) {
	res := compileWebapp(t)
	kinds := func(b Backend) []string {
		r, err := b.Render(res, RenderOptions{AllowPending: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range r.Objects {
			out = append(out, o.Object.GetKind()+"/"+o.Object.GetName())
		}
		return out
	}
	kro, _ := New(render.ModeKro, nil)
	if got, want := strings.Join(kinds(kro), " "), "ResourceGraphDefinition/kro-webapp KroWebApp/webapp-dev KroWebApp/webapp"; got != want {
		t.Errorf("kro mode: %s, want %s", got, want)
	}
	dir, _ := New(render.ModeDirect, nil)
	got := strings.Join(kinds(dir), " ")
	for _, want := range []string{"Deployment/webapp", "Service/webapp", "Deployment/webapp-dev"} {
		if !strings.Contains(got, want) {
			t.Errorf("direct mode: %s lacks %s", got, want)
		}
	}
	if strings.Contains(got, "KroWebApp") || strings.Contains(got, "ResourceGraphDefinition") {
		t.Errorf("direct mode renders no RGDs or instances: %s", got)
	}
}

func TestKroStatus(t *testing.T) {
	rgd := object("kro.run/v1alpha1", "ResourceGraphDefinition", "", "kro-webapp", map[string]any{"state": "Active"})
	inst := object("example.com/v1alpha1", "KroWebApp", "production", "webapp", map[string]any{"state": "ACTIVE"})
	kro := object("apps/v1", "Deployment", "kro-system", "kro", map[string]any{})
	kro.SetLabels(map[string]string{"app.kubernetes.io/name": "kro", "app.kubernetes.io/component": "controller"})
	tests := []struct {
		name        string
		opts        StatusOptions
		objects     string
		missing     string
		rgdList     bool
		kroDeployed bool
	}{
		{"inputs: RGD and instances, one missing", StatusOptions{Inputs: compileWebapp(t), Namespace: "default"},
			"ResourceGraphDefinition/kro-webapp KroWebApp/webapp", "KroWebApp/webapp-dev -n development: not found", false, false},
		{"no arguments: every RGD, and KRO itself", StatusOptions{Namespace: "default"},
			"ResourceGraphDefinition/kro-webapp", "", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := fakeCluster(t, rgd.DeepCopy(), inst.DeepCopy(), kro.DeepCopy())
			b, _ := New(render.ModeKro, e)
			r, err := b.Status(context.Background(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range r.Objects {
				got = append(got, u.GetKind()+"/"+u.GetName())
			}
			if strings.Join(got, " ") != tc.objects || strings.Join(r.Missing, "; ") != tc.missing {
				t.Errorf("objects %v, missing %v; want %q, %q", got, r.Missing, tc.objects, tc.missing)
			}
			if r.RGDList != tc.rgdList || (r.KRO != nil && r.KRO.Found) != tc.kroDeployed || r.KROErr != nil {
				t.Errorf("RGDList %v, KRO %+v (%v); want %v, deployed %v", r.RGDList, r.KRO, r.KROErr, tc.rgdList, tc.kroDeployed)
			}
			if r.Follow != nil {
				t.Error("Follow without Watch")
			}
		})
	}
}

// status --watch: Follow reports a status change of a shown object, then
// its deletion.
func TestKroStatusFollow(t *testing.T) {
	inst := object("example.com/v1alpha1", "KroWebApp", "production", "webapp", map[string]any{"state": "IN_PROGRESS"})
	e, dyn := fakeCluster(t, inst.DeepCopy())
	b, _ := New(render.ModeKro, e)
	res := compileWebapp(t)
	res.Definitions = nil // only the instances: the RGD is not in this cluster
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := b.Status(ctx, StatusOptions{Inputs: res, Namespace: "default", Watch: true})
	if err != nil || r.Follow == nil || len(r.Objects) != 1 {
		t.Fatalf("Status: %v, %d objects, Follow %v", err, len(r.Objects), r.Follow != nil)
	}
	// The fake client's watches replay nothing: a write between the
	// watch's list and its watch would be lost. The reactor registers the
	// watch with the tracker before it says the watch is there.
	watching := make(chan struct{}, 1)
	dyn.PrependWatchReactor("krowebapps", func(a clienttesting.Action) (bool, watch.Interface, error) {
		w, err := dyn.Tracker().Watch(webappGVR, a.GetNamespace())
		select {
		case watching <- struct{}{}:
		default:
		}
		return true, w, err
	})
	events := make(chan Event, 8)
	go r.Follow(ctx, func(ev Event) { events <- ev })
	select {
	case <-watching:
	case <-ctx.Done():
		t.Fatal("Follow never watched")
	}
	next := func() Event {
		select {
		case ev := <-events:
			return ev
		case <-ctx.Done():
			t.Fatal("no event")
			return Event{}
		}
	}
	live := inst.DeepCopy()
	live.Object["status"] = map[string]any{"state": "ACTIVE"}
	if _, err := dyn.Resource(webappGVR).Namespace("production").UpdateStatus(ctx, live, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := next()
	for ev.Object != nil && ev.Object.Object["status"].(map[string]any)["state"] != "ACTIVE" {
		ev = next() // the watch may start with the object as first listed
	}
	if ev.Object == nil || ev.Desc != "KroWebApp/webapp -n production" {
		t.Fatalf("event %+v", ev)
	}
	if err := dyn.Resource(webappGVR).Namespace("production").Delete(ctx, "webapp", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := next(); ev.Object != nil || ev.Desc != "KroWebApp/webapp -n production" {
		t.Fatalf("want a deletion event, got %+v", ev)
	}
}

func TestDirectStatusNeedsInputs(t *testing.T) {
	e, _ := fakeCluster(t)
	b, _ := New(render.ModeDirect, e)
	for _, o := range []StatusOptions{{Args: []string{"krowebapp/webapp"}}, {Inputs: compileWebapp(t), Watch: true}} {
		if _, err := b.Status(context.Background(), o); !IsArgument(err) {
			t.Errorf("%+v: %v, want an ArgumentError", o, err)
		}
	}
	var ae *ArgumentError
	if !errors.As(error(&ArgumentError{Err: errors.New("x")}), &ae) || ae.Unwrap().Error() != "x" {
		t.Error("ArgumentError does not unwrap")
	}
}
