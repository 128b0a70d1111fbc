#!/usr/bin/env bash
# test-repeat.sh N [COMMIT]: `make test` (via .ci/run) N times in a row, each on
# a fresh clone of COMMIT (default HEAD) with the tools cache linked in, as CI
# has it; stops at the first failure. One line per run in
# $OUT/summary.txt, each run's log in $OUT/run-N.log (OUT=/tmp/typekro-runs).
# Issue 10's "make test passes 10 times in a row on a clean clone".
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
n=$1
commit=$(git -C "$root" rev-parse --short "${2:-HEAD}")
out=${OUT:-/tmp/typekro-runs}
mkdir -p "$out"
for i in $(seq "$n"); do
  d=$out/clone-$i
  rm -rf "$d"
  git clone -q "$root" "$d" && git -C "$d" checkout -q "$commit" || exit 2
  mkdir -p "$d/.cache" && ln -s "$root/.cache/tools" "$d/.cache/tools"
  s=$(date +%s)
  (cd "$d" && bash .ci/run) >"$out/run-$i.log" 2>&1
  rc=$?
  echo "run $i commit $commit rc=$rc $(($(date +%s) - s))s load=$(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%H:%M)" | tee -a "$out/summary.txt"
  [ $rc -ne 0 ] && exit 1
  rm -rf "$d"
done
