package schemas

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"sigs.k8s.io/yaml"
)

func gvk(apiVersion, kind string) schema.GroupVersionKind {
	return schema.FromAPIVersionAndKind(apiVersion, kind)
}

// resetBuiltin forgets the decoded built-in data, as at process start.
func resetBuiltin() {
	builtinIndex.once = sync.Once{}
	builtinIndex.version, builtinIndex.kinds, builtinIndex.byGVK = "", nil, nil
	builtinDefs.once = sync.Once{}
	builtinDefs.err, builtinDefs.raw, builtinDefs.decoded, builtinDefs.resolved = nil, nil, nil, nil
}

func TestBuiltinKinds(t *testing.T) {
	builtinKinds()
	if builtinIndex.version != KubernetesVersion {
		t.Errorf("embedded data is from Kubernetes %s, KubernetesVersion is %s: run go generate", builtinIndex.version, KubernetesVersion)
	}
	tests := []struct {
		apiVersion, kind, resource string
		namespaced                 bool
	}{
		{"v1", "ConfigMap", "configmaps", true},
		{"v1", "Endpoints", "endpoints", true},
		{"v1", "Namespace", "namespaces", false},
		{"v1", "PersistentVolume", "persistentvolumes", false},
		{"v1", "PersistentVolumeClaim", "persistentvolumeclaims", true},
		{"v1", "Secret", "secrets", true},
		{"v1", "Service", "services", true},
		{"v1", "ServiceAccount", "serviceaccounts", true},
		{"apps/v1", "Deployment", "deployments", true},
		{"apps/v1", "StatefulSet", "statefulsets", true},
		{"apps/v1", "DaemonSet", "daemonsets", true},
		{"batch/v1", "Job", "jobs", true},
		{"batch/v1", "CronJob", "cronjobs", true},
		{"networking.k8s.io/v1", "Ingress", "ingresses", true},
		{"networking.k8s.io/v1", "IngressClass", "ingressclasses", false},
		{"networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", true},
		{"autoscaling/v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true},
		{"autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true},
		{"policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", true},
		{"rbac.authorization.k8s.io/v1", "Role", "roles", true},
		{"rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", true},
		{"rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", false},
		{"rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", false},
		{"storage.k8s.io/v1", "StorageClass", "storageclasses", false},
		{"discovery.k8s.io/v1", "EndpointSlice", "endpointslices", true},
		{"scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", false},
		{"coordination.k8s.io/v1", "Lease", "leases", true},
		{"apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", false},
		{"admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", false},
		{"admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies", false},
	}
	mapper := Builtin().RESTMapper()
	for _, tt := range tests {
		g := gvk(tt.apiVersion, tt.kind)
		if !Builtin().Known(g) {
			t.Errorf("%s is not known", g)
			continue
		}
		m, err := mapper.RESTMapping(g.GroupKind(), g.Version)
		if err != nil {
			t.Errorf("RESTMapping(%s): %v", g, err)
			continue
		}
		if m.Resource != g.GroupVersion().WithResource(tt.resource) {
			t.Errorf("%s maps to %s, want resource %s", g, m.Resource, tt.resource)
		}
		if got := m.Scope.Name() == meta.RESTScopeNameNamespace; got != tt.namespaced {
			t.Errorf("%s namespaced = %v, want %v", g, got, tt.namespaced)
		}
		if m.GroupVersionKind != g {
			t.Errorf("%s mapping has GVK %s", g, m.GroupVersionKind)
		}
	}
	for _, g := range []schema.GroupVersionKind{
		gvk("v1", "Scale"), gvk("v1", "Status"), gvk("v1", "DeleteOptions"), gvk("v1", "PodList"), gvk("apps/v1beta1", "Deployment"),
	} {
		if Builtin().Known(g) {
			t.Errorf("%s is known, but is not a resource kind", g)
		}
	}
}

func TestResolveEveryBuiltinKind(t *testing.T) {
	reg := Builtin()
	for _, k := range builtinKinds() {
		s, err := reg.ResolveSchema(k.gvk())
		if err != nil {
			t.Errorf("%s: %v", k.gvk(), err)
			continue
		}
		if len(s.Type) != 1 || s.Type[0] != "object" {
			t.Errorf("%s: type %v, want object", k.gvk(), s.Type)
		}
		for _, p := range []string{"apiVersion", "kind", "metadata"} {
			if _, ok := s.Properties[p]; !ok {
				t.Errorf("%s: no %s property", k.gvk(), p)
			}
		}
		if name := s.Properties["metadata"].Properties["name"]; len(name.Type) == 0 || name.Type[0] != "string" {
			t.Errorf("%s: metadata.name is not a populated string schema: %+v", k.gvk(), name)
		}
	}
}

func TestBuiltinSchemaDetails(t *testing.T) {
	reg := Builtin()
	svc, err := reg.ResolveSchema(gvk("v1", "Service"))
	if err != nil {
		t.Fatal(err)
	}
	ports := svc.Properties["spec"].Properties["ports"]
	if got := ports.Extensions["x-kubernetes-list-type"]; got != "map" {
		t.Errorf("spec.ports list-type = %v, want map", got)
	}
	targetPort := ports.Items.Schema.Properties["targetPort"]
	if targetPort.Format != "int-or-string" || len(targetPort.OneOf) != 2 {
		t.Errorf("targetPort = %+v, want format int-or-string with oneOf integer|string", targetPort.SchemaProps)
	}
	dep, err := reg.ResolveSchema(gvk("apps/v1", "Deployment"))
	if err != nil {
		t.Fatal(err)
	}
	replicas := dep.Properties["spec"].Properties["replicas"]
	if len(replicas.Type) != 1 || replicas.Type[0] != "integer" || replicas.Format != "int32" {
		t.Errorf("spec.replicas = %v/%s, want integer/int32", replicas.Type, replicas.Format)
	}
	b, err := json.Marshal(dep)
	if err != nil {
		t.Fatal(err)
	}
	for _, trimmed := range []string{`"description"`, `"$ref"`, "x-kubernetes-patch-strategy"} {
		if strings.Contains(string(b), trimmed) {
			t.Errorf("resolved Deployment schema contains %s", trimmed)
		}
	}
	again, _ := reg.ResolveSchema(gvk("apps/v1", "Deployment"))
	if again != dep {
		t.Error("a second resolution did not return the cached schema")
	}
}

func TestLazyDecoding(t *testing.T) {
	resetBuiltin()
	defer resetBuiltin()
	reg := Builtin()
	if builtinIndex.byGVK != nil || builtinDefs.raw != nil {
		t.Fatal("Builtin() decoded the embedded data")
	}
	if !reg.Known(gvk("apps/v1", "Deployment")) {
		t.Fatal("Deployment unknown")
	}
	if builtinDefs.raw != nil {
		t.Error("Known decoded the definitions")
	}
	if _, err := reg.ResolveSchema(gvk("apps/v1", "Deployment")); err != nil {
		t.Fatal(err)
	}
	if builtinDefs.raw == nil {
		t.Error("definitions not decoded after ResolveSchema")
	}
	if n := len(builtinDefs.decoded); n == 0 || n >= len(builtinDefs.raw) {
		t.Errorf("%d of %d definitions decoded for one Deployment", n, len(builtinDefs.raw))
	}
}

func TestUnknownKind(t *testing.T) {
	reg := Builtin()
	_, err := reg.ResolveSchema(gvk("autoscaling/v2beta2", "HorizontalPodAutoscaler"))
	if err == nil {
		t.Fatal("autoscaling/v2beta2 resolved")
	}
	if !errors.Is(err, ErrUnknownKind) || !errors.Is(err, resolver.ErrSchemaNotFound) {
		t.Errorf("error %v matches neither ErrUnknownKind nor resolver.ErrSchemaNotFound", err)
	}
	var uk *UnknownKindError
	if !errors.As(err, &uk) {
		t.Fatalf("error %T is not an *UnknownKindError", err)
	}
	if got, want := strings.Join(uk.Alternatives, " "), "autoscaling/v1 autoscaling/v2"; got != want {
		t.Errorf("alternatives %q, want %q", got, want)
	}
	want := `unknown kind "HorizontalPodAutoscaler" (apiVersion "autoscaling/v2beta2"): not a built-in Kubernetes ` + KubernetesVersion +
		` kind and no CustomResourceDefinition for it was loaded; kind HorizontalPodAutoscaler is known with apiVersion autoscaling/v1, autoscaling/v2; pass its CRD with --crds DIR`
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
	_, err = reg.RESTMapper().RESTMapping(schema.GroupKind{Group: "example.com", Kind: "Widget"}, "v1")
	if !meta.IsNoMatchError(err) {
		t.Errorf("RESTMapping of an unknown kind: %v, want a no-match error", err)
	}
}

func serviceMonitorCRD(t *testing.T) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	u := readCRD(t, "testdata/servicemonitors.yaml")
	crd := &apiextensionsv1.CustomResourceDefinition{}
	b, _ := json.Marshal(u.Object)
	if err := json.Unmarshal(b, crd); err != nil {
		t.Fatal(err)
	}
	return crd
}

func TestAddCRD(t *testing.T) {
	reg := Builtin()
	mapper := reg.RESTMapper() // taken before AddCRD: must follow the registry
	crd := serviceMonitorCRD(t)
	crd.Spec.Names.ListKind, crd.Spec.Names.Singular = "", "" // defaulted as the API server does
	if err := reg.AddCRD(crd); err != nil {
		t.Fatal(err)
	}
	g := gvk("monitoring.coreos.com/v1", "ServiceMonitor")
	m, err := mapper.RESTMapping(g.GroupKind(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	if m.Resource.Resource != "servicemonitors" || m.Scope.Name() != meta.RESTScopeNameNamespace {
		t.Errorf("mapping %s %s, want namespaced servicemonitors", m.Resource, m.Scope.Name())
	}
	if k, err := mapper.KindFor(schema.GroupVersionResource{Group: "monitoring.coreos.com", Resource: "servicemonitor"}); err != nil || k != g {
		t.Errorf("KindFor(servicemonitor) = %v, %v", k, err)
	}
	s, err := reg.ResolveSchema(g)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Properties["metadata"].Properties["labels"].AdditionalProperties; got == nil || got.Schema == nil || got.Schema.Type[0] != "string" {
		t.Errorf("metadata is not ObjectMeta: %+v", s.Properties["metadata"])
	}
	for _, p := range []string{"apiVersion", "kind"} {
		if typ := s.Properties[p].Type; len(typ) != 1 || typ[0] != "string" {
			t.Errorf("%s type %v", p, typ)
		}
	}
	tmpl := s.Properties["spec"].Properties["template"]
	if _, ok := tmpl.Properties["metadata"].Properties["name"]; !ok {
		t.Error("embedded resource has no ObjectMeta metadata")
	}
	if strings.Join(tmpl.Required, ",") != "kind,apiVersion" {
		t.Errorf("embedded resource requires %v", tmpl.Required)
	}
	if tp := s.Properties["spec"].Properties["endpoints"].Items.Schema.Properties["targetPort"]; !tp.Extensions["x-kubernetes-int-or-string"].(bool) {
		t.Errorf("targetPort lost x-kubernetes-int-or-string: %+v", tp)
	}
	if again, _ := reg.ResolveSchema(g); again != s {
		t.Error("a second resolution rebuilt the schema")
	}

	// A cluster-scoped CRD with a new version replaces the earlier one.
	crd2 := serviceMonitorCRD(t)
	crd2.Spec.Scope = apiextensionsv1.ClusterScoped
	crd2.Spec.Versions[0].Name = "v2"
	if err := reg.AddCRD(crd2); err != nil {
		t.Fatal(err)
	}
	if reg.Known(g) {
		t.Error("v1 still known after the CRD was replaced by one serving v2")
	}
	m, err = mapper.RESTMapping(g.GroupKind(), "v2")
	if err != nil {
		t.Fatal(err)
	}
	if m.Scope.Name() != meta.RESTScopeNameRoot {
		t.Errorf("replaced CRD scope %s, want root", m.Scope.Name())
	}
}

func TestAddCRDErrors(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*apiextensionsv1.CustomResourceDefinition)
		wantErr string
	}{
		{"no plural", func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Names.Plural = "" }, "missing spec.names.plural"},
		{"no group", func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Group = "" }, "missing spec.group"},
		{"bad scope", func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Scope = "Global" }, `spec.scope must be Namespaced or Cluster, not "Global"`},
		{"nothing served", func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Versions[0].Served = false }, "no served version"},
		{"no schema", func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Versions[0].Schema = nil }, "version v1 has no schema"},
		{"not structural", func(c *apiextensionsv1.CustomResourceDefinition) {
			spec := c.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
			spec.Properties["jobLabel"] = apiextensionsv1.JSONSchemaProps{}
			c.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = spec
		}, "schema is not structural"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := Builtin()
			crd := serviceMonitorCRD(t)
			tt.edit(crd)
			err := reg.AddCRD(crd)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("AddCRD error %v, want %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "CustomResourceDefinition servicemonitors.monitoring.coreos.com: ") {
				t.Errorf("error %q does not name the CRD", err)
			}
			if reg.Known(gvk("monitoring.coreos.com/v1", "ServiceMonitor")) {
				t.Error("a rejected CRD was registered")
			}
		})
	}
	if err := Builtin().AddCRD(nil); err == nil {
		t.Error("AddCRD(nil) succeeded")
	}

	cm := &unstructured.Unstructured{}
	cm.SetAPIVersion("v1")
	cm.SetKind("ConfigMap")
	cm.SetName("x")
	if err := Builtin().AddCRDFromUnstructured(cm); err == nil || !strings.Contains(err.Error(), "is not a CustomResourceDefinition") {
		t.Errorf("AddCRDFromUnstructured(ConfigMap) = %v", err)
	}
	old := readCRD(t, "testdata/servicemonitors.yaml")
	old.SetAPIVersion("apiextensions.k8s.io/v1beta1")
	if err := Builtin().AddCRDFromUnstructured(old); err == nil || !strings.Contains(err.Error(), "use apiextensions.k8s.io/v1") {
		t.Errorf("AddCRDFromUnstructured(v1beta1) = %v", err)
	}
	typo := readCRD(t, "testdata/servicemonitors.yaml")
	if err := unstructured.SetNestedField(typo.Object, "yes", "spec", "versions"); err != nil {
		t.Fatal(err)
	}
	if err := Builtin().AddCRDFromUnstructured(typo); err == nil {
		t.Error("AddCRDFromUnstructured accepted spec.versions: yes")
	}
}

