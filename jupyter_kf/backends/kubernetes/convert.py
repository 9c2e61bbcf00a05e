"""A Training Operator CR and its pods, as a ``Job`` (pure: dicts in, dataclasses out)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from ...jobs import Event, Job, Replica, parse_status
from ...jobs.kinds import kind_info

LABEL_JOB = "training.kubeflow.org/job-name"
LABEL_TYPE = "training.kubeflow.org/replica-type"
LABEL_INDEX = "training.kubeflow.org/replica-index"


def pod_name(job: str, kind: str, role: str, index: int) -> str:
    """The operator's name for a replica's pod (an MPI launcher's has no index)."""
    if role == kind_info(kind).default_leader and kind_info(kind).leader_runs_ranks:
        return f"{job}-launcher"
    return f"{job}-{role.lower()}-{index}"


def replica_counts(cr: dict) -> dict[str, int]:
    info = kind_info(cr["kind"])
    specs = (cr.get("spec") or {}).get(info.replica_specs_field) or {}
    return {role: int((s or {}).get("replicas", 1)) for role, s in specs.items()}


def workers_of(cr: dict) -> int:
    """Training processes, as ``--workers`` counts them (see ``KindInfo.workers_of``)."""
    return kind_info(cr["kind"]).workers_of(replica_counts(cr))


# A terminated container's reasons that say no more than its exit code: a waiting
# container's own reason (CrashLoopBackOff) says more.
_PLAIN_EXIT_REASONS = ("", "Error", "Completed")


def replica_of_pod(pod: dict, role: str, index: int, *, ended: bool = False) -> Replica:
    """A pod as a replica. A container restarted under OnFailure keeps its last exit in
    ``lastState.terminated`` (exit code, reason, and the end of its log as the termination
    message, see render.py): it explains a replica that waits to be restarted
    (CrashLoopBackOff) and, once the job has ``ended``, one that was running again when the
    job failed at its backoff limit."""
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        phase = "Terminating"
    reason, message, exit_code, restarts, finished_at = (
        status.get("reason") or "",
        status.get("message") or "",
        None,
        0,
        None,
    )
    for cs in status.get("containerStatuses") or ():
        restarts += int(cs.get("restartCount") or 0)
        state = cs.get("state") or {}
        last = (cs.get("lastState") or {}).get("terminated")
        if "terminated" in state:
            term = state["terminated"]
            exit_code, finished_at = term.get("exitCode"), term.get("finishedAt")
            reason = term.get("reason") or reason
            message = term.get("message") or message
        elif "waiting" in state and state["waiting"].get("reason"):
            reason = state["waiting"]["reason"]  # ImagePullBackOff, CrashLoopBackOff, ...
            message = state["waiting"].get("message") or message
            if last:
                exit_code, message = last.get("exitCode"), last.get("message") or message
                finished_at = last.get("finishedAt")
                if (last.get("reason") or "") not in _PLAIN_EXIT_REASONS:
                    reason = last["reason"]  # OOMKilled says more than CrashLoopBackOff
        elif last and ended:
            exit_code, finished_at = last.get("exitCode"), last.get("finishedAt")
            reason = last.get("reason") or reason
            message = last.get("message") or message
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
        finished_at=finished_at,
    )


def limits_of(cr: dict) -> dict:
    """What ``jobs.explain`` needs of the CR when the job has no ``JobSpec`` (every job read
    from a cluster): the backoff limit, and each role's memory limit (to name it beside an
    OOMKilled)."""
    info = kind_info(cr["kind"])
    spec = cr.get("spec") or {}
    out: dict = {}
    run_policy = spec.get("runPolicy") or {}
    if run_policy.get("backoffLimit") is not None:
        out["backoff_limit"] = run_policy["backoffLimit"]
    memory = {}
    for role, rs in (spec.get(info.replica_specs_field) or {}).items():
        containers = (((rs or {}).get("template") or {}).get("spec") or {}).get("containers")
        for c in containers or ():
            if c.get("name") == info.container:
                limit = ((c.get("resources") or {}).get("limits") or {}).get("memory")
                if limit is not None:
                    memory[role] = str(limit)
    if memory:
        out["memory_limits"] = memory
    return out


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
    status = parse_status(cr.get("status"))
    replicas = []
    for role in info.roles:
        for index in range(counts.get(role, 0)):
            found = by_key.get((role.lower(), index))
            replicas.append(
                replica_of_pod(found, role, index, ended=status.finished)
                if found
                else Replica(role, index, "Pending")
            )
    return Job(
        name=meta["name"],
        namespace=meta.get("namespace", ""),
        kind=info.kind,
        status=status,
        spec=None,
        replicas=tuple(replicas),
        created=meta.get("creationTimestamp"),
        backend="kubernetes",
        workers=workers_of(cr),
        extra={"uid": meta.get("uid"), **limits_of(cr)},
    )


