package schemas

import (
	"testing"

	"github.com/kubernetes-sigs/kro/pkg/graph"
)

// BenchmarkBuiltinResolve measures the first use of the embedded data (index
// and definitions decoded, then one kind resolved) and the cost of later
// resolutions.
func BenchmarkBuiltinResolve(b *testing.B) {
	deployment := gvk("apps/v1", "Deployment")
	b.Run("first-decode-index", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			resetBuiltin()
			b.StartTimer()
			if !Builtin().Known(deployment) {
				b.Fatal("unknown")
			}
		}
	})
	b.Run("first-decode-resolve-deployment", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			resetBuiltin()
			b.StartTimer()
			if _, err := Builtin().ResolveSchema(deployment); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("first-decode-resolve-all-kinds", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			resetBuiltin()
			b.StartTimer()
			reg := Builtin()
			for _, k := range builtinKinds() {
				if _, err := reg.ResolveSchema(k.gvk()); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("cached-resolve", func(b *testing.B) {
		reg := Builtin()
		if _, err := reg.ResolveSchema(deployment); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := reg.ResolveSchema(deployment); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("clone-addcrd-resolve-crd", func(b *testing.B) {
		t := &testing.T{}
		crd := serviceMonitorCRD(t)
		g := gvk("monitoring.coreos.com/v1", "ServiceMonitor")
		for b.Loop() {
			reg := Builtin().Clone()
			if err := reg.AddCRD(crd); err != nil {
				b.Fatal(err)
			}
			if _, err := reg.ResolveSchema(g); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBuild measures a whole KRO graph build (Deployment + Service, with
// status) on the warm built-in registry: the per-build overhead of validation.
func BenchmarkBuild(b *testing.B) {
	src := rgd(webSpec, `      availableReplicas: ${deployment.status.availableReplicas}
      clusterIP: ${service.spec.clusterIP}`, withReplicas("${schema.spec.replicas}")+service("8080"))
	reg := Builtin()
	rgdObj := parseRGD(b, src)
	for b.Loop() {
		bld, err := graph.NewBuilder(nil, nil, graph.WithSchemaResolver(reg), graph.WithRESTMapper(reg.RESTMapper()))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bld.NewResourceGraphDefinition(rgdObj, graphConfig); err != nil {
			b.Fatal(err)
		}
	}
}
