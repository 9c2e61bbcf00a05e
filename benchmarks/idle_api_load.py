"""Idle steady state: API requests per second a hub makes with N running servers and
nothing happening, jupyter-kf's spawner against KubeSpawner 7.1.0.

KubeSpawner's reflectors end their watch every 10-30 s and list again; ours resume the
watch from the last resourceVersion (bookmarks keep it fresh) and list again only on 410.
Same setup as spawn_herd.py (real hub, tests/cluster, stand-in servers answered in this
process), with every server in one shared namespace; the hub polls each server every
``poll_interval`` (30 s) as usual, and both spawners answer polls from their caches.

    python benchmarks/idle_api_load.py            # 500 servers, 480 s measured, 1 round
    python benchmarks/idle_api_load.py --quick    # 60 servers, 60 s: no watch rotation

The window is twice the longest watch period on either side (support/verdict.py's
WATCH_PERIOD_S: our hub's watch rotates every 240 s, KubeSpawner's reflectors every 10-30 s),
so each side's rotations are counted; a shorter window (``--quick``, ``--seconds``) misses
ours, says so, and fails that goal. Exits 1 when a goal is not met.

Needs what spawn_herd.py needs (a tests/cluster control plane, JupyterHub's proxy).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from support.hub_bench import RESULTS, BenchHub, ClusterSide, p99, require_peer, summary
from support.verdict import WATCH_PERIOD_S, check

BATCH = 100


def idle_round(
    side: str, cluster: ClusterSide, servers: int, seconds: float, workdir: Path
) -> dict:
    shared = f"idle-{side}-{int(time.time())}"
    cluster.core.create_namespace({"metadata": {"name": shared}})
    hub = BenchHub(side, workdir, cluster.kubeconfig, shared_namespace=shared)
    hub.start()
    try:
        names = [f"u{i:04d}" for i in range(servers)]
        hub.add_users(names)
        t0 = time.monotonic()
        # In batches: this measures the idle state, not the herd (500 at once overruns
        # JupyterHub's own proxy API on this machine: "Failed to add ... to proxy").
        for i in range(0, len(names), BATCH):
            batch = names[i : i + BATCH]
            for attempt in range(3):
                try:
                    hub.spawn_all([n for n in batch if not hub.is_ready(n)])
                    hub.wait_all_ready(batch, 600)
                    break
                except RuntimeError:
                    if attempt == 2:
                        raise
                    time.sleep(5)
        spawn_wall = time.monotonic() - t0
        time.sleep(15)  # let the last spawns' requests settle
        before = hub.read_stats()
        start = time.monotonic()
        time.sleep(seconds)
        after = hub.read_stats()
        elapsed = time.monotonic() - start
        made = after["requests"] - before["requests"]
        lags = after["lags"][len(before["lags"]) :]
        by = {k: after["by"].get(k, 0) - before["by"].get(k, 0) for k in after["by"]}
        return {
            "requests_per_s": made / elapsed,
            "requests": made,
            "seconds": elapsed,
            "requests_by_kind": by,
            "loop_lag_p99_ms": p99(lags) * 1000,
            "spawn_wall_s": spawn_wall,
        }
    finally:
        hub.stop()
        cluster.clean(hub.prefix, shared)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 servers, 60 s")
    parser.add_argument("--servers", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    servers = args.servers or (60 if args.quick else 500)
    seconds = args.seconds or (60 if args.quick else 2 * WATCH_PERIOD_S)
    if seconds < 2 * WATCH_PERIOD_S:
        print(
            f"a {seconds:g} s window is shorter than two {WATCH_PERIOD_S} s watch rotations: "
            "it does not measure the steady state's rotations (the window goal fails)",
            flush=True,
        )
    require_peer()
    # the test cluster's own KWOK nodes hold ~150 pods; extra ones take 250 each
    cluster = ClusterSide(nodes=0 if servers <= 150 else -(-servers // 250) + 1)
    work = Path(tempfile.mkdtemp(prefix="jkf-idle-"))
    runs: dict[str, list[dict]] = {"ours": [], "peer": []}
    try:
        for r in range(args.rounds):
            for side in ("ours", "peer"):
                res = idle_round(side, cluster, servers, seconds, work / f"{side}-{r}")
                print(f"round {r} {side}: {json.dumps(res)}", flush=True)
                runs[side].append(res)
    finally:
        cluster.close()
    ours = {
        "requests_per_s": summary([x["requests_per_s"] for x in runs["ours"]]),
        "loop_lag_p99_ms": summary([x["loop_lag_p99_ms"] for x in runs["ours"]]),
    }
    peer = {
        "requests_per_s": summary([x["requests_per_s"] for x in runs["peer"]]),
        "loop_lag_p99_ms": summary([x["loop_lag_p99_ms"] for x in runs["peer"]]),
    }
    peer_rate = peer["requests_per_s"]["median"]
    ratio = {"requests_per_s": ours["requests_per_s"]["median"] / peer_rate if peer_rate else None}
    goal = {
        "requests_per_s": "<= 0.1x peer",
        "window": f">= {2 * WATCH_PERIOD_S} s (two of the longest watch period)",
    }
    out = {
        "ours": ours,
        "peer": {"kubespawner-7.1.0": peer},
        "ratio": ratio,
        "goal": goal,
        "servers": servers,
        "seconds": seconds,
        "runs": runs,
    }
    out["checks"] = check("idle_api_load", out)
    out["met"] = all(out["checks"].values())
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "idle_api_load.json").write_text(json.dumps(out, indent=2))
    print(
        "RESULT idle_api_load "
        + json.dumps({k: out[k] for k in ("ours", "peer", "ratio", "goal", "met")})
    )
    return 0 if out["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
