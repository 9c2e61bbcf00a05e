"""A Training Operator CR and its pods, as a ``Job`` (pure: dicts in, dataclasses out)."""

from __future__ import annotations

from collections.abc import Iterable

from ...jobs import Job, Replica, parse_status
from ...jobs.kinds import kind_info

LABEL_JOB = "training.kubeflow.org/job-name"
LABEL_TYPE = "training.kubeflow.org/replica-type"
LABEL_INDEX = "training.kubeflow.org/replica-index"


def pod_name(job: str, kind: str, role: str, index: int) -> str:
    """The operator's name for a replica's pod (the MPI launcher's has no index)."""
    if kind == "MPIJob" and role == "Launcher":
        return f"{job}-launcher"
    return f"{job}-{role.lower()}-{index}"


def replica_counts(cr: dict) -> dict[str, int]:
    info = kind_info(cr["kind"])
    specs = (cr.get("spec") or {}).get(info.replica_specs_field) or {}
    return {role: int((s or {}).get("replicas", 1)) for role, s in specs.items()}


def workers_of(cr: dict) -> int:
    """Training processes, as ``--workers`` counts them (see ``JobSpec.workers``)."""
    info = kind_info(cr["kind"])
    counts = replica_counts(cr)
    master = counts.get("Master", 0) if info.kind in ("PyTorchJob", "XGBoostJob") else 0
    return counts.get(info.worker_role, 0) + master


def replica_of_pod(pod: dict, role: str, index: int) -> Replica:
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        phase = "Terminating"
    reason, message, exit_code, restarts = (
        status.get("reason") or "",
        status.get("message") or "",
        None,
        0,
    )
    for cs in status.get("containerStatuses") or ():
        restarts += int(cs.get("restartCount") or 0)
        state = cs.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason"):
            reason = state["waiting"]["reason"]  # ImagePullBackOff, CrashLoopBackOff, ...
            message = state["waiting"].get("message") or message
        elif "terminated" in state:
            term = state["terminated"]
            exit_code = term.get("exitCode")
            reason = term.get("reason") or reason
            message = term.get("message") or message
    if not reason:
        for cond in status.get("conditions") or ():
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                reason, message = cond.get("reason") or "", cond.get("message") or ""
    return Replica(
        role=role,
        index=index,
        phase=phase,
        restarts=restarts,
        node=(pod.get("spec") or {}).get("nodeName"),
        reason=reason,
        message=message,
        exit_code=exit_code,
    )


def job_from_cr(cr: dict, pods: Iterable[dict]) -> Job:
    info = kind_info(cr["kind"])
    meta = cr["metadata"]
    by_key: dict[tuple[str, int], dict] = {}
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        try:
            # The MPI launcher's pod carries no index label: it is the only one.
            by_key[(labels[LABEL_TYPE], int(labels.get(LABEL_INDEX, 0)))] = pod
        except (KeyError, ValueError):
            continue
    counts = replica_counts(cr)
    replicas = []
    for role in info.roles:
        for index in range(counts.get(role, 0)):
            pod = by_key.get((role.lower(), index))
            replicas.append(
                replica_of_pod(pod, role, index) if pod else Replica(role, index, "Pending")
            )
    return Job(
        name=meta["name"],
        namespace=meta.get("namespace", ""),
        kind=info.kind,
        status=parse_status(cr.get("status")),
        spec=None,
        replicas=tuple(replicas),
        created=meta.get("creationTimestamp"),
        backend="kubernetes",
        workers=workers_of(cr),
        extra={"uid": meta.get("uid")},
    )
