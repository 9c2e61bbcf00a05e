"""What a backend returns for a job: its spec, status and the state of every replica."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .spec import JobSpec
from .status import JobStatus

RANK0_ROLES = ("Master", "Chief", "Launcher", "Worker")


@dataclass(frozen=True)
class Replica:
    """One replica: a pod on a cluster, a process locally."""

    role: str
    index: int
    phase: str  # Pending | Running | Succeeded | Failed | Unknown
    restarts: int = 0
    node: str | None = None  # the node (cluster) or the pid (local)
    reason: str = ""  # e.g. Unschedulable, ImagePullBackOff, OOMKilled, Error
    message: str = ""
    exit_code: int | None = None

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
    workers: int | None = None  # training processes, as --workers counts them
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def phase(self) -> str:
        return self.status.phase

    @property
    def rank0(self) -> str:
        """The replica whose log is the job's: master-0, chief-0, launcher-0 or worker-0."""
        roles = {r.role for r in self.replicas}
        for role in RANK0_ROLES:
            if role in roles:
                return f"{role.lower()}-0"
        return self.replicas[0].name if self.replicas else "worker-0"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "kind": self.kind,
            "backend": self.backend,
            "created": self.created,
            "workers": self.workers,
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
    object: str = ""  # the replica ("worker-1") or the job

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