func TestClone(t *testing.T) {
	base := Builtin()
	if err := base.AddCRD(serviceMonitorCRD(t)); err != nil {
		t.Fatal(err)
	}
	clone := base.Clone()
	widget := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: "Widget", Plural: "widgets"},
			Scope: apiextensionsv1.ClusterScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type:       "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {Type: "object", XPreserveUnknownFields: new(true)}},
				}},
			}},
		},
	}
	if err := clone.AddCRD(widget); err != nil {
		t.Fatal(err)
	}
	w := gvk("example.com/v1", "Widget")
	if !clone.Known(w) || base.Known(w) {
		t.Errorf("Known(Widget): clone %v, base %v; want true, false", clone.Known(w), base.Known(w))
	}
	if _, err := base.RESTMapper().RESTMapping(w.GroupKind(), "v1"); !meta.IsNoMatchError(err) {
		t.Errorf("base mapper maps the clone's CRD: %v", err)
	}
	if m, err := clone.RESTMapper().RESTMapping(w.GroupKind(), "v1"); err != nil || m.Scope.Name() != meta.RESTScopeNameRoot {
		t.Errorf("clone mapping %v, %v", m, err)
	}
	if !clone.Known(gvk("monitoring.coreos.com/v1", "ServiceMonitor")) {
		t.Error("clone lost the CRD added before cloning")
	}
	if Builtin().Known(gvk("monitoring.coreos.com/v1", "ServiceMonitor")) {
		t.Error("a CRD added to one Builtin() registry is known to a new one")
	}
}