# -- events ------------------------------------------------------------------------------------
def _stamp_ns(text: str) -> int:
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()) * 10**9
    except ValueError:
        return 0


def _event_order(e: dict) -> tuple[int, str]:
    """Creation order, which never changes (a repeated event moves its lastTimestamp, not
    its place): the recorder names events ``<object>.<creation time in ns, hex>``."""
    meta = e.get("metadata") or {}
    name = meta.get("name", "")
    try:
        return int(name.rpartition(".")[2], 16), name
    except ValueError:
        return _stamp_ns(meta.get("creationTimestamp") or ""), name


class Arrivals:
    """The order a namespace's events reached this process, for positions that never move.

    Recorders send events some time after they make them (batched, retried), so an event
    made earlier can arrive after a later one a consumer was already given: sorted by
    creation, it would move in front of that consumer's position. Sorted by arrival, the
    list only ever grows at its end. Events of the first list arrive together (arrival 0)
    and are sorted by creation among themselves.
    """

    PENDING = 1 << 62  # stored by the cache but not reported yet: the next to arrive

    def __init__(self) -> None:
        self.listing = True
        self.seq: dict[str, int] = {}
        self.count = 0

    def saw(self, kind: str, obj: dict) -> None:
        uid = (obj.get("metadata") or {}).get("uid", "")
        if kind == "DELETED":
            self.seq.pop(uid, None)
        elif uid not in self.seq:
            self.count += 1
            self.seq[uid] = 0 if self.listing else self.count

    def key(self, e: dict) -> tuple[int, int, str]:
        uid = (e.get("metadata") or {}).get("uid", "")
        return (self.seq.get(uid, self.PENDING), *_event_order(e))


# A TrainJob's JobSet has its name; its Jobs are <job>-<replicated job>-<index> and their
# pods <Job>-<completion index>-<random>. The replicated Jobs of the stock runtimes:
_REPLICATED_JOBS = "(node|launcher|dataset-initializer|model-initializer)"


def _owner_names(kind: str, job: str) -> dict[str, re.Pattern[str]]:
    """What an event's involvedObject is named when it is about ``job``, by its kind."""
    exact = re.compile(re.escape(job))
    if kind_info(kind).is_trainjob:
        jobs = rf"{re.escape(job)}-{_REPLICATED_JOBS}-\d+"
        return {
            kind: exact,
            "JobSet": exact,
            "Job": re.compile(jobs),
            "Pod": re.compile(rf"{jobs}-\d+-[a-z0-9]{{5}}"),
        }
    roles = "|".join(re.escape(r.lower()) for r in kind_info(kind).roles)
    return {kind: exact, "Pod": re.compile(rf"{re.escape(job)}-(({roles})-\d+|launcher)")}


def events_of(kind: str, job: str, events: Iterable[dict], arrivals: Arrivals) -> list[Event]:
    """The events of ``job`` and of its pods (any replica it ever had; for a TrainJob also its
    JobSet and Jobs), in arrival order."""
    names = _owner_names(kind, job)
    mine = []
    for e in events:
        inv = e.get("involvedObject") or {}
        pattern = names.get(inv.get("kind") or "")
        if pattern is not None and pattern.fullmatch(inv.get("name") or ""):
            mine.append(e)
    mine.sort(key=arrivals.key)
    return [
        Event(
            time=e.get("lastTimestamp")
            or e.get("eventTime")
            or (e.get("metadata") or {}).get("creationTimestamp")
            or "",
            type=e.get("type", "Normal"),
            reason=e.get("reason", ""),
            message=e.get("message", ""),
            object=(e.get("involvedObject") or {}).get("name", ""),
        )
        for e in mine
    ]
