package render

import (
	"context"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// fluxEval evaluates a healthCheckExprs expression the way kustomize-controller
// does (fluxcd/pkg/runtime/cel NewExpression: the expression is parsed, not
// type-checked, in an environment with these options, and run against the
// object's top-level fields). A runtime error (e.g. a field KRO has not
// written yet) counts as false here: Flux then polls again.
func fluxEval(t *testing.T, expr string, obj map[string]any) bool {
	t.Helper()
	env, err := cel.NewEnv(cel.HomogeneousAggregateLiterals(), cel.EagerlyValidateDeclarations(true), cel.DefaultUTCTimeZone(true),
		cel.CrossTypeNumericComparisons(true), cel.OptionalTypes(), ext.Strings(), ext.Sets(), ext.Encoders())
	if err != nil {
		t.Fatal(err)
	}
	ast, iss := env.Parse(expr)
	if iss.Err() != nil {
		t.Fatalf("%s: %v", expr, iss.Err())
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.InterruptCheckFrequency(100))
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := prg.ContextEval(context.Background(), obj)
	if err != nil {
		return false
	}
	b, ok := v.Value().(bool)
	if !ok {
		t.Fatalf("%s returned %v, not a bool", expr, v)
	}
	return b
}

// The healthCheckExprs of the Flux tree must not call a KRO object healthy on
// a status written for an older generation, nor failed on an old failure
// (issue 12: Ready 25 ms after a push while the instance stayed IN_PROGRESS).
func TestFluxHealthExprs(t *testing.T) {
	const inst = "apiVersion: example.com/v1alpha1\nkind: WebApp\nmetadata: {name: shop, namespace: prod, generation: 3}\n"
	const rgd = "apiVersion: kro.run/v1alpha1\nkind: ResourceGraphDefinition\nmetadata: {name: webapp, generation: 3}\n"
	for _, tc := range []struct {
		name, current, failed, obj string
		wantCurrent, wantFailed    bool
	}{
		{"instance without status", FluxInstanceCurrent, FluxInstanceFailed, inst, false, false},
		{"instance ready now", FluxInstanceCurrent, FluxInstanceFailed, inst + `status:
  state: ACTIVE
  conditions: [{type: Ready, status: "True", observedGeneration: 3}]`, true, false},
		{"instance ACTIVE for the previous generation", FluxInstanceCurrent, FluxInstanceFailed, inst + `status:
  state: ACTIVE
  conditions: [{type: Ready, status: "True", observedGeneration: 2}]`, false, false},
		{"instance ACTIVE but Ready=False now", FluxInstanceCurrent, FluxInstanceFailed, inst + `status:
  state: ACTIVE
  conditions:
  - {type: ResourcesReady, status: "False", reason: NotReady, message: "deployment 5/7", observedGeneration: 3}
  - {type: Ready, status: "False", observedGeneration: 3}`, false, false},
		{"instance Ready without observedGeneration", FluxInstanceCurrent, FluxInstanceFailed, inst + `status:
  state: ACTIVE
  conditions: [{type: Ready, status: "True"}]`, false, false},
		{"instance ERROR now", FluxInstanceCurrent, FluxInstanceFailed, inst + `status:
  state: ERROR
  conditions: [{type: GraphResolved, status: "False", observedGeneration: 3}, {type: Ready, status: "False", observedGeneration: 3}]`, false, true},
		{"instance ERROR for the previous generation", FluxInstanceCurrent, FluxInstanceFailed, inst + `status:
  state: ERROR
  conditions: [{type: GraphResolved, status: "False", observedGeneration: 2}]`, false, false},
		{"instance ERROR without conditions", FluxInstanceCurrent, FluxInstanceFailed, inst + "status: {state: ERROR}", false, false},
		{"rgd ready now", FluxRGDCurrent, FluxRGDFailed, rgd + `status:
  state: Active
  conditions: [{type: GraphAccepted, status: "True", observedGeneration: 3}, {type: Ready, status: "True", observedGeneration: 3}]`, true, false},
		{"rgd Active for the previous generation", FluxRGDCurrent, FluxRGDFailed, rgd + `status:
  state: Active
  conditions: [{type: GraphAccepted, status: "True", observedGeneration: 2}, {type: Ready, status: "True", observedGeneration: 2}]`, false, false},
		{"rgd rejected now", FluxRGDCurrent, FluxRGDFailed, rgd + `status:
  state: Inactive
  conditions: [{type: GraphAccepted, status: "False", observedGeneration: 3}, {type: Ready, status: "False", observedGeneration: 3}]`, false, true},
		{"rgd rejected for the previous generation", FluxRGDCurrent, FluxRGDFailed, rgd + `status:
  state: Inactive
  conditions: [{type: GraphAccepted, status: "False", observedGeneration: 2}]`, false, false},
		{"rgd with a breaking change refused now", FluxRGDCurrent, FluxRGDFailed, rgd + `status:
  state: Inactive
  conditions:
  - {type: GraphAccepted, status: "True", observedGeneration: 3}
  - {type: KindReady, status: "False", reason: Failed, observedGeneration: 3, message: "cannot update CRD webapps.example.com: breaking changes detected: property spec.b removed"}`, false, true},
		{"rgd whose CRD another RGD owns", FluxRGDCurrent, FluxRGDFailed, rgd + `status:
  conditions: [{type: KindReady, status: "False", observedGeneration: 3, message: "failed to update CRD webapps.example.com: CRD is owned by another ResourceGraphDefinition other"}]`, false, true},
		{"rgd refused for the previous generation", FluxRGDCurrent, FluxRGDFailed, rgd + `status:
  conditions: [{type: KindReady, status: "False", observedGeneration: 2, message: "breaking changes detected"}]`, false, false},
		{"rgd creating its CRD", FluxRGDCurrent, FluxRGDFailed, rgd + `status:
  state: Inactive
  conditions: [{type: GraphAccepted, status: "True", observedGeneration: 3}, {type: KindReady, status: "False", observedGeneration: 3}]`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Decoded as the API client does, so numbers are int64 as in the cluster.
			j, err := yaml.YAMLToJSON([]byte(tc.obj))
			if err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(j); err != nil {
				t.Fatal(err)
			}
			obj := u.Object
			if got := fluxEval(t, tc.current, obj); got != tc.wantCurrent {
				t.Errorf("current = %v, want %v", got, tc.wantCurrent)
			}
			if got := fluxEval(t, tc.failed, obj); got != tc.wantFailed {
				t.Errorf("failed = %v, want %v", got, tc.wantFailed)
			}
		})
	}
}
