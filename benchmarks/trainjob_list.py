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

Each call is timed inside its own process (benchmarks/support/k8s_driver.py) and its
requests are counted (urllib3's ``HTTPConnectionPool.urlopen`` wrapped).

Goal (issue 17): ours' p99 at least 20x lower than the peer's.

    python benchmarks/trainjob_list.py [--quick] [--kubeconfig PATH] [--jobs N] [--rounds N]
        [--ours-per-round K]
"""

from __future__ import annotations

import sys
import time

from support import k8s_rounds
from support.k8s_bench import TRAINJOBS, code_state, create_namespace, delete_namespace, log
from support.peer import ensure_peer, stats
from support.trainjob_bench import RUNTIME, create_trainjobs
from support.verdict import Run

NAME = "trainjob_list"


def settle(api, namespace: str, jobs: int, running: int, timeout: float) -> dict:
    """Wait until every job exists, the ones meant to end are Complete and the others' pods
    are Running (the Trainer, JobSet, the Job controller and KWOK have caught up)."""
    from kubernetes import client

    custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    group, version, plural = TRAINJOBS
    deadline = time.monotonic() + timeout
    while True:
        crs = k8s_rounds.raw_items(
            custom.list_namespaced_custom_object, group, version, namespace, plural
        )
        complete = sum(
            1
            for cr in crs
            for c in (cr.get("status") or {}).get("conditions") or ()
            if c.get("type") == "Complete" and c.get("status") == "True"
        )
        phases = [
            (p.get("status") or {}).get("phase")
            for p in k8s_rounds.raw_items(core.list_namespaced_pod, namespace)
        ]
        state = {
            "jobs": len(crs),
            "jobs_complete": complete,
            "pods": len(phases),
            "pods_running": phases.count("Running"),
            "pods_succeeded": phases.count("Succeeded"),
        }
        done = len(crs) == jobs and complete == jobs - running and state["pods_running"] == running
        if done or time.monotonic() > deadline:
            return state
        time.sleep(5)


def main() -> int:
    parser = k8s_rounds.bench_parser(
        __doc__,
        quick="3 rounds (full: 20); making the 500 jobs takes most of the time",
        rounds="K lists by ours, one by peer",
    )
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--ours-per-round", type=int, default=5, help="K")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 20)
    running = len(range(0, args.jobs, 10))

    run = Run(NAME, quick=args.quick)
    peer_name = ensure_peer()
    t0 = time.monotonic()
    with k8s_rounds.session(args.kubeconfig, peer_name) as (kubeconfig, api):
        ns = create_namespace(api, "jkf-bench-tlist")
        drivers = []
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
            drivers = k8s_rounds.list_drivers(kubeconfig, ns, args.jobs, resource=TRAINJOBS)
            ready = {d.side: d.ready for d in drivers}
            listed = k8s_rounds.list_rounds(
                drivers, args.jobs, rounds, args.ours_per_round, warmups=1, log_every=1
            )
        finally:
            for d in drivers:
                d.close()
            delete_namespace(api, ns)

    o = k8s_rounds.ms_summary([x["seconds"] for x in listed["ours"]])
    p = k8s_rounds.ms_summary([x["seconds"] for x in listed["peer"]])
    ours_requests = [x["requests"] for x in listed["ours"]]
    peer_requests = [x["requests"] for x in listed["peer"]]
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
        "setup": {
            "jobs": args.jobs,
            "rounds": rounds,
            "ours_lists_per_round": args.ours_per_round,
            "timed_lists": {"ours": len(listed["ours"]), "peer": len(listed["peer"])},
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
    log(
        f"ours p50 {o['p50']} ms p99 {o['p99']} ms; peer p50 {p['p50']} ms p99 {p['p99']} ms; "
        f"ratio p99 {p99_ratio}"
    )
    return run.finish(result, "3 rounds: its p99 is then nearly the maximum")


if __name__ == "__main__":
    sys.exit(main())
