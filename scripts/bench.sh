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
