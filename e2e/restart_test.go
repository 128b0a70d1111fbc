package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/typekro/kubectl-typekro/e2e/e2eutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
)

// restartGate's ConfigMap is ready only once data.ready is "yes", which
// nothing but the test sets: the test decides when the wait can end.
const restartGate = `apiVersion: typekro.dev/v1alpha1
kind: Composition
metadata:
  name: e2e-restart-gate
spec:
  apiVersion: e2e.typekro.dev/v1alpha1
  kind: RestartGate
  schema:
    spec:
      name: string | required=true
  resources:
    - id: gate
      readyWhen:
        - ${gate.data.?ready.orValue("") == "yes"}
      template:
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: ${schema.spec.name}
        data:
          purpose: made ready by the e2e test after an API server restart
`

// restartCase is one apply waiting across the API server restart.
type restartCase struct {
	mode  string // "kro" or "direct"
	ns    string
	apply *e2eutil.Background
	cms   typedcorev1.ConfigMapInterface
}

// TestWaitSurvivesAPIServerRestart: the kube-apiserver restarts while
// `apply` (KRO mode: typekro watches the instance, KRO the ConfigMap) and
// `apply --mode direct` (typekro watches the ConfigMap) wait for readiness.
// The ConfigMaps can only get ready after the restart, so each wait must
// re-establish its watch on the new apiserver, see the change and exit 0
// within --timeout instead of failing on the dropped connection. Both modes
// wait across one restart: every restart puts the reflectors of all cluster
// components (KRO included) further into client-go's reconnect backoff,
// which would slow the next restart's recovery and later tests.
func TestWaitSurvivesAPIServerRestart(t *testing.T) {
	e2eutil.ClusterCLI(t) // fail now, not after setting up, when it cannot restart
	var cases []*restartCase
	for _, mode := range []string{"kro", "direct"} {
		ns := e2eutil.Namespace(t)
		dir := filepath.Join(t.TempDir(), mode)
		writeFile(t, dir, "composition.yaml", restartGate)
		writeFile(t, dir, "instance.yaml", "apiVersion: e2e.typekro.dev/v1alpha1\nkind: RestartGate\nmetadata: {name: gate}\nspec: {name: gate}\n")
		flags := []string{"-n", ns}
		if mode == "direct" {
			flags = append(flags, "--mode", "direct")
		}
		typekroDeleteAtEnd(t, flags, dir)
		cases = append(cases, &restartCase{
			mode:  mode,
			ns:    ns,
			apply: e2eutil.StartTypekro(t, 4*time.Minute, append([]string{"apply", dir, "--timeout", "3m"}, flags...)...),
			cms:   e2eutil.Clients(t).Kube.CoreV1().ConfigMaps(ns),
		})
	}

	// Both are waiting: the ConfigMap exists (written by KRO or by typekro)
	// and typekro has said so.
	for _, c := range cases {
		e2eutil.WaitFor(t, 2*time.Minute, func(ctx context.Context) (bool, error) {
			_, err := c.cms.Get(ctx, "gate", metav1.GetOptions{})
			return err == nil, err
		})
		if c.mode == "kro" {
			c.apply.WaitOutput(t, time.Minute, "waiting for RestartGate/gate -n "+c.ns+": ACTIVE")
		} else {
			c.apply.WaitOutput(t, time.Minute, "configmap/gate -n "+c.ns+" created")
		}
	}
	for _, c := range cases {
		if c.apply.Exited() {
			r := c.apply.Wait(t)
			t.Fatalf("%s: apply finished before the restart (exit %d): the ConfigMap cannot be ready yet\nstdout:\n%s\nstderr:\n%s", c.mode, r.ExitCode, r.Stdout, r.Stderr)
		}
	}

	took := e2eutil.RestartAPIServer(t)
	t.Logf("kube-apiserver restart took %s", took.Round(10*time.Millisecond))
	for _, c := range cases {
		if c.apply.Exited() {
			r := c.apply.Wait(t)
			t.Fatalf("%s: apply exited during the API server restart (exit %d)\nstdout:\n%s\nstderr:\n%s", c.mode, r.ExitCode, r.Stdout, r.Stderr)
		}
	}

	// Only now can the ConfigMaps become ready. Retried: the shared client's
	// connections to the old apiserver are gone.
	readyAt := map[string]time.Time{}
	for _, c := range cases {
		e2eutil.WaitFor(t, time.Minute, func(ctx context.Context) (bool, error) {
			_, err := c.cms.Patch(ctx, "gate", types.MergePatchType, []byte(`{"data":{"ready":"yes"}}`), metav1.PatchOptions{FieldManager: e2eutil.FieldManager})
			return err == nil, err
		})
		readyAt[c.mode] = time.Now()
	}

	for _, c := range cases {
		r := c.apply.Wait(t)
		if r.ExitCode != 0 {
			t.Errorf("%s: apply after an API server restart: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", c.mode, r.ExitCode, r.Stdout, r.Stderr)
			continue
		}
		mustContain(t, c.mode+" stdout", r.Stdout, "RestartGate/gate -n "+c.ns+": ACTIVE")
		if c.mode == "kro" {
			mustContain(t, c.mode+" stderr", r.Stderr, "RestartGate/gate -n "+c.ns+": ACTIVE (")
		} else {
			mustContain(t, c.mode+" stderr", r.Stderr, "gate ready (")
		}
		exitedAt := c.apply.Started.Add(r.Duration)
		t.Logf("%s: apply exited 0 %s after its ConfigMap was made ready (%s in all); stderr:\n%s",
			c.mode, exitedAt.Sub(readyAt[c.mode]).Round(10*time.Millisecond), r.Duration.Round(10*time.Millisecond), r.Stderr)
	}
}
