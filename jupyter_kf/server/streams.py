"""One job's streams for the panel: GET /kf/api/jobs/{name}/updates, a long poll.

Each request names where the panel stands (``since``, a cursor token from the previous
reply) and answers with what came after it: new events, metric points and log lines, the
job's summary when its state differs from ``state`` (the fingerprint of the summary the
panel already has), and the token to send next. The request waits up to ``timeout`` seconds
for something new, then answers with nothing new; a reply is bounded (``MAX_LINES``, ...),
and its cursor moves past exactly what it carries, so the rest comes with the next request.
``done`` says the job has finished (or was deleted) and everything was sent.

``Client.updates`` blocks, so each waiting request runs it in a thread of its own (not in
the extension's pool, which short backend calls share); closing the connection or stopping
the server stops it. At most ``JupyterKF.max_streams`` wait at once; more get 503.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from ..client import Client
from ..errors import BackendUnavailableError
from ..jobs import Cursor, Job
from .payloads import BadRequest, clip_line, summary

MAX_WAIT = 60.0  # seconds a request may ask to wait
DEFAULT_WAIT = 25.0
MAX_LINES = 2000  # log lines in one reply, all replicas together
MAX_EVENTS = 500
MAX_POINTS = 2000
MAX_REPLICAS = 16


def state_of(data: dict[str, Any]) -> str:
    """A short fingerprint of a job summary: what the panel sends back as ``state``."""
    raw = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


@dataclass
class Batch:
    """One reply being filled from updates, within the bounds above."""

    since: Cursor
    known: str
    events: list[dict] = field(default_factory=list)
    metrics: list[dict] = field(default_factory=list)
    logs: dict[str, list[str]] = field(default_factory=dict)
    job: dict[str, Any] | None = None
    state: str = ""
    finished: bool = False
    deleted: bool = False
    full: bool = False
    exhausted: bool = False  # the backend's stream ended: nothing more to read

    @property
    def news(self) -> bool:
        return bool(self.job or self.events or self.metrics or self.logs or self.deleted)

    def add_job(self, job: Job) -> None:
        data = summary(job)
        self.state = state_of(data)
        self.finished = job.status.finished
        if self.state != self.known:
            self.job, self.known = data, self.state

    def take(self, items: tuple, room: int) -> tuple:
        if len(items) > room:
            self.full = True
        return items[: max(room, 0)]

    def reply(self) -> dict[str, Any]:
        cursor = self.since.advanced(
            events=len(self.events),
            metrics=len(self.metrics),
            logs={replica: len(lines) for replica, lines in self.logs.items()},
        )
        return {
            "cursor": cursor.to_token(),
            "state": self.state,
            "job": self.job,
            "events": self.events,
            "metrics": self.metrics,
            "logs": self.logs,
            "deleted": self.deleted,
            "done": self.deleted or (self.finished and self.exhausted and not self.full),
        }


def parse_request(
    since: str | None, replicas: list[str], wait: str | None
) -> tuple[Cursor, list[str], float]:
    """The query's cursor, replicas and wait, or ``BadRequest``."""
    try:
        cursor = Cursor.from_token(since or "")
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    if len(replicas) > MAX_REPLICAS or any(not r or len(r) > 253 for r in replicas):
        raise BadRequest(f"name at most {MAX_REPLICAS} replicas, each a replica's name")
    seconds = DEFAULT_WAIT
    if wait is not None:
        try:
            seconds = float(wait)
        except ValueError as exc:
            raise BadRequest(f"timeout must be a number of seconds, not {wait!r}") from exc
        if not 0 <= seconds <= MAX_WAIT:
            raise BadRequest(f"timeout must be between 0 and {MAX_WAIT:g} seconds")
    return cursor, replicas, seconds


def next_batch(
    client: Client,
    name: str,
    namespace: str | None,
    since: Cursor,
    replicas: list[str],
    known: str,
    wait: float,
    stop: threading.Event,
) -> dict[str, Any]:
    """Follow ``client.updates`` until something is new (or ``wait`` ends): one reply."""
    batch = Batch(since, known)
    stream = client.updates(
        name, namespace, since=since, replicas=replicas or None, timeout=wait, stop=stop
    )
    try:
        for update in stream:
            if update.job is not None:
                batch.add_job(update.job)
            batch.events.extend(
                e.to_dict() for e in batch.take(update.events, MAX_EVENTS - len(batch.events))
            )
            batch.metrics.extend(batch.take(update.metrics, MAX_POINTS - len(batch.metrics)))
            room = MAX_LINES - sum(len(lines) for lines in batch.logs.values())
            for replica, line in batch.take(update.logs, room):
                batch.logs.setdefault(replica, []).append(clip_line(line))
            batch.deleted = update.deleted
            # A finished job's stream ends by itself once everything is read; its first
            # updates may carry only the state while a long log is still being read, so a
            # reply for it waits for the end (or a full batch) before it may say "done".
            if batch.full or (batch.news and not batch.finished):
                break
        else:
            batch.exhausted = True
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return batch.reply()


class Streams:
    """The waiting requests: bounded in number, all stopped with the server."""

    def __init__(self, limit: int):
        self.limit = limit
        self._lock = threading.Lock()
        self._stops: set[threading.Event] = set()

    async def run(self, func: Any, *args: Any, stop: threading.Event) -> Any:
        """``func(*args, stop)`` in a thread of its own; its result or its exception."""
        with self._lock:
            if len(self._stops) >= self.limit:
                raise BackendUnavailableError(
                    f"{self.limit} job streams are open on this server; try again shortly"
                )
            self._stops.add(stop)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()

        def settle(result: Any, error: BaseException | None) -> None:
            if done.cancelled():
                return
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(result)

        def work() -> None:
            try:
                result, error = func(*args, stop), None
            except BaseException as exc:  # handed to the request, whatever it is
                result, error = None, exc
            finally:
                with self._lock:
                    self._stops.discard(stop)
            try:
                loop.call_soon_threadsafe(settle, result, error)
            except RuntimeError:
                pass  # the loop is gone: the server stopped, nobody waits for this

        threading.Thread(target=work, name="jupyter-kf-updates", daemon=True).start()
        return await done

    def stop_all(self) -> None:
        with self._lock:
            for stop in self._stops:
                stop.set()
