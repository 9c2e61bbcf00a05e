"""A list+watch cache of one resource in one namespace: watch, don't poll.

It lists once, then watches from the list's resourceVersion with bookmarks, resuming from
the last resourceVersion it saw whenever a watch ends. Only a 410 Gone (the history it
would resume from was compacted) makes it list again. When the API server goes away the
cache says so (``synced`` is False and readers get ``BackendUnavailableError``) instead of
serving a frozen picture, and it keeps trying, with a capped back-off, for as long as it
lives: no thread dies of a lost connection. A connection that stays open but says nothing
(a half-open TCP connection, a frozen API server or load balancer) is noticed the same
way: a live watch with bookmarks hears from the API server at least once a minute, so a
watch silent for ``stall_seconds`` is cut and resumed, and the cache is unsynced meanwhile.

Its requests go through the one door (``api.call`` and ``api.open_stream``). Events are
read as raw JSON, so objects are plain dicts in the
API's own camelCase for typed and custom resources alike.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from ..errors import BackendUnavailableError, JupyterKFError
from .api import DEFAULT_POLICY, ONCE, RetryPolicy, call, open_stream

log = logging.getLogger(__name__)

Listener = Callable[[str, dict], None]


class _Gone(Exception):
    """The watch's resourceVersion is too old (410): list again."""


def _name(obj: dict) -> str:
    return obj["metadata"]["name"]


def _status(exc: BaseException) -> int | None:
    """The HTTP status behind ``exc`` (a translated error keeps the ``ApiException`` as its
    cause), None for a connection failure."""
    cause = exc.__cause__ if isinstance(exc, JupyterKFError) else exc
    return cause.status if isinstance(cause, ApiException) else None


