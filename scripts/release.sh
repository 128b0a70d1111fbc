#!/usr/bin/env bash
# Builds the release archives and the krew manifest.
#
#   VERSION=v0.1.0 scripts/release.sh
#
# For each platform: a static binary (CGO off, -trimpath) and LICENSE in
# dist/kubectl-typekro_<os>_<arch>.tar.gz, packed reproducibly (sorted
# names, fixed owner and mtime, gzip without a timestamp), so the same
# source and Go version give the same sha256. Then the krew manifest
# (krew.googlecontainertools.github.com/v1alpha2 Plugin) with every
# platform's URI and sha256 is written to MANIFEST.
#
# Environment:
#   VERSION    release version, vMAJOR.MINOR.PATCH[-pre] (required; krew wants semver)
#   PLATFORMS  default "linux/amd64 linux/arm64 darwin/amd64 darwin/arm64"
#   DIST       output directory (default dist)
#   MANIFEST   krew manifest to write (default plugins/krew.yaml)
#   URL_BASE   where the archives are published
#              (default https://github.com/typekro/kubectl-typekro/releases/download/$VERSION)
#   GO         go command (default go)
set -euo pipefail

cd "$(dirname "$0")/.."
: "${VERSION:?set VERSION, e.g. VERSION=v0.1.0}"
if ! [[ $VERSION =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
	echo "release: VERSION must be semver with a leading v (vMAJOR.MINOR.PATCH), not $VERSION" >&2
	exit 2
fi
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}
DIST=${DIST:-dist}
MANIFEST=${MANIFEST:-plugins/krew.yaml}
URL_BASE=${URL_BASE:-https://github.com/typekro/kubectl-typekro/releases/download/$VERSION}
GO=${GO:-go}
export GOTOOLCHAIN=local CGO_ENABLED=0

mkdir -p "$DIST"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

platforms_yaml=""
for p in $PLATFORMS; do
	os=${p%/*}
	arch=${p#*/}
	name=kubectl-typekro_${os}_${arch}
	echo "release: $name ($VERSION)" >&2
	rm -rf "${stage:?}/$name" && mkdir -p "$stage/$name"
	GOOS=$os GOARCH=$arch "$GO" build -trimpath \
		-ldflags "-s -w -X github.com/typekro/kubectl-typekro/internal/cli.Version=$VERSION" \
		-o "$stage/$name/kubectl-typekro" ./cmd/kubectl-typekro
	cp LICENSE "$stage/$name/LICENSE"
	chmod 0755 "$stage/$name/kubectl-typekro"
	chmod 0644 "$stage/$name/LICENSE"
	tar --sort=name --mtime='1970-01-01 00:00:00Z' --owner=0 --group=0 --numeric-owner \
		-C "$stage/$name" -cf - LICENSE kubectl-typekro | gzip -n -9 >"$DIST/$name.tar.gz"
	sha=$(sha256sum "$DIST/$name.tar.gz" | cut -d' ' -f1)
	platforms_yaml+="  - selector:
      matchLabels:
        os: $os
        arch: $arch
    uri: $URL_BASE/$name.tar.gz
    sha256: $sha
    bin: kubectl-typekro
"
done
(cd "$DIST" && sha256sum kubectl-typekro_*.tar.gz >checksums.txt)

mkdir -p "$(dirname "$MANIFEST")"
cat >"$MANIFEST" <<EOF
# krew plugin manifest, written by \`make release VERSION=...\` (scripts/release.sh):
# submit it to krew-index as plugins/typekro.yaml with the release's archives.
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: typekro
spec:
  version: $VERSION
  homepage: https://github.com/typekro/kubectl-typekro
  shortDescription: Validate, render and deploy KRO ResourceGraphDefinitions
  description: |
    typekro turns typed Compositions (and plain KRO ResourceGraphDefinitions)
    into RGDs plus instance manifests, checked offline with KRO's own graph
    builder: every CEL expression is type-checked against real schemas and
    every instance against its definition, with file, line and field in each
    error. It applies and waits for them, diffs them against the cluster,
    and renders for GitOps: a KRM function for kustomize, an Argo CD config
    management plugin and a layered tree for Flux.
  platforms:
EOF
printf '%s' "$platforms_yaml" >>"$MANIFEST"
echo "release: wrote $MANIFEST and $(echo "$PLATFORMS" | wc -w) archives in $DIST" >&2
