# Sourced by tests/cluster/build.sh: the real node's programs besides the kubelet (built with
# the control plane): containerd, its runc shim and ctr; CoreDNS; our NRI plugin; the pause
# program of the sandbox image. They go into their own cache directory, keyed by their versions.
# shellcheck source=versions.env
source "$HERE/node/versions.env"
NODE_OUT="$JKF_CACHE/node_containerd-${CONTAINERD_VERSION}_coredns-${COREDNS_VERSION}_nri-${NRI_VERSION}"
NODE_BIN="$NODE_OUT/bin"
mkdir -p "$NODE_BIN"

node_go_install() {  # TAGS VERSION MODULE PKG...: go install each missing package of MODULE
  local tags=$1 ver=$2 mod=$3; shift 3
  local missing=() c
  for c in "$@"; do [[ -x "$NODE_BIN/$(basename "$c")" ]] || missing+=("$mod/$c@$ver"); done
  (( ${#missing[@]} )) || { log "$mod: cached"; return; }
  log "$mod $ver: ${missing[*]}"
  (cd "$WORK" && GOBIN="$NODE_BIN" "$GO" install -p "$JOBS" -trimpath -tags "$tags" \
     -ldflags "-s -w -X $mod/version.Version=$ver" "${missing[@]}")
}
# containerd's btrfs snapshotter needs cgo; the node uses overlayfs.
node_go_install no_btrfs "$CONTAINERD_VERSION" github.com/containerd/containerd/v2 \
  cmd/containerd cmd/containerd-shim-runc-v2 cmd/ctr

if [[ ! -x "$NODE_BIN/coredns" ]]; then
  log "coredns $COREDNS_VERSION"
  (cd "$WORK" && GOBIN="$NODE_BIN" "$GO" install -p "$JOBS" -trimpath -ldflags "-s -w" \
     "github.com/coredns/coredns@$COREDNS_VERSION")
else
  log "coredns: cached"
fi

# Our NRI plugin: built from a copy (go.sum is resolved in the copy, not in the repo).
nri_src="$HERE/node/nri"
nri_sum=$(cat "$nri_src"/*.go "$nri_src/go.mod" | sha256sum | cut -c1-12)
if [[ ! -x "$NODE_BIN/nri-hostpython-$nri_sum" ]]; then
  log "nri plugin ($nri_sum)"
  d="$WORK/nri"; rm -rf "$d"; mkdir -p "$d"; cp "$nri_src"/*.go "$nri_src/go.mod" "$d/"
  (cd "$d" && "$GO" get "github.com/containerd/nri@$NRI_VERSION" && \
     "$GO" build -p "$JOBS" -trimpath -ldflags "-s -w" -o "$NODE_BIN/nri-hostpython-$nri_sum" .)
  ln -sf "nri-hostpython-$nri_sum" "$NODE_BIN/nri-hostpython"
fi

# The sandbox ("pause") program: static, so its image needs no libraries.
pause_src="$HERE/node/pause.c"
pause_sum=$(sha256sum < "$pause_src" | cut -c1-12)
if [[ ! -x "$NODE_BIN/pause-$pause_sum" ]]; then
  log "pause ($pause_sum)"
  gcc -static -O2 -o "$NODE_BIN/pause-$pause_sum" "$pause_src"
  ln -sf "pause-$pause_sum" "$NODE_BIN/pause"
fi
