"""``wait_for``: the one way tests wait for something to become true."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T], timeout: float = 60.0, interval: float = 0.1, what: str = ""
) -> T:
    """Call ``predicate`` until it returns something truthy, and return that.

    An exception from ``predicate`` counts as "not yet" (a process starting, an API server
    coming back); after ``timeout`` seconds a ``TimeoutError`` names ``what`` and is chained
    to the last such exception, so a failing test shows why.
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:
            last_exc = exc
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"timed out after {timeout} s waiting for {what or predicate}"
            ) from last_exc
        time.sleep(interval)
