package schemas

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/kubernetes-sigs/kro/api/v1alpha1"
	"github.com/kubernetes-sigs/kro/pkg/graph"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// graphConfig mirrors the limits KRO's controller runs with.
var graphConfig = graph.Config{MaxCollectionSize: 1000, MaxCollectionDimensionSize: 10}

func parseRGD(t testing.TB, src string) *v1alpha1.ResourceGraphDefinition {
	t.Helper()
	rgd := &v1alpha1.ResourceGraphDefinition{}
	if err := yaml.UnmarshalStrict([]byte(src), rgd); err != nil {
		t.Fatalf("parsing RGD: %v", err)
	}
	return rgd
}

func buildRGD(t testing.TB, reg *Registry, src string) (*graph.Graph, error) {
	t.Helper()
	b, err := graph.NewBuilder(nil, nil, graph.WithSchemaResolver(reg), graph.WithRESTMapper(reg.RESTMapper()))
	if err != nil {
		t.Fatalf("NewBuilder: %v", err)
	}
	return b.NewResourceGraphDefinition(parseRGD(t, src), graphConfig)
}

func readCRD(t testing.TB, path string) *unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(b, &u.Object); err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	return u
}

// rgd wraps resources (a YAML list, indented by 2) in an RGD whose instance
// spec has the fields of specFields (SimpleSchema, indented by 6).
func rgd(specFields, status, resources string) string {
	return `apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata:
  name: test
spec:
  schema:
    apiVersion: v1alpha1
    kind: WebApp
    group: kro.run
    spec:
` + specFields + `
    status:
` + status + `
  resources:
` + resources
}

const webSpec = `      name: string
      image: string | default=nginx
      replicas: integer | default=1
      port: integer | default=8080
      portName: string | default=http
      host: string | default=example.com
      schedule: string | default="*/5 * * * *"
      size: string | default=1Gi
      team: string | default=platform`

const deployment = `  - id: deployment
    template:
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: ${schema.spec.name}
        labels:
          team: ${schema.spec.team}
      spec:
        replicas: REPLICAS
        selector:
          matchLabels:
            app: ${schema.spec.name}
        template:
          metadata:
            labels:
              app: ${schema.spec.name}
          spec:
            containers:
            - name: app
              image: ${schema.spec.image}
              ports:
              - name: http
                containerPort: ${schema.spec.port}
              resources:
                requests:
                  cpu: 100m
                  memory: ${schema.spec.size}
`

func withReplicas(expr string) string { return strings.Replace(deployment, "REPLICAS", expr, 1) }

func service(targetPort string) string {
	return `  - id: service
    template:
      apiVersion: v1
      kind: Service
      metadata:
        name: ${deployment.metadata.name}
      spec:
        selector: ${deployment.spec.selector.matchLabels}
        ports:
        - port: 80
          targetPort: ` + targetPort + "\n"
}

const noStatus = `      {}`

