#!/usr/bin/env bash
# Build every binary of the tests/cluster control plane from Go modules into
#   ${JKF_CACHE:-~/.cache/jupyter-kf/cluster}/<versions>/bin
# and extract the training operator's CRDs and KWOK's stock stages next to it.
# Idempotent: anything already built is skipped, so a warm run takes about a second.
# Prints the bin directory on the last line of stdout.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$HERE/versions.env"

: "${JKF_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/jupyter-kf/cluster}"
KEY="k8s-${KUBE_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_to-${TRAINING_OPERATOR_VERSION}"
OUT="$JKF_CACHE/$KEY"
BIN="$OUT/bin"
WORK="$OUT/work"

# One cache directory for CI to keep: module downloads and the Go build cache live under
# $JKF_CACHE/go unless the caller already chose its own.
export GOMODCACHE="${JKF_GOMODCACHE:-$JKF_CACHE/go/mod}"
export GOCACHE="${JKF_GOCACHE:-$JKF_CACHE/go/build}"
# Fail clearly instead of fetching another Go toolchain; server binaries are static.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
# -p: parallel compile jobs. 2 cores here; the k8s link steps peak at a few GiB each.
JOBS=${JKF_BUILD_JOBS:-$(nproc)}

mkdir -p "$BIN" "$WORK"
log() { printf '[build %s] %s\n' "$(date +%T)" "$*" >&2; }

# Module download of one exact version; prints its extracted directory.
moddir() { (cd "$WORK" && "$GO" mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'); }

build_kube() {
  local cmds=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet) missing=() c
  for c in "${cmds[@]}"; do [[ -x "$BIN/$c" ]] || missing+=("$c"); done
  (( ${#missing[@]} )) || { log "kubernetes: cached"; return; }
  log "kubernetes $KUBE_VERSION: ${missing[*]}"
  # k8s.io/kubernetes replaces its k8s.io/* staging modules with ./staging/src/...; a
  # dependent module must replace each with the published v0.X.Y instead. Generate the
  # list from the tag's own go.mod so it is always exact.
  local kmod sv d minor
  kmod=$(cd "$WORK" && "$GO" mod download -json "k8s.io/kubernetes@$KUBE_VERSION" \
         | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  if grep -E '=>[[:space:]]+[^.[:space:]]' "$kmod" | grep -v '=> ./staging' >/dev/null; then
    log "k8s go.mod has a non-staging replace; copy it into the wrapper:"; grep -E '=>' "$kmod" >&2; exit 1
  fi
  sv="v0.${KUBE_VERSION#v1.}"
  d="$WORK/kube"; rm -rf "$d"; mkdir -p "$d"
  {
    echo "module jupyter-kf.test/cluster/kube"; echo
    grep -E '^(go|godebug) ' "$kmod"; echo
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$kmod" \
      | while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$sv"; done
    echo ")"
  } > "$d/go.mod"
  local tools=() pkgs=()
  for c in "${missing[@]}"; do tools+=("k8s.io/kubernetes/cmd/$c@$KUBE_VERSION"); pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  # -tool records the dependency (a wrapper has no Go code, so nothing else would keep it).
  (cd "$d" && "$GO" get -tool "${tools[@]}")
  minor=$(cut -d. -f2 <<<"$KUBE_VERSION")
  local ld=() p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=("-X $p.gitVersion=$KUBE_VERSION" "-X $p.gitMajor=1" "-X $p.gitMinor=$minor"
         "-X $p.gitTreeState=clean" "-X $p.buildDate=1970-01-01T00:00:00Z")
  done
  (cd "$d" && "$GO" build -p "$JOBS" -trimpath -ldflags "-s -w ${ld[*]}" -o "$BIN/" "${pkgs[@]}")
}

build_etcd() {
  [[ -x "$BIN/etcd" ]] && { log "etcd: cached"; return; }
  log "etcd $ETCD_VERSION"
  # go.etcd.io/etcd/server/v3 has ../api-style replaces, so `go install` of it fails;
  # a wrapper main package calling etcdmain.Main builds the same binary.
  local d="$WORK/etcd"; rm -rf "$d"; mkdir -p "$d"
  printf 'module jupyter-kf.test/cluster/etcd\n\ngo 1.26.0\n' > "$d/go.mod"
  cat > "$d/main.go" <<'GO'
// Command etcd is the upstream etcd server, built from its Go module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$d" && "$GO" get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" && \
     "$GO" build -p "$JOBS" -trimpath -ldflags "-s -w" -o "$BIN/etcd" .)
}

go_install() {  # name module/cmd@version
  [[ -x "$BIN/$1" ]] && { log "$1: cached"; return; }
  log "$1: go install $2"
  (cd "$WORK" && GOBIN="$BIN" "$GO" install -p "$JOBS" -trimpath -ldflags "-s -w" "$2")
}

build_kube
build_etcd
go_install kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
go_install training-operator.v1 "github.com/kubeflow/training-operator/cmd/training-operator.v1@$TRAINING_OPERATOR_VERSION"

# Manifests shipped inside the modules: the operator's CRDs, RBAC and webhook config, and
# KWOK's stock stages, CRDs and RBAC. up.sh reads them from here.
if [[ ! -f "$OUT/manifests/.done" ]]; then
  log "manifests"
  to=$(moddir "github.com/kubeflow/training-operator@$TRAINING_OPERATOR_VERSION")
  kw=$(moddir "sigs.k8s.io/kwok@$KWOK_VERSION")
  m="$OUT/manifests"; rm -rf "$m"; mkdir -p "$m/training-operator" "$m/kwok"
  cp -r "$to/manifests/base/crds" "$to/manifests/base/rbac" "$to/manifests/base/webhook" "$m/training-operator/"
  rm -f "$m/training-operator/crds/kustomization.yaml"
  cp -r "$kw/kustomize/stage" "$kw/kustomize/crd" "$kw/kustomize/rbac" "$m/kwok/"
  chmod -R u+w "$m"
  touch "$m/.done"
fi

# Kubeflow Trainer v2 and JobSet (their own versions and cache key), then the real node's
# components (kubelet is built with the control plane above).
# shellcheck source=trainer/build.sh
if [[ -f "$HERE/trainer/build.sh" ]]; then source "$HERE/trainer/build.sh"; fi
# shellcheck source=node/build.sh
source "$HERE/node/build.sh"

log "done: $BIN"
echo "$BIN"
