# Sourced by tests/cluster/up.sh after the training operator starts (uses its S, P, API,
# JKF_CACHE, kc, cert, start, wait_for, alive, port_free, log, die).
#
# Starts JobSet and the Kubeflow Trainer controller manager, each as its own ServiceAccount
# with its upstream ClusterRole, their admission webhooks served on 127.0.0.1 with
# certificates from the test CA (their own certificate management is off) and registered
# with URL clientConfigs; installs their CRDs and the stock ClusterTrainingRuntimes; and
# returns only once both webhook servers have answered a real admission request.
# shellcheck shell=bash
# shellcheck source=versions.env
source "$HERE/trainer/versions.env"

if [[ "$JKF_TRAINER" == 0 ]]; then
  log "trainer, jobset: skipped (JKF_TRAINER=0)"
else
  TR_OUT="$JKF_CACHE/trainer-${TRAINER_VERSION}_jobset-${JOBSET_VERSION}"
  TB="$TR_OUT/bin"
  TM="$TR_OUT/manifests"
  for b in jobset trainer-controller-manager; do
    [[ -x "$TB/$b" ]] || die "$TB/$b is missing: run tests/cluster/build.sh first"
  done
  [[ -f "$TM/.done" ]] || die "$TM is missing: run tests/cluster/build.sh first"
  for p in "$JKF_TRAINER_WEBHOOK_PORT" "$JKF_TRAINER_HEALTH_PORT" "$JKF_TRAINER_METRICS_PORT" \
           "$JKF_TRAINER_STATUS_PORT" "$JKF_JOBSET_WEBHOOK_PORT" "$JKF_JOBSET_HEALTH_PORT" \
           "$JKF_JOBSET_METRICS_PORT"; do
    port_free "$p" || die "127.0.0.1:$p is in use (another cluster? set JKF_TRAINER_*/JKF_JOBSET_* ports, see trainer/versions.env)"
  done

  log "trainer $TRAINER_VERSION, jobset $JOBSET_VERSION: CRDs, identities, webhooks"
  # The Trainer takes its own namespace from the in-pod ServiceAccount file and falls back
  # to kubeflow-system; it reads the status server's CA from a Secret there. With the
  # status server on, it gets our file (below); without, a file on this machine (these
  # tests running in a pod) decides.
  TRAINER_NS=kubeflow-system
  if [[ "$JKF_TRAINER_STATUS" == 0 && -s /var/run/secrets/kubernetes.io/serviceaccount/namespace ]]; then
    TRAINER_NS=$(tr -d '[:space:]' < /var/run/secrets/kubernetes.io/serviceaccount/namespace)
  fi
  JOBSET_NS=jobset-system
  for ns in "$TRAINER_NS" "$JOBSET_NS"; do
    kc get namespace "$ns" >/dev/null 2>&1 || kc create namespace "$ns" >/dev/null
  done

  # CRDs (too big for client-side apply's annotation); JobSet's first, the Trainer's embed
  # its types. JobSet serves one version, so the conversion webhook its kustomization adds
  # is not needed.
  kc apply --server-side -f "$TM/jobset/crds/" >/dev/null
  kc apply --server-side -f "$TM/trainer/crds/" >/dev/null

  # Identities: the upstream ServiceAccounts and ClusterRoles (JobSet's under the names
  # its kustomization gives them), bound as upstream binds them. Leader election is off,
  # so the leader-election Roles are left out; cert management is off, so is JobSet's
  # Secret Role. JobSet's proxy-role lets it check the tokens of /metrics clients.
  kc -n "$TRAINER_NS" create serviceaccount kubeflow-trainer-controller-manager >/dev/null
  kc apply -f "$TM/trainer/base/rbac/role.yaml" >/dev/null
  kc create clusterrolebinding kubeflow-trainer-controller-manager \
    --clusterrole=kubeflow-trainer-controller-manager \
    --serviceaccount="$TRAINER_NS:kubeflow-trainer-controller-manager" >/dev/null
  kc -n "$JOBSET_NS" create serviceaccount jobset-controller-manager >/dev/null
  for r in role auth_proxy_role; do
    sed -E 's/^  name: (manager-role|proxy-role)$/  name: jobset-\1/' "$TM/jobset/rbac/$r.yaml" | kc apply -f - >/dev/null
  done
  kc create clusterrolebinding jobset-manager-rolebinding --clusterrole=jobset-manager-role \
    --serviceaccount="$JOBSET_NS:jobset-controller-manager" >/dev/null
  kc create clusterrolebinding jobset-proxy-rolebinding --clusterrole=jobset-proxy-role \
    --serviceaccount="$JOBSET_NS:jobset-controller-manager" >/dev/null
  # What the Trainer's release publishes for every authenticated user (clients read the
  # Trainer's version from it).
  kc -n "$TRAINER_NS" create configmap kubeflow-trainer-public \
    --from-literal=kubeflow_trainer_version="$TRAINER_VERSION" >/dev/null
  kc -n "$TRAINER_NS" apply -f "$TM/trainer/base/rbac/public_configmap_role.yaml" \
    -f "$TM/trainer/base/rbac/public_configmap_role_binding.yaml" >/dev/null

  # Serving certificates from the test CA, valid for the Service names upstream uses and
  # for 127.0.0.1, where the apiserver reaches them (URL clientConfig: no kube-proxy here).
  cert trainer-serving "/CN=kubeflow-trainer-controller-manager.$TRAINER_NS.svc" serverAuth \
    "DNS:kubeflow-trainer-controller-manager.$TRAINER_NS.svc,DNS:localhost,IP:127.0.0.1"
  cert jobset-serving "/CN=jobset-webhook-service.$JOBSET_NS.svc" serverAuth \
    "DNS:jobset-webhook-service.$JOBSET_NS.svc,DNS:localhost,IP:127.0.0.1"
  # The Trainer reads webhook and status-server certificates from
  # <working dir>/k8s-webhook-server/serving-certs (see trainer/build.sh; its webhook
  # server finds the same directory through TMPDIR). JobSet is told its directory.
  TRD="$S/trainer"; JSD="$S/jobset"
  mkdir -p "$TRD/k8s-webhook-server/serving-certs" "$JSD/certs"
  cp "$P/trainer-serving.crt" "$TRD/k8s-webhook-server/serving-certs/tls.crt"
  cp "$P/trainer-serving.key" "$TRD/k8s-webhook-server/serving-certs/tls.key"
  cp "$P/jobset-serving.crt" "$JSD/certs/tls.crt"
  cp "$P/jobset-serving.key" "$JSD/certs/tls.key"
  # With TrainJobStatus on, the Trainer copies ca.crt from this Secret (the one its cert
  # manager would fill) into every TrainJob's <name>-tls-config ConfigMap for the pods.
  kc -n "$TRAINER_NS" create secret generic kubeflow-trainer-webhook-cert --from-file=ca.crt="$P/ca.crt" \
    --from-file=tls.crt="$P/trainer-serving.crt" --from-file=tls.key="$P/trainer-serving.key" >/dev/null

  # Webhook configurations: the upstream ones (trainer manifests/base/webhook with its
  # patches; JobSet config/components/webhook with its patches and kustomize's "jobset-"
  # prefix), with a URL on 127.0.0.1 instead of a Service. test_trainer_controlplane.py
  # checks they still match upstream's names, paths, rules, selectors and failure policies.
  TR_CA=$(base64 -w0 < "$P/ca.crt")
  # tr_hook NAME PORT PATH GROUP VERSION RESOURCE OPERATIONS [SELECTOR-LABEL SELECTOR-OP]
  tr_hook() {
    cat <<EOF
- name: $1
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Fail
  clientConfig: {url: "https://127.0.0.1:$2$3", caBundle: $TR_CA}
  rules:
  - {apiGroups: ["$4"], apiVersions: [$5], operations: [$7], resources: [$6]}
EOF
    case "${9:-}" in
      Exists) echo "  objectSelector: {matchExpressions: [{key: $8, operator: Exists}]}" ;;
      NotIn) echo "  objectSelector: {matchExpressions: [{key: $8, operator: NotIn, values: [disabled]}]}" ;;
    esac
  }
  tp=$JKF_TRAINER_WEBHOOK_PORT; jp=$JKF_JOBSET_WEBHOOK_PORT; twv=trainer.kubeflow.org/webhook-validation
  jsn=jobset.sigs.k8s.io/jobset-name; v1a1=/validate-trainer-kubeflow-org-v1alpha1
  {
    printf 'apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\n'
    printf 'metadata: {name: defaulter.trainer.kubeflow.org}\nwebhooks:\n'
    tr_hook defaulter.trainjob.trainer.kubeflow.org "$tp" /mutate-trainer-kubeflow-org-v1alpha1-trainjob \
      trainer.kubeflow.org v1alpha1 trainjobs "CREATE, UPDATE"
    printf -- '---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\n'
    printf 'metadata: {name: validator.trainer.kubeflow.org}\nwebhooks:\n'
    tr_hook validator.clustertrainingruntime.trainer.kubeflow.org "$tp" "$v1a1-clustertrainingruntime" \
      trainer.kubeflow.org v1alpha1 clustertrainingruntimes "CREATE, UPDATE" "$twv" NotIn
    tr_hook validator.trainingruntime.trainer.kubeflow.org "$tp" "$v1a1-trainingruntime" \
      trainer.kubeflow.org v1alpha1 trainingruntimes "CREATE, UPDATE" "$twv" NotIn
    tr_hook validator.trainjob.trainer.kubeflow.org "$tp" "$v1a1-trainjob" \
      trainer.kubeflow.org v1alpha1 trainjobs "CREATE, UPDATE"
    printf -- '---\napiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\n'
    printf 'metadata: {name: jobset-mutating-webhook-configuration}\nwebhooks:\n'
    tr_hook mjobset.kb.io "$jp" /mutate-jobset-x-k8s-io-v1alpha2-jobset jobset.x-k8s.io v1alpha2 jobsets CREATE
    tr_hook mpod.kb.io "$jp" /mutate--v1-pod "" v1 pods CREATE "$jsn" Exists
    printf -- '---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\n'
    printf 'metadata: {name: jobset-validating-webhook-configuration}\nwebhooks:\n'
    tr_hook vjobset.kb.io "$jp" /validate-jobset-x-k8s-io-v1alpha2-jobset jobset.x-k8s.io v1alpha2 jobsets "CREATE, UPDATE"
    tr_hook vpod.kb.io "$jp" /validate--v1-pod "" v1 pods CREATE "$jsn" Exists
  } > "$S/trainer-webhooks.yaml"
  kc apply -f "$S/trainer-webhooks.yaml" >/dev/null

  # Token kubeconfigs, as for the training operator: KCM's token controller fills a
  # service-account-token Secret.
  tr_kubeconfig() {  # NAMESPACE SERVICEACCOUNT FILE
    kc -n "$1" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Secret
metadata: {name: $2-token, annotations: {kubernetes.io/service-account.name: $2}}
type: kubernetes.io/service-account-token
EOF
    tr_has_token() { kc -n "$1" get secret "$2-token" -o 'jsonpath={.data.token}' | grep -q .; }
    wait_for kube-controller-manager tr_has_token "$1" "$2"
    local tok; tok=$(kc -n "$1" get secret "$2-token" -o 'jsonpath={.data.token}' | base64 -d)
    cat > "$3" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: jupyter-kf-test
  cluster: {server: "$API", certificate-authority: "$P/ca.crt"}
users:
- name: system:serviceaccount:$1:$2
  user: {token: "$tok"}
contexts:
- name: $2@jupyter-kf-test
  context: {cluster: jupyter-kf-test, user: "system:serviceaccount:$1:$2", namespace: $1}
current-context: $2@jupyter-kf-test
EOF
    chmod 600 "$3"
  }
  tr_kubeconfig "$JOBSET_NS" jobset-controller-manager "$S/jobset.kubeconfig"
  tr_kubeconfig "$TRAINER_NS" kubeflow-trainer-controller-manager "$S/trainer.kubeconfig"

  # The status server (feature gate TrainJobStatus) authenticates the progress pods post
  # with their projected tokens, by OIDC discovery against the issuer named in the
  # Trainer's own in-pod token, a file at a fixed path
  # (/var/run/secrets/kubernetes.io/serviceaccount/token). So the Trainer runs in a
  # private mount namespace where that directory holds a TokenRequest token of its
  # ServiceAccount, its namespace and the CA; nothing changes on this machine. Discovery
  # only works if the issuer is an address this machine reaches: kube-apiserver's first
  # --service-account-issuer must be its own https://127.0.0.1:<port>.
  TR_STATUS=false; TR_NS_WRAP=()
  if [[ "$JKF_TRAINER_STATUS" != 0 ]]; then
    if (( EUID == 0 )); then TR_NS_WRAP=(unshare --mount --propagation private)
    else TR_NS_WRAP=(unshare --user --map-root-user --mount --propagation private); fi
    "${TR_NS_WRAP[@]}" true 2>/dev/null \
      || die "cannot make a mount namespace (${TR_NS_WRAP[*]}) for the Trainer's status server; JKF_TRAINER_STATUS=0 runs the Trainer without it"
    # shellcheck disable=SC2016 # $0 and $@ belong to the inner sh
    TR_NS_WRAP+=(sh -c 'mount -t tmpfs -o mode=0755 jkf-run /run &&
      mkdir -p /run/secrets/kubernetes.io/serviceaccount &&
      mount --bind "$0" /run/secrets/kubernetes.io/serviceaccount && exec "$@"' "$TRD/serviceaccount")
    mkdir -p "$TRD/serviceaccount"
    kc -n "$TRAINER_NS" create token kubeflow-trainer-controller-manager --duration=87600h \
      > "$TRD/serviceaccount/token"
    printf '%s' "$TRAINER_NS" > "$TRD/serviceaccount/namespace"
    cp "$P/ca.crt" "$TRD/serviceaccount/ca.crt"
    tr_iss=$(python3 -c 'import base64,json,sys; p=open(sys.argv[1]).read().split(".")[1]; print(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["iss"])' "$TRD/serviceaccount/token")
    if [[ "$tr_iss" == "$API" ]]; then
      TR_STATUS=true
    else
      log "WARNING: TrainJobStatus stays off: the ServiceAccount issuer is $tr_iss, not $API (kube-apiserver's first --service-account-issuer)"
      TR_NS_WRAP=()
    fi
  fi

  # Configuration files (their config types: jobset api/config/v1alpha1, trainer
  # pkg/apis/config/v1alpha1). Both: own cert management off, leader election off,
  # listeners on loopback. The Trainer's status server has a port but no host setting.
  cat > "$JSD/config.yaml" <<EOF
apiVersion: config.jobset.x-k8s.io/v1alpha1
kind: Configuration
leaderElection: {leaderElect: false}
internalCertManagement: {enable: false}
webhook: {port: $JKF_JOBSET_WEBHOOK_PORT, host: 127.0.0.1, certDir: "$JSD/certs"}
metrics: {bindAddress: "127.0.0.1:$JKF_JOBSET_METRICS_PORT", certDir: "$JSD/certs"}
health: {healthProbeBindAddress: "127.0.0.1:$JKF_JOBSET_HEALTH_PORT"}
EOF
  cat > "$TRD/config.yaml" <<EOF
apiVersion: config.trainer.kubeflow.org/v1alpha1
kind: Configuration
webhook: {port: $JKF_TRAINER_WEBHOOK_PORT, host: 127.0.0.1}
metrics: {bindAddress: "127.0.0.1:$JKF_TRAINER_METRICS_PORT"}
health: {healthProbeBindAddress: "127.0.0.1:$JKF_TRAINER_HEALTH_PORT"}
leaderElection: {leaderElect: false}
certManagement: {enable: false}
statusServer: {port: $JKF_TRAINER_STATUS_PORT}
featureGates: {TrainJobStatus: $TR_STATUS}
EOF

  wait_for kube-apiserver kc wait --for=condition=Established --timeout=5s crd --all
  log "jobset, trainer-controller-manager"
  # --leader-elect=false as well as the config: JobSet's flag wins over its config file.
  start jobset "$TB/jobset" --kubeconfig="$S/jobset.kubeconfig" --config="$JSD/config.yaml" \
    --leader-elect=false --zap-devel=false
  start trainer-controller-manager "${TR_NS_WRAP[@]}" env -C "$TRD" TMPDIR="$TRD" "$TB/trainer-controller-manager" \
    --kubeconfig="$S/trainer.kubeconfig" --config="$TRD/config.yaml"
  wait_for jobset curl -sf "http://127.0.0.1:$JKF_JOBSET_HEALTH_PORT/readyz"
  wait_for trainer-controller-manager curl -sf "http://127.0.0.1:$JKF_TRAINER_HEALTH_PORT/readyz"

  # The stock ClusterTrainingRuntimes, as the community install applies them, and
  # jupyter-kf's reader of them (deploy/rbac), as an operator who installs jupyter-kf applies
  # it: under a name of the cluster's own, so tests/deploy can apply and delete deploy/'s.
  kc apply -k "$TM/trainer/overlays/runtimes" >/dev/null
  sed 's/^  name: jupyter-kf-runtime-reader$/  name: jkf-cluster-runtime-reader/' \
    "$HERE/../../deploy/rbac/runtime-reader.yaml" | kc apply -f - >/dev/null

  # Pods post their progress to https://kubeflow-trainer-controller-manager.<ns>.svc:<status
  # port> (the URL the TrainJobStatus plugin gives them). The Trainer runs on this machine,
  # so the name resolves (a headless Service, CoreDNS) to the real node's gateway address,
  # which the node's nat chain forwards to the host's loopback.
  if [[ "$TR_STATUS" == true && "${JKF_REAL_NODE:-1}" != 0 ]]; then
    kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: kubeflow-trainer-controller-manager, namespace: $TRAINER_NS}
