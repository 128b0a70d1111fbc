// Package benchinputs writes the inputs of the render benchmarks (1,000
// instances of a 5-resource composition) and of the performance budgets of
// issue 13 (1,000 and 10,000 instances of a 4-resource fleet composition),
// shared by the kro-mode and direct-mode benchmarks, scripts/bench.sh and the
// tests that need many instances.
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

// Composition has five resources.
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

// Fleet is issue 13's composition: a ConfigMap, a Deployment, a Service, and
// an Ingress behind includeWhen (on for every third instance, see
// WriteFleet), so n instances render to 3n + ceil(n/3) objects.
const Fleet = `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata:
  name: fleet
spec:
  apiVersion: fleet.example.com/v1
  kind: FleetApp
  schema:
    spec:
      name: string | required=true
      image: string | required=true
      replicas: integer | default=2
      team: string | default="platform"
      external: boolean | default=false
      hostname: string | default=""
    status:
      url: ${"http://" + service.spec.clusterIP}
  resources:
    - id: config
      ConfigMap:
        name: ${schema.spec.name}-config
        data:
          TEAM: ${schema.spec.team}
          IMAGE: ${schema.spec.image}
    - id: app
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
    - id: ingress
      includeWhen:
        - ${schema.spec.external}
      Ingress:
        name: ${schema.spec.name}
        host: ${schema.spec.hostname}
        serviceName: ${service.metadata.name}
        servicePort: 80
`

// FleetObjects is how many objects n fleet instances render to in direct
// mode: three each, plus an Ingress for every third.
func FleetObjects(n int) int { return 3*n + (n+2)/3 }

// WriteFleet writes fleet.yaml (Fleet) and instances.yaml (n instances over
// 20 namespaces, every third external) into dir.
func WriteFleet(dir string, n int) error {
	if err := os.WriteFile(filepath.Join(dir, "fleet.yaml"), []byte(Fleet), 0o644); err != nil {
		return err
	}
	var sb strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "---\napiVersion: fleet.example.com/v1\nkind: FleetApp\nmetadata:\n  name: svc-%05d\n  namespace: team-%02d\nspec:\n  name: svc-%05d\n  image: registry.example.com/svc:1.%d.0\n  replicas: %d\n  team: team-%02d\n", i, i%20, i, i%7, 1+i%4, i%20)
		if i%3 == 0 {
			fmt.Fprintf(&sb, "  external: true\n  hostname: svc-%05d.example.com\n", i)
		}
	}
	return os.WriteFile(filepath.Join(dir, "instances.yaml"), []byte(sb.String()), 0o644)
}

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

// FleetDir writes n fleet instances (see WriteFleet) to a temporary
// directory of b.
func FleetDir(b testing.TB, n int) string {
	b.Helper()
	dir := b.TempDir()
	if err := WriteFleet(dir, n); err != nil {
		b.Fatal(err)
	}
	return dir
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
