#!/usr/bin/env bash
# Start the tests/cluster control plane as local processes:
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, the KWOK controller
#   (fake nodes and kubelets) and the Kubeflow training operator v1,
# with a real CA, per-component identities, --authorization-mode=Node,RBAC, then create
# the fake nodes, install the operator's CRDs and wait until everything is ready.
#
# State (certificates, kubeconfigs, logs, pid files, etcd data) lives in
# ${JKF_CLUSTER_DIR:-tests/cluster/.run}; it is wiped at every start.
# The last line of stdout is `export KUBECONFIG=<admin kubeconfig>`.
# Needs the binaries from build.sh (run it first; it is a no-op when they are cached).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$HERE/versions.env"
# shellcheck source=node/versions.env
source "$HERE/node/versions.env"

: "${JKF_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/jupyter-kf/cluster}"
KEY="k8s-${KUBE_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_to-${TRAINING_OPERATOR_VERSION}"
OUT="$JKF_CACHE/$KEY"
B="$OUT/bin"
M="$OUT/manifests"
S="${JKF_CLUSTER_DIR:-$HERE/.run}"
mkdir -p "$S"; S=$(cd "$S" && pwd)
P="$S/pki"
# How long to wait for each component to become ready.
: "${JKF_READY_TIMEOUT:=180}"

