"""A job's status, parsed from the operator's CR status (the local backend writes the same shape).

The phase is the type of the last condition whose status is True, as kubectl's State
column shows it; Suspended and Restarting are phases of their own. A job with no condition
yet is Pending.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CONDITION_TYPES = ("Created", "Running", "Restarting", "Succeeded", "Suspended", "Failed")
PENDING = "Pending"
FINISHED = frozenset({"Succeeded", "Failed"})
PHASES = (PENDING, *CONDITION_TYPES)


@dataclass(frozen=True)
class Condition:
    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str = ""
    message: str = ""
    last_transition_time: str | None = None
    last_update_time: str | None = None

    @property
    def is_true(self) -> bool:
        return self.status == "True"

    def to_dict(self) -> dict[str, Any]:
        out = {
            "type": self.type,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
        }
        if self.last_transition_time:
            out["lastTransitionTime"] = self.last_transition_time
        if self.last_update_time:
            out["lastUpdateTime"] = self.last_update_time
        return out


@dataclass(frozen=True)
class ReplicaCounts:
    active: int = 0
    succeeded: int = 0
    failed: int = 0


@dataclass(frozen=True)
class JobStatus:
    phase: str = PENDING
    conditions: tuple[Condition, ...] = ()
    replica_statuses: Mapping[str, ReplicaCounts] = field(default_factory=dict)
    start_time: str | None = None
    completion_time: str | None = None

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED

    @property
    def message(self) -> str:
        """The message of the condition that gives the phase ('' when there is none)."""
        for cond in reversed(self.conditions):
            if cond.is_true and cond.type == self.phase:
                return cond.message
        return ""

    def has(self, condition: str) -> bool:
        return any(c.type == condition and c.is_true for c in self.conditions)

    def has_any(self, conditions) -> bool:
        return any(self.has(c) for c in conditions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "message": self.message,
            "conditions": [c.to_dict() for c in self.conditions],
            "replicaStatuses": {
                role: {"active": c.active, "succeeded": c.succeeded, "failed": c.failed}
                for role, c in self.replica_statuses.items()
            },
            "startTime": self.start_time,
            "completionTime": self.completion_time,
        }


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_status(status: Mapping[str, Any] | None) -> JobStatus:
    """Parse ``.status`` of a Training Operator CR (or the local backend's status.json)."""
    if not isinstance(status, Mapping):
        return JobStatus()
    conditions = tuple(
        Condition(
            type=str(c.get("type", "")),
            status=str(c.get("status", "Unknown")),
            reason=str(c.get("reason") or ""),
            message=str(c.get("message") or ""),
            last_transition_time=c.get("lastTransitionTime"),
            last_update_time=c.get("lastUpdateTime"),
        )
        for c in status.get("conditions") or ()
        if isinstance(c, Mapping)
    )
    phase = PENDING
    for cond in conditions:
        if cond.is_true and cond.type in CONDITION_TYPES:
            phase = cond.type
    replicas = {
        str(role): ReplicaCounts(
            _count(v.get("active")), _count(v.get("succeeded")), _count(v.get("failed"))
        )
        for role, v in (status.get("replicaStatuses") or {}).items()
        if isinstance(v, Mapping)
    }
    return JobStatus(
        phase=phase,
        conditions=conditions,
        replica_statuses=replicas,
        start_time=status.get("startTime"),
        completion_time=status.get("completionTime"),
    )
