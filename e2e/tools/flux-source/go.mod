// Builds Flux's source-controller for the e2e cluster (make/e2e.mk: flux).
// The replaces are the ones of source-controller's own go.mod (replace
// directives of a dependency do not apply), plus fluxcd/pkg/artifact at
// v0.18.1: the module proxy refuses the v0.18.3 that v1.9.6 requires.
module github.com/typekro/kubectl-typekro/e2e/tools/flux-source

go 1.26.0

require (
	github.com/fluxcd/source-controller v1.9.6
	github.com/fluxcd/source-controller/api v1.9.6
)

replace (
	github.com/fluxcd/pkg/artifact => github.com/fluxcd/pkg/artifact v0.18.1
	github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20220411205349-bde1400a84be
)
