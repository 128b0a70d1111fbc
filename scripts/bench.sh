#!/usr/bin/env bash
# Start-up and whole-command timings of the built binary (median of N runs).
set -euo pipefail
bin=${1:-bin/kubectl-typekro}
runs=${RUNS:-20}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_ms() { # command... -> median wall time in ms
  for _ in $(seq "$runs"); do
    s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
    echo $(( (e - s) / 1000000 ))
  done | median
}
echo "kubectl-typekro version:           $(time_ms "$bin" version) ms (budget 30 ms, median of $runs)"
examples=(examples/webapp examples/database-stack examples/autoscaling examples/multi-env examples/conditional examples/cross-graph)
echo "validate the 6 guide examples:      $(time_ms "$bin" validate "${examples[@]}") ms"
echo "render examples/webapp:             $(time_ms "$bin" render examples/webapp) ms"
suite=$(mktemp -d); trap 'rm -rf "$suite"' EXIT; cp examples/webapp/composition.yaml "$suite/"; for i in $(seq -w 0 999); do printf -- '---\napiVersion: typekro.dev/v1alpha1\nkind: Test\nmetadata: {name: t%s}\nspec:\n  inputs: [composition.yaml]\n  instance: {apiVersion: example.com/v1alpha1, kind: KroWebApp, metadata: {name: w%s, namespace: ns}, spec: {name: w%s, image: nginx}}\n  observed: [{apiVersion: v1, kind: Service, metadata: {name: w%s-service, namespace: ns}, spec: {clusterIP: 10.0.0.1}}]\n  expect: {count: {Deployment: 1}, status: {url: http://10.0.0.1}}\n' $i $i $i $i; done >"$suite/tests.yaml"
echo "test examples/ ($("$bin" test examples/ | tail -1)):    $(time_ms "$bin" test examples/) ms; 1,000 generated tests: $(time_ms "$bin" test "$suite") ms (budget 2000 ms)"
