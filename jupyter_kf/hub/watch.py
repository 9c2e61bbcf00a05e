"""One list+watch of the hub's pods and one of their events, shared by every spawner.

Never a poll per user. Two ``jupyter_kf.k8s.Informer`` caches, each
resuming from its last resourceVersion (with bookmarks) and listing again only on 410
Gone; readers get ``BackendUnavailableError`` instead of a frozen picture while a watch is
disconnected. On top of that, this module:

- indexes events by the pod they are about, keeping only the hub's pods' events
  (the name prefix is the filter: events carry no labels);
- wakes the spawners waiting on a pod: the watch threads note which pods changed and
  hand the loop one callback per batch (``call_soon_threadsafe`` only when none is
  pending), so a burst of a thousand watch events costs the hub's event loop a few
  callbacks, not a thousand; the loop never blocks on the API; every waiter due (a pod
  changed, its timeout passed, the cache came back) joins one queue that resumes a few
  per turn of the loop, so a hundred pods turning ready together, or a hundred spawns
  whose timeouts fell due together, do not hold it for seconds;
- supervises both caches from the event loop: a watch thread that died is replaced; a
  connection that said nothing (not even a bookmark) for ``stall_seconds`` the informer
  itself cuts and resumes, so a half-open TCP connection never looks "synced";
- starts in the background: nothing waits for the first list (a spawn's ``start`` creates
  its objects meanwhile and, if it must read a pod before the cache has loaded, reads it
  with one GET).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import threading
import time
from collections.abc import Callable

from kubernetes import client

from jupyter_kf.errors import BackendUnavailableError
from jupyter_kf.k8s import Informer

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, pod name)
WAKE_BATCH = 4  # waiting spawns resumed per turn of the event loop (see _drain)


def slim_pod(pod: dict) -> dict:
    """Only what the spawner reads of a pod (a few hundred bytes instead of tens of KB:
    no managedFields, no spec beyond the node, no env)."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    return {
        "kind": pod.get("kind", "Pod"),
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "deletionTimestamp")
            if k in meta
        },
        "spec": {"nodeName": (pod.get("spec") or {}).get("nodeName")},
        "status": {
            "phase": status.get("phase"),
            "podIP": status.get("podIP"),
            "reason": status.get("reason"),
            "message": status.get("message"),
            "conditions": [
                {k: c.get(k) for k in ("type", "status", "reason", "message")}
                for c in status.get("conditions") or []
            ],
            "containerStatuses": [
                {
                    "name": c.get("name"),
                    "state": c.get("state"),
                    "ready": c.get("ready"),
                    "restartCount": c.get("restartCount"),
                }
                for c in status.get("containerStatuses") or []
            ],
        },
    }


def slim_event(event: dict) -> dict:
    meta = event.get("metadata") or {}
    out = {
        k: event[k]
        for k in (
            "kind",
            "involvedObject",
            "reason",
            "message",
            "type",
            "count",
            "series",
            "firstTimestamp",
            "lastTimestamp",
            "eventTime",
        )
        if k in event
    }
    out["metadata"] = {
        k: meta[k]
        for k in ("name", "namespace", "resourceVersion", "creationTimestamp")
        if k in meta
    }
    return out


def _ns_name(obj: dict) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


