"""The contract every backend implements; ``Client`` only delegates to it.

Every backend raises the same errors from ``jupyter_kf.errors`` for the same situations
(an unknown job is ``NotFoundError``, a taken name ``ConflictError``, ...); the shared
contract suite in tests/contract runs against each of them.

Changes to a running job (``scale``, ``suspend``, ``resume``) are written once here, as
"validate, request, wait until it is seen carried out, report": a backend only implements
the request and the wait (``_request_scale``, ``_request_suspend``, ``_wait_for``), so both
wait ``ack_timeout`` seconds and both raise ``NotAcknowledgedError`` when nothing happened.
"""

from __future__ import annotations

import builtins
import dataclasses
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence

from ..errors import (
    BackendUnavailableError,
    ConflictError,
    InvalidSpecError,
    JobFailedError,
    JobTimeoutError,
    NotAcknowledgedError,
    NotFoundError,
)
from ..jobs import Change, Cursor, Event, Job, JobSpec, Update
from ..jobs.explain import reason
from ..jobs.runtimes import Runtime
from ..outputs import Outputs

ACK_TIMEOUT = 30.0  # how long a requested change may take to be seen carried out


class Backend(ABC):
    name: str = ""
    default_namespace: str = "default"
    ack_timeout: float = ACK_TIMEOUT  # an attribute, so a test can shorten it
    acknowledger: str = "the backend"  # who carries requested changes out, for messages

    @abstractmethod
    def submit(self, spec: JobSpec, namespace: str | None = None) -> Job:
        """Start ``spec``. A name already in use raises ``ConflictError``; nothing is changed."""

    @abstractmethod
    def get(self, name: str, namespace: str | None = None) -> Job: ...

    @abstractmethod
    def list(self, namespace: str | None = None) -> list[Job]: ...

    @abstractmethod
    def watch(
        self,
        namespace: str | None = None,
        *,
        name: str | None = None,
        timeout: float | None = None,
        stop: threading.Event | None = None,
    ) -> Iterator[Change]:
        """Changes to jobs: first ADDED for each existing job, then every change, until
        ``timeout`` seconds have passed (forever when None) or soon after ``stop`` is set."""

    @abstractmethod
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
        ``stop`` is set. Resuming from an update's ``cursor`` loses and repeats nothing: its
        positions count the events, points and lines yielded (a line still being written
        comes once it is complete, or when the job has finished). An unknown job raises
        ``NotFoundError``; so does a replica the job does not have when the stream starts.
        """

    @abstractmethod
    def logs(
        self,
        name: str,
        namespace: str | None = None,
        *,
        replica: str | None = None,
        follow: bool = False,
        tail_lines: int | None = None,
        attempt: int | None = None,
    ) -> Iterator[str]:
        """Lines of one replica's output (default: rank 0), without their newlines.

        ``attempt`` picks one run of the replica: 0 is its first, each restart the next (the
        replica's ``restarts`` is the latest). None: the local backend's whole log (every
        attempt in turn), the running container's on Kubernetes. Kubernetes keeps only the
        current attempt's log and the previous one's (``previous=true``), and the previous one
        only while the pod runs (the kubelet keeps one dead container per pod); an attempt
        not kept, or never made, is ``NotFoundError``."""

    @abstractmethod
    def events(self, name: str, namespace: str | None = None) -> builtins.list[Event]: ...

    @abstractmethod
    def metrics(self, name: str, namespace: str | None = None) -> builtins.list[dict]:
        """Metric points reported by the job's replicas, oldest first."""

    @abstractmethod
    def outputs(self, name: str, namespace: str | None = None) -> Outputs:
        """What the job wrote to its ``JKF_OUTPUT_DIR``, readable from here when the notebook
        can reach it (``Outputs.note`` says why not)."""

    # -- changes to a running job: validate, request, wait for acknowledgement, report ----
    def scale(self, name: str, workers: int, namespace: str | None = None) -> Job:
        """Resize a job to ``workers`` training processes (see ``KindInfo.workers_of``).

        Returns once the job runs at that size; a kind that cannot resize in place restarts
        every replica, and the job's ``extra["notice"]`` says so.
        """
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise InvalidSpecError(f"workers must be a whole number >= 1, not {workers!r}")
        job = self.get(name, namespace)
        if job.status.finished:
            raise ConflictError(
                f"job {name} is {job.phase}; only a running or suspended job scales"
            )
        if job.workers == workers:
            return job
        # Suspended, or asked to be and not yet seen so (a job submitted a moment ago).
        was_suspended = job.phase == "Suspended" or (
            job.spec is not None and job.spec.run_policy.suspend
        )
        notice = self._request_scale(job, workers)
        # A kind that resizes by suspend, resize, resume is done once it left Suspended
        # again (unless it was suspended before): returning the job the cache saw between
        # the resize and the resume would show a running job as Suspended.
        job = self._acknowledged(
            job,
            f"scaling to {workers} workers",
            lambda j: (
                j.workers == workers
                and j.phase != "Restarting"
                and (j.phase == "Suspended") == was_suspended
            ),
        )
        if notice:
            job = dataclasses.replace(job, extra={**job.extra, "notice": notice})
        return job

    def suspend(self, name: str, namespace: str | None = None) -> Job:
        """Stop every replica but keep the job, to ``resume`` it later."""
        return self._set_suspended(name, namespace, True)

    def resume(self, name: str, namespace: str | None = None) -> Job:
        """Start a suspended job's replicas again."""
        return self._set_suspended(name, namespace, False)

    def _set_suspended(self, name: str, namespace: str | None, suspend: bool) -> Job:
        job = self.get(name, namespace)
        if job.status.finished:
            verb = "suspended" if suspend else "resumed"
            raise ConflictError(f"job {name} is {job.phase} and cannot be {verb}")
        if not self._request_suspend(job, suspend):
            return job
        if suspend:
            return self._acknowledged(job, "suspending", lambda j: j.phase == "Suspended")
        return self._acknowledged(job, "resuming", lambda j: j.phase != "Suspended")

    def _acknowledged(self, job: Job, change: str, done: Callable[[Job], bool]) -> Job:
        """Wait until ``done`` holds for the job (or it finished): the one wait of every
        change, with one timeout (``ack_timeout``) and one error."""
        seen = self._wait_for(job, lambda j: done(j) or j.status.finished, self.ack_timeout)
        if seen is None:
            raise NotAcknowledgedError(job.name, change, self.ack_timeout, self.acknowledger)
        return seen

    # The hooks each backend implements for the template methods above.
    @abstractmethod
    def _request_scale(self, job: Job, workers: int) -> str:
        """Ask for ``workers`` processes (the kind-specific checks first); return a notice
        for the user ("" when none)."""

    @abstractmethod
    def _request_suspend(self, job: Job, suspend: bool) -> bool:
        """Ask for the job to be suspended (or resumed); False when it already is."""

    @abstractmethod
    def _wait_for(self, job: Job, done: Callable[[Job], bool], timeout: float) -> Job | None:
        """The job once ``done`` holds for it, or None after ``timeout`` seconds."""

    @abstractmethod
    def delete(self, name: str, namespace: str | None = None) -> None:
        """Stop the job and remove it; an unknown job raises ``NotFoundError``."""

    def runtimes(self, namespace: str | None = None) -> builtins.list[Runtime]:
        """The Trainer v2 runtimes a TrainJob may name here (ClusterTrainingRuntimes, and
        TrainingRuntimes of ``namespace``), with what each runs."""
        raise BackendUnavailableError(f"the {self.name} backend cannot list training runtimes")

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
        # The one line every front end shows (jobs/explain.py): which replica, its exit code,
        # the end of its log; not only the operator's "reached the backoff limit".
        raise JobFailedError(f"job {job.name} failed: {reason(job) or 'no reason given'}")
    return job.status.finished
