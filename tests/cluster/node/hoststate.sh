#!/usr/bin/env bash
# What the real node changes on the host, recorded before it starts and put back after:
#   hoststate.sh save FILE      hoststate.sh restore FILE
#   hoststate.sh check FILE    (fails, showing the differences, if the host is not as recorded)
# Sysctls the kubelet and the CNI bridge plugin set, iptables and ip6tables rules (the kubelet
# adds KUBE-* chains; up.sh adds JKF-NODE), fixed paths the kubelet and containerd create
# outside their configured directories, and cgroup directories (kubepods, k8s.io).
set -euo pipefail
SYSCTLS=(vm.overcommit_memory kernel.panic kernel.panic_on_oops net.ipv4.ip_forward net.ipv6.conf.all.forwarding)
PATHS=(/var/lib/kubelet /run/containerd /var/lib/cni /var/run/nri /opt/nri /etc/nri /var/log/pods /var/log/containers /etc/cni /opt/cni /var/lib/containerd /etc/containerd)
CGROUP_DIRS=(kubepods k8s.io)
TABLES=(filter nat mangle raw security)

save() {
  local f=$1 k p
  : > "$f"
  for k in "${SYSCTLS[@]}"; do echo "sysctl $k $(sysctl -n "$k")" >> "$f"; done
  for p in "${PATHS[@]}"; do [[ -e "$p" ]] && echo "path $p" >> "$f"; done
  for p in /sys/fs/cgroup/*/; do
    for k in "${CGROUP_DIRS[@]}"; do [[ -d "$p$k" ]] && echo "cgroup $p$k" >> "$f"; done
  done
  iptables-save > "$f.iptables"
  ip6tables-save > "$f.ip6tables" 2>/dev/null || true
}

restore_tables() {  # CMD SAVED: put the saved rules back; empty tables that were not saved
  local cmd=$1 saved=$2 t
  [[ -s "$saved" ]] && "$cmd-restore" < "$saved"
  for t in "${TABLES[@]}"; do
    grep -q "^\*$t\$" "$saved" 2>/dev/null && continue
    "$cmd" -t "$t" -S 2>/dev/null | grep -q '^-N ' || continue
    "$cmd" -t "$t" -F && "$cmd" -t "$t" -X
  done
}

restore() {
  local f=$1 kind k v p d
  [[ -f "$f" ]] || { echo "[hoststate] no record $f: nothing to restore" >&2; return 0; }
  while read -r kind k v; do
    [[ $kind == sysctl ]] && sysctl -qw "$k=$v"
  done < "$f"
  restore_tables iptables "$f.iptables"
  command -v ip6tables >/dev/null && restore_tables ip6tables "$f.ip6tables"
  for p in "${PATHS[@]}"; do
    [[ -e "$p" ]] || continue
    grep -qxF "path $p" "$f" && continue
    # Anything still mounted below a path the node made goes first.
    awk -v p="$p/" 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
    rm -rf "$p"
  done
  for p in /sys/fs/cgroup/*/; do
    for k in "${CGROUP_DIRS[@]}"; do
      [[ -d "$p$k" ]] || continue
      grep -qxF "cgroup $p$k" "$f" && continue
      # Depth first; a directory still holding a process is reported, not forced.
      find "$p$k" -depth -type d -print0 | while IFS= read -r -d '' d; do
        rmdir "$d" 2>/dev/null || echo "[hoststate] cannot remove cgroup $d" >&2
      done
    done
  done
}

normalized() {  # FILE: the record, iptables rules and user chains only (no counters, no empty tables)
  local f=$1 x
  cat "$f"
  for x in iptables ip6tables; do
    [[ -f "$f.$x" ]] || continue
    awk -v x="$x" '/^\*/ {t = substr($0, 2)} /^-A / || /^:[^ ]+ -/ || /^:[^ ]+ DROP/ {
      sub(/ \[[0-9]+:[0-9]+\]$/, ""); print x " " t ": " $0 }' "$f.$x"
  done
}

check() {  # FILE: is the host as recorded? Prints the differences, fails when there are any.
  local f=$1 now
  now=$(mktemp -d)/now
  save "$now"
  if ! diff <(normalized "$f") <(normalized "$now") >&2; then
    echo "[hoststate] the host differs from before the real node started (- before, + now)" >&2
    return 1
  fi
}

case "${1:-}" in
  save) save "$2" ;;
  restore) restore "$2" ;;
  check) check "$2" ;;
  *) echo "usage: $0 save|restore|check FILE" >&2; exit 2 ;;
esac