class PodWatch:
    """The shared caches of one hub (selected by ``label_selector``).

    ``namespace`` None watches every namespace (per-user namespaces; the hub then needs
    cluster-wide list/watch on pods and events), otherwise just that one.
    """

    def __init__(
        self,
        api: client.ApiClient,
        *,
        label_selector: str,
        pod_prefix: str,
        namespace: str | None = None,
        watch_seconds: int = 240,
        stall_seconds: float = 90.0,
        check_seconds: float = 5.0,
    ):
        self.api = api
        self.label_selector = label_selector
        self.pod_prefix = pod_prefix
        self.namespace = namespace
        self.watch_seconds = watch_seconds
        self.stall_seconds = stall_seconds
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._events: dict[Key, dict[str, dict]] = {}
        self._waiters: dict[Key, set[asyncio.Future]] = {}  # touched on the loop only
        self._due: collections.deque[asyncio.Future] = collections.deque()  # loop only
        self._draining = False  # a _drain is scheduled (loop only)
        self._was_synced = False  # the pods cache's state at the last health check
        self._changed: set[Key] = set()  # pods changed since the loop last woke waiters
        self._flush_pending = False  # both under self._lock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._supervisor: asyncio.Task | None = None
        self.pods = self._new_pod_informer()
        self.events = self._new_event_informer()
        self.restarts = 0  # informers replaced because their thread died
        self._started = False

    # -- construction ------------------------------------------------------------------
    def _new_pod_informer(self) -> Informer:
        core = client.CoreV1Api(self.api)
        if self.namespace is None:
            fn = functools.partial(
                core.list_pod_for_all_namespaces, label_selector=self.label_selector
            )
        else:
            fn = functools.partial(
                core.list_namespaced_pod, self.namespace, label_selector=self.label_selector
            )
        return Informer(
            fn,
            resource="pods",
            namespace=self.namespace or "*",
            on_change=self._on_pod,
            watch_seconds=self.watch_seconds,
            stall_seconds=self.stall_seconds,
            key=_ns_name,
            transform=slim_pod,
        )

    def _new_event_informer(self) -> Informer:
        core = client.CoreV1Api(self.api)
        selector = "involvedObject.kind=Pod"
        if self.namespace is None:
            fn = functools.partial(core.list_event_for_all_namespaces, field_selector=selector)
        else:
            fn = functools.partial(
                core.list_namespaced_event, self.namespace, field_selector=selector
            )
        return Informer(
            fn,
            resource="events",
            namespace=self.namespace or "*",
            on_change=self._on_event,
            watch_seconds=self.watch_seconds,
            stall_seconds=self.stall_seconds,
            key=_ns_name,
            keep=self._is_ours,
            transform=slim_event,
        )

    def _is_ours(self, event: dict) -> bool:
        return (event.get("involvedObject") or {}).get("name", "").startswith(self.pod_prefix)

    # -- running -----------------------------------------------------------------------
    def ensure_started(self) -> None:
        """Start both caches in the background (first call wins); never blocks."""
        if self._started:
            return
        self._started = True
        self._loop = asyncio.get_running_loop()
        for informer in (self.pods, self.events):
            self._launch(informer)
        self._supervisor = self._loop.create_task(self._supervise())

    def _launch(self, informer: Informer) -> None:
        def first_list():
            backoff = 0.2
            while True:
                try:
                    informer.start()
                    return
                except Exception as exc:  # API away at hub start: keep trying
                    informer.last_error = str(exc)[:200]
                    if informer.unsynced_since is None:
                        informer.unsynced_since = time.monotonic()
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    if getattr(informer, "_stopped_for_good", False):
                        return

        threading.Thread(
            target=first_list, name=f"podwatch-start-{informer.resource}", daemon=True
        ).start()

    async def _supervise(self) -> None:
        while True:
            await asyncio.sleep(self.check_seconds)
            try:
                self.check_health()
            except Exception:  # the supervisor itself must not die
                log.exception("pod watch supervisor")

    def check_health(self) -> None:
        for attr, factory in (
            ("pods", self._new_pod_informer),
            ("events", self._new_event_informer),
        ):
            informer: Informer = getattr(self, attr)
            if informer._thread is not None and not informer.alive:
                log.warning("the %s watch thread died; starting a new one", attr)
                self.restarts += 1
                fresh = factory()
                setattr(self, attr, fresh)
                self._launch(fresh)
        # Waiters look again when the cache comes or goes (a spawn reads the pod with a GET
        # while it is out of step), not at every check: 200 waiting spawns woken every few
        # seconds for nothing is loop work in the middle of a herd.
        if self.synced != self._was_synced:
            self._was_synced = self.synced
            self._wake_all()

    def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
        for informer in (self.pods, self.events):
            informer._stopped_for_good = True  # type: ignore[attr-defined]
            informer.stop()

    @property
    def synced(self) -> bool:
        return self.pods.synced

    @property
    def requests(self) -> int:
        return self.pods.lists + self.pods.watches + self.events.lists + self.events.watches

    # -- reading -----------------------------------------------------------------------
    def pod(self, namespace: str, name: str) -> dict | None:
        """The cached pod, or None if the API server has no such pod.

        Raises ``BackendUnavailableError`` while the cache is not in step with the API
        server (not loaded yet, or disconnected): never a stale answer.
        """
        return self.pods.get(f"{namespace}/{name}")

    def pod_events(self, namespace: str, name: str, uid: str | None = None) -> list[dict]:
        """The pod's events, oldest first (only this incarnation's when ``uid`` is given)."""
        with self._lock:
            events = list(self._events.get((namespace, name), {}).values())
        if uid:
            events = [
                e for e in events if (e.get("involvedObject") or {}).get("uid") in (uid, None)
            ]
        return sorted(events, key=_event_time)

    def forget_events(self, namespace: str, name: str) -> None:
        with self._lock:
            self._events.pop((namespace, name), None)

    # -- waking ------------------------------------------------------------------------
    async def wait_change(self, namespace: str, name: str, timeout: float) -> None:
        """Return when the pod or its events change, or after ``timeout`` seconds.

        One future and one timer (``asyncio.wait_for`` would add a task per wait: with
        hundreds of spawns waiting, that is loop work for nothing)."""
        loop = asyncio.get_running_loop()
        self._loop = self._loop or loop
        waiter = loop.create_future()
        key = (namespace, name)
        self._waiters.setdefault(key, set()).add(waiter)
        # At its timeout the waiter joins the queue like any other: spawns that began
        # together time out together, and would otherwise all resume in one turn.
        timer = loop.call_later(timeout, self._enqueue, [waiter])
        try:
            await waiter
        finally:
            timer.cancel()
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    self._waiters.pop(key, None)

    def poke(self, namespace: str, name: str) -> None:
        """On the loop: wake whoever waits on this pod now (a spawn's own step is news to
        its progress stream, though nothing changed in the cluster)."""
        for waiter in self._waiters.get((namespace, name), ()):
            _resolve(waiter)

    def _wake_all(self) -> None:
        self._wake_keys(list(self._waiters))

    def _wake_keys(self, keys: list[Key]) -> None:
        self._enqueue([w for key in keys for w in self._waiters.get(key, ())])

    def _enqueue(self, waiters: list[asyncio.Future]) -> None:
        self._due.extend(waiters)
        if not self._draining and self._due and self._loop is not None:
            self._draining = True
            self._loop.call_soon(self._drain)

    def _drain(self) -> None:
        """Resume at most ``WAKE_BATCH`` due waiters in this turn of the loop.

        A watch batch can hold a hundred pods that just became ready; each woken spawn
        then runs JupyterHub's own end of a spawn (a database commit, the proxy's route)
        before it next awaits. Woken all at once, that is one block of the loop lasting
        seconds in a herd, and every other request waits behind it; a few per turn, the
        loop serves others between them. The rest follow on the next turns: no timer, no
        delay when the loop is idle.
        """
        woken = 0
        while self._due and woken < WAKE_BATCH:
            woken += _resolve(self._due.popleft())
        if self._due and self._loop is not None:
            self._loop.call_soon(self._drain)
        else:
            self._draining = False

    def _notify(self, key: Key) -> None:
        """From a watch thread: the pod ``key`` changed. Wakes its waiters on the loop,
        batched with every other change that arrives before the loop gets to it."""
        loop = self._loop
        if loop is None:
            return
        with self._lock:
            self._changed.add(key)
            if self._flush_pending:
                return
            self._flush_pending = True
        try:
            loop.call_soon_threadsafe(self._flush)
        except RuntimeError:  # loop closed at hub shutdown
            pass

    def _flush(self) -> None:
        with self._lock:
            changed, self._changed = self._changed, set()
            self._flush_pending = False
        self._wake_keys(list(changed))

    def _on_pod(self, kind: str, pod: dict) -> None:
        meta = pod["metadata"]
        self._notify((meta.get("namespace", ""), meta["name"]))

    def _on_event(self, kind: str, event: dict) -> None:
        involved = event.get("involvedObject") or {}
        key = (
            involved.get("namespace") or event["metadata"].get("namespace", ""),
            involved.get("name", ""),
        )
        name = event["metadata"]["name"]
        with self._lock:
            if kind == "DELETED":
                bucket = self._events.get(key)
                if bucket is not None:
                    bucket.pop(name, None)
                    if not bucket:
                        self._events.pop(key, None)
            else:
                self._events.setdefault(key, {})[name] = event
        self._notify(key)


def _resolve(waiter: asyncio.Future) -> bool:
    if waiter.done():
        return False
    waiter.set_result(None)
    return True


def _event_time(event: dict) -> str:
    return (
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event["metadata"].get("creationTimestamp")
        or ""
    )


_shared: dict[tuple, PodWatch] = {}
_shared_lock = threading.Lock()


def shared_watch(key: tuple, factory: Callable[[], PodWatch]) -> PodWatch:
    """The one PodWatch for ``key`` (API server, selector, namespace) in this process."""
    with _shared_lock:
        watch = _shared.get(key)
        if watch is None:
            watch = _shared[key] = factory()
        return watch


__all__ = ["BackendUnavailableError", "PodWatch", "shared_watch"]
