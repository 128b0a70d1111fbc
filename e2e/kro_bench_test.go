package e2e

import (
	"context"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// BenchmarkKroApplyWebapp measures `typekro apply` of examples/webapp's
// instances into fresh namespaces, with the RGD already Active (so it
// times instance readiness, not KRO's RGD start-up), and how long after
// the instances turned Ready typekro noticed and exited ("notice-ms"): an
// in-process watch records when the API server reported the last instance
// ACTIVE with Ready=True, and the command's exit is compared with that.
// The full first-apply comparison with kubectl is scripts/bench-apply.sh.
//
//	go test -run '^$' -bench KroApplyWebapp -benchtime 5x ./  (with KUBECONFIG, TYPEKRO_BIN)
func BenchmarkKroApplyWebapp(b *testing.B) {
	bin := e2eutil.TypekroBin(b)
	c := e2eutil.Clients(b)
	warm := copyExample(b, "webapp", createdByApply(b)).Dir
	typekroDeleteAtEnd(b, nil, warm)
	if out, err := exec.Command(bin, "apply", warm, "--create-namespace").CombinedOutput(); err != nil {
		b.Fatalf("warm-up apply: %v\n%s", err, out)
	}
	var notice, total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ex := copyExample(b, "webapp", createdByApply(b))
		dir, nss := ex.Dir, ex.Namespaces
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		var mu sync.Mutex
		var lastReady time.Time
		var wg sync.WaitGroup
		for orig, ns := range nss {
			name := map[string]string{"production": "webapp", "development": "webapp-dev"}[orig]
			w, err := c.ResourceFor(b, webappGVK, ns).Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
			if err != nil {
				b.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer w.Stop()
				for ev := range w.ResultChan() {
					u, ok := ev.Object.(*unstructured.Unstructured)
					if !ok || ev.Type == watch.Deleted {
						continue
					}
					if state(u) == "ACTIVE" && e2eutil.Condition(u, "Ready") == "True" {
						mu.Lock()
						if now := time.Now(); now.After(lastReady) {
							lastReady = now
						}
						mu.Unlock()
						return
					}
				}
			}()
		}
		b.StartTimer()
		start := time.Now()
		out, err := exec.Command(bin, "apply", dir, "--create-namespace", "--timeout", "2m").CombinedOutput()
		exited := time.Now()
		b.StopTimer()
		if err != nil {
			b.Fatalf("apply: %v\n%s", err, out)
		}
		wg.Wait()
		cancel()
		notice += exited.Sub(lastReady)
		total += exited.Sub(start)
		if out, err := exec.Command(bin, "delete", dir, "--keep-rgd").CombinedOutput(); err != nil {
			b.Fatalf("delete: %v\n%s", err, out)
		}
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "apply-ms")
	b.ReportMetric(float64(notice.Milliseconds())/float64(b.N), "notice-ms")
}
