"""The contract every backend implements; ``Client`` only delegates to it.

Every backend raises the same errors from ``jupyter_kf.errors`` for the same situations
(an unknown job is ``NotFoundError``, a taken name ``ConflictError``, ...); the shared
contract suite in tests/contract runs against each of them.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence

from ..errors import JobFailedError, JobTimeoutError, NotFoundError
from ..jobs import Change, Cursor, Event, Job, JobSpec, Update


class Backend(ABC):
    name: str = ""
    default_namespace: str = "default"

    @abstractmethod
    def submit(self, spec: JobSpec, namespace: str | None = None) -> Job:
        """Start ``spec``. A name already in use raises ``ConflictError``; nothing is changed."""

    @abstractmethod
    def get(self, name: str, namespace: str | None = None) -> Job: ...

    @abstractmethod
    def list(self, namespace: str | None = None) -> list[Job]: ...

    @abstractmethod
    def watch(
        self, namespace: str | None = None, *, name: str | None = None, timeout: float | None = None
    ) -> Iterator[Change]:
        """Changes to jobs: first ADDED for each existing job, then every change, until
        ``timeout`` seconds have passed (forever when None)."""

    # TEMPORARY (architecture work in progress): becomes @abstractmethod once both backends
    # implement it.
    def updates(
        self,
        name: str,
        namespace: str | None = None,
        *,
        since: Cursor | None = None,
        replicas: Sequence[str] | None = None,
        timeout: float | None = None,
        stop: threading.Event | None = None,
    ) -> Iterator[Update]:
        """One job, live: the streaming contract the widget, the event bus and the panel use.

        The first update carries the job's current state and everything appended after
        ``since`` (from the start when None); then one update per change: a new state, new
        events, new metric points, new lines of the logs of ``replicas`` (default: rank 0).
        It ends after the job has finished and every stream is drained, with an update whose
        ``deleted`` is set when the job is deleted, after ``timeout`` seconds, or soon after
        ``stop`` is set. Resuming from an update's ``cursor`` loses and repeats nothing.
        An unknown job raises ``NotFoundError``; an unknown replica ``NotFoundError``.
        """
        raise NotImplementedError

    @abstractmethod
    def logs(
        self,
        name: str,
        namespace: str | None = None,
        *,
        replica: str | None = None,
        follow: bool = False,
        tail_lines: int | None = None,
    ) -> Iterator[str]:
        """Lines of one replica's output (default: rank 0), without their newlines."""

    @abstractmethod
    def events(self, name: str, namespace: str | None = None) -> list[Event]: ...

    @abstractmethod
    def metrics(self, name: str, namespace: str | None = None) -> list[dict]:
        """Metric points reported by the job's replicas, oldest first."""

    @abstractmethod
    def scale(self, name: str, workers: int, namespace: str | None = None) -> Job:
        """Resize a job to ``workers`` training processes (see ``JobSpec.workers``)."""

    @abstractmethod
    def suspend(self, name: str, namespace: str | None = None) -> Job: ...

    @abstractmethod
    def resume(self, name: str, namespace: str | None = None) -> Job: ...

    @abstractmethod
    def delete(self, name: str, namespace: str | None = None) -> None:
        """Stop the job and remove it; an unknown job raises ``NotFoundError``."""

    def close(self) -> None:
        """Release what the backend holds (threads, connections)."""

    def wait(
        self,
        name: str,
        namespace: str | None = None,
        *,
        conditions: Iterable[str] = ("Succeeded",),
        timeout: float = 600,
    ) -> Job:
        """Block until the job's phase is one of ``conditions``.

        Raises ``JobFailedError`` if it fails first (unless Failed is awaited) and
        ``JobTimeoutError`` after ``timeout`` seconds.
        """
        wanted = set(conditions)
        deadline = time.monotonic() + timeout
        job = self.get(name, namespace)
        while not _reached(job, wanted):
            left = deadline - time.monotonic()
            if left <= 0:
                raise JobTimeoutError(
                    f"job {name} is {job.phase}, not {' or '.join(sorted(wanted))}, "
                    f"after {timeout:g} s"
                )
            for change in self.watch(namespace, name=name, timeout=left):
                if change.type == "DELETED":
                    raise NotFoundError(f"job {name} was deleted while waiting for it")
                job = change.job
                if _reached(job, wanted):
                    break
        return job


def _reached(job: Job, wanted: set[str]) -> bool:
    """True once waiting is over: a wanted phase, or a finish that rules it out."""
    if job.phase in wanted or job.status.has_any(wanted):
        return True
    if job.phase == "Failed":
        raise JobFailedError(f"job {job.name} failed: {job.status.message or 'no reason given'}")
    return job.status.finished