func TestConcurrentUse(t *testing.T) {
	resetBuiltin()
	defer resetBuiltin()
	reg := Builtin()
	kinds := []schema.GroupVersionKind{gvk("apps/v1", "Deployment"), gvk("v1", "Service"), gvk("batch/v1", "CronJob"), gvk("monitoring.coreos.com/v1", "ServiceMonitor")}
	crd := serviceMonitorCRD(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 0 {
				if err := reg.AddCRD(crd); err != nil {
					t.Error(err)
				}
			}
			for _, k := range kinds {
				if _, err := reg.ResolveSchema(k); err != nil && !errors.Is(err, ErrUnknownKind) {
					t.Error(err)
				}
				_, _ = reg.RESTMapper().RESTMapping(k.GroupKind(), k.Version)
			}
		}()
	}
	wg.Wait()
}

func TestCRDRoundTripsThroughYAML(t *testing.T) {
	// AddCRDFromUnstructured must accept what a YAML CRD file decodes to.
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: buckets.storage.example.com
spec:
  group: storage.example.com
  scope: Cluster
  names: {kind: Bucket, plural: buckets}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1, maximum: 100}
              tags: {type: object, additionalProperties: {type: string}}
`), &obj); err != nil {
		t.Fatal(err)
	}
	reg := Builtin()
	if err := reg.AddCRDFromUnstructured(&unstructured.Unstructured{Object: obj}); err != nil {
		t.Fatal(err)
	}
	s, err := reg.ResolveSchema(gvk("storage.example.com/v1alpha1", "Bucket"))
	if err != nil {
		t.Fatal(err)
	}
	size := s.Properties["spec"].Properties["size"]
	if size.Maximum == nil || *size.Maximum != 100 || size.Type[0] != "integer" {
		t.Errorf("spec.size = %+v", size.SchemaProps)
	}
}
