#!/usr/bin/env bash
# Stop every process up.sh started (by the pid files in $JKF_CLUSTER_DIR/pids, newest
# first), then remove the state directory's etcd data. Logs, certificates and kubeconfigs
# stay for post-mortems until the next up.sh wipes them. Safe to run when nothing runs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
S="${JKF_CLUSTER_DIR:-$HERE/.run}"
[[ -d "$S/pids" ]] || { echo "[down] nothing to stop in $S" >&2; exit 0; }

# The real node first: it stops its containers and puts back what it changed on the host.
node_rc=0
JKF_CLUSTER_DIR="$S" bash "$HERE/node/down.sh" || node_rc=$?

# Stop in reverse start order: the operator and KWOK before the control plane, etcd last.
order=()
[[ -f "$S/start-order" ]] && mapfile -t order < <(tac "$S/start-order")
for f in "$S"/pids/*; do
  [[ -e "$f" ]] || continue
  n=$(basename "$f")
  [[ " ${order[*]} " == *" $n "* ]] || order+=("$n")
done

ours() {  # PID NAME: is PID still the process we started (not a recycled pid)?
  [[ -r "/proc/$1/cmdline" ]] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -q -- "/$2"
}
binary() { case "$1" in training-operator) echo training-operator.v1 ;; *) echo "$1" ;; esac; }

for n in "${order[@]}"; do
  f="$S/pids/$n"; [[ -f "$f" ]] || continue
  pid=$(cat "$f")
  if ours "$pid" "$(binary "$n")"; then
    kill -CONT "$pid" 2>/dev/null || true   # in case a test paused it (SIGSTOP)
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do ours "$pid" "$(binary "$n")" || break; sleep 0.1; done
    if ours "$pid" "$(binary "$n")"; then
      echo "[down] $n ($pid) ignored SIGTERM for 10 s; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "[down] stopped $n ($pid)" >&2
  fi
  rm -f "$f"
done
rm -f "$S/ready" "$S/start-order"
rm -rf "$S/etcd" "$S/operator-tmp"
if (( node_rc )); then
  echo "[down] the real node's teardown did not restore the host (above)" >&2
  exit "$node_rc"
fi
