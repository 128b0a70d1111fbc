#!/usr/bin/env bash
# Creates a kind cluster and installs KRO into it, then prints the KUBECONFIG
# to use with the e2e tests. Needs docker (or podman), kind, kubectl, helm.
#
#   e2e/kind/up.sh            # create cluster "typekro-e2e" with KRO v0.9.4
#   KRO_VERSION=0.9.4 KIND_NODE_IMAGE=kindest/node:v1.35.0 e2e/kind/up.sh
#   kind delete cluster --name typekro-e2e
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
name=${KIND_CLUSTER_NAME:-typekro-e2e}
kro_version=${KRO_VERSION:-0.9.4}
kubeconfig=${KUBECONFIG_OUT:-$here/../../.cache/kind/kubeconfig}

for tool in kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "up.sh: $tool not found in PATH" >&2; exit 1; }
done

mkdir -p "$(dirname "$kubeconfig")"
image_args=()
if [[ -n ${KIND_NODE_IMAGE:-} ]]; then image_args=(--image "$KIND_NODE_IMAGE"); fi
if ! kind get clusters | grep -qx "$name"; then
  kind create cluster --name "$name" --config "$here/kind-config.yaml" \
    --kubeconfig "$kubeconfig" --wait 180s "${image_args[@]}"
else
  kind get kubeconfig --name "$name" >"$kubeconfig"
fi
export KUBECONFIG=$kubeconfig

# The chart ships the CRDs (ResourceGraphDefinition, GraphRevision).
helm upgrade --install kro oci://registry.k8s.io/kro/charts/kro \
  --version "$kro_version" --namespace kro-system --create-namespace --wait --timeout 5m
kubectl wait --for=condition=Established --timeout=60s \
  crd/resourcegraphdefinitions.kro.run
kubectl -n kro-system rollout status deployment --timeout=180s

echo "kind cluster $name with KRO $kro_version is ready:"
echo "  export KUBECONFIG=$kubeconfig"
