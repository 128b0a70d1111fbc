// Builds Flux's kustomize-controller for the e2e cluster (make/e2e.mk: flux).
// The replaces are the ones of kustomize-controller's own go.mod (replace
// directives of a dependency do not apply).
module github.com/typekro/kubectl-typekro/e2e/tools/flux-kustomize

go 1.26.0

require (
	github.com/fluxcd/kustomize-controller v1.9.6
	github.com/fluxcd/kustomize-controller/api v1.9.6
)

replace (
	github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20220411205349-bde1400a84be
	gopkg.in/yaml.v3 => gopkg.in/yaml.v3 v3.0.1
	sigs.k8s.io/kustomize/api => sigs.k8s.io/kustomize/api v0.21.1
	sigs.k8s.io/kustomize/kyaml => sigs.k8s.io/kustomize/kyaml v0.21.1
)
