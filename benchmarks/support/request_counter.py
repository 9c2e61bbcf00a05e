"""Count the HTTP requests a process makes to the Kubernetes API server.

Both sides of benchmarks/status_propagation.py and benchmarks/list_jobs.py talk to the API
server through the ``kubernetes`` client, which sends every request through urllib3's
``HTTPConnectionPool.urlopen`` (HTTPS pools inherit it). ``install()`` wraps that method
in the calling process, so every request is counted once when it is sent — a watch counts
as one request when it is opened, however long it then streams; a retry urllib3 makes by
itself counts again, as it is another request. Needs only urllib3 (it runs in the peer's
virtual environment too).
"""

from __future__ import annotations

import threading
from collections import Counter

_lock = threading.Lock()
_counts: Counter = Counter()
_installed = False


def _label(method: str, url: str) -> str:
    if "watch=true" in url.lower() or "watch=1" in url:
        return "WATCH"
    return method.upper()


def install() -> None:
    """Start counting (idempotent): call before any request is sent."""
    global _installed
    if _installed:
        return
    from urllib3.connectionpool import HTTPConnectionPool

    original = HTTPConnectionPool.urlopen

    def urlopen(self, method, url, *args, **kwargs):
        with _lock:
            _counts[_label(method, url)] += 1
        return original(self, method, url, *args, **kwargs)

    HTTPConnectionPool.urlopen = urlopen
    _installed = True


def snapshot() -> dict[str, int]:
    """Requests so far: ``{"total": n, "GET": n, "WATCH": n, ...}``."""
    with _lock:
        counts = dict(_counts)
    return {"total": sum(counts.values()), **counts}


def reset() -> None:
    with _lock:
        _counts.clear()


def since(before: dict[str, int]) -> dict[str, int]:
    """Requests made since ``before`` (a ``snapshot()``)."""
    now = snapshot()
    return {k: v - before.get(k, 0) for k, v in now.items() if v - before.get(k, 0)} or {"total": 0}
