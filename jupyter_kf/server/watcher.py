"""Job changes from the backend onto jupyter-server's event bus.

``Client.watch`` blocks (the local backend stats its job folders; a cluster backend reads a
watch stream), so it runs in a thread of its own and hands each change to the event loop,
which emits it under ``JOB_EVENT_SCHEMA``. Nothing here is a source of truth: ``sent`` only
remembers what was last emitted, so a watch that restarts does not repeat itself.
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
from .payloads import summary

JOB_EVENT_SCHEMA = "https://events.jupyter-kf.org/job/v1"
JOB_EVENT_SCHEMA_FILE = Path(__file__).parent / "schemas" / "job-event.yaml"


def job_event(change_type: str, name: str, namespace: str, job: dict[str, Any] | None) -> dict:
    """The data of one event (see schemas/job-event.yaml)."""
    phase = job["status"]["phase"] if job else ""
    return {"type": change_type, "name": name, "namespace": namespace, "phase": phase, "job": job}


class JobWatcher:
    """Runs ``client.watch`` in a daemon thread and calls ``emit(data)`` on ``loop``.

    The watch is restarted every ``round_seconds`` so that ``stop`` takes effect even when
    no job changes (a blocking generator cannot be interrupted from another thread); a job
    that disappeared between two rounds is reported DELETED at the end of the next round.
    """

    def __init__(
        self,
        client: Client,
        namespace: str | None,
        emit: Callable[[dict], None],
        *,
        loop: asyncio.AbstractEventLoop,
        round_seconds: float = 10.0,
        log: logging.Logger | None = None,
    ):
        self.client = client
        self.namespace = namespace
        self.emit = emit
        self.loop = loop
        self.round_seconds = round_seconds
        self.log = log or logging.getLogger(__name__)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
        sent: dict[tuple[str, str], dict] = {}
        while not self._stop.is_set():
            seen: set[tuple[str, str]] = set()
            try:
                for change in self.client.watch(self.namespace, timeout=self.round_seconds):
                    if self._stop.is_set():
                        return
                    job = change.job
                    key = (job.namespace, job.name)
                    if change.type == "DELETED":
                        if sent.pop(key, None) is not None:
                            self._send(job_event("DELETED", job.name, job.namespace, None))
                        continue
                    seen.add(key)
                    data = summary(job)
                    before = sent.get(key)
                    if before == data:
                        continue
                    sent[key] = data
                    kind = "ADDED" if before is None else "MODIFIED"
                    self._send(job_event(kind, job.name, job.namespace, data))
            except JupyterKFError as exc:
                self.log.warning("jupyter-kf: watching jobs failed, retrying: %s", exc)
                self._stop.wait(2.0)
                continue
            except Exception:  # keep the thread alive whatever a backend throws
                self.log.exception("jupyter-kf: watching jobs failed, retrying")
                self._stop.wait(2.0)
                continue
            # Every existing job is ADDED again at the start of each round, so what was not
            # seen in a whole round is gone.
            for key in set(sent) - seen:
                del sent[key]
                self._send(job_event("DELETED", key[1], key[0], None))
