package factories

import (
	"fmt"
	"strings"
)

var (
	protocols       = []string{"TCP", "UDP", "SCTP"}
	pullPolicies    = []string{"Always", "IfNotPresent", "Never"}
	jobRestarts     = []string{"OnFailure", "Never"}
	containerRaw    = []string{"envFrom", "resources", "volumeMounts", "readinessProbe", "livenessProbe", "startupProbe", "securityContext", "lifecycle"}
	podRaw          = []string{"volumes", "tolerations", "affinity", "imagePullSecrets", "initContainers", "topologySpreadConstraints"}
	podInts         = []string{"terminationGracePeriodSeconds"}
	rolloutRaw      = map[string][]string{"Deployment": {"strategy"}, "StatefulSet": {"updateStrategy", "volumeClaimTemplates", "persistentVolumeClaimRetentionPolicy"}, "DaemonSet": {"updateStrategy"}}
	rolloutInts     = map[string][]string{"Deployment": {"minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds"}, "StatefulSet": {"minReadySeconds", "revisionHistoryLimit"}, "DaemonSet": {"minReadySeconds", "revisionHistoryLimit"}}
	jobInts         = []string{"completions", "parallelism", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"}
	cronJobInts     = []string{"successfulJobsHistoryLimit", "failedJobsHistoryLimit", "startingDeadlineSeconds"}
	workloadVersion = map[string]string{"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1"}
)

// workload builds Deployment, StatefulSet, DaemonSet, Job and CronJob: one
// container named after the workload, labels {app: <name>} merged onto the
// object, the selector (app only) and the pod template.
func workload(r *reader, kind string) map[string]any {
	md := r.metadata(true, true)
	r.required("image")
	// The selector is {app: <app label>}. A labels expression cannot be
	// inspected, so its pods get app: <name> on top (merge's right side wins)
	// and the selector uses the name.
	var podLabels any
	labels, _ := md["labels"].(map[string]any)
	if expr, isExpr := md["labels"].(string); isExpr {
		labels = map[string]any{"app": md["name"]}
		if name, ok := md["name"].(string); ok {
			podLabels = "${(" + strings.TrimSuffix(strings.TrimPrefix(expr, "${"), "}") + ").merge({\"app\": " + celString(name) + "})}"
		}
	} else {
		podLabels = clone(labels)
	}

	container := map[string]any{"name": orDefault(r.str("containerName"), md["name"]), "image": r.str("image")}
	put(container, "imagePullPolicy", r.enum("imagePullPolicy", pullPolicies...))
	put(container, "command", r.strList("command"))
	put(container, "args", r.strList("args"))
	put(container, "ports", r.containerPorts())
	put(container, "env", r.env())
	for _, k := range containerRaw {
		put(container, k, r.raw(k))
	}

	pod := map[string]any{"containers": []any{container}}
	put(pod, "serviceAccountName", r.str("serviceAccountName"))
	put(pod, "nodeSelector", r.strMap("nodeSelector"))
	put(pod, "securityContext", r.raw("podSecurityContext"))
	for _, k := range podRaw {
		put(pod, k, r.raw(k))
	}
	for _, k := range podInts {
		put(pod, k, r.integer(k))
	}
	tmplMeta := map[string]any{"labels": podLabels}
	put(tmplMeta, "annotations", r.strMap("podAnnotations"))
	template := map[string]any{"metadata": tmplMeta, "spec": pod}

	var spec map[string]any
	switch kind {
	case "Job":
		spec = jobSpec(r, pod, template, "Never")
		put(spec, "suspend", r.boolean("suspend"))
	case "CronJob":
		r.required("schedule")
		spec = map[string]any{"schedule": r.str("schedule"), "jobTemplate": map[string]any{"spec": jobSpec(r, pod, template, "OnFailure")}}
		put(spec, "concurrencyPolicy", r.enum("concurrencyPolicy", "Allow", "Forbid", "Replace"))
		put(spec, "suspend", r.boolean("suspend"))
		put(spec, "timeZone", r.str("timeZone"))
		for _, k := range cronJobInts {
			put(spec, k, r.integer(k))
		}
	default:
		spec = map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": labels["app"]}}, "template": template}
		if kind != "DaemonSet" {
			// replicas: null leaves the field to an autoscaler (the API server defaults it).
			replicas := orDefault(r.integer("replicas"), int64(1))
			if v, set := r.cfg["replicas"]; set && v == nil {
				replicas = nil
			}
			put(spec, "replicas", replicas)
		}
		if kind == "StatefulSet" {
			spec["serviceName"] = orDefault(r.str("serviceName"), md["name"])
			put(spec, "podManagementPolicy", r.enum("podManagementPolicy", "OrderedReady", "Parallel"))
		}
		for _, k := range rolloutRaw[kind] {
			put(spec, k, r.raw(k))
		}
		for _, k := range rolloutInts[kind] {
			put(spec, k, r.integer(k))
		}
	}
	return object(workloadVersion[kind], kind, md, "spec", spec)
}

// jobSpec wraps the pod template in a Job spec. Jobs get no selector: the
// API server generates one (setting it requires manualSelector).
func jobSpec(r *reader, pod, template map[string]any, restart string) map[string]any {
	pod["restartPolicy"] = orDefault(r.enum("restartPolicy", jobRestarts...), restart)
	spec := map[string]any{"template": template}
	for _, k := range jobInts {
		put(spec, k, r.integer(k))
	}
	return spec
}

// containerPorts accepts a list of port numbers / expressions or of
// {containerPort|port, name, protocol, hostPort, hostIP} maps.
func (r *reader) containerPorts() any {
	v, ok := r.get("ports")
	if !ok {
		return nil
	}
	if isStandaloneVal(v) {
		return v
	}
	list, isList := v.([]any)
	if !isList {
		r.fail("ports", "must be a list of port numbers or {containerPort, name, protocol} maps, or a single ${...} expression, got %s", describe(v))
		return nil
	}
	out := make([]any, 0, len(list))
	for i, item := range list {
		path := fmt.Sprintf("ports[%d]", i)
		m, isMap := item.(map[string]any)
		if !isMap {
			out = append(out, map[string]any{"containerPort": r.check(path, item, wantInteger, isInteger)})
			continue
		}
		c := r.child(path, m, "containerPort", "port", "name", "protocol", "hostPort", "hostIP")
		port, alt := c.integer("containerPort"), c.integer("port")
		switch {
		case port != nil && alt != nil:
			r.fail(path+".port", "duplicates containerPort; set only one")
		case port == nil && alt == nil:
			r.fail(path+".containerPort", "required")
		case port == nil:
			port = alt
		}
		p := map[string]any{"containerPort": port}
		put(p, "name", c.str("name"))
		put(p, "protocol", c.enum("protocol", protocols...))
		put(p, "hostPort", c.integer("hostPort"))
		put(p, "hostIP", c.str("hostIP"))
		out = append(out, p)
	}
	return out
}

// env accepts a map NAME: value (sorted by name; scalars are stringified;
// a map value may hold value or valueFrom), a list of EnvVar, or one CEL
// expression producing the list.
func (r *reader) env() any {
	v, ok := r.get("env")
	if !ok {
		return nil
	}
	switch t := v.(type) {
	case string:
		if isStandalone(t) {
			return t
		}
	case map[string]any:
		out := make([]any, 0, len(t))
		for _, name := range sortedKeys(t) {
			path := "env." + name
			if m, isMap := t[name].(map[string]any); isMap {
				out = append(out, r.envVar(path, name, r.child(path, m, "value", "valueFrom")))
				continue
			}
			s, isScalar := scalarString(t[name])
			if !isScalar {
				r.fail(path, "must be a string, got %s", describe(t[name]))
			}
			out = append(out, map[string]any{"name": name, "value": s})
		}
		return out
	case []any:
		out := make([]any, 0, len(t))
		for i, item := range t {
			path := fmt.Sprintf("env[%d]", i)
			m, isMap := item.(map[string]any)
			if !isMap {
				r.fail(path, "must be a map {name, value|valueFrom}, got %s", describe(item))
				continue
			}
			c := r.child(path, m, "name", "value", "valueFrom")
			c.required("name")
			out = append(out, r.envVar(path, c.str("name"), c))
		}
		return out
	}
	r.fail("env", "must be a map of NAME: value, a list of {name, value|valueFrom} or a single ${...} expression, got %s", describe(v))
	return nil
}

func (r *reader) envVar(path string, name any, c *reader) map[string]any {
	ev := map[string]any{"name": name}
	if val, ok := c.get("value"); ok {
		s, isScalar := scalarString(val)
		if !isScalar {
			r.fail(path+".value", "must be a string, got %s", describe(val))
		}
		ev["value"] = s
	}
	put(ev, "valueFrom", c.raw("valueFrom"))
	if len(ev) > 2 {
		r.fail(path+".valueFrom", "set only one of value or valueFrom")
	}
	return ev
}
