#!/usr/bin/env bash
# Stop the real node (tests/cluster/node) and put the host back as node/up.sh found it:
# kubelet first (so it restarts nothing), then every container, containerd and CoreDNS, then
# mounts, the bridge, and what hoststate.sh recorded. Run by tests/cluster/down.sh; safe to
# run when no node runs.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$HERE/versions.env"
S="${JKF_CLUSTER_DIR:-$HERE/../.run}"
N="$S/node"
[[ -f "$N/host-state" ]] || exit 0
log() { echo "[down node] $*" >&2; }

stop_pid() {  # NAME: SIGTERM the process in $S/pids/NAME, SIGKILL after 10 s
  local f="$S/pids/$1" pid
  [[ -f "$f" ]] || return 0
  pid=$(cat "$f")
  if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "/$1"; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null && log "$1 ($pid) ignored SIGTERM; SIGKILL"
    log "stopped $1 ($pid)"
  fi
  rm -f "$f"
}

stop_pid kubelet
# Every container and sandbox: kill the tasks through containerd so it unmounts their roots.
ctr_bin=$(awk '{for (i=1; i<=NF; i++) if ($i ~ /\/containerd$/) {sub(/containerd$/, "ctr", $i); print $i; exit}}' "$S/cmd/containerd" 2>/dev/null)
if [[ -n "$ctr_bin" && -x "$ctr_bin" && -S "$N/containerd.sock" ]]; then
  c=("$ctr_bin" --address "$N/containerd.sock" -n k8s.io --timeout 10s)
  for t in $("${c[@]}" tasks ls -q 2>/dev/null); do "${c[@]}" tasks kill -a -s SIGKILL "$t" >/dev/null 2>&1; done
  sleep 1
  for t in $("${c[@]}" tasks ls -q 2>/dev/null); do "${c[@]}" tasks delete -f "$t" >/dev/null 2>&1; done
fi
stop_pid containerd
stop_pid coredns
# Shims outlive containerd by design; ours name our socket on their command line.
for pid in $(pgrep -f "containerd-shim-runc-v2.*$N/containerd.sock" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
# Processes left in the pods' cgroups (a shim killed before its container).
for procs in /sys/fs/cgroup/*/kubepods/cgroup.procs; do
  [[ -f "$procs" ]] || continue
  find "$(dirname "$procs")" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
done
sleep 0.5
# Mounts under the node's directories: container roots, netns files, volumes, and the
# kubelet's bind mount of its root directory onto itself.
awk -v p="$N/" 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
ip link del "${JKF_NODE_BRIDGE}" 2>/dev/null && log "removed bridge $JKF_NODE_BRIDGE"
bash "$HERE/hoststate.sh" restore "$N/host-state"
# A second run on this machine must find it as the first did: check, and fail loudly if not.
if bash "$HERE/hoststate.sh" check "$N/host-state"; then
  log "host state restored"
  rm -f "$N/host-state"*
else
  mv "$N/host-state" "$N/host-state.unrestored"
  exit 1
fi
