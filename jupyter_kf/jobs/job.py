"""What a backend returns for a job: its spec, status and the state of every replica."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import NotFoundError
from .kinds import kind_info
from .spec import JobSpec
from .status import JobStatus


@dataclass(frozen=True)
class Replica:
    """One replica: a pod on a cluster, a process locally."""

    role: str
    index: int
    # Pending | Running | Succeeded | Failed | Unknown; on a cluster also Terminating, on the
    # local backend also Restarting and Stopped.
    phase: str
    restarts: int = 0
    node: str | None = None  # the pod's node on a cluster, "localhost" for a local process
    reason: str = ""  # e.g. Unschedulable, ImagePullBackOff, OOMKilled, Error
    message: str = ""
    exit_code: int | None = None
    # When it last ended (RFC 3339; a pod's container's finishedAt), to tell which of several
    # failed replicas failed first.
    finished_at: str | None = None

    @property
    def name(self) -> str:
        return f"{self.role.lower()}-{self.index}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "index": self.index,
            "name": self.name,
            "phase": self.phase,
            "restarts": self.restarts,
            "node": self.node,
            "reason": self.reason,
            "message": self.message,
            "exitCode": self.exit_code,
            "finishedAt": self.finished_at,
        }


@dataclass(frozen=True)
class Job:
    name: str
    namespace: str
    kind: str
    status: JobStatus
    spec: JobSpec | None = None  # None for a job jupyter-kf did not create
    replicas: tuple[Replica, ...] = ()
    created: str | None = None  # RFC 3339
    backend: str = "local"
    workers: int | None = None  # training processes, as --workers counts them (see kinds.py)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def phase(self) -> str:
        return self.status.phase

    @property
    def rank0(self) -> str:
        """The replica whose log is the job's, as the kind's description decides."""
        counts: dict[str, int] = {}
        for r in self.replicas:
            counts[r.role] = counts.get(r.role, 0) + 1
        return kind_info(self.kind).rank0(counts)

    def followed(self, replicas: Sequence[str] | None) -> list[str]:
        """The replicas whose logs a stream follows: ``replicas`` (each once, in order), or
        rank 0 when none are named. A name the job does not have raises ``NotFoundError``."""
        names = [r.name for r in self.replicas]
        chosen = list(dict.fromkeys(replicas)) if replicas else [self.rank0]
        unknown = [r for r in chosen if r not in names]
        if unknown:
            raise NotFoundError(
                f"job {self.name} has no replica {unknown[0]!r}; its replicas are "
                f"{', '.join(names)}"
            )
        return chosen

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "kind": self.kind,
            "backend": self.backend,
            "created": self.created,
            "workers": self.workers,
            "rank0": self.rank0,
            "status": self.status.to_dict(),
            "replicas": [r.to_dict() for r in self.replicas],
            "spec": self.spec.to_dict() if self.spec is not None else None,
        }


@dataclass(frozen=True)
class Event:
    """Something that happened to a job: a Kubernetes Event, or the local supervisor's."""

    time: str  # RFC 3339
    type: str  # Normal | Warning
    reason: str  # e.g. Started, FailedScheduling, Restarting
    message: str
    # What it happened to: the job, or one replica ("worker-1" locally, the pod's name such
    # as "<job>-worker-1" on a cluster).
    object: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "type": self.type,
            "reason": self.reason,
            "message": self.message,
            "object": self.object,
        }


@dataclass(frozen=True)
class Change:
    """One item of ``watch``: ``type`` is ADDED, MODIFIED or DELETED."""

    type: str
    job: Job
