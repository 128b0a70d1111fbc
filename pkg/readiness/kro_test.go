package readiness

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/typekro/kubectl-typekro/internal/testobj"
)

// obj parses a test object.
var obj = testobj.YAML

func TestRGD(t *testing.T) {
	for _, tc := range []struct {
		name, y     string
		ready, fail bool
		msg         string
	}{
		{"active", `
metadata: {name: a, generation: 2}
status:
  state: Active
  conditions:
  - {type: Ready, status: "True", observedGeneration: 2}`, true, false, ""},
		{"stale ready", `
metadata: {name: a, generation: 3}
status:
  state: Active
  conditions:
  - {type: Ready, status: "True", observedGeneration: 2}`, false, false, "generation 2, object is at 3"},
		{"rejected", `
metadata: {name: a, generation: 1}
status:
  state: Inactive
  conditions:
  - {type: GraphAccepted, status: "False", reason: InvalidResourceGraph, message: "bad readyWhen", observedGeneration: 1}
  - {type: Ready, status: "False", observedGeneration: 1}`, false, true, "bad readyWhen"},
		{"rejected earlier generation", `
metadata: {name: a, generation: 2}
status:
  state: Inactive
  conditions:
  - {type: GraphAccepted, status: "False", message: "bad", observedGeneration: 1}`, false, false, "state Inactive"},
		{"no status", `metadata: {name: a, generation: 1}`, false, false, "no status yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := RGD(obj(t, tc.y))
			if v.Ready != tc.ready || v.Failed != tc.fail || !strings.Contains(v.Message, tc.msg) {
				t.Errorf("got %+v", v)
			}
		})
	}
}

func TestRGDAfterNewKinds(t *testing.T) {
	lagging := obj(t, `
metadata: {name: a, generation: 1}
status:
  state: Inactive
  conditions:
  - {type: GraphAccepted, status: "False", observedGeneration: 1, message: 'failed to get schema for resource sm: cannot resolve group version "monitoring.coreos.com/v1": schema not found'}`)
	if v := RGDAfterNewKinds([]string{"monitoring.coreos.com/v1"})(lagging); v.Failed || v.Ready || !strings.Contains(v.Message, "retries") {
		t.Errorf("rejection naming a new kind should be waited out, got %+v", v)
	}
	if v := RGDAfterNewKinds([]string{"other.io/v1"})(lagging); !v.Failed {
		t.Errorf("rejection about an old kind should be final, got %+v", v)
	}
}

func TestInstance(t *testing.T) {
	ready := obj(t, `
metadata: {name: a, generation: 1}
status:
  state: ACTIVE
  conditions:
  - {type: Ready, status: "True", observedGeneration: 1}`)
	if v := Instance(ready); !v.Ready {
		t.Errorf("want ready, got %+v", v)
	}
	// ACTIVE alone is not enough: the Ready condition must be for this generation.
	stale := obj(t, `
metadata: {name: a, generation: 2}
status:
  state: ACTIVE
  conditions:
  - {type: Ready, status: "True", observedGeneration: 1}`)
	if v := Instance(stale); v.Ready || v.Failed {
		t.Errorf("want waiting, got %+v", v)
	}
	// ERROR is reported, not final: KRO retries.
	errored := obj(t, `
metadata: {name: a, generation: 1}
status:
  state: ERROR
  conditions:
  - {type: Ready, status: "False", reason: NotReady, observedGeneration: 1}
  - {type: ResourcesReady, status: "False", reason: Failed, message: "deployment not ready", observedGeneration: 1}`)
	v := Instance(errored)
	if v.Ready || v.Failed || !strings.Contains(v.Message, "deployment not ready") || !strings.Contains(v.Message, "state ERROR") {
		t.Errorf("got %+v", v)
	}
}

func TestCRDEstablished(t *testing.T) {
	if v := CRDEstablished(obj(t, `status: {conditions: [{type: Established, status: "True"}]}`)); !v.Ready {
		t.Errorf("got %+v", v)
	}
	if v := CRDEstablished(obj(t, `status: {conditions: [{type: NamesAccepted, status: "False", message: clash}]}`)); !v.Failed {
		t.Errorf("got %+v", v)
	}
}

func TestWriteHuman(t *testing.T) {
	var b strings.Builder
	err := WriteHuman(&b, []*unstructured.Unstructured{obj(t, `
apiVersion: example.com/v1alpha1
kind: KroWebApp
metadata: {name: webapp, namespace: production, generation: 1}
status:
  state: ACTIVE
  url: http://10.0.0.1
  readyReplicas: 3
  conditions:
  - {type: Ready, status: "True", reason: Ready, observedGeneration: 1, message: "all good"}`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"KroWebApp/webapp -n production: ACTIVE (generation 1)", "Ready", "all good", "url: http://10.0.0.1", "readyReplicas: 3"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
}

// TestInstanceTerminal: only the ERRORs KRO does not leave without a
// change to the instance or its RGD fail the wait; the ones it retries
// out of by itself keep it waiting.
func TestInstanceTerminal(t *testing.T) {
	const invalid = `resource reconciliation failed: apply results contain errors: failed to apply: Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`
	inst := func(gen int, state, condType, reason, msg string, observed int) string {
		return fmt.Sprintf(`
metadata: {name: a, generation: %d}
status:
  state: %s
  conditions:
  - {type: Ready, status: "False", reason: NotReady, message: "%s", observedGeneration: %d}
  - {type: %s, status: "False", reason: %s, message: "%s", observedGeneration: %d}`, gen, state, msg, observed, condType, reason, msg, observed)
	}
	for _, tc := range []struct {
		name, yaml string
		failed     bool
		want       string // in the message
	}{
		{"server rejected a resource of this generation", inst(2, "ERROR", "ResourcesReady", "NotReady", invalid, 2), true, `"web" is invalid: spec.replicas`},
		{"rejection of an older generation", inst(2, "ERROR", "ResourcesReady", "NotReady", invalid, 1), false, "generation 1"},
		{"rejection while IN_PROGRESS", inst(1, "IN_PROGRESS", "ResourcesReady", "NotReady", invalid, 1), false, "IN_PROGRESS"},
		{"graph revision failed: KRO does not requeue", inst(1, "ERROR", "GraphResolved", "ResolutionFailed", "latest issued graph revision 3 failed", 1), true, "GraphResolved=False (ResolutionFailed)"},
		{"graph revision pending: requeued", inst(1, "ERROR", "GraphResolved", "ResolutionFailed", "latest issued graph revision 3 is pending", 1), false, "is pending"},
		{"quota: retried", inst(1, "ERROR", "ResourcesReady", "NotReady", `pods \"web\" is forbidden: exceeded quota: pods`, 1), false, "exceeded quota"},
		{"missing namespace: retried", inst(1, "ERROR", "ResourcesReady", "NotReady", `namespaces \"later\" not found`, 1), false, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Instance(obj(t, tc.yaml))
			if v.Ready || v.Failed != tc.failed || !strings.Contains(v.Message, tc.want) {
				t.Errorf("got %+v, want failed=%v with %q", v, tc.failed, tc.want)
			}
		})
	}
}
