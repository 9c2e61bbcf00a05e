"""The streaming contract's types: what ``Backend.updates`` yields and where a consumer stands.

A consumer (the JobMonitor widget, the server's event bus, the panel through REST) follows one
job as a sequence of ``Update``s: the job's state when it changed, and the events, metric
points and log lines appended since the last one. Every update carries a ``Cursor``; handing
the last one back as ``since`` resumes the stream after a reconnect with nothing lost and
nothing repeated. Positions are counts (events, metric points, lines per replica), so they
mean the same on every backend.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from .job import Event, Job

MAX_TOKEN = 4096  # a REST client's cursor token is bounded, like every other input


@dataclass(frozen=True)
class Cursor:
    """How much of a job's streams a consumer has seen: a resume point."""

    events: int = 0
    metrics: int = 0
    logs: tuple[tuple[str, int], ...] = ()  # (replica name, lines seen), sorted by name

    def lines(self, replica: str) -> int:
        """Lines of ``replica``'s log already seen."""
        return dict(self.logs).get(replica, 0)

    def advanced(
        self, *, events: int = 0, metrics: int = 0, logs: dict[str, int] | None = None
    ) -> Cursor:
        """This cursor moved past ``events`` events, ``metrics`` points and ``logs`` lines."""
        seen = dict(self.logs)
        for replica, n in (logs or {}).items():
            seen[replica] = seen.get(replica, 0) + n
        return Cursor(self.events + events, self.metrics + metrics, tuple(sorted(seen.items())))

    def to_token(self) -> str:
        """An opaque string for URLs (the REST API's ``since``)."""
        raw = json.dumps([self.events, self.metrics, dict(self.logs)], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def from_token(cls, token: str) -> Cursor:
        """The cursor ``to_token`` made; ``ValueError`` with a readable message otherwise."""
        bad = ValueError("the resume token (since) is not one this server handed out")
        if not token:
            return cls()
        if len(token) > MAX_TOKEN:
            raise bad
        try:
            padded = token + "=" * (-len(token) % 4)
            events, metrics, logs = json.loads(base64.urlsafe_b64decode(padded))
            ok = (
                _count(events)
                and _count(metrics)
                and isinstance(logs, dict)
                and all(isinstance(k, str) and _count(v) for k, v in logs.items())
            )
        except (ValueError, TypeError):
            raise bad from None  # the decoding error says nothing a user can act on
        if not ok:
            raise bad
        return cls(events, metrics, tuple(sorted(logs.items())))


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True)
class Update:
    """One item of ``Backend.updates``.

    ``job`` is the job's state when it changed since the previous update (always set in the
    first update; None when only streams moved). ``logs`` are ``(replica, line)`` pairs in
    the order each replica wrote them. ``deleted`` is set on the last update of a job that was
    deleted. ``cursor`` is the resume point just after this update.
    """

    cursor: Cursor
    job: Job | None = None
    events: tuple[Event, ...] = ()
    metrics: tuple[dict[str, Any], ...] = ()
    logs: tuple[tuple[str, str], ...] = field(default=())
    deleted: bool = False

    @property
    def empty(self) -> bool:
        return (
            self.job is None
            and not self.events
            and not self.metrics
            and not self.logs
            and not self.deleted
        )
