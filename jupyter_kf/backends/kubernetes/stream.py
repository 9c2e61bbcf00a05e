"""The Kubernetes backend's streams: ``updates`` and the log followers behind it.

A job's state and events come from the namespace's list+watch caches; its logs from ONE
``pods/log?follow=true`` stream per replica (a ``Follower``), shared by every consumer of that
job: the first subscriber opens it, later ones get the lines already read from its buffer and
then the new ones. Metric points are parsed from rank 0's lines as they stream, so a live
chart costs no log reads of its own. A follower whose last subscriber left lingers a little
(``LINGER``), so a consumer that reconnects (the REST long-poll, a re-rendered widget) finds
it still open instead of opening another stream.

Positions in a ``Cursor`` are counts: events in creation order, metric points and lines per
replica in the order rank 0 and each replica wrote them, across restarts of a container
(a new container's log starts where the old one's ended).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import urllib3

from ...errors import BackendUnavailableError, JupyterKFError, NotFoundError
from ...jobs import Cursor, Event, Job, Update, parse_metric_line
from ...jobs.kinds import kind_info
from ...k8s import ONCE, Informer, iter_lines, open_stream
from ...k8s.informer import interrupt
from .convert import Arrivals, events_of
from .trainjob import finished

log = logging.getLogger(__name__)

STOP_TICK = 0.25  # how soon a consumer notices its stop event
SETTLE = 2.0  # seconds after a job finished that its stream still takes events
LINGER = 30.0  # seconds a follower stays open after its last subscriber left
KEEP_LINES = 50_000  # lines of one replica's log a follower keeps for late subscribers
KEEP_BYTES = 16 * 1024 * 1024  # ... and at most this many bytes of them
KEEP_POINTS = 100_000  # metric points of rank 0 a follower keeps
RETRY_PAUSE = (0.5, 5.0)  # first and longest pause before a failed log read is tried again
TERMINAL = ("Succeeded", "Failed")


class _Namespace(Protocol):
    """What the streams read of one namespace: its caches, change feed and followers (the
    backend's namespace object; a protocol, so this module need not import the backend)."""

    namespace: str
    core: Any  # the core API group on the backend's connection
    events: Informer
    followers: Followers
    arrivals: Arrivals

    def find(self, name: str) -> dict | None: ...

    def job(self, cr: dict) -> Job: ...

    def listening(self) -> AbstractContextManager[queue.Queue]: ...

    def pod_of(self, job: str, kind: str, replica: str) -> dict | None:
        """The current pod of ``replica`` (``worker-1``, ``node-0``) of ``job``, or None."""


# -- one replica's log, followed once ---------------------------------------------------------
class Follower:
    """One ``pods/log?follow=true`` stream of one replica, shared by its subscribers.

    A thread reads the stream into a bounded buffer of lines (and, for rank 0, the metric
    points on them). When the stream breaks it reopens it and skips the lines of the same
    container it already read; a new container (a restart, a recreated pod) is read from
    its start. Once the pod or the job has finished it reads the rest of the log without
    ``follow`` (a stream that never ends by itself must not be waited on) and, when the job
    is over, is ``done``.
    """

    def __init__(self, ns: _Namespace, job: str, uid: str, kind: str, replica: str, metrics: bool):
        self.ns, self.job, self.uid, self.replica, self.kind = ns, job, uid, replica, kind
        # The pod's name, known once it exists (a TrainJob node's pod has a random suffix and
        # a new one when it failed): _look finds it again each time.
        self.pod = f"{job}-{replica}"
        self.container = kind_info(kind).container
        self.metrics = metrics
        self.cond = threading.Condition()
        self.lines: list[str] = []
        self.first = 0  # index of lines[0]: earlier ones were dropped from the buffer
        self.total = 0  # lines read so far
        self.nbytes = 0
        self.points: list[dict[str, Any]] = []
        self.points_first = 0
        self.points_total = 0
        self.done = False
        self.subscribers: list[queue.Queue] = []
        self.idle_since: float | None = None
        self.opened = 0  # streams and reads opened, for tests and benchmarks
        self._instance: tuple[str, int] | None = None
        self._instance_base = 0  # self.total when the current container's log began
        self._drained = False  # the current container finished and its log is read
        self._response: urllib3.BaseHTTPResponse | None = None
        self._following: tuple[str, int] | None = None
        self._closing = False
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"log-{self.pod}", daemon=True)
        self._thread.start()

    # -- for subscribers ---------------------------------------------------------------------
    def read(self, pos: int, mpos: int) -> tuple[list[str], int, list[dict[str, Any]], int]:
        """Lines from line ``pos`` and points from point ``mpos`` on, with the positions
        after them. What the buffer no longer holds is read again from the API server."""
        with self.cond:
            lines = self.lines[pos - self.first :] if pos >= self.first else None
            end, first = self.total, self.first
            points = self.points[max(mpos - self.points_first, 0) :]
            if mpos < self.points_first:
                log.warning(
                    "%s: metric points %d-%d no longer kept", self.pod, mpos, self.points_first
                )
            mend = self.points_total
        if lines is None:
            rest, end, points, mend = self.read(first, mpos)
            return self._reread(pos, first) + rest, end, points, mend
        return lines, end, points, mend

    def _reread(self, start: int, stop: int) -> list[str]:
        """Lines ``start`` to ``stop`` (dropped from the buffer), read again; those of an
        earlier container are gone from the API server and stay missing."""
        base = self._instance_base
        if stop <= base:
            log.warning("%s: log lines %d-%d are from an earlier container", self.pod, start, stop)
            return []
        return self._fetch()[max(start - base, 0) : stop - base]

    def poke(self) -> None:
        """The job or the pod changed: look again, and end a stream that is now stale."""
        self._wake.set()
        with self.cond:
            response = self._response
            following = self._following
        if response is None:
            return
        instance, finished, over = self._look()
        if instance != following or finished or over:
            interrupt(response)

    def close(self) -> None:
        self._closing = True
        self._wake.set()
        with self.cond:
            response = self._response
        if response is not None:
            interrupt(response)

    # -- the reading thread ------------------------------------------------------------------
    def _look(self) -> tuple[tuple[str, int] | None, bool, bool]:
        """(the container to read or None, whether it finished, whether the job is over)."""
        try:
            cr = self.ns.find(f"{self.kind}/{self.job}")
            pod = self.ns.pod_of(self.job, self.kind, self.replica)
        except BackendUnavailableError:
            return self._following, False, False
        if pod is not None:
            self.pod = pod["metadata"]["name"]
        # A job of the same name made since is another job: this one is over.
        over = cr is None or cr["metadata"].get("uid") != self.uid or finished(cr)
        gone = pod is None or (pod.get("metadata") or {}).get("deletionTimestamp")
        if pod is None or (gone and over):
            return None, True, over
        status = pod.get("status") or {}
        phase = status.get("phase") or "Pending"
        if phase == "Pending":
            return None, False, over
        restarts = sum(
            int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or ()
        )
        instance = (pod["metadata"].get("uid", ""), restarts)
        return instance, phase in TERMINAL, over

    def _run(self) -> None:
        pause = RETRY_PAUSE[0]
        while not self._closing:
            instance, finished, over = self._look()
            if instance is not None and instance != self._instance:
                with self.cond:
                    self._instance, self._instance_base = instance, self.total
                self._drained = False
            if instance is None or self._drained:
                if over:
                    break
                self._sleep(1.0)
                continue
            try:
                if finished or over:
                    self._add(self._fetch()[self.total - self._instance_base :])
                    self._drained = True
                else:
                    self._follow(instance)
                pause = RETRY_PAUSE[0]
            except NotFoundError:
                self._drained = True  # the pod is gone, and its log with it
            except JupyterKFError as exc:
                if self._closing:
                    break
                log.info("%s: reading the log failed, retrying: %s", self.pod, exc)
                self._sleep(pause)
                pause = min(pause * 2, RETRY_PAUSE[1])
        with self.cond:
            self.done = not self._closing
            self.cond.notify_all()
        self._notify()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _open(self, follow: bool) -> urllib3.BaseHTTPResponse:
        self.opened += 1
        return open_stream(
            self.ns.core.read_namespaced_pod_log,
            *(self.pod, self.ns.namespace),
            verb="read logs of",
            resource="pods",
            namespace=self.ns.namespace,
            name=self.pod,
            policy=ONCE,
            container=self.container,
            follow=follow,
            _request_timeout=(5, None) if follow else (5, 60),
        )

    def _fetch(self) -> list[str]:
        """The current container's whole log, its last line even without a newline."""
        response = self._open(follow=False)
        try:
            data = response.data
        finally:
            response.release_conn()
        lines = data.decode("utf-8", "replace").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return lines

    def _follow(self, instance: tuple[str, int]) -> None:
        """Read the follow stream until it ends, breaks or is interrupted; only complete
        lines count, so a reopened stream skips exactly what was read."""
        response = self._open(follow=True)
        with self.cond:
            self._response, self._following = response, instance
        skip = self.total - self._instance_base
        try:
            now, finished, over = self._look()
            if now != instance or finished or over:
                return  # it finished while the stream opened: the final read takes over
            rest = b""
            for chunk in response.stream(amt=None, decode_content=False):
                *complete, rest = (rest + chunk).split(b"\n")
                if skip:
                    dropped = min(skip, len(complete))
                    complete, skip = complete[dropped:], skip - dropped
                if complete:
                    self._add([line.decode("utf-8", "replace") for line in complete])
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if not self._closing:
                log.info("%s: log stream broke: %s", self.pod, exc)
        finally:
            with self.cond:
                self._response = self._following = None
            response.close()  # not release_conn(): an unfinished stream must not be reused

    def _add(self, lines: list[str]) -> None:
        if not lines:
            return
        points = []
        if self.metrics:
            for line in lines:
                point = parse_metric_line(line)
                if point:
                    points.append({"replica": self.replica, **point})
        with self.cond:
            self.lines.extend(lines)
            self.total += len(lines)
            self.nbytes += sum(len(line) for line in lines)
            while len(self.lines) > KEEP_LINES or self.nbytes > KEEP_BYTES:
                drop = max(len(self.lines) // 4, 1)
                self.nbytes -= sum(len(line) for line in self.lines[:drop])
                del self.lines[:drop]
                self.first += drop
            self.points.extend(points)
            self.points_total += len(points)
            if len(self.points) > KEEP_POINTS:
                drop = len(self.points) // 4
                del self.points[:drop]
                self.points_first += drop
            self.cond.notify_all()
        self._notify()

    def _notify(self) -> None:
        with self.cond:
            subscribers = list(self.subscribers)
        for q in subscribers:
            q.put(("LOG", self.job))


class Followers:
    """The followers of one namespace, by (job, replica), shared by every consumer."""

    def __init__(self, ns: _Namespace):
        self.ns = ns
        self.lock = threading.Lock()
        self.by_key: dict[tuple[str, str], Follower] = {}

    @contextlib.contextmanager
    def subscribed(
        self, cr: dict, replica: str, metrics: bool, q: queue.Queue
    ) -> Iterator[Follower]:
        """The follower of ``replica``, telling ``q`` about new lines while the block runs.
        ``metrics`` (rank 0's follower) parses metric points from its lines."""
        job, uid = cr["metadata"]["name"], cr["metadata"].get("uid", "")
        key = (job, replica)
        with self.lock:
            follower = self.by_key.get(key)
            if follower is not None and follower.uid != uid:  # of a deleted namesake
                follower.close()
                follower = None
            if follower is None:
                follower = Follower(self.ns, job, uid, cr["kind"], replica, metrics)
                self.by_key[key] = follower
            with follower.cond:
                follower.subscribers.append(q)
                follower.idle_since = None
        try:
            yield follower
        finally:
            with self.lock, follower.cond:
                follower.subscribers.remove(q)
                if not follower.subscribers:
                    follower.idle_since = time.monotonic()
                    timer = threading.Timer(LINGER, self._reap, (key, follower))
                    timer.daemon = True
                    timer.start()

    def find(self, job: str, replica: str) -> Follower | None:
        with self.lock:
            return self.by_key.get((job, replica))

    def _reap(self, key: tuple[str, str], follower: Follower) -> None:
        with self.lock:
            idle = follower.idle_since
            if idle is None or time.monotonic() - idle < LINGER - 0.1:
                return  # subscribed again since
            if self.by_key.get(key) is follower:
                del self.by_key[key]
        follower.close()

    def poke(self, job: str) -> None:
        with self.lock:
            followers = [f for (j, _), f in self.by_key.items() if j == job]
        for follower in followers:
            follower.poke()

    def close(self) -> None:
        with self.lock:
            followers, self.by_key = list(self.by_key.values()), {}
        for follower in followers:
            follower.close()


# -- one-off reads ----------------------------------------------------------------------------
def qualified(cr: dict) -> str:
    """``kind/name``: the job, even where another kind's job has its name."""
    return f"{cr['kind']}/{cr['metadata']['name']}"


def read_log(
    ns: _Namespace,
    name: str,
    replica: str,
    follow: bool,
    tail_lines: int | None,
    limit_bytes: int | None,
    *,
    previous: bool = False,
) -> Iterator[str]:
    """Lines of ``replica``'s log, read (or followed) by one request of the caller's own;
    ``previous``: its container's last terminated attempt (``previous=true``)."""
    cr = ns.find(name)
    if cr is None:
        raise NotFoundError(f"no training job named {name!r} in namespace {ns.namespace!r}")
    job, key = cr["metadata"]["name"], qualified(cr)
    # A pod that is not running yet has no log: following waits for it (the training
    # SDK's follow skips such pods); a one-off read returns nothing.
    while True:
        found = ns.pod_of(job, cr["kind"], replica)
        phase = ((found or {}).get("status") or {}).get("phase")
        if found is not None and phase and phase != "Pending":
            pod = found["metadata"]["name"]
            break
        if not follow:
            return
        cr = ns.find(key)
        if cr is None or finished(cr):
            return
        time.sleep(0.2)
    kwargs: dict[str, Any] = {"container": kind_info(cr["kind"]).container, "follow": follow}
    if tail_lines is not None:
        kwargs["tail_lines"] = tail_lines
    if limit_bytes is not None:
        kwargs["limit_bytes"] = limit_bytes
    if previous:
        kwargs["previous"] = True
    response = open_stream(
        ns.core.read_namespaced_pod_log,
        *(pod, ns.namespace),
        verb="read logs of",
        resource="pods",
        namespace=ns.namespace,
        name=pod,
        **kwargs,
    )
    try:
        yield from iter_lines(response)
    finally:
        response.close()  # not release_conn(): an unfinished stream must not go back to the pool


# -- updates ----------------------------------------------------------------------------------
@dataclass
class _Reader:
    """One consumer's place in one follower."""

    follower: Follower
    pos: int
    mpos: int
    shown: bool  # its lines are yielded (rank 0 may be read only for its metric points)


def updates(
    ns: _Namespace,
    name: str,
    since: Cursor | None,
    replicas: Sequence[str] | None,
    timeout: float | None,
    stop: threading.Event | None,
) -> Iterator[Update]:
    """``Backend.updates`` for one job of namespace ``ns`` (see its docstring)."""
    cr = ns.find(name)
    if cr is None:
        raise NotFoundError(f"no training job named {name!r} in namespace {ns.namespace!r}")
    job = ns.job(cr)
    chosen = job.followed(replicas)
    return _updates(ns, cr, job, since or Cursor(), chosen, timeout, stop)


def _updates(
    ns: _Namespace,
    cr: dict,
    job: Job,
    cursor: Cursor,
    chosen: list[str],
    timeout: float | None,
    stop: threading.Event | None,
) -> Iterator[Update]:
    name, kind, uid, key = job.name, cr["kind"], cr["metadata"].get("uid"), qualified(cr)
    deadline = None if timeout is None else time.monotonic() + timeout
    with contextlib.ExitStack() as stack:
        q = stack.enter_context(ns.listening())
        readers: dict[str, _Reader] = {}
        for replica in dict.fromkeys([job.rank0, *chosen]):
            follower = stack.enter_context(
                ns.followers.subscribed(cr, replica, replica == job.rank0, q)
            )
            readers[replica] = _Reader(
                follower, cursor.lines(replica), cursor.metrics, replica in chosen
            )
        last: Job | None = None
        finished_seen: float | None = None
        while True:
            seen: dict | None
            try:
                seen = ns.find(key)
                if seen is None or seen["metadata"].get("uid") != uid:  # gone, or a namesake
                    yield Update(cursor=cursor, deleted=True)
                    return
                job = ns.job(seen)
                events = events_of(kind, name, ns.events.items(), ns.arrivals)
            except BackendUnavailableError:
                seen = None  # the caches catch up by themselves: wait for them
            if seen is not None:
                update, drained = _next(readers, job, last, events, cursor, job.rank0)
                if last is None or not update.empty:
                    yield update
                last, cursor = job, update.cursor
                if job.status.finished and drained:
                    settled = _settled(seen, finished_seen)
                    if settled is None:
                        return
                    finished_seen = settled
                    # The last events (the operator's "succeeded") land just after the
                    # status: wait for them a moment before ending.
                    wake = finished_seen + SETTLE
                    if not _wait(q, name, wake if deadline is None else min(wake, deadline), stop):
                        if (stop is not None and stop.is_set()) or (
                            deadline is not None and time.monotonic() >= deadline
                        ):
                            return
                    continue
            if not _wait(q, name, deadline, stop):
                return


def _settled(cr: dict, finished_seen: float | None) -> float | None:
    """None once a finished job's trailing events had time to land; else the monotonic
    time it was first seen finished (now, the first time)."""
    status = cr.get("status") or {}
    stamps = [status.get("completionTime") or ""] + [
        c.get("lastTransitionTime") or "" for c in status.get("conditions") or ()
    ]
    finished = max(stamps)
    if finished:
        try:
            ago = time.time() - datetime.fromisoformat(finished.replace("Z", "+00:00")).timestamp()
        except ValueError:
            ago = 0.0
        if ago > SETTLE:
            return None
    now = time.monotonic()
    if finished_seen is not None and now >= finished_seen + SETTLE:
        return None
    return finished_seen if finished_seen is not None else now


def _next(
    readers: dict[str, _Reader],
    job: Job,
    last: Job | None,
    events: list[Event],
    cursor: Cursor,
    rank0: str,
) -> tuple[Update, bool]:
    """The update from ``cursor`` on, and whether every follower is done and read."""
    lines: list[tuple[str, str]] = []
    counts: dict[str, int] = {}
    points: list[dict[str, Any]] = []
    drained = True
    for replica, reader in readers.items():
        follower = reader.follower
        done = follower.done
        got, end, new_points, mend = follower.read(reader.pos, reader.mpos)
        if reader.shown:
            lines.extend((replica, line) for line in got)
            counts[replica] = len(got)
        reader.pos = end
        if replica == rank0:
            points, reader.mpos = new_points, mend
        drained = drained and done
    new_events = tuple(events[cursor.events :])
    update = Update(
        cursor=cursor.advanced(events=len(new_events), metrics=len(points), logs=counts),
        job=job if job != last else None,
        events=new_events,
        metrics=tuple(points),
        logs=tuple(lines),
    )
    return update, drained


def _wait(q: queue.Queue, job: str, deadline: float | None, stop: threading.Event | None) -> bool:
    """Sleep until something about ``job`` changes; False when the stream must end instead."""
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if (left is not None and left <= 0) or (stop is not None and stop.is_set()):
            return False
        if stop is not None:
            left = STOP_TICK if left is None else min(left, STOP_TICK)
        try:
            what, about = q.get(timeout=left)
        except queue.Empty:
            continue
        # The namespace's other jobs are none of this stream's business; an event names
        # the job or one of its pods.
        if about != job and not (what == "EVENT" and about.startswith(f"{job}-")):
            continue
        while True:  # a burst of changes makes one update
            try:
                q.get_nowait()
            except queue.Empty:
                return True