T0=$(date +%s%N)
log() { local ms=$(( ($(date +%s%N) - T0) / 1000000 )); printf '[up %3d.%01ds] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok training-operator.v1; do
  [[ -x "$B/$b" ]] || die "$B/$b is missing: run tests/cluster/build.sh first"
done
[[ -f "$M/.done" ]] || die "$M is missing: run tests/cluster/build.sh first"
for c in openssl curl; do command -v "$c" >/dev/null || die "$c not found (see tests/cluster/apt-packages.txt)"; done

# --- already running? -------------------------------------------------------------------
alive() { [[ -f "$S/pids/$1" ]] && kill -0 "$(cat "$S/pids/$1")" 2>/dev/null; }
if [[ -d "$S/pids" ]] && compgen -G "$S/pids/*" >/dev/null; then
  running=()
  for f in "$S"/pids/*; do alive "$(basename "$f")" && running+=("$(basename "$f")"); done
  if (( ${#running[@]} == $(wc -l < "$S/start-order" 2>/dev/null || echo 0) )) && [[ -f "$S/ready" ]]; then
    log "already running (${running[*]})"
    echo "export KUBECONFIG=$S/admin.kubeconfig"
    exit 0
  fi
  (( ${#running[@]} == 0 )) || die "a partial cluster is running (${running[*]}): run tests/cluster/down.sh"
fi

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$JKF_ETCD_PORT" "$JKF_ETCD_PEER_PORT" "$JKF_API_PORT" "$JKF_KCM_PORT" "$JKF_SCHED_PORT" \
         "$JKF_KWOK_PORT" "$JKF_OPERATOR_WEBHOOK_PORT" "$JKF_OPERATOR_HEALTH_PORT" "$JKF_OPERATOR_METRICS_PORT"; do
  port_free "$p" || die "127.0.0.1:$p is in use (another cluster? set JKF_*_PORT, see versions.env)"
done

# Wipe the state directory, but only one this script made (guards against a mistyped
# JKF_CLUSTER_DIR such as $HOME).
if [[ -n "$(ls -A "$S")" && ! -f "$S/.jkf-cluster" && ! -f "$S/pki/ca.crt" ]]; then
  die "$S is not empty and was not made by up.sh; refusing to wipe it (set JKF_CLUSTER_DIR)"
fi
rm -rf "$S"
mkdir -p "$P" "$S/logs" "$S/pids" "$S/home" "$S/kwok/logs" "$S/operator-tmp"
touch "$S/.jkf-cluster"

# --- PKI ----------------------------------------------------------------------------------
# One CA signs every serving and client certificate. Client identities are the user names
# and groups RBAC knows: system:masters for the admin, system:kube-controller-manager and
# system:kube-scheduler (bound by the bootstrap policy), kwok-controller (bound below to
# KWOK's upstream ClusterRole). The training operator authenticates as its ServiceAccount.
log "certificates"
openssl_q() { openssl "$@" 2>/dev/null; }
# ECDSA P-256 keys (RSA key generation costs seconds on a busy 2-core machine), except for
# the operator's webhook pair below, which its cert rotator insists on parsing as RSA.
EC="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
# shellcheck disable=SC2086
openssl_q req -x509 $EC -nodes -days 3650 -subj "/CN=jupyter-kf-test-ca" \
  -keyout "$P/ca.key" -out "$P/ca.crt" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
# cert NAME SUBJECT EXTKEYUSAGE [SANS] [CA-NAME] [KEY-OPTIONS]
cert() {
  local n=$1 subj=$2 eku=$3 san=${4:-} ca=${5:-ca} key=${6:-$EC}
  # shellcheck disable=SC2086
  openssl_q req $key -nodes -subj "$subj" -keyout "$P/$n.key" -out "$P/$n.csr"
  { echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [[ -n "$san" ]] && echo "subjectAltName=$san"
  } > "$P/$n.ext"
  openssl_q x509 -req -in "$P/$n.csr" -CA "$P/$ca.crt" -CAkey "$P/$ca.key" -CAcreateserial \
    -days 3650 -extfile "$P/$n.ext" -out "$P/$n.crt"
  rm -f "$P/$n.csr" "$P/$n.ext"
}
LOOP_SAN="DNS:localhost,IP:127.0.0.1"
cert etcd-server "/CN=etcd-server" serverAuth "$LOOP_SAN"
cert apiserver-etcd-client "/CN=kube-apiserver-etcd-client" clientAuth
cert apiserver "/CN=kube-apiserver" serverAuth \
  "$LOOP_SAN,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1"
cert apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client" clientAuth
cert admin "/O=system:masters/CN=jupyter-kf-admin" clientAuth
cert kcm "/CN=system:kube-controller-manager" clientAuth
cert scheduler "/CN=system:kube-scheduler" clientAuth
cert kwok "/CN=kwok-controller" clientAuth
cert kwok-serving "/CN=kwok-kubelet" serverAuth "$LOOP_SAN"
# The training operator's webhook certificates, pre-seeded into its Secret. Its cert
# rotator (open-policy-agent/cert-controller) keeps them only if the CA verifies for the
# name "training-operator-ca" and the serving cert for "<service>.<namespace>.svc", both
# valid beyond its 90-day lookahead; otherwise it replaces them with its own.
openssl_q req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/O=training-operator/CN=training-operator-ca" \
  -keyout "$P/webhook-ca.key" -out "$P/webhook-ca.crt" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
  -addext "subjectAltName=DNS:training-operator-ca"
cert webhook "/CN=training-operator.kubeflow.svc" serverAuth "DNS:training-operator.kubeflow.svc,IP:127.0.0.1" \
  webhook-ca "-newkey rsa:2048"
# cert-controller parses the CA key with x509.ParsePKCS1PrivateKey: "RSA PRIVATE KEY" PEM.
for k in webhook-ca webhook; do openssl_q rsa -in "$P/$k.key" -out "$P/$k.key" -traditional; done
# Front proxy (aggregation layer) CA and client, as kubeadm sets them up: the apiserver
# publishes the request-header CA that KCM and the scheduler read at start.
# shellcheck disable=SC2086
openssl_q req -x509 $EC -nodes -days 3650 -subj "/CN=jupyter-kf-test-front-proxy-ca" \
  -keyout "$P/front-proxy-ca.key" -out "$P/front-proxy-ca.crt" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
cert front-proxy-client "/CN=front-proxy-client" clientAuth "" front-proxy-ca
openssl_q ecparam -name prime256v1 -genkey -noout -out "$P/sa.key"   # tokens signed ES256
openssl_q ec -in "$P/sa.key" -pubout -out "$P/sa.pub"
chmod 600 "$P"/*.key

API="https://127.0.0.1:$JKF_API_PORT"
kubeconfig() {  # NAME -> $S/NAME.kubeconfig authenticating with pki/NAME.{crt,key}
  cat > "$S/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: jupyter-kf-test
  cluster: {server: "$API", certificate-authority: "$P/ca.crt"}
users:
- name: $1
  user: {client-certificate: "$P/$1.crt", client-key: "$P/$1.key"}
contexts:
- name: $1@jupyter-kf-test
  context: {cluster: jupyter-kf-test, user: $1}
current-context: $1@jupyter-kf-test
EOF
}
for n in admin kcm scheduler kwok; do kubeconfig "$n"; done
export KUBECONFIG="$S/admin.kubeconfig"
kc() { "$B/kubectl" --kubeconfig "$S/admin.kubeconfig" "$@"; }

# --- process helpers ----------------------------------------------------------------------
# Each component runs in its own session (setsid), detached from this shell, with its
# stdout+stderr in logs/NAME.log and its pid in pids/NAME (down.sh reads those).
# The command line is also saved, shell-quoted, in cmd/NAME: plugin.py restarts a
# component from it (e.g. to take the apiserver away in the middle of a test).
start() {
  local n=$1; shift
  mkdir -p "$S/cmd"
  printf '%q ' env HOME="$S/home" "$@" > "$S/cmd/$n"
  env HOME="$S/home" setsid "$@" </dev/null >>"$S/logs/$n.log" 2>&1 &
  echo $! > "$S/pids/$n"
  echo "$n" >> "$S/start-order"
}
wait_for() {  # NAME CMD... : retry CMD until it succeeds, fail if NAME's process dies
  local n=$1; shift
  local deadline=$(( $(date +%s) + JKF_READY_TIMEOUT ))
  until "$@" >/dev/null 2>&1; do
    if [[ -f "$S/pids/$n" ]] && ! alive "$n"; then
      tail -n 30 "$S/logs/$n.log" >&2; die "$n exited"
    fi
    (( $(date +%s) < deadline )) || { tail -n 30 "$S/logs/$n.log" >&2; die "timed out waiting for $n"; }
    sleep 0.5
  done
}
on_exit() {
  [[ -f "$S/ready" ]] && return
  log "start failed; logs are in $S/logs; stopping what was started"
  bash "$HERE/down.sh" >&2 || true
}
trap on_exit EXIT

# --- etcd ---------------------------------------------------------------------------------
log "etcd"
start etcd "$B/etcd" --name=jkf --data-dir="$S/etcd" --log-level=warn \
  --listen-client-urls="https://127.0.0.1:$JKF_ETCD_PORT" --advertise-client-urls="https://127.0.0.1:$JKF_ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$JKF_ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$JKF_ETCD_PEER_PORT" \
  --initial-cluster="jkf=http://127.0.0.1:$JKF_ETCD_PEER_PORT" \
  --cert-file="$P/etcd-server.crt" --key-file="$P/etcd-server.key" --client-cert-auth --trusted-ca-file="$P/ca.crt" \
  --listen-metrics-urls="http://127.0.0.1:0" \
  --unsafe-no-fsync --snapshot-count=10000 --auto-compaction-mode=periodic --auto-compaction-retention=5m
wait_for etcd curl -sf --cacert "$P/ca.crt" --cert "$P/apiserver-etcd-client.crt" --key "$P/apiserver-etcd-client.key" \
  "https://127.0.0.1:$JKF_ETCD_PORT/health"

# --- kube-apiserver -----------------------------------------------------------------------
log "kube-apiserver"
# The first ServiceAccount issuer is the address the Trainer's status server (on this host)
# reaches for OIDC discovery; the second stays accepted.
# --advertise-address: without it the apiserver derives one from the default route, which
# an offline machine may not have. --endpoint-reconciler-type=none keeps the loopback
# address out of the `kubernetes` Endpoints. The default admission plugins stay enabled
# (NamespaceLifecycle, LimitRanger, ServiceAccount, PodSecurity, ResourceQuota, the
# webhooks, ...); NodeRestriction is added to them.
start kube-apiserver "$B/kube-apiserver" \
  --advertise-address=127.0.0.1 --bind-address=127.0.0.1 --secure-port="$JKF_API_PORT" \
  --etcd-servers="https://127.0.0.1:$JKF_ETCD_PORT" --etcd-cafile="$P/ca.crt" \
  --etcd-certfile="$P/apiserver-etcd-client.crt" --etcd-keyfile="$P/apiserver-etcd-client.key" \
  --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" --client-ca-file="$P/ca.crt" \
  --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
  --service-account-issuer="$API" --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range=10.96.0.0/16 --endpoint-reconciler-type=none --allow-privileged=true \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction,PodSecurity,PodNodeSelector,PodTolerationRestriction \
  --kubelet-preferred-address-types=InternalIP --kubelet-certificate-authority="$P/ca.crt" \
  --kubelet-client-certificate="$P/apiserver-kubelet-client.crt" --kubelet-client-key="$P/apiserver-kubelet-client.key" \
  --requestheader-client-ca-file="$P/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$P/front-proxy-client.crt" --proxy-client-key-file="$P/front-proxy-client.key" \
  --profiling=false --v=1
wait_for kube-apiserver curl -sf --cacert "$P/ca.crt" --cert "$P/admin.crt" --key "$P/admin.key" "$API/readyz"

# --- cluster objects the components need ----------------------------------------------------
log "bootstrap objects (RBAC, CRDs, operator webhook)"
kc create namespace kubeflow >/dev/null
# KWOK: its upstream ClusterRole, bound to the kwok-controller certificate identity, and
# the CRDs of the kinds it reads from the API (Logs, ClusterLogs; see --enable-crds).
kc apply -f "$M/kwok/rbac/role.yaml" >/dev/null
kc create clusterrolebinding kwok-controller --clusterrole=kwok-controller --user=kwok-controller >/dev/null
kc apply --server-side -f "$M/kwok/crd/bases/kwok.x-k8s.io_logs.yaml" -f "$M/kwok/crd/bases/kwok.x-k8s.io_clusterlogs.yaml" >/dev/null
# The training operator: CRDs (~620 KB each, too big for client-side apply's annotation),
# its upstream ServiceAccount, ClusterRole and ClusterRoleBinding, the webhook Secret
# pre-seeded with our certificates and the ValidatingWebhookConfiguration pointing at its
# webhook server on loopback.
kc apply --server-side -f "$M/training-operator/crds/" >/dev/null
kc apply -n kubeflow -f "$M/training-operator/rbac/service-account.yaml" -f "$M/training-operator/rbac/role.yaml" >/dev/null
kc create clusterrolebinding training-operator --clusterrole=training-operator \
  --serviceaccount=kubeflow:training-operator >/dev/null
kc -n kubeflow create secret generic training-operator-webhook-cert \
  --from-file=ca.crt="$P/webhook-ca.crt" --from-file=ca.key="$P/webhook-ca.key" \
  --from-file=tls.crt="$P/webhook.crt" --from-file=tls.key="$P/webhook.key" >/dev/null
CA_BUNDLE=$(base64 -w0 < "$P/webhook-ca.crt")
{
  echo "apiVersion: admissionregistration.k8s.io/v1"
  echo "kind: ValidatingWebhookConfiguration"
  echo "metadata: {name: validator.training-operator.kubeflow.org}"
  echo "webhooks:"
  # Same webhooks as the operator's manifests/base/webhook (v1.9.4 has none for MPIJob),
  # with a URL instead of a Service: there is no kube-proxy to route a Service here.
  for k in jaxjob paddlejob pytorchjob tfjob xgboostjob; do cat <<EOF
- name: validator.$k.training-operator.kubeflow.org
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Fail
  timeoutSeconds: 10
  clientConfig:
    url: https://127.0.0.1:$JKF_OPERATOR_WEBHOOK_PORT/validate-kubeflow-org-v1-$k
    caBundle: $CA_BUNDLE
  rules:
  - {apiGroups: [kubeflow.org], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [${k}s]}
EOF
  done
} > "$S/operator-webhook.yaml"
kc apply -f "$S/operator-webhook.yaml" >/dev/null

# --- controller-manager and scheduler ------------------------------------------------------
log "kube-controller-manager, kube-scheduler"
# No leader election: with one replica it only adds a way to die (a lost lease exits the
# process), e.g. when a test stops the apiserver for 30 s. Every in-tree controller runs
# (--controllers=*; 1.37 has no cloud controllers in KCM any more), each with its own
# ServiceAccount credentials. Node grace period is generous for a busy 2-core machine.
start kube-controller-manager "$B/kube-controller-manager" \
  --kubeconfig="$S/kcm.kubeconfig" --authentication-kubeconfig="$S/kcm.kubeconfig" \
  --authorization-kubeconfig="$S/kcm.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="$JKF_KCM_PORT" --leader-elect=false \
  --controllers='*' --use-service-account-credentials=true \
  --root-ca-file="$P/ca.crt" --service-account-private-key-file="$P/sa.key" \
  --cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
  --service-cluster-ip-range=10.96.0.0/16 --node-monitor-grace-period=120s \
  --profiling=false --v=1
start kube-scheduler "$B/kube-scheduler" \
  --kubeconfig="$S/scheduler.kubeconfig" --authentication-kubeconfig="$S/scheduler.kubeconfig" \
  --authorization-kubeconfig="$S/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="$JKF_SCHED_PORT" --leader-elect=false --profiling=false --v=1

# --- KWOK ------------------------------------------------------------------------------------
log "kwok"
# Nodes report InternalIP 127.0.0.1 and kubelet port $JKF_KWOK_PORT, so the apiserver
# reaches KWOK's kubelet-like server (TLS, our CA) for pods/log. Pod IPs come from each
# node's podCIDR (10.244.N.0/24) unless a pod asks for one (jupyter-kf.test/pod-ip).
STOCK="$M/kwok/stage"
# Options are flags, not a KwokConfiguration document: kwok v0.8.0 applies its defaults
# only when --config holds no KwokConfiguration (a partial one leaves e.g. the lease
# parallelism at 0, and kwok exits). The config file carries only the stages.
{
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml pod/fast/pod-delete.yaml; do
    cat "$STOCK/$f"; echo "---"
  done
  cat "$HERE/kwok-stages.yaml"
} > "$S/kwok/stages.yaml"
start kwok "$B/kwok" --kubeconfig="$S/kwok.kubeconfig" --config="$S/kwok/stages.yaml" \
  --cidr=10.244.0.0/16 --node-ip=127.0.0.1 --node-port="$JKF_KWOK_PORT" \
  --server-address="127.0.0.1:$JKF_KWOK_PORT" \
  --tls-cert-file="$P/kwok-serving.crt" --tls-private-key-file="$P/kwok-serving.key" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --node-lease-duration-seconds=40 --enable-crds=Logs,ClusterLogs

# Nodes are created with their status (allowed on create), so their capacity is set;
# KWOK's node-initialize stage keeps it and makes them Ready.
node() {  # NAME INDEX CPU MEMORY GPUS
  local gpu="" label=""
  if (( $5 > 0 )); then gpu=", nvidia.com/gpu: \"$5\""; label=", nvidia.com/gpu.present: \"true\""; fi
  cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: $1
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/hostname: $1, kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok$label}
spec: {podCIDR: 10.244.$2.0/24, podCIDRs: [10.244.$2.0/24]}
status:
  allocatable: {cpu: "$3", memory: $4, pods: "110", ephemeral-storage: 100Gi$gpu}
  capacity: {cpu: "$3", memory: $4, pods: "110", ephemeral-storage: 100Gi$gpu}
EOF
}
{ node kwok-cpu-0 1 8 32Gi 0; node kwok-cpu-1 2 8 32Gi 0; node kwok-cpu-2 3 8 32Gi 0; node kwok-gpu-0 4 16 64Gi 2; } > "$S/nodes.yaml"
kc create -f "$S/nodes.yaml" >/dev/null
# Log files KWOK serves for pods/log. This catch-all answers for every container that has
# no Logs object of its own (tests create those; see plugin.py).
printf '%s stdout F %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.000000000Z)" \
  "jupyter-kf test cluster: no log file is configured for this container (KWOK)" > "$S/kwok/logs/default.log"
kc apply -f - >/dev/null <<EOF
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata: {name: jupyter-kf-default}
spec:
  logs:
  - logsFile: $S/kwok/logs/default.log
EOF

# --- training operator ---------------------------------------------------------------------
log "training operator"
# It authenticates as its ServiceAccount kubeflow/training-operator with a long-lived
# token that KCM's token controller writes into a service-account-token Secret.
kc apply -n kubeflow -f - >/dev/null <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: training-operator-token
  annotations: {kubernetes.io/service-account.name: training-operator}
type: kubernetes.io/service-account-token
EOF
token() { kc -n kubeflow get secret training-operator-token -o 'jsonpath={.data.token}' | grep -q .; }
wait_for kube-controller-manager token
OP_TOKEN=$(kc -n kubeflow get secret training-operator-token -o 'jsonpath={.data.token}' | base64 -d)
cat > "$S/operator.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: jupyter-kf-test
  cluster: {server: "$API", certificate-authority: "$P/ca.crt"}
users:
- name: system:serviceaccount:kubeflow:training-operator
  user: {token: "$OP_TOKEN"}
contexts:
- name: training-operator@jupyter-kf-test
  context: {cluster: jupyter-kf-test, user: "system:serviceaccount:kubeflow:training-operator", namespace: kubeflow}
current-context: training-operator@jupyter-kf-test
EOF
chmod 600 "$S/operator.kubeconfig"
# Webhook serving certs: controller-runtime's webhook server reads them from
# $TMPDIR/k8s-webhook-server/serving-certs (so TMPDIR gives this cluster its own copy),
# while the operator's cert rotator only checks that the hard-coded
# /tmp/k8s-webhook-server/serving-certs/tls.crt exists before it reports ready.
mkdir -p "$S/operator-tmp/k8s-webhook-server/serving-certs"
cp "$P/webhook.crt" "$S/operator-tmp/k8s-webhook-server/serving-certs/tls.crt"
cp "$P/webhook.key" "$S/operator-tmp/k8s-webhook-server/serving-certs/tls.key"
if [[ ! -e /tmp/k8s-webhook-server/serving-certs/tls.crt ]]; then
  mkdir -p /tmp/k8s-webhook-server/serving-certs
  cp "$P/webhook.crt" /tmp/k8s-webhook-server/serving-certs/tls.crt
fi
wait_for kube-apiserver kc wait --for=condition=Established --timeout=5s crd --all
# All six kinds are enabled (the default when no --enable-scheme is given). The init
# container the operator gives PyTorch workers (a shell loop of `nslookup <master>`, upstream
# image alpine:3.10) uses the real node's local image: no registry is reachable, and the
# node mounts the host's /usr (Debian's sh, seq and nslookup) into it. The MPIJob launcher's
# kubectl-delivery init container gets a local image too (node/deliver-kubectl.sh).
start training-operator env TMPDIR="$S/operator-tmp" MY_POD_NAMESPACE=kubeflow "$B/training-operator.v1" \
  --kubeconfig="$S/operator.kubeconfig" \
  --metrics-bind-address="127.0.0.1:$JKF_OPERATOR_METRICS_PORT" \
  --health-probe-bind-address="127.0.0.1:$JKF_OPERATOR_HEALTH_PORT" \
  --webhook-server-port="$JKF_OPERATOR_WEBHOOK_PORT" --zap-devel=false \
  --pytorch-init-container-image="$JKF_PYTHON_IMAGE" \
  --mpi-kubectl-delivery-image="$JKF_KUBECTL_DELIVERY_IMAGE"

# --- Kubeflow Trainer v2 and JobSet ------------------------------------------------------------
# shellcheck source=trainer/up.sh
if [[ -f "$HERE/trainer/up.sh" ]]; then source "$HERE/trainer/up.sh"; fi

# --- the real node ------------------------------------------------------------------------------
# shellcheck source=node/up.sh
source "$HERE/node/up.sh"

# --- readiness --------------------------------------------------------------------------------
ready_url() { curl -sfk "$1"; }
wait_for kube-controller-manager ready_url "https://127.0.0.1:$JKF_KCM_PORT/healthz"
wait_for kube-scheduler ready_url "https://127.0.0.1:$JKF_SCHED_PORT/healthz"
wait_for kwok curl -sf --cacert "$P/ca.crt" "https://127.0.0.1:$JKF_KWOK_PORT/healthz"
log "waiting for nodes, default ServiceAccount, operator"
wait_for kwok kc wait --for=condition=Ready --timeout=5s node --all
wait_for kube-controller-manager kc -n default get serviceaccount default
wait_for training-operator curl -sf "http://127.0.0.1:$JKF_OPERATOR_HEALTH_PORT/readyz"

cat > "$S/cluster.env" <<EOF
JKF_CLUSTER_DIR=$S
KUBECONFIG=$S/admin.kubeconfig
JKF_API_SERVER=$API
JKF_CA_FILE=$P/ca.crt
JKF_BIN_DIR=$B
EOF
touch "$S/ready"
log "ready"
echo "export KUBECONFIG=$S/admin.kubeconfig"
