"""A TrainJob (Kubeflow Trainer v2) and its pods, as a ``Job`` (pure: dicts in, dataclasses
out), and what differs from the v1 kinds in finding its pods and events.

A TrainJob's pods belong to the JobSet of the same name: replicated Job ``node`` (the
trainer), Job index 0, one pod per node whose completion index is its rank. A node whose
pod failed gets a new pod (another random suffix) with the same index, so a node's pod is
found by its labels, never by its name.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable, Mapping

from ...errors import JupyterKFError
from ...jobs import Job, Replica, parse_status
from ...jobs.kinds import TRAINJOB
from ...jobs.trainjob import trainer_progress, trainjob_status
from .convert import replica_of_pod

log = logging.getLogger(__name__)

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


# Lines of a failed node's log kept as its reason (a TrainJob's containers cannot ask for
# FallbackToLogsOnError: a runtime patch has no such field).
TAIL_LINES = 40

# Reads the end of a pod's log: (pod name, whether the container before the current one)
# -> lines. The cache gives one reading through the one door.
TailReader = Callable[[str, bool], list[str]]


class NodeFailures:
    """The first failure of each node of each TrainJob, kept after its pod is gone.

    When a node's Job reaches its backoff limit, the Job controller deletes the Job's pods,
    and with them the exit code and log that say why the TrainJob failed. The pods'
    list+watch saw them fail before: this keeps each node's first failure (the others
    often failed because it did: their peer left), and the end of its log, read once in
    the background while the pod still exists. Per job, for the job's life."""

    def __init__(self, read_tail: TailReader | None = None) -> None:
        self._lock = threading.Lock()
        self._by_job: dict[str, dict[int, Replica]] = {}
        self._read_tail = read_tail

    def saw(self, job: str, pod: dict) -> None:
        meta = pod.get("metadata") or {}
        labels = meta.get("labels") or {}
        if labels.get(LABEL_REPLICATED_JOB) != NODE_JOB or meta.get("deletionTimestamp"):
            # A pod being deleted (suspend, delete, its Job failing) ends with a signal:
            # that is no failure of its own.
            return
        first = _first_failure(pod)
        try:
            index = int(labels[LABEL_INDEX])
        except (KeyError, ValueError):
            return
        if first is None:
            return
        term, previous = first
        with self._lock:
            known = self._by_job.setdefault(job, {}).get(index)
            if known is not None and (known.finished_at or "") <= (term.get("finishedAt") or ""):
                return
            status = pod.get("status") or {}
            restarts = sum(
                int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or ()
            )
            self._by_job[job][index] = Replica(
                role="Node",
                index=index,
                phase="Failed",
                restarts=restarts,
                node=(pod.get("spec") or {}).get("nodeName"),
                reason=term.get("reason") or "",
                message=term.get("message") or "",
                exit_code=term.get("exitCode"),
                finished_at=term.get("finishedAt"),
            )
        if self._read_tail is not None and not term.get("message"):
            name = meta.get("name", "")
            threading.Thread(
                target=self._tail, args=(job, index, name, previous), daemon=True
            ).start()

    def _tail(self, job: str, index: int, pod: str, previous: bool) -> None:
        assert self._read_tail is not None
        try:
            lines = self._read_tail(pod, previous)
            if not lines and not previous:
                # It was restarted while this read was on its way: it is the previous one now.
                lines = self._read_tail(pod, True)
        except JupyterKFError as exc:
            log.info("%s: the log of a failed node could not be read: %s", pod, exc)
            return
        with self._lock:
            known = self._by_job.get(job, {}).get(index)
            if known is not None and not known.message:
                self._by_job[job][index] = dataclasses.replace(known, message="\n".join(lines))

    def of(self, job: str) -> dict[int, Replica]:
        with self._lock:
            return dict(self._by_job.get(job, {}))

    def forget(self, job: str) -> None:
        with self._lock:
            self._by_job.pop(job, None)


def _first_failure(pod: dict) -> tuple[dict, bool] | None:
    """The earliest non-zero exit among the pod's containers (now, or before their last
    restart) and whether it is a previous container's; None when none failed."""
    found: list[tuple[str, dict, bool]] = []
    for cs in (pod.get("status") or {}).get("containerStatuses") or ():
        for term, previous in (
            ((cs.get("state") or {}).get("terminated"), False),
            ((cs.get("lastState") or {}).get("terminated"), True),
        ):
            if term and term.get("exitCode") not in (None, 0):
                found.append((term.get("finishedAt") or "", term, previous))
    if not found:
        return None
    _, term, previous = min(found, key=lambda f: f[0])
    return term, previous


def job_from_trainjob(
    cr: dict, pods: Iterable[dict], *, failed: Mapping[int, Replica] | None = None
) -> Job:
    """``failed``: nodes' failures seen before their pods were deleted (``NodeFailures``);
    they explain a Failed job whose pods are gone."""
    meta = cr["metadata"]
    pods = list(pods)
    by_index = node_pods(pods)
    cr_status = cr.get("status") or {}
    ended = finished(cr)
    failed = failed or {}
    gone_failed = ended and not any(
        c.get("type") == "Complete" and c.get("status") == "True"
        for c in cr_status.get("conditions") or ()
    )
    nodes: list[Replica] = []
    for i in range(num_nodes(cr)):
        pod = by_index.get(i)
        live = pod is not None and not (pod.get("metadata") or {}).get("deletionTimestamp")
        if i in failed and (gone_failed or not live):
            nodes.append(failed[i])
        elif pod is not None:
            nodes.append(replica_of_pod(pod, "Node", i, ended=ended))
        else:
            nodes.append(Replica("Node", i, "Pending"))
    replicas = tuple(nodes)
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
