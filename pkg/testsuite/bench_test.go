package testsuite_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/typekro/kubectl-typekro/internal/benchinputs"
	"github.com/typekro/kubectl-typekro/pkg/testsuite"
)

// writeSuite writes benchinputs' 5-resource composition and n tests of
// it, in files of 100; every tenth test resolves its status from observed
// objects (the Service's clusterIP).
func writeSuite(tb testing.TB, dir string, n int) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(dir, "composition.yaml"), []byte(benchinputs.Composition), 0o644); err != nil {
		tb.Fatal(err)
	}
	var sb strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, `---
apiVersion: typekro.dev/v1alpha1
kind: Test
metadata: {name: app-%04d}
spec:
  inputs: [composition.yaml]
  instance:
    apiVersion: bench.example.com/v1
    kind: BenchApp
    metadata: {name: app-%04d, namespace: ns-%d}
    spec: {name: app-%04d, image: "nginx:1.27", replicas: %d}
  expect:
    resources:
      - {apiVersion: apps/v1, kind: Deployment, metadata: {name: app-%04d}, spec: {replicas: %d, template: {spec: {containers: [{image: "nginx:1.27"}]}}}}
    count: {ConfigMap: 1, Deployment: 1, Service: 1, HorizontalPodAutoscaler: 1, PersistentVolumeClaim: 1}
`, i, i, i%10, i, 1+i%5, i, 1+i%5)
		if i%10 == 0 {
			fmt.Fprintf(&sb, `    status: {url: "http://10.0.0.%d"}
  observed:
    - {apiVersion: v1, kind: Service, metadata: {name: app-%04d, namespace: ns-%d}, spec: {clusterIP: 10.0.0.%d}}
`, i%250, i, i%10, i%250)
		}
		if (i+1)%100 == 0 || i == n-1 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("tests-%02d.yaml", i/100)), []byte(sb.String()), 0o644); err != nil {
				tb.Fatal(err)
			}
			sb.Reset()
		}
	}
}

// BenchmarkTest1000 measures `kubectl typekro test` of 1,000 tests minus
// process start: finding and parsing the tests, building the definition
// once, validating, rendering with KRO's runtime and observing (status,
// readiness) each instance, and checking the expectations.
func BenchmarkTest1000(b *testing.B) {
	dir := b.TempDir()
	writeSuite(b, dir, 1000)
	for b.Loop() {
		results := runDir(b, dir)
		if passed, failed := testsuite.Counts(results); passed != 1000 {
			b.Fatalf("%d passed, %d failed: %v", passed, failed, results[0].Failures)
		}
	}
}
