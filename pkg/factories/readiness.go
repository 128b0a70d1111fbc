package factories

import (
	"fmt"
	"strings"
)

// Readiness expressions. "%[1]s" is the resource id, "%[2]s" a comprehension
// variable distinct from it. KRO evaluates readyWhen against the observed
// object only; a missing field ("no such key") means "not ready yet", and
// fields the API server omits when zero are read with .?field.orValue(0).
var (
	generationGate = "${%[1]s.status.?observedGeneration.orValue(0) >= %[1]s.metadata.generation}"
	readyWhen      = map[string][]string{
		"apps/Deployment": {
			generationGate,
			"${%[1]s.status.?replicas.orValue(0) == %[1]s.spec.replicas}",
			"${%[1]s.status.?updatedReplicas.orValue(0) == %[1]s.spec.replicas}",
			"${%[1]s.status.?availableReplicas.orValue(0) == %[1]s.spec.replicas}",
		},
		"apps/StatefulSet": {
			generationGate,
			"${%[1]s.status.?readyReplicas.orValue(0) == %[1]s.spec.replicas}",
		},
		"apps/DaemonSet": {
			generationGate,
			"${%[1]s.status.numberReady == %[1]s.status.desiredNumberScheduled}",
		},
		"batch/Job": {"${%[1]s.status.conditions.exists(%[2]s, %[2]s.type == 'Complete' && %[2]s.status == 'True')}"},
		"/Service":  {"${%[1]s.status.loadBalancer.ingress.size() > 0}"},
		"apiextensions.k8s.io/CustomResourceDefinition": {"${%[1]s.status.conditions.exists(%[2]s, %[2]s.type == 'Established' && %[2]s.status == 'True')}"},
	}
	// Rollout completion checks, skipped for updateStrategy.type OnDelete
	// (the controller never finishes those rollouts on its own).
	rolloutDone = map[string]string{
		"apps/StatefulSet": "${%[1]s.status.currentRevision == %[1]s.status.updateRevision}",
		"apps/DaemonSet":   "${%[1]s.status.?updatedNumberScheduled.orValue(0) == %[1]s.status.desiredNumberScheduled}",
	}
)

// DefaultReadyWhen returns KRO readyWhen expressions for a resource with the
// given id, chosen from the manifest's apiVersion/kind, or nil when the kind
// has no natural readiness (KRO then treats it as ready once it exists).
// Every expression references only the resource itself.
func DefaultReadyWhen(id string, manifest map[string]any) []string {
	apiVersion, _ := manifest["apiVersion"].(string)
	kind, _ := manifest["kind"].(string)
	group := ""
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		group = apiVersion[:i]
	}
	key := group + "/" + kind
	spec, _ := manifest["spec"].(map[string]any)
	if key == "/Service" && spec["type"] != "LoadBalancer" {
		return nil
	}
	exprs := readyWhen[key]
	if done, ok := rolloutDone[key]; ok {
		strategy, _ := spec["updateStrategy"].(map[string]any)
		if strategy["type"] != "OnDelete" {
			exprs = append(exprs[:len(exprs):len(exprs)], done)
		}
	}
	if len(exprs) == 0 {
		return nil
	}
	iter := "c"
	if id == iter {
		iter = "x"
	}
	out := make([]string, len(exprs))
	for i, e := range exprs {
		out[i] = fmt.Sprintf(e, id, iter)
	}
	return out
}

// readinessDocRows drives DefaultReadinessDoc; each sample manifest is fed to
// DefaultReadyWhen so the table always matches the code.
var readinessDocRows = []struct {
	kind, note string
	manifest   map[string]any
}{
	{"Deployment", "rollout complete: controller observed the current generation, no old pods left, all replicas updated and available; `replicas: 0` is ready", map[string]any{"apiVersion": "apps/v1", "kind": "Deployment"}},
	{"StatefulSet", "all replicas ready and the rollout finished (revision check omitted for `updateStrategy.type: OnDelete`)", map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet"}},
	{"DaemonSet", "every scheduled node runs a ready, updated pod (update check omitted for `OnDelete`); the generation gate prevents the all-zero status right after creation from counting", map[string]any{"apiVersion": "apps/v1", "kind": "DaemonSet"}},
	{"Job", "the Job completed; a failed Job never becomes ready", map[string]any{"apiVersion": "batch/v1", "kind": "Job"}},
	{"Service", "only for a literal `type: LoadBalancer`: an address was assigned. ClusterIP/NodePort/ExternalName or a CEL type: none", map[string]any{"apiVersion": "v1", "kind": "Service", "spec": map[string]any{"type": "LoadBalancer"}}},
	{"CustomResourceDefinition", "the CRD is Established (its API is served)", map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}},
	{"PersistentVolumeClaim", "none by default: with WaitForFirstConsumer storage classes (kind, EKS, GKE defaults) a claim binds only once a pod uses it, so waiting for `Bound` would deadlock a workload that depends on the claim. Add `${<id>.status.phase == 'Bound'}` yourself for Immediate binding", map[string]any{"apiVersion": "v1", "kind": "PersistentVolumeClaim"}},
	{"CronJob, Ingress, NetworkPolicy, ConfigMap, Secret, PersistentVolume, HorizontalPodAutoscaler", "none: ready once the object exists", map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}},
}

// DefaultReadinessDoc returns a Markdown table describing the default
// readyWhen expressions, with <id> standing for the resource id.
func DefaultReadinessDoc() string {
	var b strings.Builder
	b.WriteString("| Kind | Default readyWhen | Meaning |\n|---|---|---|\n")
	for _, row := range readinessDocRows {
		exprs := DefaultReadyWhen("<id>", row.manifest)
		cell := "—"
		if len(exprs) > 0 {
			cell = "`" + strings.Join(exprs, "`<br>`") + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", row.kind, cell, row.note)
	}
	return b.String()
}
