#!/usr/bin/env bash
# bench-apply.sh: time from "apply" to "every instance Ready" for examples/webapp,
#   A) kubectl-typekro apply --create-namespace          (one command; validates, dry-runs,
#      applies in stages and waits by watching)
#   B) kubectl on the same rendered objects:               create namespaces;
#      apply --server-side the RGD; wait Active; wait CRD Established;
#      apply --server-side the instances; wait status.state=ACTIVE
# on the same cluster, in the same run, alternating which goes first. Every run starts
# from nothing: no RGD, no generated CRD, fresh namespaces (KRO keeps the CRD of a
# deleted RGD, so it is deleted explicitly, otherwise later runs would be faster).
#
# Usage: KUBECONFIG=... scripts/bench-apply.sh [kubectl-typekro] [kubectl]
#        RUNS=5 (default 3). Run against `make cluster-up`'s cluster:
#        KUBECONFIG=.cache/cluster/kubeconfig scripts/bench-apply.sh bin/kubectl-typekro .cache/tools/k8s-*/bin/kubectl
set -euo pipefail
typekro=$(realpath "${1:-bin/kubectl-typekro}")
kubectl=$(realpath "$(command -v "${2:-${KUBECTL:-kubectl}}")")
runs=${RUNS:-3}
: "${KUBECONFIG:?set KUBECONFIG to the cluster to measure}"
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
k() { "$kubectl" "$@"; }

# example <dir> <prefix>: examples/webapp with its namespaces renamed <prefix>-<ns>.
example() {
  rm -rf "$1"; cp -r "$root/examples/webapp" "$1"
  find "$1" -name '*.yaml' -exec sed -i -E "s/^(\s+namespace:\s*)([a-z0-9-]+)\s*$/\1$2-\2/" {} +
}

# clean <prefix>: delete everything of a run, including the generated CRD.
clean() {
  "$typekro" delete "$work/$1" --timeout 2m >/dev/null 2>&1 || true
  k delete crd krowebapps.example.com --ignore-not-found --wait=true >/dev/null
  k delete namespace "$1-production" "$1-development" --ignore-not-found --wait=true >/dev/null
}

run_typekro() { # prefix -> ms
  example "$work/$1" "$1"
  local s e; s=$(now_ms)
  "$typekro" apply "$work/$1" --create-namespace --timeout 5m >"$work/$1.out" 2>"$work/$1.err"
  e=$(now_ms)
  echo $(( e - s ))
}

run_kubectl() { # prefix -> ms
  example "$work/$1" "$1"
  local tree="$work/$1.tree" s e
  "$typekro" render "$work/$1" --output-dir "$tree" >/dev/null 2>&1
  s=$(now_ms)
  k create namespace "$1-production" >/dev/null
  k create namespace "$1-development" >/dev/null
  k apply --server-side -f "$tree/rgds/" >/dev/null
  k wait --for=jsonpath='{.status.state}'=Active rgd/kro-webapp --timeout=5m >/dev/null
  k wait --for=condition=Established crd/krowebapps.example.com --timeout=5m >/dev/null
  k apply --server-side -R -f "$tree/instances/" >/dev/null
  k wait --for=jsonpath='{.status.state}'=ACTIVE -R -f "$tree/instances/" --timeout=5m >/dev/null
  e=$(now_ms)
  echo $(( e - s ))
}

echo "cluster: $(k version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1); $runs run(s) each"
clean "bench-warmup" 2>/dev/null || true
: >"$work/typekro.ms"; : >"$work/kubectl.ms"
for i in $(seq "$runs"); do
  order="typekro kubectl"; [ $((i % 2)) -eq 0 ] && order="kubectl typekro"
  for tool in $order; do
    p="bench-$i-$tool"
    ms=$("run_$tool" "$p")
    echo "$ms" >>"$work/$tool.ms"
    printf 'run %d  %-8s %6d ms\n' "$i" "$tool" "$ms"
    if [ "$tool" = typekro ]; then grep -E '^[^ ]+( -n [^ ]+)?: (Active|ACTIVE|Established) \(' "$work/$p.err" | sed 's/^/               /' || true; fi
    clean "$p"
  done
done
echo "median   typekro  $(median <"$work/typekro.ms") ms   (apply + validate + dry-run + staged SSA + watch-wait)"
echo "median   kubectl  $(median <"$work/kubectl.ms") ms   (create ns + SSA RGD + wait + wait CRD + SSA instances + wait)"
