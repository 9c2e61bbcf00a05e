"""Job changes from the backend onto jupyter-server's event bus.

``Client.watch`` blocks (the local backend sleeps on file-change notifications; a cluster
backend reads the informer's cache), so it runs in a thread of its own and hands each change
to the event loop, which emits it under ``JOB_EVENT_SCHEMA``. Nothing here is a source of
truth: ``sent`` only remembers what was last emitted, so a watch that restarts after a
failure does not repeat itself.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..client import Client
from ..errors import JupyterKFError
from ..jobs import Change
from .payloads import summary

JOB_EVENT_SCHEMA = "https://events.jupyter-kf.org/job/v1"
JOB_EVENT_SCHEMA_FILE = Path(__file__).parent / "schemas" / "job-event.yaml"


# A job as the watcher tells jobs apart: a PyTorchJob and a TrainJob may share a name.
JobKey = tuple[str, str, str]  # (namespace, kind, name)


def job_event(change_type: str, key: JobKey, job: dict[str, Any] | None) -> dict:
    """The data of one event (see schemas/job-event.yaml)."""
    namespace, kind, name = key
    phase = job["status"]["phase"] if job else ""
    return {
        "type": change_type,
        "kind": kind,
        "name": name,
        "namespace": namespace,
        "phase": phase,
        "job": job,
    }


class JobWatcher:
    """Runs one ``client.watch`` in a daemon thread and calls ``emit(data)`` on ``loop``.

    The watch runs until ``stop`` (it takes the stop event, so no restarts are needed for
    the thread to end). When it fails it is restarted after a pause, first comparing what was
    sent with a fresh list: a job that disappeared meanwhile is reported DELETED.
    """

    def __init__(
        self,
        client: Client,
        namespace: str | None,
        emit: Callable[[dict], None],
        *,
        loop: asyncio.AbstractEventLoop,
        retry_seconds: float = 2.0,
        log: logging.Logger | None = None,
    ):
        self.client = client
        self.namespace = namespace
        self.emit = emit
        self.loop = loop
        self.retry_seconds = retry_seconds
        self.log = log or logging.getLogger(__name__)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sent: dict[JobKey, dict] = {}  # what was last emitted of each job

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="jupyter-kf-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _send(self, data: dict) -> None:
        if self._stop.is_set() or self.loop.is_closed():
            return
        try:
            self.loop.call_soon_threadsafe(self.emit, data)
        except RuntimeError:  # the loop closed between the check and the call
            self._stop.set()

    def _run(self) -> None:
        failed = False
        while not self._stop.is_set():
            try:
                if failed:
                    self._forget_missing()
                for change in self.client.watch(self.namespace, stop=self._stop):
                    if self._stop.is_set():
                        return
                    self._on_change(change)
                return  # the watch ends only when stopped
            except JupyterKFError as exc:
                self.log.warning("jupyter-kf: watching jobs failed, retrying: %s", exc)
            except Exception:  # keep the thread alive whatever a backend throws
                self.log.exception("jupyter-kf: watching jobs failed, retrying")
            failed = True
            self._stop.wait(self.retry_seconds)

    def _on_change(self, change: Change) -> None:
        job = change.job
        key = (job.namespace, job.kind, job.name)
        if change.type == "DELETED":
            # The local backend no longer knows a deleted job's kind (its folder is gone),
            # but its names are unique: the name says which job went.
            named = (job.namespace, job.name)
            keys = [key] if job.kind else [k for k in self._sent if (k[0], k[2]) == named]
            for gone in keys:
                if self._sent.pop(gone, None) is not None:
                    self._send(job_event("DELETED", gone, None))
            return
        data = summary(job)
        before = self._sent.get(key)
        if before == data:
            return  # a restarted watch lists every job again: nothing new
        self._sent[key] = data
        change_type = "ADDED" if before is None else "MODIFIED"
        self._send(job_event(change_type, key, data))

    def _forget_missing(self) -> None:
        """After a failed watch: jobs deleted while nobody watched are reported DELETED."""
        present = {(job.namespace, job.kind, job.name) for job in self.client.list(self.namespace)}
        for key in set(self._sent) - present:
            del self._sent[key]
            self._send(job_event("DELETED", key, None))
