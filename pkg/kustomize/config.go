package kustomize

import (
	"fmt"
	"strings"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/typekro/kubectl-typekro/pkg/composition"
)

// KindConfig is the kind of the function's functionConfig.
const KindConfig = composition.KindFunctionConfig

// Config is the functionConfig of `kubectl-typekro fn`:
//
//	apiVersion: typekro.dev/v1alpha1
//	kind: TypeKro
//	metadata:
//	  name: webapp
//	  annotations:
//	    config.kubernetes.io/function: |
//	      exec: {path: kubectl-typekro, args: [fn]}
//	spec:
//	  paths: [compositions/, instances/staging.yaml]   # relative to the kustomization dir
//	  crds: [crds/]            # schemas for custom kinds used in templates, not emitted
//	  mode: kro                # kro (RGDs + instances) or direct (concrete resources)
//	  namespace: staging       # for instances that have none
//	  instances:               # instances written inline
//	    - apiVersion: example.com/v1alpha1
//	      kind: WebApp
//	      metadata: {name: shop}
//	      spec: {...}
//
// As a generator it renders spec.paths and spec.instances; as a
// transformer it also replaces the Compositions, RGDs, CRDs and instances
// of those definitions found among the resources it is given.
type Config struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ConfigMeta `json:"metadata"`
	Spec       ConfigSpec `json:"spec"`
}

// ConfigMeta is the functionConfig's metadata.
type ConfigMeta struct {
	Name        string            `json:"name,omitempty"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ConfigSpec is what to render.
type ConfigSpec struct {
	Paths     []string         `json:"paths,omitempty"`
	CRDs      []string         `json:"crds,omitempty"`
	Mode      string           `json:"mode,omitempty"`
	Namespace string           `json:"namespace,omitempty"`
	Instances []map[string]any `json:"instances,omitempty"`
}

// parseConfig decodes the functionConfig strictly: a misspelled field is an
// error, not a silently ignored key. A missing functionConfig is an empty
// one (transformer only, kro mode).
func parseConfig(fc *yaml.RNode) (*Config, []problem) {
	cfg := &Config{APIVersion: composition.APIVersion, Kind: KindConfig}
	if fc == nil || fc.IsNilOrEmpty() {
		return cfg, nil
	}
	data, err := fc.MarshalJSON()
	if err != nil {
		return nil, []problem{{field: "", msg: "functionConfig: " + err.Error()}}
	}
	cfg = &Config{}
	strict, err := sigsjson.UnmarshalStrict(data, cfg)
	if err != nil {
		return nil, []problem{{field: "", msg: "functionConfig: " + err.Error()}}
	}
	var probs []problem
	for _, se := range strict {
		msg := se.Error()
		field := ""
		if i := strings.Index(msg, `"`); i >= 0 {
			if j := strings.LastIndex(msg, `"`); j > i {
				field = msg[i+1 : j]
			}
		}
		probs = append(probs, problem{field: field, msg: "functionConfig: " + msg})
	}
	if cfg.APIVersion != composition.APIVersion || cfg.Kind != KindConfig {
		probs = append(probs, problem{field: "kind", msg: fmt.Sprintf("functionConfig must be apiVersion: %s, kind: %s (got %s %s)", composition.APIVersion, KindConfig, cfg.APIVersion, cfg.Kind)})
	}
	return cfg, probs
}

// problem is an error about the functionConfig itself.
type problem struct {
	field string
	msg   string
}
