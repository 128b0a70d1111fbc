#!/usr/bin/env bash
# bench-direct.sh: time from "apply" to "every resource ready" for examples/webapp,
#   A) kubectl-typekro apply --mode direct     (validates, dry-runs, applies stage by stage
#      with KRO's runtime, waits for each readyWhen by watching, prints hydrated status)
#   B) kubectl apply --server-side of the same objects (rendered by render --mode direct)
#      + kubectl wait --for=condition=Available on the Deployments
# on the same cluster, in the same run, alternating which goes first, each run in fresh
# namespaces. Prints the medians and the ratio A/B (budget: <= 1.0).
#
# Usage: KUBECONFIG=... scripts/bench-direct.sh [kubectl-typekro] [kubectl]   (RUNS=5 default)
set -euo pipefail
typekro=$(realpath "${1:-bin/kubectl-typekro}")
kubectl=$(realpath "$(command -v "${2:-${KUBECTL:-kubectl}}")")
runs=${RUNS:-5}
: "${KUBECONFIG:?set KUBECONFIG to the cluster to measure}"
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# example <dir> <prefix>: examples/webapp with namespaces renamed <prefix>-<ns>, namespaces created.
example() {
  rm -rf "$1"; cp -r "$root/examples/webapp" "$1"
  sed -i -E "s/^(  namespace: )(.*)$/\1$2-\2/" "$1"/instances/*.yaml
  for ns in $(grep -h '^  namespace:' "$1"/instances/*.yaml | awk '{print $2}' | sort -u); do
    "$kubectl" create namespace "$ns" >/dev/null
    echo "$ns" >> "$work/namespaces"
  done
}

run_direct() {
  example "$work/d$1" "bd$1"
  local t0; t0=$(now_ms)
  "$typekro" apply --mode direct "$work/d$1" >/dev/null 2>&1
  echo $(( $(now_ms) - t0 ))
}

run_kubectl() {
  example "$work/k$1" "bk$1"
  "$typekro" render --mode direct "$work/k$1" > "$work/k$1.yaml"
  local t0; t0=$(now_ms)
  "$kubectl" apply --server-side --field-manager=bench -f "$work/k$1.yaml" >/dev/null
  for ns in $(grep -h '^  namespace:' "$work/k$1"/instances/*.yaml | awk '{print $2}' | sort -u); do
    "$kubectl" wait -n "$ns" --for=condition=Available --timeout=2m deployment --all >/dev/null
  done
  echo $(( $(now_ms) - t0 ))
}

: > "$work/a"; : > "$work/b"
for i in $(seq 1 "$runs"); do
  if (( i % 2 )); then run_direct "$i" >> "$work/a"; run_kubectl "$i" >> "$work/b"
  else run_kubectl "$i" >> "$work/b"; run_direct "$i" >> "$work/a"; fi
done
a=$(median < "$work/a"); b=$(median < "$work/b")
echo "direct apply+wait (typekro):   $(tr '\n' ' ' < "$work/a")ms  median ${a}ms"
echo "kubectl apply --server-side + wait: $(tr '\n' ' ' < "$work/b")ms  median ${b}ms"
awk -v a="$a" -v b="$b" 'BEGIN {printf "ratio typekro/kubectl: %.2f\n", a/b}'
xargs -r "$kubectl" delete namespace --wait=false < "$work/namespaces" >/dev/null
