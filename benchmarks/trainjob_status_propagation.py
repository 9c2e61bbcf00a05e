"""Status propagation for TrainJobs followed to completion: ours vs the kubeflow SDK.

Ours: ``jupyter_kf.Client`` on ``KubernetesBackend``, ``client.wait(name)`` for every job,
one thread each, served from its list+watch cache. Peer: the kubeflow SDK's
``TrainerClient.wait_for_job_status(name)`` (PyPI ``kubeflow`` 0.5.0, in .venv-sdk/) at its
defaults: status Complete, a ``get_job`` every 2 s (each one a GET of the TrainJob, a GET of
its runtime and a LIST of its pods). Each side runs in its own process
(benchmarks/support/k8s_driver.py) as the cluster admin, one thread per job.

A batch: a fresh namespace, N 1-node TrainJobs on torch-distributed made as jupyter-kf makes
them, whose pods KWOK makes succeed after staggered times (the Trainer, JobSet and the Job
controller then mark the TrainJob Complete), a follower process told to follow them all
until each has ended. Batches alternate ours, peer, ours, ... after a warm-up batch each.

- Latency of a job = (monotonic time the follower's wait returned) - (monotonic time a
  separate raw admin watch received the event in which the job's Complete condition first
  appears): from the Trainer's status write reaching a watcher to the client knowing it.
- Requests: every HTTP request the follower process sends to the API server (urllib3's
  ``HTTPConnectionPool.urlopen`` wrapped in that process, as benchmarks/
  status_propagation.py counts them; a watch counts once, when opened), from the moment it
  is told to follow until the last job is seen.

Goal (issue 17): ours' median latency at least 10x lower than the peer's, with at most 0.25x
its API requests (median over batches of each batch's total).

    python benchmarks/trainjob_status_propagation.py [--quick] [--kubeconfig PATH]
        [--jobs N] [--rounds N]
"""

from __future__ import annotations

import statistics
import sys
import time

from support.k8s_bench import TRAINJOBS, Driver, code_state, create_namespace, log
from support.k8s_rounds import (
    afters,
    bench_parser,
    follow_batch,
    pooled_requests,
    session,
)
from support.peer import ensure_peer, stats
from support.trainjob_bench import RUNTIME, create_trainjobs, trainjob_watch
from support.verdict import Run

NAME = "trainjob_status_propagation"
SIDES = ("ours", "peer")


def run_batch(api, kubeconfig: str, side: str, count: int, lo: float, hi: float) -> dict:
    ns = create_namespace(api, f"jkf-bench-tsp-{side}")
    followers = count if side == "peer" else None
    driver = Driver("follow", side, kubeconfig, ns, TRAINJOBS, followers=followers)
    reference = trainjob_watch(api, ns).start()
    jobs = {
        f"job-{i:02d}": {"jupyter-kf.test/outcome": "succeed", "jupyter-kf.test/after": f"{a:g}s"}
        for i, a in enumerate(afters(count, lo, hi))
    }
    b = follow_batch(
        api, driver, reference, ns, lambda: create_trainjobs(api, ns, jobs), hi + 120, side
    )
    first, created = reference.first, b["created"]
    b["created_to_complete_s"] = statistics.median(first[n] - created[n] for n in jobs)
    return b


def summarize(batches: list[dict]) -> dict:
    totals, job_minutes = pooled_requests(batches)
    return {
        "latency_ms": stats([x * 1000 for b in batches for x in b["latencies"]]),
        "requests_per_batch": stats([b["requests"]["total"] for b in batches]),
        "requests_per_job_minute": round(totals["total"] / job_minutes, 3),
        "requests": totals,
        "created_to_complete_s": stats([b["created_to_complete_s"] for b in batches]),
        "jobs": sum(len(b["latencies"]) for b in batches),
        "batches": len(batches),
    }


def main() -> int:
    parser = bench_parser(
        __doc__,
        quick="pods succeed 5-10 s after starting (full: 10-30 s), 1 round (full: 3)",
        rounds="rounds after the warm-up",
    )
    parser.add_argument("--jobs", type=int, default=20, help="jobs per batch (default 20)")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    lo, hi = (5.0, 10.0) if args.quick else (10.0, 30.0)

    run = Run(NAME, quick=args.quick)
    peer_name = ensure_peer()
    t0 = time.monotonic()
    with session(args.kubeconfig, peer_name) as (kubeconfig, api):
        log("warm-up: one batch of 2 jobs per side")
        for side in SIDES:
            run_batch(api, kubeconfig, side, 2, 2.0, 3.0)
        batches: dict[str, list[dict]] = {side: [] for side in SIDES}
        for r in range(rounds):
            for side in SIDES:  # A B A B ...
                b = run_batch(api, kubeconfig, side, args.jobs, lo, hi)
                batches[side].append(b)
                log(
                    f"round {r + 1}/{rounds} {side:4s} latency median "
                    f"{statistics.median(b['latencies']) * 1000:8.1f} ms  requests "
                    f"{b['requests']}"
                )

    s = {side: summarize(batches[side]) for side in SIDES}
    ours, peer = s["ours"], s["peer"]
    lat_ratio = round(ours["latency_ms"]["median"] / peer["latency_ms"]["median"], 4)
    req_ratio = round(
        ours["requests_per_batch"]["median"] / peer["requests_per_batch"]["median"], 4
    )
    result = {
        "ours": {"client": f"{batches['ours'][0]['version']}: client.wait() per job", **ours},
        "peer": {
            f"{peer_name.split(' (')[0]} TrainerClient.wait_for_job_status (defaults: "
            "polling_interval=2)": peer
        },
        "ratio": {"latency_median": lat_ratio, "requests_per_batch_median": req_ratio},
        "goal": {
            "latency": "ours median <= 0.1 x peer median",
            "requests": "ours requests per batch <= 0.25 x peer's",
        },
        "setup": {
            "jobs_per_batch": args.jobs,
            "rounds": rounds,
            "quick": args.quick,
            "pods_succeed_after_s": [lo, hi],
            "kind": f"TrainJob, runtime {RUNTIME}, 1 node (KWOK)",
            "peer": peer_name,
            "peer_clients": "one TrainerClient per followed job",
            "identity": "cluster admin for both sides",
            "seconds": round(time.monotonic() - t0, 1),
            "code": code_state(),
        },
        "notes": (
            "latency: follower's wait returning minus a raw admin watch receiving the event "
            "where Complete first appears (ms, over all jobs of all rounds). requests: every "
            "HTTP request of the follower process from being told to follow until its last "
            "job was seen (a watch counts once). Ours' count is a fixed cost per namespace "
            "(one list and one watch per served job kind, pods and events); the peer's is "
            "3 per job per 2 s poll (TrainJob GET, runtime GET, pods LIST)."
        ),
    }
    log(
        f"latency median: ours {ours['latency_ms']['median']:.1f} ms, peer "
        f"{peer['latency_ms']['median']:.1f} ms (ours/peer = {lat_ratio}); requests per "
        f"batch: ours {ours['requests_per_batch']['median']}, peer "
        f"{peer['requests_per_batch']['median']} (ours/peer = {req_ratio})"
    )
    return run.finish(result, "1 round of 20 jobs whose pods succeed after 5-10 s")


if __name__ == "__main__":
    sys.exit(main())
