// Package readiness decides when KRO objects are ready — a
// ResourceGraphDefinition Active, its generated CRD Established, an instance
// ACTIVE — and waits for it by watching the API server, so a change is
// noticed as soon as the server sends it instead of at the next poll tick.
package readiness

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kubernetes-sigs/kro/api/v1alpha1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Verdict is what a Check concludes from one observation of an object.
type Verdict struct {
	Ready bool
	// Failed means waiting longer cannot help (KRO rejected the graph, the
	// object is being deleted): the waiter stops at once with Message.
	Failed bool
	// Message describes what was seen, for progress lines and timeouts.
	Message string
}

// Check evaluates one observed object.
type Check func(obj *unstructured.Unstructured) Verdict

// Condition is a status condition as KRO and the API server write them.
type Condition struct {
	Type, Status, Reason, Message string
	ObservedGeneration            int64
	HasObservedGeneration         bool
}

func (c *Condition) String() string {
	if c == nil {
		return "none"
	}
	s := c.Type + "=" + c.Status
	if c.Reason != "" {
		s += " (" + c.Reason + ")"
	}
	if c.Message != "" {
		s += ": " + c.Message
	}
	return s
}

// Conditions reads status.conditions.
func Conditions(obj *unstructured.Unstructured) []Condition {
	raw, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	out := make([]Condition, 0, len(raw))
	for _, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		str := func(k string) string { s, _ := m[k].(string); return s }
		c := Condition{Type: str("type"), Status: str("status"), Reason: str("reason"), Message: str("message")}
		switch g := m["observedGeneration"].(type) {
		case int64:
			c.ObservedGeneration, c.HasObservedGeneration = g, true
		case float64:
			c.ObservedGeneration, c.HasObservedGeneration = int64(g), true
		}
		out = append(out, c)
	}
	return out
}

// FindCondition returns the condition of type t, or nil.
func FindCondition(conds []Condition, t string) *Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// current reports whether a condition describes the object's current
// generation. KRO stamps observedGeneration on every condition it sets;
// right after an update the old generation's conditions are still there
// and must not be taken for the new spec's outcome.
func current(c *Condition, obj *unstructured.Unstructured) bool {
	return c != nil && c.HasObservedGeneration && c.ObservedGeneration == obj.GetGeneration()
}

// State is status.state.
func State(obj *unstructured.Unstructured) string {
	s, _, _ := unstructured.NestedString(obj.Object, "status", "state")
	return s
}

// KRO's state and condition names (api/v1alpha1 of KRO v0.9.4).
var (
	RGDActive      = string(v1alpha1.ResourceGraphDefinitionStateActive) // "Active"
	InstanceActive = string(v1alpha1.InstanceStateActive)                // "ACTIVE"
	ConditionReady = string(v1alpha1.InstanceConditionTypeReady)         // "Ready", on RGDs too
	GraphAccepted  = string(v1alpha1.RGDConditionTypeGraphAccepted)
	KindReady      = string(v1alpha1.RGDConditionTypeKindReady)
)

// KindRefusals are the parts of a KindReady=False message (KRO v0.9.4,
// pkg/client/crd.go) that are final until the RGD changes: a breaking schema
// change without kro.run/allow-breaking-changes, or a CRD KRO does not own.
// KindReady is also False for a moment while KRO creates the CRD; that is
// not a refusal.
var KindRefusals = []string{"breaking changes detected", "is not owned by KRO", "is owned by another ResourceGraphDefinition"}

// KindRefused reports whether a KindReady message is one of KindRefusals.
func KindRefused(msg string) bool {
	for _, r := range KindRefusals {
		if strings.Contains(msg, r) {
			return true
		}
	}
	return false
}

// RGD is ready when KRO reports it Active with a Ready condition True for
// the current generation. It fails fast when KRO rejected the current
// generation's graph (GraphAccepted=False): that verdict is final until
// the RGD changes, so waiting for the timeout would only hide it.
func RGD(obj *unstructured.Unstructured) Verdict {
	if obj.GetDeletionTimestamp() != nil {
		return Verdict{Failed: true, Message: "is being deleted"}
	}
	conds := Conditions(obj)
	if ga := FindCondition(conds, GraphAccepted); ga != nil && ga.Status == "False" && current(ga, obj) {
		return Verdict{Failed: true, Message: "KRO rejected the graph: " + ga.String()}
	}
	if kr := FindCondition(conds, KindReady); kr != nil && kr.Status == "False" && current(kr, obj) && KindRefused(kr.Message) {
		return Verdict{Failed: true, Message: "KRO refused to update the CRD: " + kr.String()}
	}
	state := State(obj)
	ready := FindCondition(conds, ConditionReady)
	if state == RGDActive && ready != nil && ready.Status == "True" && current(ready, obj) {
		return Verdict{Ready: true, Message: "state " + state}
	}
	return Verdict{Message: describe(obj, state, conds, ready)}
}

// RGDAfterNewKinds is RGD for a graph that uses kinds (group/versions such
// as "monitoring.coreos.com/v1") which became servable moments ago, in the
// same apply. KRO resolves schemas through its own discovery cache, which
// lags behind a freshly Established CRD: it may reject such a graph with
// "cannot resolve group version ...: schema not found" and accept it on its
// next retry, about a second later. A rejection naming one of those
// group/versions is therefore reported but not final; any other rejection
// still fails at once.
func RGDAfterNewKinds(groupVersions []string) Check {
	return func(obj *unstructured.Unstructured) Verdict {
		v := RGD(obj)
		if !v.Failed || obj.GetDeletionTimestamp() != nil {
			return v
		}
		for _, gv := range groupVersions {
			if strings.Contains(v.Message, `"`+gv+`"`) {
				return Verdict{Message: "KRO has not discovered " + gv + " yet, it retries: " + v.Message}
			}
		}
		return v
	}
}

