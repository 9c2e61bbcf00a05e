"""The local backend's streams: ``updates`` and log following, from a job folder's files.

Events, metric points and logs are append-only files (the supervisor and the workers only
ever append), so a reader keeps a byte offset per file and reads what was added since. It
sleeps in inotify until one of the job's files changes (``inotify.FileWatch``), and re-checks
every ``SAFETY_TICK`` seconds for what no file announces: a supervisor that died silently is
noticed by ``LocalBackend.get`` and written down as a failure.

Positions in a ``Cursor`` are counts of items (events, points, lines), so a resumed stream
skips that many items of each file from its start.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ...errors import NotFoundError
from ...jobs import Cursor, Event, Job, Update
from .inotify import FileWatch
from .layout import JobDir

Load = Callable[[JobDir], Job]  # the backend's reader of a job folder (NotFoundError if gone)

SAFETY_TICK = 2.0  # re-read with no notification: what no file announces
FALLBACK_TICK = 0.5  # the same, where inotify is unavailable
STOP_TICK = 0.25  # how soon a reader notices its stop event
COALESCE = 0.03  # seconds a woken reader lets a burst of writes land before reading
READ_CHUNK = 4 * 1024 * 1024  # bytes of one file read per round; more waits for the next
FINISHED_REPLICA = ("Succeeded", "Failed", "Stopped")


class Tail:
    """The items appended to one file since the last read, as complete lines parsed.

    ``skip`` items are read and dropped first (a resumed stream's position). ``parse``
    returns None for a line that is no item (a torn or foreign line in a JSON-lines file).
    """

    def __init__(self, path: Path, parse: Callable[[bytes], Any], skip: int = 0):
        self.path = path
        self.parse = parse
        self.skip = skip
        self.offset = 0
        # An unfinished last line, grown in place: a 100 MB line is read in 4 MiB rounds
        # without copying what came before each time.
        self.partial = bytearray()
        self.more = False  # the last read stopped at READ_CHUNK, not at the end

    def read(self, final: bool = False) -> list[Any]:
        """New items; with ``final`` (the writer is done) also an unfinished last line."""
        try:
            fh = open(self.path, "rb")
        except FileNotFoundError:
            return []
        with fh:
            fh.seek(self.offset)
            data = fh.read(READ_CHUNK)
        self.offset += len(data)
        self.more = len(data) == READ_CHUNK
        lines = self._complete_lines(data)
        if final and not self.more and self.partial:
            lines.append(bytes(self.partial))
            self.partial = bytearray()
        out = []
        for i, raw in enumerate(lines):
            # Each raw line is let go as it is parsed: a huge line is held twice at most
            # (its bytes and its text).
            lines[i] = b""
            item = self.parse(raw)
            del raw
            if item is None:
                continue
            if self.skip:
                self.skip -= 1
                continue
            out.append(item)
        return out

    def _complete_lines(self, data: bytes) -> list[bytes]:
        """``data`` added to the unfinished line; the lines it completes, each copied once
        (the buffer that held them is let go before they are parsed)."""
        buf = self.partial
        searched = len(buf)  # what was kept before has no newline
        buf += data
        lines: list[bytes] = []
        start = 0
        with memoryview(buf) as view:  # a slice of the view is copied once, not twice
            while (end := buf.find(b"\n", max(start, searched))) >= 0:
                lines.append(view[start:end].tobytes())
                start = end + 1
        if start:
            self.partial = buf[start:]
        return lines


def text_line(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _record(raw: bytes) -> dict | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _event(raw: bytes) -> Event | None:
    e = _record(raw)
    if e is None:
        return None
    return event_of(e)


def event_of(e: dict) -> Event:
    return Event(
        time=e.get("time", ""),
        type=e.get("type", "Normal"),
        reason=e.get("reason", ""),
        message=e.get("message", ""),
        object=e.get("object", ""),
    )


class Waker:
    """Sleeps until a watched folder changes, ``stop`` is set or a re-check is due."""

    def __init__(self, folders: Sequence[Path], stop: threading.Event | None, deadline: float):
        self.watch = FileWatch()
        self.folders = list(folders)
        self.stop = stop
        self.deadline = deadline
        self.tick = SAFETY_TICK if self.watch.native else FALLBACK_TICK
        self._arm()

    def _arm(self) -> bool:
        ok = True
        for folder in self.folders:
            if not self.watch.watching(folder) and not self.watch.add(folder):
                ok = False
        return ok

    def over(self) -> bool:
        return (self.stop is not None and self.stop.is_set()) or time.monotonic() >= self.deadline

    def sleep(self) -> bool:
        """Wait for the next reason to read; False when the reader must end instead."""
        # A folder not there yet (logs/ before the first replica) is watched once it is;
        # until then the fallback tick stands in.
        tick = self.tick if self._arm() else FALLBACK_TICK
        recheck = time.monotonic() + tick
        while True:
            if self.over():
                return False
            now = time.monotonic()
            if now >= recheck:
                return True
            step = min(recheck, self.deadline) - now
            if self.stop is not None:
                step = min(step, STOP_TICK)
            if self.watch.wait(step):
                # A burst of writes (a line and its metric point, a status and its event)
                # lands in one read instead of one each.
                time.sleep(COALESCE)
                self.watch.wait(0)
                return not self.over()

    def close(self) -> None:
        self.watch.close()


def updates(
    load: Load,
    d: JobDir,
    since: Cursor | None,
    replicas: Sequence[str] | None,
    timeout: float | None,
    stop: threading.Event | None,
) -> Iterator[Update]:
    """``Backend.updates`` for the job in folder ``d`` (see its docstring)."""
    job = load(d)
    chosen = job.followed(replicas)
    return _follow(load, d, job, since or Cursor(), chosen, timeout, stop)


def _follow(
    load: Load,
    d: JobDir,
    job: Job,
    cursor: Cursor,
    chosen: list[str],
    timeout: float | None,
    stop: threading.Event | None,
) -> Iterator[Update]:
    events = Tail(d.events, _event, cursor.events)
    metrics = Tail(d.metrics, _record, cursor.metrics)
    logs = {r: Tail(d.log_of(r), text_line, cursor.lines(r)) for r in chosen}
    deadline = float("inf") if timeout is None else time.monotonic() + timeout
    waker = Waker([d.path, d.logs], stop, deadline)
    last: Job | None = None
    try:
        while True:
            finished = job.status.finished
            new_events = tuple(events.read(final=finished))
            new_metrics = tuple(metrics.read(final=finished))
            lines: list[tuple[str, str]] = []
            counts: dict[str, int] = {}
            for replica, tail in logs.items():
                got = tail.read(final=finished)
                counts[replica] = len(got)
                lines.extend((replica, line) for line in got)
            more = events.more or metrics.more or any(t.more for t in logs.values())
            cursor = cursor.advanced(events=len(new_events), metrics=len(new_metrics), logs=counts)
            update = Update(
                cursor=cursor,
                job=job if job != last else None,
                events=new_events,
                metrics=new_metrics,
                logs=tuple(lines),
            )
            if last is None or not update.empty:
                yield update
            last = job
            if finished and not more:
                return
            if not more and not waker.sleep():
                return
            if waker.over():
                return
            try:
                job = load(d)
            except NotFoundError:
                yield Update(cursor=cursor, deleted=True)
                return
    finally:
        waker.close()


def follow_log(
    load: Load, d: JobDir, replica: str, tail: Tail, stop: threading.Event | None = None
) -> Iterator[str]:
    """New lines of ``replica``'s log until it (or the job) has finished and all is read."""
    waker = Waker([d.path, d.logs], stop, float("inf"))
    try:
        while True:
            try:
                job = load(d)
            except NotFoundError:
                return
            rep = next((r for r in job.replicas if r.name == replica), None)
            over = job.status.finished or (rep is not None and rep.phase in FINISHED_REPLICA)
            yield from tail.read(final=over)
            if over and not tail.more:
                return
            if not tail.more and not waker.sleep():
                return
    finally:
        waker.close()