func TestBuilderWithBuiltinSchemas(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		wantErr   []string // substrings of the builder's error; none: must build
		unknown   bool     // the error must wrap ErrUnknownKind
		namespace map[string]bool
		resource  map[string]string
	}{
		{
			name: "deployment and service",
			src: rgd(webSpec,
				`      availableReplicas: ${deployment.status.availableReplicas}
      clusterIP: ${service.spec.clusterIP}
      deploymentName: ${deployment.metadata.name}`,
				withReplicas("${schema.spec.replicas}")+service("8080")),
			namespace: map[string]bool{"deployment": true, "service": true},
			resource:  map[string]string{"deployment": "deployments", "service": "services"},
		},
		{
			name: "service targetPort integer literal",
			src:  rgd(webSpec, noStatus, withReplicas("3")+service("80")),
		},
		{
			name: "service targetPort string literal",
			src:  rgd(webSpec, noStatus, withReplicas("3")+service("http")),
		},
		{
			name: "service targetPort integer expression",
			src:  rgd(webSpec, noStatus, withReplicas("3")+service("${schema.spec.port}")),
		},
		{
			name: "service targetPort string expression",
			src:  rgd(webSpec, noStatus, withReplicas("3")+service("${schema.spec.portName}")),
		},
		{
			name:    "replicas from a string field",
			src:     rgd(webSpec, noStatus, withReplicas("${schema.spec.name}")),
			wantErr: []string{`type mismatch in resource "deployment" at path "spec.replicas"`, `returns type "string" but expected "int"`},
		},
		{
			name:    "replicas string literal",
			src:     rgd(webSpec, noStatus, withReplicas(`"three"`)),
			wantErr: []string{"expected integer type for path spec.replicas, got string"},
		},
		{
			name:    "misspelled schema field",
			src:     rgd(webSpec, noStatus, withReplicas("${schema.spec.nmae}")),
			wantErr: []string{`"schema.spec.nmae" at path "spec.replicas"`, "undefined field 'nmae'"},
		},
		{
			name: "misspelled resource field",
			src: rgd(webSpec, `      available: ${deployment.status.availableReplica}`,
				withReplicas("1")),
			wantErr: []string{"availableReplica"},
		},
		{
			name:    "unknown field in template",
			src:     rgd(webSpec, noStatus, strings.Replace(withReplicas("1"), "replicas: 1", "replica: 1", 1)),
			wantErr: []string{"path spec.replica: schema not found for field replica"},
		},
		{
			name: "hpa autoscaling/v2",
			src: rgd(webSpec, `      desired: ${hpa.status.desiredReplicas}`, withReplicas("${schema.spec.replicas}")+`  - id: hpa
    template:
      apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata:
        name: ${deployment.metadata.name}
      spec:
        scaleTargetRef:
          apiVersion: apps/v1
          kind: Deployment
          name: ${deployment.metadata.name}
        minReplicas: ${schema.spec.replicas}
        maxReplicas: ${schema.spec.replicas * 3}
        metrics:
        - type: Resource
          resource:
            name: cpu
            target:
              type: Utilization
              averageUtilization: 80
`),
			resource: map[string]string{"hpa": "horizontalpodautoscalers"},
		},
		{
			name: "hpa autoscaling/v2 has no v1 field",
			src: rgd(webSpec, noStatus, `  - id: hpa
    template:
      apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata:
        name: ${schema.spec.name}
      spec:
        scaleTargetRef:
          apiVersion: apps/v1
          kind: Deployment
          name: ${schema.spec.name}
        maxReplicas: 3
        targetCPUUtilizationPercentage: 80
`),
			wantErr: []string{"targetCPUUtilizationPercentage"},
		},
		{
			name: "ingress",
			src: rgd(webSpec, `      host: ${ingress.spec.rules[0].host}`, withReplicas("1")+service("8080")+`  - id: ingress
    template:
      apiVersion: networking.k8s.io/v1
      kind: Ingress
      metadata:
        name: ${schema.spec.name}
      spec:
        ingressClassName: nginx
        rules:
        - host: ${schema.spec.host}
          http:
            paths:
            - path: /
              pathType: Prefix
              backend:
                service:
                  name: ${service.metadata.name}
                  port:
                    number: ${service.spec.ports[0].port}
`),
			resource: map[string]string{"ingress": "ingresses"},
		},
		{
			name: "cronjob",
			src: rgd(webSpec, `      lastSchedule: ${cronjob.status.lastScheduleTime}`, `  - id: cronjob
    template:
      apiVersion: batch/v1
      kind: CronJob
      metadata:
        name: ${schema.spec.name}
      spec:
        schedule: ${schema.spec.schedule}
        concurrencyPolicy: Forbid
        jobTemplate:
          spec:
            backoffLimit: ${schema.spec.replicas}
            template:
              spec:
                restartPolicy: OnFailure
                containers:
                - name: job
                  image: ${schema.spec.image}
                  args: ["--team", "${schema.spec.team}"]
`),
			resource: map[string]string{"cronjob": "cronjobs"},
		},
		{
			name: "persistentvolumeclaim",
			src: rgd(webSpec, `      capacity: ${pvc.status.capacity}`, `  - id: pvc
    template:
      apiVersion: v1
      kind: PersistentVolumeClaim
      metadata:
        name: ${schema.spec.name}
      spec:
        accessModes: [ReadWriteOnce]
        storageClassName: standard
        resources:
          requests:
            storage: ${schema.spec.size}
`),
			resource: map[string]string{"pvc": "persistentvolumeclaims"},
		},
		{
			name: "namespace and clusterrole are cluster-scoped",
			src: rgd(webSpec, `      phase: ${ns.status.phase}`, `  - id: ns
    template:
      apiVersion: v1
      kind: Namespace
      metadata:
        name: ${schema.spec.name}
        labels:
          team: ${schema.spec.team}
  - id: role
    template:
      apiVersion: rbac.authorization.k8s.io/v1
      kind: ClusterRole
      metadata:
        name: ${schema.spec.name}-reader
      rules:
      - apiGroups: [""]
        resources: [pods]
        verbs: [get, list, watch]
  - id: sa
    template:
      apiVersion: v1
      kind: ServiceAccount
      metadata:
        name: ${schema.spec.name}
        namespace: ${ns.metadata.name}
`),
			namespace: map[string]bool{"ns": false, "role": false, "sa": true},
			resource:  map[string]string{"ns": "namespaces", "role": "clusterroles", "sa": "serviceaccounts"},
		},
		{
			name: "custom kind without its CRD",
			src: rgd(webSpec, noStatus, `  - id: monitor
    template:
      apiVersion: monitoring.coreos.com/v1
      kind: ServiceMonitor
      metadata:
        name: ${schema.spec.name}
      spec:
        selector:
          matchLabels:
            app: ${schema.spec.name}
`),
			wantErr: []string{`unknown kind "ServiceMonitor"`, "--crds DIR"},
			unknown: true,
		},
		{
			name: "built-in kind under a wrong apiVersion",
			src: rgd(webSpec, noStatus, `  - id: ingress
    template:
      apiVersion: extensions/v1beta1
      kind: Ingress
      metadata:
        name: ${schema.spec.name}
`),
			wantErr: []string{`unknown kind "Ingress"`, "networking.k8s.io/v1"},
			unknown: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := buildRGD(t, Builtin(), tt.src)
			checkBuild(t, g, err, tt.wantErr, tt.unknown)
			for id, want := range tt.namespace {
				if got := g.Nodes[id].Meta.Namespaced; got != want {
					t.Errorf("node %s namespaced = %v, want %v", id, got, want)
				}
			}
			for id, want := range tt.resource {
				if got := g.Nodes[id].Meta.GVR.Resource; got != want {
					t.Errorf("node %s resource = %q, want %q", id, got, want)
				}
			}
		})
	}
}

