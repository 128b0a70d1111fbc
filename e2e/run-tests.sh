#!/usr/bin/env bash
# Runs the e2e suite; top-level tests that fail are run once more, alone.
#
# Why: on this 2-core test cluster the kube-controller-manager now and then
# never updates a Deployment's availableReplicas although kwok marked every
# pod Ready (seen about once in 15 full runs, with and without KEP-5647's
# consistency checks; pods and KRO behave). typekro then correctly times out.
# A test that fails twice fails the run; a test that passes on the rerun is
# reported as FLAKY on stderr so it stays visible.
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"${GO:-go}" test -count=1 -timeout 20m "$@" ./... 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] && exit 0
failed=$(sed -n 's/^--- FAIL: \([A-Za-z0-9_]*\) .*/\1/p' "$log" | sort -u | paste -sd'|')
if [ -z "$failed" ] || grep -qE '^(panic:|FAIL\s.*\[build failed\]|FAIL\s.*\[setup failed\])' "$log"; then
  exit "$rc"
fi
echo "e2e: rerunning failed tests once: $failed" >&2
if "${GO:-go}" test -count=1 -timeout 20m "$@" -run "^($failed)\$" ./... ; then
  echo "e2e: FLAKY (failed, then passed alone): $failed" >&2
  exit 0
fi
exit 1
