# Sourced by tests/cluster/build.sh (uses its GO, JOBS, WORK, JKF_CACHE, log, moddir and the
# Go environment it exports). Builds the Kubeflow Trainer controller manager and the JobSet
# controller manager from their Go modules into
#   $JKF_CACHE/trainer-<version>_jobset-<version>/bin
# and copies the manifests up.sh needs (CRDs, RBAC, webhook configurations, the stock
# ClusterTrainingRuntimes) into manifests/ beside it. Skips whatever is already there.
# shellcheck shell=bash
# shellcheck source=versions.env
source "$HERE/trainer/versions.env"

if [[ "$JKF_TRAINER" == 0 ]]; then
  log "trainer, jobset: skipped (JKF_TRAINER=0)"
else
  TR_OUT="$JKF_CACHE/trainer-${TRAINER_VERSION}_jobset-${JOBSET_VERSION}"
  mkdir -p "$TR_OUT/bin"

  # tr_install NAME LDFLAGS PACKAGE VERSION: `go install PACKAGE@VERSION` would ask the
  # proxy for the module's version list (deprecation check), which the proxy refuses for
  # these modules; a wrapper module per binary that requires only that module at that
  # version builds the same thing, with upstream's go.mod deciding every dependency.
  # Neither module has replace directives. The seconds each build took go to build-times
  # (the README quotes the cold numbers).
  tr_install() {
    [[ -x "$TR_OUT/bin/$1" ]] && { log "$1: cached"; return; }
    log "$1: $3@$4"
    local t0=$SECONDS d="$WORK/tr-$1"
    rm -rf "$d"; mkdir -p "$d"
    printf 'module jupyter-kf.test/cluster/%s\n\ngo 1.26.0\n' "$1" > "$d/go.mod"
    (cd "$d" && "$GO" get -tool "$3@$4" && \
       "$GO" build -p "$JOBS" -trimpath -ldflags "-s -w $2" -o "$TR_OUT/bin/$1" "$3")
    echo "$1 $((SECONDS - t0))s $(date -u +%FT%TZ)" >> "$TR_OUT/build-times"
  }

  # JobSet reports its version from these (upstream's Makefile sets them the same way).
  tr_jobset_commit=$(cd "$WORK" && "$GO" mod download -json "sigs.k8s.io/jobset@$JOBSET_VERSION" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin).get("Origin", {}).get("Hash", "unknown"))')
  tr_install jobset \
    "-X sigs.k8s.io/jobset/pkg/version.GitVersion=$JOBSET_VERSION -X sigs.k8s.io/jobset/pkg/version.GitCommit=$tr_jobset_commit" \
    sigs.k8s.io/jobset "$JOBSET_VERSION"
  # The Trainer's status server (TrainJobStatus gate) reads its serving certificate from
  # the hard-coded /tmp/k8s-webhook-server/serving-certs, a directory every cluster on the
  # machine would share. Made relative here, it resolves against the working directory
  # up.sh gives the process: the same per-cluster directory its webhook server reads
  # through TMPDIR. Nothing else about the build differs from upstream.
  tr_install trainer-controller-manager \
    "-X github.com/kubeflow/trainer/v2/pkg/util/cert.certDir=k8s-webhook-server/serving-certs" \
    github.com/kubeflow/trainer/v2/cmd/trainer-controller-manager "$TRAINER_VERSION"

  if [[ ! -f "$TR_OUT/manifests/.done" ]]; then
    log "trainer, jobset: manifests"
    tr_t=$(moddir "github.com/kubeflow/trainer/v2@$TRAINER_VERSION")
    tr_j=$(moddir "sigs.k8s.io/jobset@$JOBSET_VERSION")
    tr_m="$TR_OUT/manifests"; rm -rf "$tr_m"
    mkdir -p "$tr_m/trainer/crds" "$tr_m/trainer/base" "$tr_m/trainer/overlays" "$tr_m/jobset/crds"
    # CRDs only (not the kustomizations beside them), so `kubectl apply -f DIR` takes them.
    cp "$tr_t"/manifests/base/crds/*.yaml "$tr_m/trainer/crds/"
    rm -f "$tr_m/trainer/crds/kustomization.yaml"
    cp "$tr_j"/config/components/crd/bases/*.yaml "$tr_m/jobset/crds/"
    # The stock runtimes as the community install applies them: overlays/runtimes pins the
    # images to the release and labels them out of the runtime validation webhook.
    cp -r "$tr_t/manifests/base/runtimes" "$tr_t/manifests/base/rbac" "$tr_t/manifests/base/webhook" "$tr_m/trainer/base/"
    cp -r "$tr_t/manifests/overlays/runtimes" "$tr_m/trainer/overlays/"
    cp -r "$tr_j/config/components/rbac" "$tr_j/config/components/webhook" "$tr_m/jobset/"
    chmod -R u+w "$tr_m"
    touch "$tr_m/.done"
  fi
fi