// Instance is ready when KRO reports state ACTIVE and a Ready condition
// True for the current generation. It fails fast on an instance KRO will
// not get out of ERROR without a change (see InstanceTerminal); any other
// ERROR is not final — KRO retries, e.g. while a namespace or a referenced
// object does not exist yet, or a quota is exhausted — so it is reported,
// not failed on.
func Instance(obj *unstructured.Unstructured) Verdict {
	if obj.GetDeletionTimestamp() != nil {
		return Verdict{Failed: true, Message: "is being deleted"}
	}
	conds := Conditions(obj)
	state := State(obj)
	ready := FindCondition(conds, ConditionReady)
	if state == InstanceActive && ready != nil && ready.Status == "True" && current(ready, obj) {
		return Verdict{Ready: true, Message: "state " + state}
	}
	if c := InstanceTerminal(obj, state, conds); c != nil {
		return Verdict{Failed: true, Message: "KRO cannot reconcile this generation (state " + state + "): " + c.String()}
	}
	return Verdict{Message: describe(obj, state, conds, ready)}
}

// KRO v0.9.4's instance conditions (pkg/controller/instance/status.go).
const (
	GraphResolved  = string(v1alpha1.InstanceConditionTypeGraphResolved)
	ResourcesReady = string(v1alpha1.InstanceConditionTypeResourcesReady)
)

// InstanceTerminal returns the condition that makes an instance in state
// ERROR final for its current generation, or nil while KRO may still get
// it out of ERROR by itself. Of KRO v0.9.4's ERROR causes
// (pkg/controller/instance/controller.go, dynamiccontroller) only two are
// final:
//
//   - GraphResolved=False, reason ResolutionFailed, "graph revision N
//     failed": KRO returns requeue.None, so the instance is never
//     reconciled again until it or its RGD changes.
//   - ResourcesReady=False with an API server validation error ("... is
//     invalid: field: Invalid value ..."): the server rejected a resource
//     rendered from this generation. KRO retries with backoff, but renders
//     and sends the same object and gets the same answer every time.
//
// Every other ERROR is transient and KRO retries it: a "graph revision is
// pending" or "not available" (requeued after a delay), apply errors such
// as a missing namespace, a quota, a conflict or an unreachable webhook,
// and CEL errors on data that other resources may still fill in.
func InstanceTerminal(obj *unstructured.Unstructured, state string, conds []Condition) *Condition {
	if state != string(v1alpha1.InstanceStateError) {
		return nil
	}
	if c := FindCondition(conds, GraphResolved); c != nil && c.Status == "False" && current(c, obj) &&
		c.Reason == "ResolutionFailed" && revisionFailedRE.MatchString(c.Message) {
		return c
	}
	if c := FindCondition(conds, ResourcesReady); c != nil && c.Status == "False" && current(c, obj) && invalidRE.MatchString(c.Message) {
		return c
	}
	return nil
}

// revisionFailedRE matches the one graph resolution error KRO does not
// requeue ("latest issued graph revision 3 failed"), not its retried
// siblings ("... is pending", "... not available").
var revisionFailedRE = regexp.MustCompile(`graph revision \d+ failed`)

// invalidRE matches the message of an API server 422 Invalid status
// (apierrors.NewInvalid: `Kind.group "name" is invalid: field: ...`).
var invalidRE = regexp.MustCompile(`"[^"]+" is invalid: `)

// CRDEstablished is ready when the CRD's Established condition is True;
// NamesAccepted=False is final.
func CRDEstablished(obj *unstructured.Unstructured) Verdict {
	conds := Conditions(obj)
	if na := FindCondition(conds, "NamesAccepted"); na != nil && na.Status == "False" {
		return Verdict{Failed: true, Message: na.String()}
	}
	est := FindCondition(conds, "Established")
	if est != nil && est.Status == "True" {
		return Verdict{Ready: true, Message: "Established"}
	}
	return Verdict{Message: est.String()}
}

// describe summarizes why an object is not ready: its state, the Ready
// condition, and the first other condition that is not True (KRO's
// sub-conditions carry the useful message, e.g. ResourcesReady).
func describe(obj *unstructured.Unstructured, state string, conds []Condition, ready *Condition) string {
	if state == "" && len(conds) == 0 {
		return "no status yet"
	}
	var parts []string
	if state != "" {
		parts = append(parts, "state "+state)
	}
	switch {
	case ready == nil:
		parts = append(parts, "no Ready condition")
	case !current(ready, obj):
		parts = append(parts, fmt.Sprintf("Ready condition is for generation %d, object is at %d", ready.ObservedGeneration, obj.GetGeneration()))
	default:
		parts = append(parts, ready.String())
	}
	for i := range conds {
		c := &conds[i]
		// KRO copies the failing sub-condition's message into Ready: show a
		// sub-condition only when it adds something.
		if c.Type != ConditionReady && c.Status != "True" && (c.Message != "" || c.Reason != "") &&
			(ready == nil || c.Message != ready.Message) {
			parts = append(parts, c.String())
			break
		}
	}
	return strings.Join(parts, "; ")
}
