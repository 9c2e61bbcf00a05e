"""A TrainJob (Kubeflow Trainer v2) and its pods, as a ``Job`` (pure: dicts in, dataclasses
out), and what differs from the v1 kinds in finding its pods and events.

A TrainJob's pods belong to the JobSet of the same name: replicated Job ``node`` (the
trainer), Job index 0, one pod per node whose completion index is its rank. A node whose
pod failed gets a new pod (another random suffix) with the same index, so a node's pod is
found by its labels, never by its name.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...jobs import Job, Replica, parse_status
from ...jobs.kinds import TRAINJOB
from ...jobs.trainjob import trainer_progress, trainjob_status
from .convert import replica_of_pod

LABEL_JOBSET = "jobset.sigs.k8s.io/jobset-name"
LABEL_REPLICATED_JOB = "jobset.sigs.k8s.io/replicatedjob-name"
LABEL_INDEX = "batch.kubernetes.io/job-completion-index"
NODE_JOB = "node"  # the replicated Job whose pods are the nodes


def is_trainjob(cr: dict) -> bool:
    return cr.get("kind") == TRAINJOB.kind


def finished(cr: dict) -> bool:
    """Whether the job ended (Succeeded or Failed), for a CR of any kind."""
    if not is_trainjob(cr):
        return parse_status(cr.get("status")).finished
    conditions = (cr.get("status") or {}).get("conditions") or ()
    return any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in conditions
    )


def num_nodes(cr: dict) -> int:
    trainer = (cr.get("spec") or {}).get("trainer") or {}
    value = trainer.get("numNodes")
    return value if isinstance(value, int) and value > 0 else 1


def node_pods(pods: Iterable[dict]) -> dict[int, dict]:
    """The current pod of each node index: the newest one not being deleted (a deleted
    pod's replacement may exist beside it for a while)."""
    best: dict[int, dict] = {}
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        if labels.get(LABEL_REPLICATED_JOB) != NODE_JOB:
            continue
        try:
            index = int(labels[LABEL_INDEX])
        except (KeyError, ValueError):
            continue
        current = best.get(index)
        if current is None or _newer(pod, current):
            best[index] = pod
    return best


def _newer(pod: dict, than: dict) -> bool:
    def key(p: dict) -> tuple[bool, str]:
        meta = p.get("metadata") or {}
        return (not meta.get("deletionTimestamp"), meta.get("creationTimestamp") or "")

    return key(pod) > key(than)


def pod_of_node(pods: Iterable[dict], replica: str) -> dict | None:
    """The pod of ``replica`` (``node-1``), or None while it has none."""
    role, _, index = replica.rpartition("-")
    if role != NODE_JOB or not index.isdigit():
        return None
    return node_pods(pods).get(int(index))


def job_from_trainjob(cr: dict, pods: Iterable[dict]) -> Job:
    meta = cr["metadata"]
    pods = list(pods)
    by_index = node_pods(pods)
    cr_status = cr.get("status") or {}
    ended = finished(cr)
    replicas = tuple(
        replica_of_pod(by_index[i], "Node", i, ended=ended)
        if i in by_index
        else Replica("Node", i, "Pending")
        for i in range(num_nodes(cr))
    )
    status = trainjob_status(
        cr_status, replicas, pods_seen=bool(pods), created=meta.get("creationTimestamp")
    )
    spec = cr.get("spec") or {}
    extra: dict = {"uid": meta.get("uid"), "runtime": (spec.get("runtimeRef") or {}).get("name")}
    progress = trainer_progress(cr_status)
    if progress:
        extra["progress"] = progress
    memory = (((spec.get("trainer") or {}).get("resourcesPerNode") or {}).get("limits") or {}).get(
        "memory"
    )
    if memory is not None:
        extra["memory_limits"] = {"Node": str(memory)}
    return Job(
        name=meta["name"],
        namespace=meta.get("namespace", ""),
        kind=TRAINJOB.kind,
        status=status,
        spec=None,
        replicas=replicas,
        created=meta.get("creationTimestamp"),
        backend="kubernetes",
        workers=num_nodes(cr),
        extra=extra,
    )