class Informer:
    def __init__(
        self,
        list_fn: Callable[..., Any],
        *,
        resource: str,
        namespace: str,
        on_change: Listener | None = None,
        watch_seconds: int = 240,
        stall_seconds: float = 90.0,
        max_backoff: float = 5.0,
        key: Callable[[dict], str] | None = None,
        keep: Callable[[dict], bool] | None = None,
        transform: Callable[[dict], dict] | None = None,
    ):
        """``key`` names an object in the cache (default: its name; a watch across
        namespaces needs ``namespace/name``). ``keep``, when given, drops objects it
        refuses: they are neither stored nor reported (a cluster-wide event watch keeps
        only the events of the pods it cares about). ``transform``, when given, turns each
        object into what is stored and reported (e.g. only the fields a reader uses: a
        cache of thousands of pods need not hold their managedFields). ``stall_seconds``
        bounds the silence of a watch (the API server sends a bookmark every minute)."""
        self._list_fn = list_fn
        self._key = key or _name
        self._keep = keep
        self._transform = transform
        self.resource = resource
        self.namespace = namespace
        self._on_change = on_change
        self._watch_seconds = watch_seconds
        self._stall_seconds = stall_seconds
        self._max_backoff = max_backoff
        self._lock = threading.Lock()
        self._store: dict[str, dict] = {}
        self._rv: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._response: urllib3.BaseHTTPResponse | None = None
        self.synced = False
        self.unsynced_since: float | None = None
        self.last_error: str = ""
        self.lists = 0  # requests made, for benchmarks and tests
        self.watches = 0

    # -- reading ---------------------------------------------------------------------------
    def check(self) -> None:
        """Raise ``BackendUnavailableError`` unless the cache reflects the API server now."""
        if not self.synced:
            since = ""
            if self.unsynced_since is not None:
                since = f" for {time.monotonic() - self.unsynced_since:.0f} s"
            raise BackendUnavailableError(
                f"cannot see {self.resource} in namespace {self.namespace!r}{since}: "
                f"{self.last_error or 'not loaded yet'} (retrying)"
            )

    def items(self) -> list[dict]:
        self.check()
        with self._lock:
            return list(self._store.values())

    def get(self, name: str) -> dict | None:
        self.check()
        with self._lock:
            return self._store.get(name)

    def learn(self, obj: dict) -> bool:
        """Store ``obj``, the API server's answer to this process's own write, unless the
        watch has already reported that revision or a later one: a reader right after the
        write sees it without waiting for the watch (read your writes). The watch's own event
        for it replaces it later. An object the watch has passed (it may be gone since) is
        left alone, and so is any resourceVersion that is not the API server's integer; True
        when stored."""
        if self._transform is not None:
            obj = self._transform(obj)
        if self._keep is not None and not self._keep(obj):
            return False
        try:
            written = int(obj["metadata"]["resourceVersion"])
        except (KeyError, TypeError, ValueError):
            return False
        name = self._key(obj)
        with self._lock:
            try:
                seen = int(self._rv or "")
            except ValueError:
                return False
            if not self.synced or written <= seen:
                return False
            before = self._store.get(name)
            self._store[name] = obj
        self._notify("ADDED" if before is None else "MODIFIED", obj)
        return True

    # -- running ---------------------------------------------------------------------------
    def start(self) -> Informer:
        """List synchronously (errors reach the caller, e.g. a 403), then watch in a thread."""
        self._relist(DEFAULT_POLICY)
        self._thread = threading.Thread(
            target=self._run, name=f"informer-{self.resource}-{self.namespace}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.reconnect()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def reconnect(self) -> None:
        """End the current watch; the cache resumes from the last resourceVersion it saw."""
        interrupt(self._response)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                if self._rv is None:
                    self._relist(ONCE)  # this loop backs off itself, and says it is unsynced
                self._watch()
                backoff = 0.2
            except _Gone:
                self._rv = None
            except Exception as exc:  # the API server went away, or refused us
                if self._stop.is_set():
                    break
                if _status(exc) == 410:  # refused to resume there when the watch opened
                    self._rv = None
                    continue
                self._mark_unsynced(exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff)

    def _notify(self, kind: str, obj: dict) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(kind, obj)
        except Exception:  # a listener's bug must not stop the cache
            log.exception("listener failed on %s %s", kind, self.resource)

    def _mark_unsynced(self, exc: BaseException) -> None:
        if self.synced or self.unsynced_since is None:
            self.unsynced_since = time.monotonic()
        self.synced = False
        cause = exc.__cause__ if isinstance(exc, JupyterKFError) and exc.__cause__ else exc
        if isinstance(cause, ApiException):
            self.last_error = f"API server answered {cause.status} {cause.reason}"
        elif isinstance(exc, JupyterKFError):
            self.last_error = str(exc)[:200]
        else:
            self.last_error = f"{type(exc).__name__}: {str(exc)[:160]}"
        log.info("%s/%s watch lost: %s", self.namespace, self.resource, self.last_error)

    def _relist(self, policy: RetryPolicy) -> None:
        self.lists += 1
        body = call(
            self._list_fn,
            verb="list",
            resource=self.resource,
            namespace=self.namespace,
            raw=True,
            policy=policy,
            _request_timeout=(5, 60),
        )
        kind = body.get("kind", "").removesuffix("List")
        items = body.get("items") or []
        for item in items:  # list items carry no kind/apiVersion; watch events do
            item.setdefault("kind", kind)
        if self._transform is not None:
            items = [self._transform(item) for item in items]
        fresh = {self._key(item): item for item in items if self._keep is None or self._keep(item)}
        with self._lock:  # with the resourceVersion: learn() reads both as one
            old, self._store = self._store, fresh
            self._rv = body["metadata"]["resourceVersion"]
        self.synced, self.unsynced_since, self.last_error = True, None, ""
        for name, item in fresh.items():
            before = old.get(name)
            if before is None:
                self._notify("ADDED", item)
            elif before["metadata"].get("resourceVersion") != item["metadata"].get(
                "resourceVersion"
            ):
                self._notify("MODIFIED", item)
        for name, item in old.items():
            if name not in fresh:
                self._notify("DELETED", item)

    def _watch(self) -> None:
        self.watches += 1
        response = open_stream(
            self._list_fn,
            verb="watch",
            resource=self.resource,
            namespace=self.namespace,
            policy=ONCE,
            watch=True,
            resource_version=self._rv,
            allow_watch_bookmarks=True,
            timeout_seconds=self._watch_seconds,
            # A read timeout bounds each wait for the next line, not the whole watch: a
            # watch that stays open without a line (not even a bookmark) for this long is
            # dead, whatever its connection says.
            _request_timeout=(5, self._stall_seconds),
        )
        self._response = response
        # Connected: what we hold plus the events from our resourceVersion on is the truth.
        self.synced, self.unsynced_since, self.last_error = True, None, ""
        try:
            for line in iter_resp_lines(response):
                if self._stop.is_set():
                    return
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        raise _Gone()
                    raise ApiException(status=obj.get("code", 500), reason=obj.get("message", ""))
                rv = (obj.get("metadata") or {}).get("resourceVersion")
                if kind == "BOOKMARK":
                    with self._lock:
                        self._rv = rv or self._rv
                    continue
                if self._transform is not None:
                    obj = self._transform(obj)
                name = self._key(obj)
                if self._keep is not None and not self._keep(obj):
                    kind = "DELETED"  # no longer (or never) wanted: forget it quietly
                    with self._lock:
                        known = self._store.pop(name, None) is not None
                        self._rv = rv or self._rv
                    if known:
                        self._notify(kind, obj)
                    continue
                with self._lock:  # store and resourceVersion move together (learn())
                    if kind == "DELETED":
                        self._store.pop(name, None)
                    else:
                        self._store[name] = obj
                    self._rv = rv or self._rv
                self._notify(kind, obj)
        finally:
            self._response = None
            response.close()  # not release_conn(): an unfinished stream must not go back to the pool


def interrupt(response) -> None:
    """End a streaming urllib3 ``response`` another thread is reading: its read returns.

    The socket is shut down rather than the response closed: closing a TLS socket that
    another thread is reading from can block both.
    """
    conn = getattr(response, "connection", None) or getattr(response, "_connection", None)
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass  # already closed
