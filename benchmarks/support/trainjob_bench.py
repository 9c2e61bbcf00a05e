"""Shared by the trainjob_* benchmarks: TrainJobs made as jupyter-kf makes them, with pods
KWOK runs, and the raw reference watch on them.

The cluster, namespaces, drivers (benchmarks/support/k8s_driver.py with
``resource=TRAINJOBS``; the peer in .venv-sdk/) and statistics are k8s_bench's, k8s_rounds'
and peer's, as the v1 benchmarks use them.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from support.k8s_bench import TRAINJOBS, ConditionWatch, create_custom

IMAGE = "python:3.11-slim"  # never pulled: KWOK stands in for the kubelet
RUNTIME = "torch-distributed"


def trainjob_manifest(name: str, namespace: str, pod_annotations: dict) -> dict:
    """The TrainJob jupyter-kf's Kubernetes backend submits for a 1-node job on
    torch-distributed running ``true`` (no code to ship), its pod's fate set by KWOK's
    annotations (tests/cluster/kwok-stages.yaml)."""
    from jupyter_kf.jobs import JobSpec
    from jupyter_kf.jobs.trainjob import render_trainjob

    spec = JobSpec.create(
        name=name,
        workers=1,
        runtime=RUNTIME,
        command=["true"],
        pod_annotations=pod_annotations,
    )
    return render_trainjob(spec, namespace=namespace, image=IMAGE)


def create_trainjobs(
    api, namespace: str, jobs: dict[str, dict], threads: int = 8
) -> dict[str, float]:
    """Create ``{name: pod_annotations}`` as an admin with the plain client; returns each
    job's monotonic creation time."""
    from kubernetes import client

    custom = client.CustomObjectsApi(api)

    def one(item):
        name, annotations = item
        create_custom(custom, TRAINJOBS, namespace, trainjob_manifest(name, namespace, annotations))
        return name, time.monotonic()

    with ThreadPoolExecutor(threads) as pool:
        return dict(pool.map(one, jobs.items()))


def trainjob_watch(api, namespace: str, condition: str | None = "Complete") -> ConditionWatch:
    """k8s_bench's raw reference watch, on TrainJobs: when ``condition`` first appears True
    (None: when the job's first event reached a watcher)."""
    return ConditionWatch(api, namespace, condition, resource=TRAINJOBS)


def delete_trainjob(api, namespace: str, name: str) -> None:
    from kubernetes import client

    group, version, plural = TRAINJOBS
    client.CustomObjectsApi(api).delete_namespaced_custom_object(
        group, version, namespace, plural, name, propagation_policy="Background"
    )
