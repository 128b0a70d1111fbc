package factories

import (
	"fmt"
	"strings"
)

var (
	accessModes    = []any{"ReadWriteOnce"}
	pvSources      = []string{"hostPath", "nfs", "csi", "local", "iscsi", "fc", "cephfs", "rbd"}
	reclaimPolicys = []string{"Retain", "Delete", "Recycle"}
	volumeModes    = []string{"Filesystem", "Block"}
)

// service builds a v1 Service. With two or more ports, unnamed ports are
// named "port-<index+1>" (as kubectl expose does) since the API requires
// names on multi-port services.
func service(r *reader) map[string]any {
	md := r.metadata(true, false)
	spec := map[string]any{}
	typ := r.enum("type", "ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
	clusterIP := r.str("clusterIP")
	passive := typ == "ExternalName" || clusterIP == "None"
	if typ == "ExternalName" {
		r.required("externalName")
	} else {
		r.required("selector")
	}
	if !passive {
		r.required("ports")
	}
	put(spec, "type", typ)
	put(spec, "selector", r.strMap("selector"))
	put(spec, "ports", r.servicePorts(passive))
	put(spec, "clusterIP", clusterIP)
	put(spec, "externalName", r.str("externalName"))
	put(spec, "externalTrafficPolicy", r.enum("externalTrafficPolicy", "Cluster", "Local"))
	put(spec, "internalTrafficPolicy", r.enum("internalTrafficPolicy", "Cluster", "Local"))
	put(spec, "sessionAffinity", r.enum("sessionAffinity", "None", "ClientIP"))
	put(spec, "loadBalancerClass", r.str("loadBalancerClass"))
	put(spec, "loadBalancerSourceRanges", r.strList("loadBalancerSourceRanges"))
	put(spec, "publishNotReadyAddresses", r.boolean("publishNotReadyAddresses"))
	return object("v1", "Service", md, "spec", spec)
}

// servicePorts reads ports; only ExternalName and headless Services may
// have none (the API server's rule).
func (r *reader) servicePorts(passive bool) any {
	v, ok := r.get("ports")
	if !ok {
		return nil
	}
	if isStandaloneVal(v) {
		return v
	}
	list, isList := v.([]any)
	if !isList {
		r.fail("ports", "must be a list of port numbers or {port, targetPort, name, protocol, nodePort} maps, or a single ${...} expression, got %s", describe(v))
		return nil
	}
	if len(list) == 0 && !passive {
		r.fail("ports", "must list at least one port (only ExternalName and headless Services may have none)")
	}
	out := make([]any, 0, len(list))
	names := map[string]bool{}
	for i, item := range list {
		path := fmt.Sprintf("ports[%d]", i)
		p := map[string]any{}
		if m, isMap := item.(map[string]any); isMap {
			c := r.child(path, m, "port", "targetPort", "name", "protocol", "nodePort", "appProtocol")
			c.required("port")
			put(p, "port", c.integer("port"))
			put(p, "targetPort", c.intOrString("targetPort"))
			put(p, "name", c.str("name"))
			put(p, "protocol", c.enum("protocol", protocols...))
			put(p, "nodePort", c.integer("nodePort"))
			put(p, "appProtocol", c.str("appProtocol"))
		} else {
			p["port"] = r.check(path, item, wantInteger, isInteger)
		}
		if p["name"] == nil && len(list) > 1 {
			p["name"] = fmt.Sprintf("port-%d", i+1)
		}
		if n, isStr := p["name"].(string); isStr && !isExpr(n) {
			if names[n] {
				r.fail(path+".name", "duplicate port name %q", n)
			}
			names[n] = true
		}
		out = append(out, p)
	}
	return out
}

// ingress builds a networking.k8s.io/v1 Ingress from rules, or from the
// host/serviceName/servicePort/path shorthand that yields one rule.
func ingress(r *reader) map[string]any {
	md := r.metadata(true, false)
	spec := map[string]any{}
	put(spec, "ingressClassName", r.str("ingressClassName"))
	put(spec, "defaultBackend", r.raw("defaultBackend"))
	put(spec, "tls", r.raw("tls"))
	rules := r.raw("rules")
	host, svc, port := r.str("host"), r.str("serviceName"), r.intOrString("servicePort")
	path, pathType := r.str("path"), r.enum("pathType", "Prefix", "Exact", "ImplementationSpecific")
	if host != nil || svc != nil || port != nil || path != nil || pathType != nil {
		if rules != nil {
			r.fail("rules", "cannot be combined with the host/serviceName/servicePort/path shorthand")
		}
		r.required("serviceName", "servicePort")
		backendPort := map[string]any{"number": port}
		if s, isStr := port.(string); isStr && !isExpr(s) {
			backendPort = map[string]any{"name": s}
		}
		rule := map[string]any{"http": map[string]any{"paths": []any{map[string]any{
			"path":     orDefault(path, "/"),
			"pathType": orDefault(pathType, "Prefix"),
			"backend":  map[string]any{"service": map[string]any{"name": svc, "port": backendPort}},
		}}}}
		put(rule, "host", host)
		rules = []any{rule}
	} else if rules == nil && spec["defaultBackend"] == nil {
		r.fail("rules", "required (or defaultBackend, or the host/serviceName/servicePort shorthand)")
	}
	put(spec, "rules", rules)
	return object("networking.k8s.io/v1", "Ingress", md, "spec", spec)
}

// networkPolicy builds a NetworkPolicy. podSelector defaults to {} (all pods
// in the namespace); a plain label map is shorthand for matchLabels.
func networkPolicy(r *reader) map[string]any {
	md := r.metadata(true, false)
	sel := r.raw("podSelector")
	if m, isMap := sel.(map[string]any); isMap {
		for k := range m {
			if k != "matchLabels" && k != "matchExpressions" {
				sel = map[string]any{"matchLabels": r.strMap("podSelector")}
				break
			}
		}
	}
	spec := map[string]any{"podSelector": orDefault(sel, map[string]any{})}
	put(spec, "policyTypes", r.strList("policyTypes"))
	put(spec, "ingress", r.raw("ingress"))
	put(spec, "egress", r.raw("egress"))
	return object("networking.k8s.io/v1", "NetworkPolicy", md, "spec", spec)
}

func configMap(r *reader) map[string]any {
	md := r.metadata(true, false)
	return object("v1", "ConfigMap", md, "data", r.strMap("data"), "binaryData", r.raw("binaryData"), "immutable", r.boolean("immutable"))
}

func secret(r *reader) map[string]any {
	md := r.metadata(true, false)
	return object("v1", "Secret", md, "type", r.str("type"), "data", r.strMap("data"),
		"stringData", r.strMap("stringData"), "immutable", r.boolean("immutable"))
}

// pvc builds a PersistentVolumeClaim; size becomes resources.requests.storage.
func pvc(r *reader) map[string]any {
	md := r.metadata(true, false)
	r.required("size")
	spec := map[string]any{
		"accessModes": orDefault(r.strList("accessModes"), accessModes),
		"resources":   map[string]any{"requests": map[string]any{"storage": r.quantity("size")}},
	}
	put(spec, "storageClassName", r.alias("storageClassName", "storageClass", r.str))
	put(spec, "volumeMode", r.enum("volumeMode", volumeModes...))
	put(spec, "volumeName", r.str("volumeName"))
	put(spec, "selector", r.raw("selector"))
	put(spec, "dataSource", r.raw("dataSource"))
	put(spec, "dataSourceRef", r.raw("dataSourceRef"))
	return object("v1", "PersistentVolumeClaim", md, "spec", spec)
}

// persistentVolume builds a cluster-scoped PersistentVolume with exactly one
// volume source (hostPath may be given as just the path).
func persistentVolume(r *reader) map[string]any {
	md := r.metadata(false, false)
	spec := map[string]any{"accessModes": orDefault(r.strList("accessModes"), accessModes)}
	capacity, size := r.raw("capacity"), r.quantity("size")
	switch {
	case capacity != nil && size != nil:
		r.fail("size", "duplicates capacity; set only one")
	case capacity == nil && size == nil:
		r.fail("size", "required (or capacity)")
	case size != nil:
		capacity = map[string]any{"storage": size}
	}
	put(spec, "capacity", capacity)
	var sources []string
	for _, k := range pvSources {
		v := r.raw(k)
		if s, isStr := v.(string); isStr && k == "hostPath" {
			v = map[string]any{"path": s}
		}
		if v != nil {
			sources = append(sources, k)
			spec[k] = v
		}
	}
	if len(sources) != 1 {
		r.fail("hostPath", "exactly one volume source (%s) is required, got %d", strings.Join(pvSources, ", "), len(sources))
	}
	put(spec, "storageClassName", r.alias("storageClassName", "storageClass", r.str))
	put(spec, "persistentVolumeReclaimPolicy", r.enum("persistentVolumeReclaimPolicy", reclaimPolicys...))
	put(spec, "volumeMode", r.enum("volumeMode", volumeModes...))
	put(spec, "mountOptions", r.strList("mountOptions"))
	put(spec, "claimRef", r.raw("claimRef"))
	put(spec, "nodeAffinity", r.raw("nodeAffinity"))
	return object("v1", "PersistentVolume", md, "spec", spec)
}

// hpa builds an autoscaling/v2 HorizontalPodAutoscaler. target is shorthand
// for scaleTargetRef: a Deployment name, or {name, kind, apiVersion}.
func hpa(r *reader) map[string]any {
	md := r.metadata(true, false)
	r.required("maxReplicas")
	ref, target := r.raw("scaleTargetRef"), r.raw("target")
	switch t := target.(type) {
	case nil:
		if ref == nil {
			r.fail("scaleTargetRef", "required (or the target shorthand)")
		}
	case string:
		ref = map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": t}
	case map[string]any:
		c := r.child("target", t, "name", "kind", "apiVersion")
		c.required("name")
		ref = map[string]any{"apiVersion": orDefault(c.str("apiVersion"), "apps/v1"), "kind": orDefault(c.str("kind"), "Deployment"), "name": c.str("name")}
	default:
		r.fail("target", "must be a Deployment name or {name, kind, apiVersion}, got %s", describe(target))
	}
	if target != nil && r.cfg["scaleTargetRef"] != nil {
		r.fail("target", "duplicates scaleTargetRef; set only one")
	}
	spec := map[string]any{"scaleTargetRef": ref}
	minR, maxR := r.integer("minReplicas"), r.integer("maxReplicas")
	if lo, hi, ok := ints(minR, maxR); ok && lo > hi {
		r.fail("minReplicas", "must not exceed maxReplicas (%d > %d)", lo, hi)
	}
	put(spec, "minReplicas", minR)
	put(spec, "maxReplicas", maxR)
	var metrics []any
	for _, m := range []struct {
		resource string
		v        any
	}{
		{"cpu", r.alias("targetCPUUtilizationPercentage", "cpuUtilization", r.integer)},
		{"memory", r.integer("targetMemoryUtilizationPercentage")},
	} {
		if m.v != nil {
			metrics = append(metrics, map[string]any{"type": "Resource", "resource": map[string]any{
				"name": m.resource, "target": map[string]any{"type": "Utilization", "averageUtilization": m.v}}})
		}
	}
	switch extra := r.raw("metrics").(type) {
	case nil:
	case []any:
		metrics = append(metrics, extra...)
	default:
		if metrics != nil {
			r.fail("metrics", "must be a list when combined with utilization shorthands")
		}
		spec["metrics"] = extra
	}
	if metrics != nil {
		spec["metrics"] = metrics
	}
	put(spec, "behavior", r.raw("behavior"))
	return object("autoscaling/v2", "HorizontalPodAutoscaler", md, "spec", spec)
}

func ints(a, b any) (int64, int64, bool) {
	x, ok1 := a.(int64)
	y, ok2 := b.(int64)
	return x, y, ok1 && ok2
}
