# Sourced by tests/cluster/up.sh after the control plane is up: one REAL node beside the KWOK
# nodes. containerd (runc, CNI bridge), the kubelet and CoreDNS run as local processes; pods
# on it run real code. It uses the shell's $S, $P, $B, $API, kc, cert, start, wait_for, log, die.
#
# What it changes on the host, and node/down.sh restores: a bridge ($JKF_NODE_BRIDGE) holding
# the node's address, a nat chain JKF-NODE, the sysctls and iptables chains the kubelet and the
# bridge plugin set, cgroup directories, mounts under $S/node and a few fixed paths. What was
# there before is recorded in $S/node/host-state first.
# shellcheck source=versions.env
source "$HERE/node/versions.env"
NODE_OUT="$JKF_CACHE/node_containerd-${CONTAINERD_VERSION}_coredns-${COREDNS_VERSION}_nri-${NRI_VERSION}"
NB="$NODE_OUT/bin"
N="$S/node"

# A bridge or JKF chains with no kubelet running were left by a node whose processes are gone
# (a killed session, a machine restored from a snapshot); its host-state record went with its
# state dir, so remove what node_up adds, by name, and go on.
clear_stale_node() {  # IPTABLES
  local ipt=$1
  if ip link show "$JKF_NODE_BRIDGE" >/dev/null 2>&1; then
    log "real node: removing a stale bridge $JKF_NODE_BRIDGE (no kubelet runs)"
    ip link del "$JKF_NODE_BRIDGE"
  fi
  while "$ipt" -t nat -D PREROUTING -i "$JKF_NODE_BRIDGE" -j JKF-NODE 2>/dev/null; do :; done
  while "$ipt" -D FORWARD -i "$JKF_NODE_BRIDGE" -j JKF-NODE-FORWARD 2>/dev/null; do :; done
  if "$ipt" -t nat -S JKF-NODE >/dev/null 2>&1; then
    log "real node: removing stale iptables chains JKF-NODE, JKF-NODE-FORWARD"
    "$ipt" -t nat -F JKF-NODE && "$ipt" -t nat -X JKF-NODE
  fi
  if "$ipt" -S JKF-NODE-FORWARD >/dev/null 2>&1; then
    "$ipt" -F JKF-NODE-FORWARD && "$ipt" -X JKF-NODE-FORWARD
  fi
  return 0
}

node_up() {
  if [[ "${JKF_REAL_NODE:-1}" == 0 ]]; then log "real node: off (JKF_REAL_NODE=0)"; return 0; fi
  (( $(id -u) == 0 )) || die "the real node needs root (set JKF_REAL_NODE=0 to run without it)"
  local b
  for b in "$B/kubelet" "$NB/containerd" "$NB/containerd-shim-runc-v2" "$NB/ctr" "$NB/coredns" \
           "$NB/nri-hostpython" "$NB/pause" /usr/lib/cni/bridge /usr/lib/cni/host-local \
           /usr/lib/cni/loopback; do
    [[ -x "$b" ]] || die "$b is missing: run tests/cluster/build.sh and scripts/system-deps.sh"
  done
  local runc iptables
  runc=$(command -v runc) || die "runc not found (apt-get install runc)"
  iptables=$(command -v iptables) || die "iptables not found (apt-get install iptables)"
  if pgrep -x kubelet >/dev/null; then
    ip link show "$JKF_NODE_BRIDGE" >/dev/null 2>&1 && \
      die "$JKF_NODE_BRIDGE exists: another real node runs here (one per machine), or run node/down.sh"
  else
    clear_stale_node "$iptables"
  fi
  log "real node: host state, bridge $JKF_NODE_BRIDGE ($JKF_NODE_IP)"
  mkdir -p "$N"/{containerd,cni,cni-ipam,kubelet,pod-logs,nri/plugins,nri/conf,images}
  JKF_CLUSTER_DIR="$S" bash "$HERE/node/hoststate.sh" save "$N/host-state"

  # The bridge exists before any pod so the node's address (its gateway) does: the kubelet
  # serves on it and CoreDNS answers on it. Pods reach the host's loopback services at the
  # gateway address and the API server at the `kubernetes` Service address (DNAT, with
  # route_localnet so 127.0.0.1 is a valid destination for packets from the bridge).
  ip link add "$JKF_NODE_BRIDGE" type bridge
  ip addr add "$JKF_NODE_IP/${JKF_NODE_SUBNET#*/}" dev "$JKF_NODE_BRIDGE"
  ip link set "$JKF_NODE_BRIDGE" up
  sysctl -qw "net.ipv4.conf.$JKF_NODE_BRIDGE.route_localnet=1"
  "$iptables" -t nat -N JKF-NODE
  "$iptables" -t nat -A JKF-NODE -d 10.96.0.1/32 -p tcp --dport 443 \
    -j DNAT --to-destination "127.0.0.1:$JKF_API_PORT"
  "$iptables" -t nat -A JKF-NODE -d "$JKF_NODE_IP/32" -p tcp ! --dport 53 -j DNAT --to-destination 127.0.0.1
  "$iptables" -t nat -I PREROUTING -i "$JKF_NODE_BRIDGE" -j JKF-NODE
  # Nothing from the pods leaves the machine: no NAT (ipMasq false), and no forwarding off
  # the bridge either (the bridge plugin turns ip_forward on).
  "$iptables" -N JKF-NODE-FORWARD
  "$iptables" -A JKF-NODE-FORWARD ! -o "$JKF_NODE_BRIDGE" -j REJECT --reject-with icmp-net-unreachable
  "$iptables" -I FORWARD -i "$JKF_NODE_BRIDGE" -j JKF-NODE-FORWARD

  # --- identities -------------------------------------------------------------------------------
  cert kubelet "/O=system:nodes/CN=system:node:$JKF_NODE_NAME" clientAuth
  cert kubelet-serving "/CN=$JKF_NODE_NAME" serverAuth "DNS:$JKF_NODE_NAME,IP:$JKF_NODE_IP"
  cert coredns "/CN=jupyter-kf:coredns" clientAuth
  kubeconfig kubelet; kubeconfig coredns
  # The API server calls the kubelet (logs, exec, attach) with its kubelet-client certificate;
  # the kubelet asks the API server whether that identity may (webhook authorization).
  kc create clusterrolebinding jupyter-kf:apiserver-kubelet --clusterrole=system:kubelet-api-admin \
    --user=kube-apiserver-kubelet-client >/dev/null
  kc apply -f - >/dev/null <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "jupyter-kf:coredns"}
