package bootstrap

import (
	"fmt"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/typekro/kubectl-typekro/pkg/render"
)

// FluxOptions shape the Flux tree that installs KRO from Git.
type FluxOptions struct {
	// Path is the output directory relative to the repository root, as
	// Flux's spec.path wants it. Required.
	Path string
	// Source is the GitRepository (default flux-system) in Namespace
	// (default flux-system), where the Kustomization lives too.
	Source, Namespace string
	Interval          string // default 10m
}

// Flux tree layout.
const (
	FluxManifest      = "kro/kro.yaml"
	FluxKustomization = "flux/kro.yaml"
	FluxName          = "kro"
)

// FluxTree lays the manifests out for Flux's kustomize-controller:
//
//	kustomization.yaml  lists flux/kro.yaml only (a Kustomization that syncs
//	                    a parent directory picks up the Flux object, not the manifests)
//	kro/kro.yaml        the KRO manifests
//	flux/kro.yaml       the Flux Kustomization applying kro/ with health
//	                    checks on the CRDs and the controller Deployment
//
// The CRDs and the Namespace carry kustomize.toolkit.fluxcd.io/prune:
// disabled: removing the Kustomization must not delete every RGD with
// KRO's CRDs.
func FluxTree(objs []*unstructured.Unstructured, o FluxOptions) (render.Tree, error) {
	if o.Path == "" || path.IsAbs(o.Path) {
		return nil, fmt.Errorf("flux: path must be relative to the repository root, not %q", o.Path)
	}
	if o.Source == "" {
		o.Source = render.FluxDefaultSource
	}
	if o.Namespace == "" {
		o.Namespace = render.FluxDefaultNamespace
	}
	if o.Interval == "" {
		o.Interval = "10m"
	}
	var out []*unstructured.Unstructured
	var checks []any
	for _, u := range objs {
		u = u.DeepCopy()
		if IsCRD(u) || u.GetKind() == "Namespace" {
			ann := u.GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			ann[render.FluxPruneDisabled] = "disabled"
			u.SetAnnotations(ann)
		}
		if IsCRD(u) || u.GetKind() == "Deployment" {
			ref := map[string]any{"apiVersion": u.GetAPIVersion(), "kind": u.GetKind(), "name": u.GetName()}
			if ns := u.GetNamespace(); ns != "" {
				ref["namespace"] = ns
			}
			checks = append(checks, ref)
		}
		out = append(out, u)
	}
	manifests, err := render.YAML(out)
	if err != nil {
		return nil, err
	}
	p := path.Clean(strings.TrimPrefix(o.Path, "./"))
	dir := "./" + path.Dir(FluxManifest)
	if p != "." {
		dir = "./" + p + "/" + path.Dir(FluxManifest)
	}
	ks := map[string]any{
		"apiVersion": render.FluxKustomizationAPI,
		"kind":       "Kustomization",
		"metadata":   map[string]any{"name": FluxName, "namespace": o.Namespace},
		"spec": map[string]any{
			"interval":      o.Interval,
			"path":          dir,
			"prune":         true,
			"retryInterval": render.FluxRetryInterval,
			"timeout":       "5m",
			"sourceRef":     map[string]any{"kind": "GitRepository", "name": o.Source},
			"healthChecks":  checks,
		},
	}
	root := map[string]any{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": []any{FluxKustomization}}
	t := render.Tree{FluxManifest: manifests}
	for name, v := range map[string]map[string]any{FluxKustomization: ks, "kustomization.yaml": root} {
		b, err := yaml.Marshal(v)
		if err != nil {
			return nil, err
		}
		t[name] = b
	}
	return t, nil
}
