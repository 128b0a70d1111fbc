// Package bootstrap installs KRO into a cluster without Helm on the user's
// machine: it embeds the manifests of KRO's Helm chart, rendered at
// `make generate` time by the separate module in gen/ (Helm never links
// into the product), changes the few values users set with --set by plain
// object edits, and applies them through typekro's own server-side apply
// and readiness code.
package bootstrap

//go:generate sh -c "cd gen && go run . -root ../../.. -o ../kro-v0.9.4.yaml"

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

//go:embed kro-v0.9.4.yaml
var manifest []byte

// The KRO release the embedded manifests install: the one typekro
// validates against (go.mod).
const (
	Version          = "v0.9.4"
	DefaultNamespace = "kro-system"
	// DeploymentName is the controller Deployment (the chart's fullname for
	// release "kro").
	DeploymentName = "kro"
	ContainerName  = "kro"
)

// Values are the chart values bootstrap lets users change.
type Values struct {
	Namespace string
	Image     string
	Replicas  *int64
	// Resources maps "requests.cpu", "limits.memory", ... to quantities.
	Resources map[string]string
}

// SetKeys are the keys --set accepts.
var SetKeys = []string{"namespace", "image", "replicas", "resources.requests.cpu", "resources.requests.memory", "resources.limits.cpu", "resources.limits.memory"}

// ParseSet reads --set key=value pairs into Values; unknown keys and
// invalid values are errors naming the pair.
func ParseSet(pairs []string) (Values, error) {
	var v Values
	for _, p := range pairs {
		key, val, ok := strings.Cut(p, "=")
		if !ok || val == "" {
			return v, fmt.Errorf("--set %q: want key=value", p)
		}
		switch key {
		case "namespace":
			if errs := validation.IsDNS1123Label(val); len(errs) > 0 {
				return v, fmt.Errorf("--set %s: %s", p, strings.Join(errs, "; "))
			}
			v.Namespace = val
		case "image":
			if strings.ContainsAny(val, " \t\n") {
				return v, fmt.Errorf("--set %s: an image reference has no spaces", p)
			}
			v.Image = val
		case "replicas":
			n, err := strconv.ParseInt(val, 10, 32)
			if err != nil || n < 0 {
				return v, fmt.Errorf("--set %s: want a whole number >= 0", p)
			}
			v.Replicas = &n
		case "resources.requests.cpu", "resources.requests.memory", "resources.limits.cpu", "resources.limits.memory":
			if _, err := resource.ParseQuantity(val); err != nil {
				return v, fmt.Errorf("--set %s: %v", p, err)
			}
			if v.Resources == nil {
				v.Resources = map[string]string{}
			}
			v.Resources[strings.TrimPrefix(key, "resources.")] = val
		default:
			return v, fmt.Errorf("--set %s: unknown key %q (known: %s)", p, key, strings.Join(SetKeys, ", "))
		}
	}
	return v, nil
}

// Manifests are the chart's objects with v applied, after a Namespace
// (what `helm install --create-namespace` adds): CRDs first, then
// Helm's install order.
func Manifests(v Values) ([]*unstructured.Unstructured, error) {
	objs, err := decode(manifest)
	if err != nil {
		return nil, err
	}
	ns := v.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	// A label gives server-side apply a field to own: a Namespace with only
	// a name records no field manager, so every later apply would report
	// it "configured".
	nsObj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{
		"name": ns, "labels": map[string]any{"app.kubernetes.io/part-of": "kro"},
	}}}
	var out, crds []*unstructured.Unstructured
	for _, o := range objs {
		if err := override(o, ns, v); err != nil {
			return nil, err
		}
		if IsCRD(o) {
			crds = append(crds, o)
		} else {
			out = append(out, o)
		}
	}
	return append(append(crds, nsObj), out...), nil
}

// IsCRD reports whether u is a CustomResourceDefinition.
func IsCRD(u *unstructured.Unstructured) bool {
	return u.GetKind() == "CustomResourceDefinition" && u.GroupVersionKind().Group == "apiextensions.k8s.io"
}

func decode(data []byte) ([]*unstructured.Unstructured, error) {
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("embedded kro-%s.yaml: document %d: %w", Version, len(objs)+1, err)
		}
		if len(m) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

// override edits one object: the release namespace on namespaced objects
// and in ClusterRoleBinding subjects, and the Deployment's replicas, image
// and resources.
func override(o *unstructured.Unstructured, ns string, v Values) error {
	if o.GetNamespace() != "" {
		o.SetNamespace(ns)
	}
	switch o.GetKind() {
	case "ClusterRoleBinding", "RoleBinding":
		subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
		for _, s := range subjects {
			if m, ok := s.(map[string]any); ok && m["kind"] == "ServiceAccount" {
				m["namespace"] = ns
			}
		}
		if subjects != nil {
			if err := unstructured.SetNestedSlice(o.Object, subjects, "subjects"); err != nil {
				return err
			}
		}
	case "Deployment":
		if o.GetName() != DeploymentName {
			return nil
		}
		if v.Replicas != nil {
			if err := unstructured.SetNestedField(o.Object, *v.Replicas, "spec", "replicas"); err != nil {
				return err
			}
		}
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		found := false
		for _, c := range containers {
			m, ok := c.(map[string]any)
			if !ok || m["name"] != ContainerName {
				continue
			}
			found = true
			if v.Image != "" {
				m["image"] = v.Image
			}
			for k, q := range v.Resources {
				kind, res, _ := strings.Cut(k, ".")
				if err := unstructured.SetNestedField(m, q, "resources", kind, res); err != nil {
					return err
				}
			}
		}
		if !found {
			return fmt.Errorf("embedded kro-%s.yaml: Deployment %s has no container %q", Version, DeploymentName, ContainerName)
		}
		return unstructured.SetNestedSlice(o.Object, containers, "spec", "template", "spec", "containers")
	}
	return nil
}

// ImageVersion is the tag of an image reference ("registry.k8s.io/kro/kro:0.9.4"
// gives "0.9.4"); "" without one or with a digest only.
func ImageVersion(image string) string {
	image, _, _ = strings.Cut(image, "@")
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return ""
	}
	return image[i+1:]
}

// SameVersion compares KRO versions with or without the leading "v".
func SameVersion(a, b string) bool {
	return a != "" && strings.TrimPrefix(a, "v") == strings.TrimPrefix(b, "v")
}

// kroModule is the module whose packages (graph builder, runtime,
// simpleschema) typekro links; its version is the KRO semantics typekro
// validates with.
const kroModule = "github.com/kubernetes-sigs/kro"

// LinkedVersion reports the version of KRO's module linked into this
// binary, from its build info; "" when the build carries none. The embedded
// manifests (Version) must be that same release: a test checks it against go.mod, so a
// go.mod bump without `make generate` fails.
func LinkedVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, m := range bi.Deps {
		if m.Path == kroModule {
			if m.Replace != nil {
				m = m.Replace
			}
			return m.Version
		}
	}
	return ""
}
