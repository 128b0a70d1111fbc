package direct_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
	"github.com/typekro/kubectl-typekro/pkg/direct"
	"github.com/typekro/kubectl-typekro/pkg/render"
)

// The inputs are pkg/render's (BenchmarkRenderKro1000), copied: test
// helpers of another package cannot be imported.
// benchComposition has five resources, as in DESIGN.md's render budget.
const benchComposition = `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata:
  name: bench
spec:
  apiVersion: bench.example.com/v1
  kind: BenchApp
  schema:
    spec:
      name: string | required=true
      image: string | required=true
      replicas: integer | default=2
      environment: string | enum="development,production" default="development"
    status:
      url: ${"http://" + service.spec.clusterIP}
  resources:
    - id: config
      ConfigMap:
        name: ${schema.spec.name}-config
        data:
          ENV: ${schema.spec.environment}
    - id: deployment
      Deployment:
        name: ${schema.spec.name}
        image: ${schema.spec.image}
        replicas: ${schema.spec.replicas}
        ports: [8080]
        envFrom:
          - configMapRef:
              name: ${config.metadata.name}
    - id: service
      Service:
        name: ${schema.spec.name}
        selector:
          app: ${schema.spec.name}
        ports:
          - port: 80
            targetPort: 8080
    - id: hpa
      Hpa:
        name: ${schema.spec.name}
        scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: "${deployment.metadata.name}"}
        minReplicas: 2
        maxReplicas: 10
        targetCPUUtilizationPercentage: 80
    - id: data
      Pvc:
        name: ${schema.spec.name}-data
        size: 1Gi
`

func writeBenchInputs(b *testing.B, instances int) string {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "composition.yaml"), []byte(benchComposition), 0o644); err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	for i := 0; i < instances; i++ {
		fmt.Fprintf(&sb, "---\napiVersion: bench.example.com/v1\nkind: BenchApp\nmetadata:\n  name: app-%04d\n  namespace: ns-%d\nspec:\n  name: app-%04d\n  image: nginx:1.27\n  replicas: %d\n", i, i%10, i, 1+i%5)
	}
	if err := os.WriteFile(filepath.Join(dir, "instances.yaml"), []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkRenderDirect1000 measures `render --mode direct --allow-pending`
// of 1,000 instances minus process start: load, KRO graph build, instance
// validation, KRO's runtime per instance, YAML encoding. (The Service's
// clusterIP in the status is the only live field; status is not rendered.)
func BenchmarkRenderDirect1000(b *testing.B) {
	dir := writeBenchInputs(b, 1000)
	for b.Loop() {
		set, err := composition.Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		res, err := compile.Compile(set, compile.Options{})
		if err != nil {
			b.Fatal(err)
		}
		r, err := direct.Render(res, direct.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Resources) != 5000 {
			b.Fatalf("%d resources, want 5000", len(r.Resources))
		}
		if _, err := render.YAML(render.Unstructured(direct.Objects(res, r))); err != nil {
			b.Fatal(err)
		}
	}
}