spec:
  clusterIP: None
  ports: [{name: status, port: $JKF_TRAINER_STATUS_PORT, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kubeflow-trainer-status
  namespace: $TRAINER_NS
  labels: {kubernetes.io/service-name: kubeflow-trainer-controller-manager}
addressType: IPv4
ports: [{name: status, port: $JKF_TRAINER_STATUS_PORT, protocol: TCP}]
endpoints: [{addresses: ["$JKF_NODE_IP"]}]
EOF
  fi

  # Both webhook servers must answer real admission requests before anything uses them:
  # JobSet's pod webhooks fail closed for every JobSet pod. Server-side dry runs reach the
  # webhooks and store nothing. (1) JobSet's pod defaulter labels a JobSet pod with its
  # priority; (2) its pod validator refuses a follower pod of an exclusive-placement JobSet
  # that has no node selector; (3) the Trainer's TrainJob validator refuses reserved env.
  wait_for kube-controller-manager kc -n default get serviceaccount default
  tr_probe_pod() {  # INDEX [EXCLUSIVE]
    cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: jkf-webhook-probe
  labels: {jobset.sigs.k8s.io/jobset-name: jkf-webhook-probe}
  annotations:
    jobset.sigs.k8s.io/jobset-name: jkf-webhook-probe
    batch.kubernetes.io/job-completion-index: "$1"
    ${2:+alpha.jobset.sigs.k8s.io/exclusive-topology: kubernetes.io/hostname}
spec:
  containers: [{name: probe, image: registry.invalid/probe:test}]
EOF
  }
  tr_jobset_mutates() {
    [[ "$(tr_probe_pod 0 | kc -n default create --dry-run=server -o 'jsonpath={.metadata.labels.jobset\.sigs\.k8s\.io/priority}' -f -)" == 0 ]]
  }
  tr_jobset_validates() {
    local out; out=$(tr_probe_pod 1 exclusive | kc -n default create --dry-run=server -f - 2>&1 || true)
    [[ "$out" == *"follower pod node selector not set"* ]]
  }
  tr_probe_trainjob() {
    cat <<EOF
apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: jkf-webhook-probe}
spec:
  runtimeRef: {name: torch-distributed}
  trainer: {env: [{name: PET_NNODES, value: "2"}]}
EOF
  }
  tr_trainer_validates() {
    local out; out=$(tr_probe_trainjob | kc -n default create --dry-run=server -f - 2>&1 || true)
    [[ "$out" == *"must not have reserved envs"* ]]
  }
  wait_for jobset tr_jobset_mutates
  wait_for jobset tr_jobset_validates
  wait_for trainer-controller-manager tr_trainer_validates
  log "trainer, jobset: webhooks answer"
fi