rules:
- {apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "jupyter-kf:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "jupyter-kf:coredns"}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: "jupyter-kf:coredns"}
YAML

  # --- images -------------------------------------------------------------------------------------
  # The sandbox image (pinned, so image GC keeps it) and the Python image: an almost empty
  # root whose PATH starts with the project's venv; the NRI plugin mounts /usr, the Python
  # installation and the checkout (venv included) read-only into every container.
  local repo venv pyprefix
  repo=$(cd "$HERE/../.." && pwd)
  venv="$repo/.venv"
  [[ -x "$venv/bin/python" ]] || die "$venv is missing: make .venv/.installed-stamp first"
  pyprefix=$("$venv/bin/python" -c 'import sys; print(sys.base_prefix)')
  python3 "$HERE/node/image.py" "$N/images/pause.tar" "$JKF_PAUSE_IMAGE" \
    --file "$NB/pause:/pause:755" --cmd /pause
  python3 "$HERE/node/image.py" "$N/images/python.tar" "$JKF_PYTHON_IMAGE" \
    --env "PATH=$venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --env "LANG=C.UTF-8" --cmd python
  # The training operator's MPIJob launcher gets kubectl from an init container image; this
  # one is built from the control plane's kubectl (cached: it is 60 MB to compress).
  local kd_sum kd_tar
  kd_sum=$(cat "$B/kubectl" "$HERE/node/deliver-kubectl.sh" "$HERE/node/image.py" | sha256sum | cut -c1-12)
  kd_tar="$NODE_OUT/images/kubectl-delivery-$kd_sum.tar"
  if [[ ! -f "$kd_tar" ]]; then
    mkdir -p "$NODE_OUT/images"
    python3 "$HERE/node/image.py" "$kd_tar.tmp" "$JKF_KUBECTL_DELIVERY_IMAGE" \
      --file "$B/kubectl:/kubectl:755" --file "$HERE/node/deliver-kubectl.sh:/deliver.sh:755" \
      --cmd /bin/sh /deliver.sh
    mv "$kd_tar.tmp" "$kd_tar"
  fi
  ln -sf "$kd_tar" "$N/images/kubectl-delivery.tar"
  local mounts="" m
  # /etc/alternatives: Debian's /usr/bin/mpirun (and others) are links through it.
  for m in /usr /etc/alternatives "$pyprefix" "$repo"; do
    mounts+="${mounts:+,}{\"source\": \"$m\", \"destination\": \"$m\"}"
  done
  echo "{\"mounts\": [$mounts]}" > "$N/nri/conf/hostpython.conf"
  ln -sf "$NB/nri-hostpython" "$N/nri/plugins/10-hostpython"

  # --- containerd -----------------------------------------------------------------------------------
  cat > "$N/cni/10-jkf.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "jkf",
 "plugins": [{"type": "bridge", "bridge": "$JKF_NODE_BRIDGE", "isGateway": true, "isDefaultGateway": true, "ipMasq": false,
              "hairpinMode": true,
              "ipam": {"type": "host-local", "dataDir": "$N/cni-ipam",
                       "ranges": [[{"subnet": "$JKF_NODE_SUBNET", "gateway": "$JKF_NODE_IP"}]]}}]}
