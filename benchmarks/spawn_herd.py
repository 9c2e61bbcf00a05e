"""A herd of users starting their servers at once: jupyter-kf's spawner against KubeSpawner.

Both run in a real JupyterHub 6.1.1 (ours from the project's environment, KubeSpawner
7.1.0 from ``.venv-bench-hub/``: benchmarks/requirements-kubespawner.txt) on the
tests/cluster control plane, with the same objects per user: a namespace labelled for Pod
Security, a ServiceAccount, the jupyter-kf Role and a RoleBinding (KubeSpawner makes the
last three in a small subclass, in the same ``_ensure_namespace`` step that makes its
namespace), a home PVC of the test StorageClass, and the pod. The hub's concurrent spawn
limit is off for both. Servers are light stand-ins answered in this process (the hub only
checks that they answer HTTP): the benchmark measures the hub and its spawner.

A third side, the "floor", is the same hub (configuration and instrumentation, the
project's environment) with a no-op spawner: no Kubernetes work, its start() returns the
URL of a stand-in server the benchmark answers at once. Its loop lag is JupyterHub's own
per-spawn work, the part no spawner can remove; a spawner's share is its excess over it.

Measured per round, alternating ours, the peer and the floor: wall time from the first
spawn request until every server is ready, the API requests the hub made (counted in each
hub at its Kubernetes client's REST layer, watches included), the hub's event-loop lag (a
50 ms ticker in the hub: p99 and max of the ticks' delays, and their sum per spawn, which
does not depend on how long the round lasts, unlike the p99: the floor's short rounds hold
few calm ticks), and, in each of our rounds, the memory per 1,000 pods of our shared pod
cache and of KubeSpawner's pod reflector over the same pods (support/pod_cache.py). Beside the
lag, where it comes from: the loop thread's CPU and its wait for a core (Linux schedstat),
the whole hub's CPU and its RSS, and the machine's load (shared and noisy: read the lag
next to it). ``--profile`` samples each hub with py-spy during its first round and prints
where the loop thread's busy samples went.

The hubs' sqlite databases are on tmpfs (``--hub-db-on-disk`` to keep them beside etcd's
data, where every commit's fsync waits behind the herd's etcd writes: a loop stall of
seconds that is this machine's layout, not a spawner's work; see docs/benchmarks.md).

    python benchmarks/spawn_herd.py            # 200 users, 2 rounds each
    python benchmarks/spawn_herd.py --quick    # 30 users, 1 round each: a smoke run, not
                                               # the herd regime (its output says so)
    python benchmarks/spawn_herd.py --profile  # also py-spy on each hub's first round
    python benchmarks/spawn_herd.py --users 1000 --rounds 1   # a point of the cost curve
    python benchmarks/spawn_herd.py --plot docs/spawn_herd_curve.svg
        # the curve from every size's result; exit 1 unless our cost per user is linear

Needs a running tests/cluster (``JKF_CLUSTER_KUBECONFIG``, else tests/cluster/.run's,
started with up.sh if needed) and JupyterHub's proxy from npm
(``make tests/hub/node_modules/.bin/configurable-http-proxy``). Run it from the repository
root with the project's environment: ``.venv/bin/python benchmarks/spawn_herd.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from support import herd_curve, pod_cache
from support.hub_bench import (
    RESULTS,
    SIDES,
    BenchHub,
    ClusterSide,
    p99,
    pod_ip,
    require_peer,
    summary,
)

HERD = 200  # users: where a spawner's cost on the hub's loop shows (issue 21)


def herd_round(
    side: str,
    cluster: ClusterSide,
    users: int,
    workdir: Path,
    profile: bool = False,
    db_on_disk: bool = False,
) -> dict:
    # The hub's database on tmpfs unless asked: on this machine etcd's WAL shares the one
    # ext4 disk with the hub's sqlite file, so every commit's fsync (on the hub's loop)
    # queues behind the herd's etcd writes; a real hub's database is not on etcd's disk.
    db_dir = None if db_on_disk else Path(tempfile.mkdtemp(prefix="jkf-herd-db-", dir="/dev/shm"))
    hub = BenchHub(side, workdir, cluster.kubeconfig, db_dir=db_dir)
    hub.start()
    names = [f"u{i:04d}" for i in range(users)]
    try:
        if side == "floor":  # no pods: its servers are stand-ins added here at the same IPs
            for name in names:
                for attempt in range(50):  # the last round's stand-in at that IP may be closing
                    try:
                        cluster.listener.add(f"floor/{name}", pod_ip(name), 8888)
                        break
                    except OSError:
                        if attempt == 49:
                            raise
                        time.sleep(0.2)
        hub.add_users(names)
        time.sleep(2)
        before = hub.read_stats()
        spy = start_profiler(hub, workdir) if profile else None
        rss_before = hub_rss(hub)
        cpu_before = hub_cpu(hub)
        t0 = time.monotonic()
        hub.spawn_all(names)
        t1 = hub.wait_all_ready(names, max(900, 2 * users))
        time.sleep(1.0)
        after = hub.read_stats()
        rss_after = hub_rss(hub)
        cpu = {k: v - cpu_before[k] for k, v in hub_cpu(hub).items()}
        if spy is not None:
            stop_profiler(spy, side, workdir)
        lags = after["lags"][len(before["lags"]) :]
        requests_made = after["requests"] - before["requests"]
        by = {k: after["by"].get(k, 0) - before["by"].get(k, 0) for k in after["by"]}
        result = {
            "wall_s": t1 - t0,
            "api_requests": requests_made,
            "api_requests_per_spawn": requests_made / users,
            "requests_by_kind": by,
            "loop_lag_p99_ms": p99(lags) * 1000,
            "loop_lag_max_ms": max(lags or [0]) * 1000,
            "loop_lag_per_spawn_ms": sum(lags) / users * 1000,
            "lag_ticks": len(lags),
            # where the loop's lag comes from: the loop thread running (Python on the
            # loop), waiting for a core (the machine's other processes), and the whole
            # hub's CPU (its other threads compete with the loop for the GIL)
            "loop_thread_cpu_ms_per_spawn": cpu["loop_cpu"] / users * 1000,
            "loop_thread_runqueue_ms_per_spawn": cpu["loop_runq"] / users * 1000,
            "hub_cpu_ms_per_spawn": cpu["hub_cpu"] / users * 1000,
            "hub_rss_mb": rss_after / 2**20,
            "hub_rss_growth_mb": (rss_after - rss_before) / 2**20,
            "load_1min": os.getloadavg()[0],
        }
        if side == "ours":
            from jupyter_kf.hub.objects import selector

            # both caches weighed over the same pods (this round's), each as it keeps them
            pods = selector(hub.hub_id)
            weighed = pod_cache.ours(cluster.api, pods, None)
            result["cache_bytes_per_1000_pods"] = weighed["bytes_per_1000_pods"]
            weighed = pod_cache.peer(cluster.kubeconfig, pods, None)
            result["peer_cache_bytes_per_1000_pods"] = weighed["bytes_per_1000_pods"]
        return result
    finally:
        hub.stop()
        for name in names:
            cluster.listener.remove(f"floor/{name}")
        cluster.clean(hub.prefix)
        if db_dir is not None:
            shutil.rmtree(db_dir, ignore_errors=True)


def hub_rss(hub: BenchHub) -> int:
    """The hub process's resident memory in bytes (Linux /proc)."""
    assert hub.proc is not None
    for line in Path(f"/proc/{hub.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def hub_cpu(hub: BenchHub) -> dict[str, float]:
    """Seconds so far: the loop thread's CPU and run-queue wait (schedstat), the whole
    hub's CPU (user + system, every thread)."""
    assert hub.proc is not None
    pid = hub.proc.pid
    run_ns, wait_ns, _ = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {
        "loop_cpu": int(run_ns) / 1e9,
        "loop_runq": int(wait_ns) / 1e9,
        "hub_cpu": (int(fields[11]) + int(fields[12])) / ticks,
    }


def start_profiler(hub: BenchHub, workdir: Path) -> subprocess.Popen:
    """py-spy sampling every thread of the hub (collapsed stacks, idle samples left out)."""
    assert hub.proc is not None
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        sys.exit("--profile needs py-spy: .venv/bin/pip install -e '.[test]'")
    return subprocess.Popen(
        [spy, "record", "--pid", str(hub.proc.pid), "--rate", "200", "--format", "raw"]
        + ["--threads", "--nonblocking", "-o", str(workdir / "profile.txt")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


def stop_profiler(spy: subprocess.Popen, side: str, workdir: Path) -> None:
    spy.send_signal(signal.SIGINT)
    spy.wait(60)
    text = (workdir / "profile.txt").read_text()
    out = RESULTS / f"spawn_herd_profile_{side}.txt"
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(summarize_profile(text, side), flush=True)


def summarize_profile(text: str, side: str, top: int = 25) -> str:
    """Where the hub's event-loop thread spent its busy samples: inclusive share per
    function (each function counted once per stack), and the other threads' busy share
    (they compete with the loop for the GIL)."""
    loop_total = 0
    threads: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    leaf: dict[str, int] = {}
    for line in text.splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_s)
        frames = stack.split(";")
        thread = frames[0].split(": ", 1)[-1]
        threads[thread.split("-")[0]] = threads.get(thread.split("-")[0], 0) + count
        if thread != "MainThread":
            continue
        loop_total += count
        for frame in set(frames[1:]):
            inclusive[frame] = inclusive.get(frame, 0) + count
        leaf[frames[-1]] = leaf.get(frames[-1], 0) + count
    lines = [f"profile {side}: busy samples per thread (200/s): {threads}"]
    lines.append(f"  loop thread, inclusive share of its {loop_total} busy samples:")
    skip = ("asyncio/", "<module>", "tornado/platform", "runners.py")
    ranked = sorted(inclusive.items(), key=lambda kv: -kv[1])
    for frame, n in [kv for kv in ranked if not any(x in kv[0] for x in skip)][:top]:
        lines.append(f"  {100 * n / max(loop_total, 1):5.1f}%  {frame}")
    lines.append("  loop thread, self share (leaf frames):")
    for frame, n in sorted(leaf.items(), key=lambda kv: -kv[1])[:12]:
        lines.append(f"  {100 * n / max(loop_total, 1):5.1f}%  {frame}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="30 users, 1 round each: a smoke run, NOT the herd regime (says so in its output)",
    )
    parser.add_argument("--users", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample each hub with py-spy during its first round "
        "(benchmarks/results/spawn_herd_profile_<side>.txt)",
    )
    parser.add_argument(
        "--hub-db-on-disk",
        action="store_true",
        help="keep each hub's sqlite database on disk beside etcd's (the default puts it "
        "on tmpfs: see herd_round)",
    )
    parser.add_argument(
        "--plot",
        metavar="SVG",
        help="only draw the cost curve from benchmarks/results/spawn_herd_users*.json, print "
        "its table and check that our cost per user grows linearly (exit 1 if not)",
    )
    args = parser.parse_args()
    if args.plot:
        points = herd_curve.load_points()
        Path(args.plot).write_text(herd_curve.svg(points))
        linear = herd_curve.linearity(points)
        (RESULTS / "spawn_herd_curve.json").write_text(
            json.dumps({"linearity": linear, "sizes": sorted(points)}, indent=2)
        )
        print(herd_curve.table(points))
        print("RESULT spawn_herd_curve " + json.dumps(linear))
        if not linear["met"]:
            sys.exit(1)
        return
    users = args.users or (30 if args.quick else 200)
    rounds = args.rounds or (1 if args.quick else 2)
    require_peer()
    regime = (
        f"herd: {users} users at once"
        if users >= HERD
        else f"NOT the herd regime: {users} users finish in seconds, before the hub's loop "
        f"saturates; the goals are judged on >= {HERD} users (the full run)"
    )
    print(f"spawn_herd: {regime}; machine load {os.getloadavg()}", flush=True)
    # the test cluster's own KWOK nodes hold ~150 pods; extra ones take 250 each
    cluster = ClusterSide(nodes=0 if users <= 150 else -(-users // 250) + 1)
    work = Path(tempfile.mkdtemp(prefix="jkf-herd-"))
    runs: dict[str, list[dict]] = {side: [] for side in SIDES}
    try:
        for r in range(rounds):
            for side in SIDES:  # ours, peer, floor, ours, ...
                res = herd_round(
                    side,
                    cluster,
                    users,
                    work / f"{side}-{r}",
                    profile=args.profile and r == 0,
                    db_on_disk=args.hub_db_on_disk,
                )
                print(f"round {r} {side}: {json.dumps(res)}", flush=True)
                runs[side].append(res)
    finally:
        cluster.close()

    def agg(side: str) -> dict:
        rs = runs[side]
        out = {
            k: summary([x[k] for x in rs])
            for k in (
                "wall_s",
                "api_requests_per_spawn",
                "loop_lag_p99_ms",
                "loop_lag_max_ms",
                "loop_lag_per_spawn_ms",
                "loop_thread_cpu_ms_per_spawn",
                "loop_thread_runqueue_ms_per_spawn",
                "hub_cpu_ms_per_spawn",
                "hub_rss_mb",
                "load_1min",
            )
        }
        out["requests_by_kind"] = rs[-1]["requests_by_kind"]
        if side == "ours":
            for k in ("cache_bytes_per_1000_pods", "peer_cache_bytes_per_1000_pods"):
                out[k] = summary([x[k] for x in rs])
        return out

    ours, peer, floor = agg("ours"), agg("peer"), agg("floor")
    ratio = {
        k: ours[k]["median"] / peer[k]["median"] if peer[k]["median"] else None
        for k in ("wall_s", "api_requests_per_spawn", "loop_lag_p99_ms")
    }
    ratio["cache_bytes_per_1000_pods"] = (
        ours["cache_bytes_per_1000_pods"]["median"]
        / ours["peer_cache_bytes_per_1000_pods"]["median"]
    )
    # what a spawner adds to JupyterHub's own per-spawn cost (the no-op floor's), medians of
    # rounds; per spawn, so not skewed by round length or by how fast the spawns finish.
    for side, name in ((ours, "ours"), (peer, "peer")):
        for k in ("loop_lag_p99_ms", "loop_lag_per_spawn_ms", "loop_thread_cpu_ms_per_spawn"):
            ratio[f"{k.removesuffix('_ms')}_over_floor_ms_{name}"] = (
                side[k]["median"] - floor[k]["median"]
            )
    # "Loop time per spawn beyond the floor" is the loop thread's CPU (schedstat), not the
    # ticker's summed lag: on this shared 2-core machine the lag is mostly the loop waiting
    # for a core (run-queue wait ~= loop CPU x (load / cores - 1)), so it follows whatever
    # else runs that minute. The lag sum's excess is still reported beside it.
    ours_excess = ratio["loop_thread_cpu_ms_per_spawn_over_floor_ms_ours"]
    peer_excess = ratio["loop_thread_cpu_ms_per_spawn_over_floor_ms_peer"]
    ratio["loop_time_per_spawn_over_floor"] = ours_excess / peer_excess if peer_excess > 0 else None
    lag_peer = ratio["loop_lag_per_spawn_over_floor_ms_peer"]
    ratio["loop_lag_per_spawn_over_floor"] = (
        ratio["loop_lag_per_spawn_over_floor_ms_ours"] / lag_peer if lag_peer > 0 else None
    )
    goal = {
        "wall_s": "<= 0.8x peer",
        "api_requests_per_spawn": "<= 1.0x peer",
        "loop_lag_p99_ms": "<= 1.0x peer",
        "loop_time_per_spawn_over_floor": "<= 0.5x peer (the loop thread's CPU per spawn "
        "beyond a no-op spawner's hub: the part a spawner controls)",
        "cache_bytes_per_1000_pods": "<= 1.0x peer (KubeSpawner's pod reflector over the "
        "same pods)",
    }

    def at_most(key: str, bound: float) -> bool:
        value = ratio[key]
        if key == "loop_time_per_spawn_over_floor" and peer_excess <= 0:
            return ours_excess <= 0  # the peer adds nothing over the floor: nor may we
        return value is not None and value <= bound

    met_by_goal = {
        "wall_s": at_most("wall_s", 0.8),
        "api_requests_per_spawn": at_most("api_requests_per_spawn", 1.0),
        "loop_lag_p99_ms": at_most("loop_lag_p99_ms", 1.0),
        "loop_time_per_spawn_over_floor": at_most("loop_time_per_spawn_over_floor", 0.5),
        "cache_bytes_per_1000_pods": at_most("cache_bytes_per_1000_pods", 1.0),
    }
    met = all(met_by_goal.values())
    out = {
        "ours": ours,
        "peer": {"kubespawner-7.1.0": peer},
        "floor": floor,
        "ratio": ratio,
        "goal": goal,
        "met": met,
        "met_by_goal": met_by_goal,
        "users": users,
        "rounds": rounds,
        "regime": regime,
        "hub_db": "disk (beside etcd)" if args.hub_db_on_disk else "tmpfs",
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "spawn_herd.json").write_text(json.dumps(out, indent=2))
    # one file per herd size too: the cost curve (docs/benchmarks.md) reads them
    (RESULTS / f"spawn_herd_users{users}.json").write_text(json.dumps(out, indent=2))

    def brief(side: dict) -> dict:
        return {k: v for k, v in side.items() if k != "requests_by_kind"}

    line = {
        "ours": brief(ours),
        "peer": {"kubespawner-7.1.0": brief(peer)},
        "floor": brief(floor),
        "ratio": ratio,
        "goal": goal,
        "met_by_goal": met_by_goal,
        "met": met,
        "regime": regime,
    }
    if users < HERD:
        print(f"NOTE: {regime}", flush=True)
    print("RESULT spawn_herd " + json.dumps(line))
    if not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
