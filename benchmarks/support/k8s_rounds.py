"""The steps the cluster benchmarks share, on PyTorchJobs or TrainJobs alike: the command
line and the cluster session, following a batch of jobs to their end against the raw
reference watch, and the timed rounds of lists."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from support.k8s_bench import Driver, admin_api, cluster, delete_namespace, log, percentile
from support.peer import stats


def bench_parser(doc: str, quick: str, rounds: str) -> argparse.ArgumentParser:
    """A benchmark's command line: ``--quick`` (``quick`` says what it changes),
    ``--kubeconfig`` and ``--rounds``; the benchmark adds its own."""
    parser = argparse.ArgumentParser(
        description=doc.splitlines()[0],
        epilog="Without --kubeconfig, $KUBECONFIG is used; without either, a cluster is "
        "started with tests/cluster/up.sh (state in /tmp/jkfc-bench-auto, ports 57xxx) and "
        "stopped afterwards.",
    )
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument(
        "--kubeconfig", default=None, help="admin kubeconfig (default $KUBECONFIG; else start one)"
    )
    parser.add_argument("--rounds", type=int, default=None, help=rounds)
    return parser


@contextmanager
def session(kubeconfig: str | None, peer: str) -> Iterator[tuple[str, object]]:
    """The cluster to run on and an admin API client for it; logs the peer first."""
    log(f"peer: {peer}")
    with cluster(kubeconfig) as config:
        yield config, admin_api(config)


def afters(count: int, lo: float, hi: float) -> list[float]:
    """Seconds after which each of ``count`` jobs' pods end, spread evenly over [lo, hi]."""
    if count == 1:
        return [lo]
    return [round(lo + (hi - lo) * i / (count - 1), 1) for i in range(count)]


def follow_batch(
    api,
    driver: Driver,
    reference,
    namespace: str,
    create: Callable[[], dict[str, float]],
    timeout: float,
    label: str,
) -> dict:
    """Make the batch's jobs (``create`` returns each one's creation time), tell the
    follower to follow them all and read its FOLLOWED line; then the namespace goes.
    Returns the follower's result with each job's latency (the follower seeing the end minus
    the reference watch seeing it) and the job-minutes followed."""
    try:
        created = create()
        ready = driver.wait_ready()
        driver.send({"jobs": list(created), "timeout": timeout})
        result = driver.read("FOLLOWED", timeout + 120)
        deadline = time.monotonic() + 10  # the reference may trail the follower by a hair
        while set(reference.first) < set(created) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        driver.close()
        reference.stop()
        delete_namespace(api, namespace)
    if reference.error:
        raise RuntimeError(f"reference watch failed: {reference.error!r}")
    if result["errors"]:
        raise RuntimeError(f"{label}: {result['errors']}")
    latencies, job_minutes = [], 0.0
    for name in created:
        if name not in reference.first:
            raise RuntimeError(f"{label}: the reference watch never saw {name} end")
        latencies.append(result["seen"][name] - reference.first[name])
        job_minutes += (reference.first[name] - result["go"]) / 60
    return {
        **result,
        "version": ready["version"],
        "created": created,
        "latencies": latencies,
        "job_minutes": job_minutes,
    }


def pooled_requests(batches: list[dict]) -> tuple[dict[str, int], float]:
    """Every batch's requests added up by kind, and the job-minutes they were made over."""
    totals: dict[str, int] = {}
    for b in batches:
        for k, v in b["requests"].items():
            totals[k] = totals.get(k, 0) + v
    return totals, sum(b["job_minutes"] for b in batches)


def raw_items(list_call, *args) -> list[dict]:
    """The items of a LIST, read as raw JSON (no model objects for hundreds of jobs)."""
    return json.loads(list_call(*args, _preload_content=False).data)["items"]


def list_drivers(kubeconfig: str, namespace: str, jobs: int, **options) -> list[Driver]:
    """Ours' and the peer's list drivers, both READY and both seeing ``jobs`` jobs."""
    drivers = [
        Driver("list", "ours", kubeconfig, namespace, **options),
        Driver("list", "peer", kubeconfig, namespace, **options),
    ]
    try:
        for d in drivers:
            r = d.wait_ready(600)
            log(
                f"{d.side} ready ({r['version']}): first list "
                f"{r['first_list_seconds'] * 1000:.0f} ms, {r['count']} jobs, "
                f"requests {r['requests']}"
            )
            if r["count"] != jobs:
                raise RuntimeError(f"{d.side} listed {r['count']} jobs, not {jobs}")
    except BaseException:
        for d in drivers:
            d.close()
        raise
    return drivers


def list_rounds(
    drivers: list[Driver], jobs: int, rounds: int, per_round: int, warmups: int, log_every: int
) -> dict[str, list[dict]]:
    """After ``warmups`` untimed rounds, ``rounds`` rounds of ``per_round`` lists by ours
    then one by the peer (ours' calls cost milliseconds, the peer's up to seconds: the rounds
    give ours enough samples for a p99 while both sides see the cluster in the same state
    over the same minutes). Each side's LISTED lines."""
    ours_d, peer_d = drivers

    def one(driver: Driver) -> dict:
        driver.send("list")
        out = driver.read("LISTED", 600)
        if out["count"] != jobs:
            raise RuntimeError(f"{driver.side} listed {out['count']} jobs, not {jobs}")
        return out

    listed: dict[str, list[dict]] = {"ours": [], "peer": []}
    for i in range(-warmups, rounds):  # A A A A A B A A A A A B ...
        ours = [one(ours_d) for _ in range(per_round)]
        peer = one(peer_d)
        if i < 0:
            continue
        listed["ours"] += ours
        listed["peer"].append(peer)
        if (i + 1) % log_every == 0:
            log(
                f"round {i + 1}/{rounds}: ours {ours[-1]['seconds'] * 1000:.2f} ms, "
                f"peer {peer['seconds'] * 1000:.1f} ms ({peer['requests']} requests)"
            )
    return listed


def ms_summary(seconds: list[float]) -> dict:
    """Statistics in ms, with nearest-rank p50 and p99."""
    ms = [v * 1000 for v in seconds]
    return {
        **stats(ms),
        "p50": round(percentile(ms, 0.5), 3),
        "p99": round(percentile(ms, 0.99), 3),
    }