func checkBuild(t *testing.T, g *graph.Graph, err error, wantErr []string, unknown bool) {
	t.Helper()
	if len(wantErr) == 0 {
		if err != nil {
			t.Fatalf("build failed: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("build succeeded, want an error containing %q", wantErr)
	}
	t.Logf("builder error: %v", err)
	for _, s := range wantErr {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
	if got := errors.Is(err, ErrUnknownKind); got != unknown {
		t.Errorf("errors.Is(err, ErrUnknownKind) = %v, want %v", got, unknown)
	}
}

const monitorResource = `  - id: monitor
    template:
      apiVersion: monitoring.coreos.com/v1
      kind: ServiceMonitor
      metadata:
        name: ${schema.spec.name}
        labels:
          team: ${schema.spec.team}
      spec:
        jobLabel: ${schema.spec.team}
        sampleLimit: SAMPLELIMIT
        selector:
          matchLabels:
            app: ${schema.spec.name}
        endpoints:
        - port: ${schema.spec.portName}
          interval: 30s
          targetPort: TARGETPORT
        template:
          apiVersion: v1
          kind: ConfigMap
          metadata:
            name: ${schema.spec.name}
`

func monitor(sampleLimit, targetPort string) string {
	return strings.NewReplacer("SAMPLELIMIT", sampleLimit, "TARGETPORT", targetPort).Replace(monitorResource)
}

func TestBuilderWithCRD(t *testing.T) {
	base := Builtin()
	gvk := schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "ServiceMonitor"}
	if base.Known(gvk) {
		t.Fatal("ServiceMonitor known before AddCRD")
	}
	withCRD := base.Clone()
	if err := withCRD.AddCRDFromUnstructured(readCRD(t, "testdata/servicemonitors.yaml")); err != nil {
		t.Fatal(err)
	}
	if base.Known(gvk) {
		t.Fatal("AddCRD on a clone changed the registry it was cloned from")
	}
	if !withCRD.Known(gvk) {
		t.Fatal("ServiceMonitor unknown after AddCRD")
	}
	if withCRD.Known(gvk.GroupKind().WithVersion("v1beta1")) {
		t.Error("the CRD's unserved version v1beta1 is known")
	}

	tests := []struct {
		name    string
		reg     *Registry
		src     string
		wantErr []string
		unknown bool
	}{
		{
			name: "accepted after AddCRD",
			reg:  withCRD,
			src: rgd(webSpec, `      monitorName: ${monitor.metadata.name}
      monitorNamespace: ${monitor.metadata.namespace}
      monitorUID: ${monitor.metadata.uid}
      embeddedName: ${monitor.spec.template.metadata.name}
      firstPort: ${monitor.spec.endpoints[0].port}
      bindings: ${monitor.status.bindings}`,
				monitor("${schema.spec.replicas * 100}", "${schema.spec.port}")),
		},
		{
			name: "int-or-string field takes a string",
			reg:  withCRD,
			src:  rgd(webSpec, noStatus, monitor("100", "web")),
		},
		{
			name:    "rejected as unknown before AddCRD",
			reg:     base,
			src:     rgd(webSpec, noStatus, monitor("100", "8080")),
			wantErr: []string{`unknown kind "ServiceMonitor" (apiVersion "monitoring.coreos.com/v1")`, "--crds DIR"},
			unknown: true,
		},
		{
			name:    "integer field from a string",
			reg:     withCRD,
			src:     rgd(webSpec, noStatus, monitor("${schema.spec.name}", "8080")),
			wantErr: []string{"spec.sampleLimit"},
		},
		{
			name:    "misspelled CRD field",
			reg:     withCRD,
			src:     rgd(webSpec, `      job: ${monitor.spec.jobLabl}`, monitor("1", "8080")),
			wantErr: []string{"jobLabl"},
		},
		{
			name:    "unknown field in a CRD template",
			reg:     withCRD,
			src:     rgd(webSpec, noStatus, strings.Replace(monitor("1", "8080"), "jobLabel:", "jobLabels:", 1)),
			wantErr: []string{"spec.jobLabels"},
		},
		{
			name:    "metadata is ObjectMeta on custom kinds",
			reg:     withCRD,
			src:     rgd(webSpec, `      x: ${monitor.metadata.nam}`, monitor("1", "8080")),
			wantErr: []string{"undefined field 'nam'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := buildRGD(t, tt.reg, tt.src)
			checkBuild(t, g, err, tt.wantErr, tt.unknown)
			if err == nil {
				if got := g.Nodes["monitor"].Meta.GVR.Resource; got != "servicemonitors" {
					t.Errorf("monitor resource = %q, want servicemonitors", got)
				}
				if !g.Nodes["monitor"].Meta.Namespaced {
					t.Error("monitor is not namespaced")
				}
			}
		})
	}
}

// TestChainedDefinitions adds the instance CRD KRO synthesizes for one RGD and
// builds a second RGD that uses its kind, as pkg/compile does.
func TestChainedDefinitions(t *testing.T) {
	reg := Builtin().Clone()
	first, err := buildRGD(t, reg, rgd(webSpec, `      availableReplicas: ${deployment.status.availableReplicas}`,
		withReplicas("${schema.spec.replicas}")))
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.AddCRD(first.CRD); err != nil {
		t.Fatalf("AddCRD(instance CRD): %v", err)
	}
	second := strings.NewReplacer("kind: WebApp\n    group:", "kind: Platform\n    group:", "name: test", "name: platform").Replace(rgd(webSpec,
		`      ready: ${app.status.availableReplicas}
      appName: ${app.metadata.name}`, `  - id: app
    template:
      apiVersion: kro.run/v1alpha1
      kind: WebApp
      metadata:
        name: ${schema.spec.name}
      spec:
        name: ${schema.spec.name}
        replicas: ${schema.spec.replicas}
`))
	g, err := buildRGD(t, reg, second)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Nodes["app"].Meta.GVR.Resource; got != "webapps" {
		t.Errorf("app resource = %q, want webapps", got)
	}
	bad := strings.Replace(second, "replicas: ${schema.spec.replicas}", "replicas: ${schema.spec.name}", 1)
	if _, err := buildRGD(t, reg, bad); err == nil {
		t.Error("a string into the instance's integer field was accepted")
	} else {
		t.Logf("builder error: %v", err)
	}
}
