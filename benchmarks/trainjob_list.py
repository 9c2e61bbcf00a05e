"""`list` over 500 TrainJobs on a real cluster: ours (list+watch cache) vs the kubeflow SDK.

500 1-node TrainJobs on torch-distributed in one namespace, made as jupyter-kf's Kubernetes
backend makes them: every 10th one's pod KWOK keeps Running, the others' succeed after 1 s
(so those TrainJobs are Complete, their pods kept: a notebook user's history). Once the
Trainer, JobSet and KWOK have caught up, two processes list them in turns after a warm-up:
each round is K lists by ours (default 5), then one by the peer (ours' calls cost
milliseconds, the peer's seconds: the rounds give ours enough samples for a p99 while both
sides see the cluster in the same state over the same minutes):

- ours: ``jupyter_kf.Client(KubernetesBackend).list()``, served from the namespace's
  list+watch cache (filled by the process's first call, before the warm-up), each job
  joined with its pods into a ``Job``;
- peer: the kubeflow SDK's ``TrainerClient.list_jobs()`` (``kubeflow`` 0.5.0, in
  .venv-sdk/): one LIST of the TrainJobs, then for every job a GET of its runtime and a
  LIST of its pods, deserialized into its models.

Each call is timed inside its own process (benchmarks/support/trainjob_driver.py) and its
requests are counted (urllib3's ``HTTPConnectionPool.urlopen`` wrapped).

Goal (issue 17): ours' p99 at least 20x lower than the peer's.

    python benchmarks/trainjob_list.py [--quick] [--kubeconfig PATH] [--jobs N] [--rounds N]
        [--ours-per-round K]

Without --kubeconfig, $KUBECONFIG is used; without either, a cluster is started with
tests/cluster/up.sh (state in /tmp/jkfc-bench-auto, ports 57xxx) and stopped afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from support.k8s_bench import (
    admin_api,
    cluster,
    code_state,
    create_namespace,
    delete_namespace,
    log,
    percentile,
)
from support.peer import stats, write_result
from support.trainjob_bench import (
    RUNTIME,
    TRAINJOBS,
    TrainJobDriver,
    create_trainjobs,
    ensure_sdk,
)

NAME = "trainjob_list"


def settle(api, namespace: str, jobs: int, running: int, timeout: float) -> dict:
    """Wait until every job exists, the ones meant to end are Complete and the others' pods
    are Running (the Trainer, JobSet, the Job controller and KWOK have caught up)."""
    from kubernetes import client

    custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    group, version, plural = TRAINJOBS
    deadline = time.monotonic() + timeout
    while True:
        crs = json.loads(
            custom.list_namespaced_custom_object(
                group, version, namespace, plural, _preload_content=False
            ).data
        )["items"]
        complete = sum(
            1
            for cr in crs
            for c in (cr.get("status") or {}).get("conditions") or ()
            if c.get("type") == "Complete" and c.get("status") == "True"
        )
        pods = json.loads(core.list_namespaced_pod(namespace, _preload_content=False).data)["items"]
        phases = [(p.get("status") or {}).get("phase") for p in pods]
        state = {
            "jobs": len(crs),
            "jobs_complete": complete,
            "pods": len(pods),
            "pods_running": phases.count("Running"),
            "pods_succeeded": phases.count("Succeeded"),
        }
        done = len(crs) == jobs and complete == jobs - running and state["pods_running"] == running
        if done or time.monotonic() > deadline:
            return state
        time.sleep(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 rounds (full: 20); making the 500 jobs takes most of the time",
    )
    parser.add_argument("--kubeconfig", default=None, help="admin kubeconfig")
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=None, help="K lists by ours, one by peer")
    parser.add_argument("--ours-per-round", type=int, default=5, help="K")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 20)
    running = len(range(0, args.jobs, 10))

    peer_name = ensure_sdk()
    log(f"peer: {peer_name}")
    t0 = time.monotonic()
    ours: list[float] = []
    peer: list[float] = []
    ours_requests: list[int] = []
    peer_requests: list[int] = []
    with cluster(args.kubeconfig) as kubeconfig:
        api = admin_api(kubeconfig)
        ns = create_namespace(api, "jkf-bench-tlist")
        drivers: list[TrainJobDriver] = []
        try:
            log(f"creating {args.jobs} TrainJobs in {ns}")
            t = time.monotonic()
            create_trainjobs(
                api,
                ns,
                {
                    f"job-{i:04d}": {
                        "jupyter-kf.test/outcome": "run" if i % 10 == 0 else "succeed",
                        "jupyter-kf.test/after": "1s",
                    }
                    for i in range(args.jobs)
                },
            )
            log(f"created in {time.monotonic() - t:.1f} s; waiting for the Trainer and JobSet")
            state = settle(api, ns, args.jobs, running, timeout=900)
            log(f"cluster state after {time.monotonic() - t:.0f} s: {state}")
            drivers = [
                TrainJobDriver("list", "ours", kubeconfig, ns),
                TrainJobDriver("list", "peer", kubeconfig, ns),
            ]
            ready = {d.side: d.wait_ready(600) for d in drivers}
            for side, r in ready.items():
                log(
                    f"{side} ready ({r['version']}): first list "
                    f"{r['first_list_seconds'] * 1000:.0f} ms, {r['count']} jobs, "
                    f"requests {r['requests']}"
                )
                if r["count"] != args.jobs:
                    raise RuntimeError(f"{side} listed {r['count']} jobs, not {args.jobs}")
            ours_d, peer_d = drivers

            def one(driver: TrainJobDriver) -> dict:
                driver.send("list")
                out = driver.read("LISTED", 600)
                if out["count"] != args.jobs:
                    raise RuntimeError(f"{driver.side} listed {out['count']} jobs")
                return out

            for _ in range(args.ours_per_round):  # warm-up
                one(ours_d)
            one(peer_d)
            for i in range(rounds):  # A A A A A B A A A A A B ...
                for _ in range(args.ours_per_round):
                    a = one(ours_d)
                    ours.append(a["seconds"])
                    ours_requests.append(a["requests"])
                b = one(peer_d)
                peer.append(b["seconds"])
                peer_requests.append(b["requests"])
                log(
                    f"round {i + 1}/{rounds}: ours {a['seconds'] * 1000:.2f} ms, "
                    f"peer {b['seconds'] * 1000:.0f} ms ({b['requests']} requests)"
                )
        finally:
            for d in drivers:
                d.close()
            delete_namespace(api, ns)

    def summary(values: list[float]) -> dict:
        ms = [v * 1000 for v in values]
        return {
            **stats(ms),
            "p50": round(percentile(ms, 0.5), 3),
            "p99": round(percentile(ms, 0.99), 3),
        }

    o, p = summary(ours), summary(peer)
    p99_ratio = round(o["p99"] / p["p99"], 5)
    result = {
        "ours": {
            "client": f"{ready['ours']['version']} Client(KubernetesBackend).list()",
            "list_ms": o,
            "requests_per_list": stats(ours_requests),
            "first_list_ms": round(ready["ours"]["first_list_seconds"] * 1000, 1),
            "startup_requests": ready["ours"]["requests"],
        },
        "peer": {
            f"{peer_name.split(' (')[0]} TrainerClient.list_jobs()": {
                "list_ms": p,
                "requests_per_list": stats(peer_requests),
                "first_list_ms": round(ready["peer"]["first_list_seconds"] * 1000, 1),
            }
        },
        "ratio": {
            "list_ms_p99": p99_ratio,
            "list_ms_p50": round(o["p50"] / p["p50"], 5),
            "list_ms_median": round(o["median"] / p["median"], 5),
        },
        "goal": {"list_ms": "ours p99 <= 0.05 x peer p99 (at least 20x lower)"},
        "met": p99_ratio <= 0.05,
        "setup": {
            "jobs": args.jobs,
            "rounds": rounds,
            "ours_lists_per_round": args.ours_per_round,
            "timed_lists": {"ours": len(ours), "peer": len(peer)},
            "quick": args.quick,
            "peer": peer_name,
            "cluster_state": state,
            "identity": "cluster admin",
            "kind": f"TrainJob, runtime {RUNTIME}, 1 node (KWOK): every 10th Running, the "
            "rest Complete (pods kept)",
            "seconds": round(time.monotonic() - t0, 1),
            "code": code_state(),
        },
        "notes": (
            "times in ms, measured inside each side's process around the call; p99 is "
            "nearest-rank. Ours serves from its cache (0 requests per list after the first "
            "call's list+watch); the peer sends one LIST of TrainJobs plus a runtime GET "
            "and a pods LIST per job, each deserialized into its models."
        ),
    }
    print(
        f"ours p50 {o['p50']} ms p99 {o['p99']} ms; peer p50 {p['p50']} ms p99 {p['p99']} ms; "
        f"ratio p99 {p99_ratio}",
        flush=True,
    )
    write_result(NAME, result)
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
