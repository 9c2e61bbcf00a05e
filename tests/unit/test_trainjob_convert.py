"""A TrainJob and its JobSet's pods as a Job: nodes by completion index, the newest pod of a
node, failures kept after the Job controller deleted the pods, events of the TrainJob's
JobSet, Jobs and pods, and the worker's own lines before torchrun's report."""

from __future__ import annotations

import dataclasses

from jupyter_kf.backends.kubernetes.convert import Arrivals, events_of
from jupyter_kf.backends.kubernetes.trainjob import (
    NodeFailures,
    finished,
    job_from_trainjob,
    pod_of_node,
)
from jupyter_kf.jobs.explain import explain, log_tail


def pod(index: int, name: str, *, phase="Running", created="2026-12-05T00:00:00Z", **status):
    meta = {
        "name": name,
        "creationTimestamp": created,
        "labels": {
            "jobset.sigs.k8s.io/jobset-name": "tj",
            "jobset.sigs.k8s.io/replicatedjob-name": "node",
            "batch.kubernetes.io/job-completion-index": str(index),
        },
    }
    if status.pop("deleting", False):
        meta["deletionTimestamp"] = "2026-12-05T00:01:00Z"
    return {"metadata": meta, "spec": {"nodeName": "n"}, "status": {"phase": phase, **status}}


def trainjob(nodes=2, conditions=(), jobs=None) -> dict:
    status = {"conditions": list(conditions)}
    if jobs is not None:
        status["jobsStatus"] = jobs
    return {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "TrainJob",
        "metadata": {"name": "tj", "namespace": "ns", "uid": "u1", "creationTimestamp": "t0"},
        "spec": {"runtimeRef": {"name": "torch-distributed"}, "trainer": {"numNodes": nodes}},
        "status": status,
    }


FAILED = {"type": "Failed", "status": "True", "message": "jobset failed"}


def crashed(exit_code: int, at: str, previous=True) -> dict:
    term = {"exitCode": exit_code, "reason": "Error", "finishedAt": at}
    if previous:
        state = {"state": {"running": {}}, "lastState": {"terminated": term}, "restartCount": 1}
    else:
        state = {"state": {"terminated": term}, "restartCount": 0}
    return {"containerStatuses": [{"name": "node", **state}]}


def test_nodes_by_completion_index_and_the_newest_pod_of_each():
    pods = [
        pod(1, "tj-node-0-1-aaaaa", phase="Failed", created="2026-12-05T00:00:00Z"),
        pod(1, "tj-node-0-1-bbbbb", created="2026-12-05T00:00:30Z"),
        pod(0, "tj-node-0-0-ccccc"),
    ]
    job = job_from_trainjob(trainjob(jobs=[{"name": "node", "active": 2}]), pods)
    assert job.kind == "TrainJob" and job.workers == 2 and job.rank0 == "node-0"
    assert [(r.name, r.phase) for r in job.replicas] == [
        ("node-0", "Running"),
        ("node-1", "Running"),
    ]
    assert job.phase == "Running" and job.extra["runtime"] == "torch-distributed"
    assert pod_of_node(pods, "node-1")["metadata"]["name"] == "tj-node-0-1-bbbbb"
    assert pod_of_node(pods, "node-7") is None and pod_of_node(pods, "worker-0") is None


def test_a_failure_outlives_the_pods_and_the_first_one_is_the_reason():
    failures = NodeFailures()
    # node-1 crashed first; node-0 ended later because its peer left; then the Job controller
    # deleted both (a pod being deleted ends by a signal: not a failure of its own).
    failures.saw("tj", pod(1, "tj-node-0-1-aaaaa", **crashed(1, "2026-12-05T00:00:09Z")))
    failures.saw("tj", pod(0, "tj-node-0-0-bbbbb", **crashed(1, "2026-12-05T00:00:12Z", False)))
    failures.saw(
        "tj", pod(1, "tj-node-0-1-aaaaa", deleting=True, **crashed(137, "2026-12-05T00:00:40Z"))
    )
    kept = failures.of("tj")
    assert kept[1].exit_code == 1 and kept[1].finished_at == "2026-12-05T00:00:09Z"
    job = job_from_trainjob(trainjob(conditions=[FAILED]), [], failed=kept)
    assert job.phase == "Failed"
    assert explain(job).startswith("Failed: node-1 exited with code 1"), explain(job)
    assert finished(trainjob(conditions=[FAILED])) and not finished(trainjob())
    failures.forget("tj")
    assert failures.of("tj") == {}


def test_a_node_jobs_failure_names_the_runtimes_backoff_limit_when_the_cluster_gave_it():
    """JobSet's FailedJobs (a node's Job spent its backoffLimit) names no limit; the backend
    adds the runtime's (apis.py) as the local backend does."""
    failures = NodeFailures()
    failures.saw("tj", pod(1, "tj-node-0-1-aaaaa", **crashed(1, "2026-12-05T00:00:09Z")))
    failed = {
        **FAILED,
        "reason": "FailedJobs",
        "message": "jobset failed due to one or more job failures (first failed job: tj-node-0)",
    }
    job = job_from_trainjob(trainjob(conditions=[failed]), [], failed=failures.of("tj"))
    assert "backoff limit" not in explain(job)  # no limit known: none named
    job = dataclasses.replace(job, extra={**job.extra, "backoff_limit": 0})
    line = explain(job)
    assert line.startswith("Failed: node-1 exited with code 1 (")
    assert "runtime torch-distributed's backoff limit 0 reached" in line, line
    other = dataclasses.replace(
        job_from_trainjob(trainjob(conditions=[FAILED]), [], failed=failures.of("tj")),
        extra={**job.extra},
    )
    assert "backoff limit" not in explain(other)  # another failure: no limit named


def test_a_suspended_jobs_deleted_pods_are_no_failures():
    failures = NodeFailures()
    failures.saw("tj", pod(0, "tj-node-0-0-aaaaa", deleting=True, **crashed(143, "t", False)))
    assert failures.of("tj") == {}


def test_events_of_a_trainjob_its_jobset_jobs_and_pods_not_a_namesakes():
    def event(kind, name, uid):
        return {
            "metadata": {"uid": uid, "name": f"{name}.1"},
            "involvedObject": {"kind": kind, "name": name},
            "reason": kind,
        }

    events = [
        event("TrainJob", "tj", "1"),
        event("JobSet", "tj", "2"),
        event("Job", "tj-node-0", "3"),
        event("Pod", "tj-node-0-1-x7k2p", "4"),
        event("Job", "tj-node-node-0", "5"),  # job "tj-node"'s Job
        event("Pod", "tj-2-node-0-0-abcde", "6"),
    ]
    arrivals = Arrivals()
    for e in events:
        arrivals.saw("ADDED", e)
    got = [e.object for e in events_of("TrainJob", "tj", events, arrivals)]
    assert sorted(got) == ["tj", "tj", "tj-node-0", "tj-node-0-1-x7k2p"]


def test_the_log_tail_is_the_workers_own_output_not_torchruns_report():
    lines = [
        "step=3 loss=0.2",
        "ValueError: boom from node 1",
        "E1205 12:20:17.123000 1 torch/distributed/elastic/multiprocessing/api.py:1] failed",
        "Traceback (most recent call last):",
        "torch.distributed.elastic.multiprocessing.errors.ChildFailedError:",
        "============================================================",
    ]
    assert log_tail(lines) == "step=3 loss=0.2 | ValueError: boom from node 1"
    assert log_tail(["a", "b", "c"]) == "b | c"