JSON
  cat > "$N/containerd.toml" <<TOML
version = 3
# Every path containerd would otherwise keep under /var/lib, /run, /opt or /etc is ours.
imports = []
root = "$N/containerd/root"
state = "$N/containerd/state"
[grpc]
  address = "$N/containerd.sock"
[ttrpc]
  address = "$N/containerd.sock.ttrpc"
[debug]
  address = "$N/containerd-debug.sock"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = '$JKF_PAUSE_IMAGE'
[plugins.'io.containerd.cri.v1.runtime']
  # The VMs this runs on lack CAP_SYS_RESOURCE: runc may only raise oom_score_adj.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ['/usr/lib/cni']
    conf_dir = '$N/cni'
    max_conf_num = 1
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = 'io.containerd.runc.v2'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      BinaryName = '$runc'
      SystemdCgroup = false
[plugins.'io.containerd.internal.v1.opt']
  path = '$N/containerd/opt'
[plugins.'io.containerd.image-verifier.v1.bindir']
  bin_dir = '$N/containerd/image-verifier'
[plugins.'io.containerd.nri.v1.nri']
  disable = false
  socket_path = '$N/nri.sock'
  plugin_path = '$N/nri/plugins'
  plugin_config_path = '$N/nri/conf'
TOML
  log "real node: containerd"
  start containerd env PATH="$NB:$PATH" "$NB/containerd" --config "$N/containerd.toml"
  wait_for containerd "$NB/ctr" --address "$N/containerd.sock" version
  local img
  for img in pause python kubectl-delivery; do
    "$NB/ctr" --address "$N/containerd.sock" -n k8s.io images import --no-unpack=false \
      "$N/images/$img.tar" >/dev/null
  done

  # --- CoreDNS ---------------------------------------------------------------------------------------
  # The cluster domain only; nothing is forwarded off the machine.
  cat > "$N/Corefile" <<EOF2
cluster.local:53 in-addr.arpa:53 {
    bind $JKF_NODE_IP
    errors
    health 127.0.0.1:$JKF_COREDNS_HEALTH_PORT
    kubernetes cluster.local in-addr.arpa {
        kubeconfig $S/coredns.kubeconfig
        pods insecure
    }
}
.:53 {
    bind $JKF_NODE_IP
    errors
}
EOF2
  log "real node: coredns"
  start coredns "$NB/coredns" -conf "$N/Corefile"

  # --- kubelet ---------------------------------------------------------------------------------------
  cat > "$N/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $JKF_NODE_IP
port: $JKF_KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $JKF_KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$P/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$P/kubelet-serving.crt"
tlsPrivateKeyFile: "$P/kubelet-serving.key"
containerRuntimeEndpoint: "unix://$N/containerd.sock"
# The host has cgroup v1 hierarchies; 1.37 refuses them unless told.
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
clusterDNS: ["$JKF_NODE_IP"]
clusterDomain: cluster.local
podLogsDir: "$N/pod-logs"
registerWithTaints:
- {key: jupyter-kf.test/real-node, value: "true", effect: NoSchedule}
# The images were imported, not pulled: nothing could bring them back, so never collect them,
# and never evict pods for a full disk on a shared test machine.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
serializeImagePulls: false
YAML
  log "real node: kubelet $JKF_NODE_NAME"
  start kubelet "$B/kubelet" --config="$N/kubelet.yaml" --kubeconfig="$S/kubelet.kubeconfig" \
    --hostname-override="$JKF_NODE_NAME" --node-ip="$JKF_NODE_IP" --root-dir="$N/kubelet" \
    --node-labels="jupyter-kf.test/node=real" --v=1
  wait_for coredns curl -sf "http://127.0.0.1:$JKF_COREDNS_HEALTH_PORT/health"
  wait_for kubelet kc wait --for=condition=Ready --timeout=5s "node/$JKF_NODE_NAME"
}
node_up
