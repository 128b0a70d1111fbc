#!/usr/bin/env bash
# Whole-command timings of the built binary against typekro's performance
# budgets (issue 13): one line per budget, "measured vs budget", then ok or
# MISSES.
# Wall time and CPU time are medians of N runs, peak RSS the largest of them
# (/usr/bin/time -f). Start-up is compared with `kubectl version --client`, run
# alternately with it so both see the same machine load.
#
# Usage: scripts/bench.sh [kubectl-typekro] [kubectl]
#   RUNS=20 (start-up, fn, small renders), HEAVY_RUNS=5 (1,000/10,000 instances),
#   KUSTOMIZE=path also times `kustomize build` of the 1,000-instance objects
#   (kustomize's own cost, no budget; ~20 s).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$root/bin/kubectl-typekro}")
kubectl=${2:-${KUBECTL:-$(ls "$root"/.cache/tools/k8s-*/bin/kubectl 2>/dev/null | head -1)}}
runs=${RUNS:-20}
heavy=${HEAVY_RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
maximum() { sort -g | tail -1; }

# measure N command... -> "wall_s cpu_s peak_mb" (medians; peak: max); stdout to $work/out
measure() {
  local n=$1; shift
  : >"$work/t"
  for _ in $(seq "$n"); do
    /usr/bin/time -o "$work/t1" -f '%e %U %S %M' "$@" >"$work/out" 2>"$work/err" ||
      { echo "failed: $*" >&2; cat "$work/err" >&2; exit 1; }
    cat "$work/t1" >>"$work/t"
  done
  echo "$(awk '{print $1}' "$work/t" | median) $(awk '{print $2+$3}' "$work/t" | median) $(awk '{print int($4/1024)}' "$work/t" | maximum)"
}

# start-up in ms, median of alternating runs, from a nanosecond clock
# (/usr/bin/time prints 10 ms steps)
startup() { # -> "typekro_ms kubectl_ms"
  : >"$work/a"; : >"$work/b"
  for _ in $(seq "$runs"); do
    s=$(date +%s%N); "$bin" version >/dev/null; e=$(date +%s%N); echo $(((e - s) / 1000)) >>"$work/a"
    s=$(date +%s%N); "$kubectl" version --client >/dev/null; e=$(date +%s%N); echo $(((e - s) / 1000)) >>"$work/b"
  done
  echo "$(median <"$work/a") $(median <"$work/b")"
}

verdict() { awk -v m="$1" -v b="$2" 'BEGIN {print (m <= b) ? "ok" : "MISSES"}'; }

go run ./internal/benchinputs/gen "$work/fleet1k" 1000
go run ./internal/benchinputs/gen "$work/fleet10k" 10000

read -r w c m < <(measure "$heavy" "$bin" render --mode direct "$work/fleet1k")
objs=$(grep -c '^kind:' "$work/out")
printf 'render --mode direct, 1,000 instances (%d objects):   %5.2f s wall, %5.2f s CPU, %4d MB peak  (no budget)\n' "$objs" "$w" "$c" "$m"
cp "$work/out" "$work/fleet1k.yaml"

read -r w c m < <(measure "$heavy" "$bin" render --mode direct "$work/fleet10k")
objs=$(grep -c '^kind:' "$work/out")
printf 'render --mode direct, 10,000 instances (%d objects): %5.2f s wall, %5.2f s CPU, %4d MB peak  (budget 2 s: %s, 400 MB: %s)\n' \
  "$objs" "$w" "$c" "$m" "$(verdict "$w" 2)" "$(verdict "$m" 400)"

read -r w c m < <(measure "$heavy" "$bin" render "$work/fleet10k")
printf 'render (kro mode), 10,000 instances:                 %5.2f s wall, %5.2f s CPU, %4d MB peak  (budget 0.5 s: %s)\n' \
  "$w" "$c" "$m" "$(verdict "$w" 0.5)"

read -r a b < <(startup)
ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a/b}')
printf 'kubectl-typekro version vs kubectl version --client: %5.1f ms vs %5.1f ms = %s  (budget 0.5: %s; median of %d)\n' \
  "$(awk -v a="$a" 'BEGIN {print a/1000}')" "$(awk -v b="$b" 'BEGIN {print b/1000}')" "$ratio" "$(verdict "$ratio" 0.5)" "$runs"

gen=pkg/kustomize/testdata/generator
: >"$work/f"
for _ in $(seq "$runs"); do
  s=$(date +%s%N); (cd "$gen" && "$bin" fn <input.yaml >/dev/null); e=$(date +%s%N); echo $(((e - s) / 1000)) >>"$work/f"
done
fn=$(median <"$work/f")
# The ratio to kubectl's start-up (measured above) tells a slower machine
# from a slower fn; the budget itself is absolute.
printf 'fn on a small ResourceList (%s):   %5.1f ms = %s x kubectl version  (budget 35 ms: %s; median of %d)\n' \
  "$gen" "$(awk -v a="$fn" 'BEGIN {print a/1000}')" "$(awk -v a="$fn" -v b="$b" 'BEGIN {printf "%.2f", a/b}')" "$(verdict "$fn" 35000)" "$runs"

if [ -n "${KUSTOMIZE:-}" ]; then
  mkdir -p "$work/kust"
  cp "$work/fleet1k.yaml" "$work/kust/objects.yaml"
  printf 'resources: [objects.yaml]\n' >"$work/kust/kustomization.yaml"
  read -r w c m < <(measure 1 "$KUSTOMIZE" build "$work/kust")
  printf 'kustomize build of the same %d plain objects:        %5.2f s wall, %5.2f s CPU, %4d MB peak  (kustomize'"'"'s own cost)\n' \
    "$(grep -c '^kind:' "$work/kust/objects.yaml")" "$w" "$c" "$m"
fi

examples=(examples/webapp examples/database-stack examples/autoscaling examples/multi-env examples/conditional examples/cross-graph)
read -r w _ _ < <(measure "$runs" "$bin" validate "${examples[@]}")
printf 'validate the 6 guide examples:                       %5.2f s wall\n' "$w"
read -r w _ _ < <(measure "$runs" "$bin" render examples/webapp)
printf 'render examples/webapp:                              %5.2f s wall\n' "$w"
suite="$work/suite"; mkdir -p "$suite"; cp examples/webapp/composition.yaml "$suite/"
for i in $(seq -w 0 999); do printf -- '---\napiVersion: typekro.dev/v1alpha1\nkind: Test\nmetadata: {name: t%s}\nspec:\n  inputs: [composition.yaml]\n  instance: {apiVersion: example.com/v1alpha1, kind: KroWebApp, metadata: {name: w%s, namespace: ns}, spec: {name: w%s, image: nginx}}\n  observed: [{apiVersion: v1, kind: Service, metadata: {name: w%s-service, namespace: ns}, spec: {clusterIP: 10.0.0.1}}]\n  expect: {count: {Deployment: 1}, status: {url: http://10.0.0.1}}\n' $i $i $i $i; done >"$suite/tests.yaml"
read -r w c _ < <(measure "$heavy" "$bin" test examples/)
printf 'test examples/:                                      %5.2f s wall, %5.2f s CPU\n' "$w" "$c"
read -r w c _ < <(measure "$heavy" "$bin" test "$suite")
printf 'test, 1,000 generated tests:                         %5.2f s wall, %5.2f s CPU  (budget 2 s: %s)\n' "$w" "$c" "$(verdict "$w" 2)"
