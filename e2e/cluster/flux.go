package cluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Flux component names (logs/<name>.log).
const (
	FluxSource    = "flux-source-controller"
	FluxKustomize = "flux-kustomize-controller"
)

// FluxRequeueDependency is the kustomize-controller's --requeue-dependency
// in the e2e cluster: how soon a Kustomization whose dependsOn is not Ready
// is looked at again. Flux's default is 30s, which every push of a
// definitions + instances tree would wait once; the tests run with 5s (the
// README shows users the same setting).
const FluxRequeueDependency = 5 * time.Second

// fluxPorts is how many ports startFlux needs: source-controller's artifact
// server, metrics and health; kustomize-controller's metrics and health.
const fluxPorts = 5

// fluxStorage is the source-controller's artifact directory in the state dir.
const fluxStorage = "flux-storage"

// startFlux applies Flux's CRDs and starts source-controller and
// kustomize-controller as plain processes against the cluster (they read
// KUBECONFIG from the environment; neither takes --kubeconfig), every
// listener on 127.0.0.1, leader election off, all namespaces watched. It
// returns the readiness checks for start to wait on.
func (c *Cluster) startFlux(ctx context.Context, ap *applier, httpClient *http.Client) ([]readyCheck, error) {
	o, p := c.opts, c.state.Ports
	names, err := ap.applyDir(ctx, o.FluxCRDsDir)
	if err != nil {
		return nil, fmt.Errorf("apply Flux CRDs: %w", err)
	}
	if err := c.waitFor(ctx, APIServer, "Flux CRDs established", func(ctx context.Context) error {
		return ap.crdsEstablished(ctx, names)
	}); err != nil {
		return nil, err
	}
	storage := filepath.Join(o.StateDir, fluxStorage)
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return nil, err
	}
	env := []string{"KUBECONFIG=" + c.state.Kubeconfig}
	local := func(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
	common := []string{"--watch-all-namespaces=true", "--enable-leader-election=false", "--log-encoding=console"}
	o.Logf("starting flux source-controller (artifacts on http://%s) and kustomize-controller", local(p.FluxStorage))
	if err := c.run(FluxSource, env, filepath.Join(o.FluxBinDir, "source-controller"), append([]string{
		"--storage-path=" + storage,
		"--storage-addr=" + local(p.FluxStorage),
		// kustomize-controller downloads artifacts from this address.
		"--storage-adv-addr=" + local(p.FluxStorage),
		"--metrics-addr=" + local(p.FluxSourceMetrics),
		"--health-addr=" + local(p.FluxSourceHealth),
	}, common...)...); err != nil {
		return nil, err
	}
	if err := c.run(FluxKustomize, env, filepath.Join(o.FluxBinDir, "kustomize-controller"), append([]string{
		"--metrics-addr=" + local(p.FluxKustomizeMetrics),
		"--health-addr=" + local(p.FluxKustomizeHealth),
		"--requeue-dependency=" + FluxRequeueDependency.String(),
	}, common...)...); err != nil {
		return nil, err
	}
	ready := func(port int) func(context.Context) error {
		return func(ctx context.Context) error {
			return httpGetOK(ctx, httpClient, "http://"+local(port)+"/readyz")
		}
	}
	return []readyCheck{
		{FluxSource, "flux source-controller ready", ready(p.FluxSourceHealth)},
		{FluxKustomize, "flux kustomize-controller ready", ready(p.FluxKustomizeHealth)},
	}, nil
}

// fluxBin is the path of a Flux binary in dir, "" without Flux.
func fluxBin(dir, name string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, name)
}
