#!/usr/bin/env bash
# Offline checks of deploy/: renders every Kubernetes overlay with kustomize,
# validates the result with kubeconform -strict against the JSON schemas
# committed in deploy/k8s/schemas (no network), and verifies the systemd
# units with systemd-analyze where it exists. `go test ./deploy/` runs this
# script and adds the Compose and Dockerfile checks (compose-go, BuildKit's
# parser) and policy checks on the rendered manifests.
#
#   deploy/check.sh              check
#   deploy/check.sh --out DIR    also keep the rendered manifests in DIR
#
# kustomize and kubeconform are installed with `go install` (into
# $(go env GOBIN) or $(go env GOPATH)/bin) when missing or at another
# version. Exit status: 0 all good, 1 a check failed, 2 bad usage, 3 a tool
# could not be installed (no network): the Go test fails on that with
# CI=true and skips otherwise.
set -euo pipefail

KUSTOMIZE_VERSION=v5.8.2
KUBECONFORM_VERSION=v0.8.0
# The Kubernetes version of the committed schemas (see
# deploy/k8s/schemas/*/PROVENANCE and deploy/k8s/tools/genschemas).
K8S_VERSION=1.35.4

here="$(cd "$(dirname "$0")" && pwd)"
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || { echo "check.sh: --out needs a directory" >&2; exit 2; }; out="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "check.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

gobin="$(go env GOBIN)"
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"

# ensure NAME MODULE PACKAGE VERSION: $gobin/NAME built from MODULE@VERSION.
ensure() {
  local bin="$gobin/$1"
  if [ -x "$bin" ] && go version -m "$bin" 2>/dev/null |
      awk -v m="$2" -v v="$4" '$1 == "mod" && $2 == m && $3 == v { ok = 1 } END { exit !ok }'; then
    return 0
  fi
  echo "== installing $1 $4: go install $3@$4"
  if ! (cd / && GOFLAGS=-buildvcs=false go install "$3@$4"); then
    echo "check.sh: could not install $1 $4 (no network to the Go module proxy?)" >&2
    exit 3
  fi
}
ensure kustomize sigs.k8s.io/kustomize/kustomize/v5 sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"
ensure kubeconform github.com/yannh/kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"
kustomize="$gobin/kustomize"
kubeconform="$gobin/kubeconform"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dest="${out:-$work/rendered}"
mkdir -p "$dest"

echo "== kustomize $KUSTOMIZE_VERSION: rendering deploy/k8s"
# Render a copy in which every overlay uses its secrets.env.example: the
# check never reads (or keeps in --out) a real secrets.env.
cp -R "$here/k8s/base" "$here/k8s/overlays" "$work/"
"$kustomize" build "$work/base" > "$dest/base.yaml"
echo "rendered base: $(grep -c '^kind:' "$dest/base.yaml") resources"
overlays=0
for dir in "$work"/overlays/*/; do
  name="$(basename "$dir")"
  cp "$dir/secrets.env.example" "$dir/secrets.env"
  "$kustomize" build "$dir" > "$dest/$name.yaml"
  echo "rendered overlay $name: $(grep -c '^kind:' "$dest/$name.yaml") resources"
  overlays=$((overlays + 1))
done
[ "$overlays" -ge 2 ] || { echo "check.sh: expected at least two overlays, found $overlays" >&2; exit 1; }

echo "== kubeconform $KUBECONFORM_VERSION: -strict, Kubernetes $K8S_VERSION, committed schemas only"
# Only the local schema location: a kind without a committed schema fails
# ("could not find schema"), nothing is fetched.
"$kubeconform" -strict -summary -output text \
  -kubernetes-version "$K8S_VERSION" \
  -schema-location "$here/k8s/schemas/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
  "$dest"/*.yaml

echo "== systemd units"
if command -v systemd-analyze >/dev/null 2>&1; then
  # verify insists that ExecStart exists: point it at a stub, nothing else
  # changes. Unknown keys and bad values only warn, so any output fails.
  mkdir -p "$work/systemd/bin"
  printf '#!/bin/sh\nexit 0\n' > "$work/systemd/bin/shortstock"
  chmod +x "$work/systemd/bin/shortstock"
  units=()
  for unit in "$here"/systemd/*@.service; do
    base="$(basename "$unit")"
    sed "s#/usr/local/bin/shortstock#$work/systemd/bin/shortstock#g" "$unit" > "$work/systemd/$base"
    units+=("$work/systemd/${base%@.service}@check.service")
  done
  msgs="$(cd "$work/systemd" && systemd-analyze verify --man=no "${units[@]}" 2>&1)" || {
    echo "$msgs" >&2; echo "check.sh: systemd-analyze verify failed" >&2; exit 1; }
  if [ -n "$msgs" ]; then echo "$msgs" >&2; echo "check.sh: systemd-analyze verify warned" >&2; exit 1; fi
  echo "systemd-analyze verify: ${#units[@]} units ok"
  # Exposure score on 0-10 (threshold in tenths): fail above 2.5.
  if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
    for u in "${units[@]}"; do
      (cd "$work/systemd" && systemd-analyze security --offline=true --threshold=25 --no-pager "$u" |
        tail -n 1) || { echo "check.sh: $(basename "$u") exposure above 2.5 (of 10)" >&2; exit 1; }
    done
  fi
else
  echo "systemd-analyze not found: skipped (structural checks run in go test ./deploy/)"
fi

echo "== deploy checks passed"
