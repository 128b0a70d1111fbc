// Package benchinputs writes the inputs of the render budgets in DESIGN.md
// (1,000 instances of a 5-resource composition), shared by the kro-mode and
// direct-mode benchmarks and the e2e tests that need many instances.
package benchinputs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/pkg/compile"
	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// Composition has five resources, as in DESIGN.md's render budget.
const Composition = `apiVersion: typekro.dev/v1alpha1
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

// Write writes composition.yaml and instances.yaml (n instances over 10
// namespaces) into dir.
func Write(dir string, n int) error {
	if err := os.WriteFile(filepath.Join(dir, "composition.yaml"), []byte(Composition), 0o644); err != nil {
		return err
	}
	var sb strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "---\napiVersion: bench.example.com/v1\nkind: BenchApp\nmetadata:\n  name: app-%04d\n  namespace: ns-%d\nspec:\n  name: app-%04d\n  image: nginx:1.27\n  replicas: %d\n", i, i%10, i, 1+i%5)
	}
	return os.WriteFile(filepath.Join(dir, "instances.yaml"), []byte(sb.String()), 0o644)
}

// Compile loads and compiles dir: the part of every render benchmark's
// iteration before its mode's own work.
func Compile(b testing.TB, dir string) *compile.Result {
	b.Helper()
	set, err := composition.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	res, err := compile.Compile(set, compile.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// Dir writes n instances (see Write) to a temporary directory of b.
func Dir(b testing.TB, n int) string {
	b.Helper()
	dir := b.TempDir()
	if err := Write(dir, n); err != nil {
		b.Fatal(err)
	}
	return dir
}
