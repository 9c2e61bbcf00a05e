"""The one door to the Kubernetes API: every request the package and the hub make.

``call`` (sync) and ``acall`` (async, the request runs in a thread pool) take a generated
client method and its arguments, and add what every caller needs:

- retries with exponential back-off and jitter on 429, 500, 502, 503, 504 and connection
  errors, honouring ``Retry-After`` (seconds, capped), bounded in attempts and total time;
- raw JSON reads (``raw=True``): the answer is ``json.loads`` of the body, never the client's
  model objects, whose construction builds a ``Configuration`` per nested field (and resets
  every logger's level under logging's global lock): pure-Python work that holds the GIL;
- one error tree: failures are raised as ``jupyter_kf.errors`` (``translate``), with the
  ``ApiException`` or connection error kept as the cause.

``open_stream`` opens a long-lived answer (a watch, ``pods/log?follow=true``) with the same
retries; reading it stays the caller's.

Which requests are retried. A read, a watch and a merge patch that sets absolute values
(scale, suspend, resume) are idempotent: repeating one that may already have happened
changes nothing, so they are retried on every retryable status and connection error; so
are a create whose caller accepts 409 and a delete whose caller accepts 404 (``ok``). Any
other create or delete is not: if the first attempt reached the API server and only its answer
was lost, a retry answers 409 (or 404) and the caller would report a conflict it caused
itself. Those are retried only when the API server certainly did not act on the first
attempt: a 429 (its flow control turns requests away before handling them), a 503 that
carries ``Retry-After`` (it is not serving yet, or is shutting down), and a connection that
could not be made (the request was never sent). A reset after the request was sent, a
timeout waiting for the answer or a 5xx without ``Retry-After`` ends the call with
``BackendUnavailableError``: the caller looks at the cluster again instead of guessing.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import ssl
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from .errors import translate

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
NOT_IDEMPOTENT = frozenset({"create", "delete"})  # verbs whose repetition is not harmless
DEFAULT_TIMEOUT = (5, 30)  # (connect, read) seconds of one attempt, unless the caller says


@dataclass(frozen=True)
class RetryPolicy:
    """How long a call keeps trying: at most ``attempts`` attempts within ``deadline``
    seconds, sleeping ``base * 2**n`` (capped at ``cap``, jittered) between them, or what
    the API server's ``Retry-After`` asks for (capped at ``retry_after_cap``)."""

    attempts: int = 6
    deadline: float = 30.0
    base: float = 0.2
    cap: float = 5.0
    retry_after_cap: float = 10.0

    def backoff(self, attempt: int) -> float:
        """The pause after failed attempt number ``attempt`` (0-based): exponential with
        jitter, so clients that failed together do not come back together."""
        delay = min(self.cap, self.base * 2.0**attempt)
        return float(delay * (0.5 + random.random() / 2))


DEFAULT_POLICY = RetryPolicy()
ONCE = RetryPolicy(attempts=1)  # for callers with their own retry loop (the informer)

_executor: ThreadPoolExecutor | None = None


def _default_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(8, thread_name_prefix="jupyter-kf-k8s")
    return _executor


# -- the API groups, for callers that may not import the client themselves --------------------
ApiClient = client.ApiClient


def own_retries(api: client.ApiClient) -> client.ApiClient:
    """Make ``api`` leave retrying to the door, and return it.

    urllib3's default policy retries inside one attempt: it sleeps for whatever a 429 or
    503's ``Retry-After`` says, uncapped (an answer of an hour blocks the caller an hour),
    and repeats requests the door would not. Every client the package makes or is given
    passes through here.
    """
    pool = api.rest_client.pool_manager
    pool.connection_pool_kw["retries"] = urllib3.Retry(0, respect_retry_after_header=False)
    pool.clear()  # connection pools made before keep their policy: start new ones
    return api


def core_api(api: client.ApiClient) -> client.CoreV1Api:
    """The core group (pods, pods/log, events, ConfigMaps) on ``api``'s connection."""
    return client.CoreV1Api(api)


def custom_api(api: client.ApiClient) -> client.CustomObjectsApi:
    """Custom resources (the training CRs) on ``api``'s connection."""
    return client.CustomObjectsApi(api)


def iter_lines(response: urllib3.BaseHTTPResponse) -> Iterator[str]:
    """The complete lines of a streaming answer as they arrive (a last line without a
    newline is not yielded)."""
    lines: Iterator[str] = iter_resp_lines(response)
    return lines


# -- deciding ---------------------------------------------------------------------------------
def _retry_after(exc: ApiException) -> float | None:
    """The seconds an answer's ``Retry-After`` asks for (the HTTP-date form is ignored)."""
    value = (exc.headers or {}).get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _not_sent(exc: BaseException) -> bool:
    """True when the connection could not be made, so the request never left."""
    if isinstance(exc, urllib3.exceptions.MaxRetryError):
        exc = exc.reason or exc
    return isinstance(
        exc, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)
    )


def _connection_error(exc: BaseException) -> bool:
    """A failure of the connection rather than an answer: worth another attempt."""
    if isinstance(exc, ApiException):
        # The client turns TLS errors into status 0; a certificate that does not verify
        # will not verify on the next attempt either.
        return exc.status == 0 and "CERTIFICATE_VERIFY_FAILED" not in str(exc.reason)
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and isinstance(
        exc.reason, ssl.SSLCertVerificationError
    ):
        return False
    return isinstance(
        exc, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError, HTTPException)
    )


def retry_delay(
    exc: BaseException, *, idempotent: bool, attempt: int, policy: RetryPolicy
) -> float | None:
    """How long to wait before trying again after ``exc``; None when not to retry."""
    if isinstance(exc, ApiException) and exc.status in RETRY_STATUSES:
        after = _retry_after(exc)
        if not idempotent and not (exc.status == 429 or (exc.status == 503 and after is not None)):
            return None
        if after is not None:
            return min(after, policy.retry_after_cap)
        return policy.backoff(attempt)
    if _connection_error(exc):
        if not idempotent and not _not_sent(exc):
            return None
        return policy.backoff(attempt)
    return None


# -- calling ----------------------------------------------------------------------------------
def _once(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], raw: bool) -> Any:
    """One attempt. A raw answer is read to its end here, so its connection goes back to
    the pool (an unread answer would keep it, and the next call would open a new one)."""
    if not raw:
        return fn(*args, **kwargs)
    resp = fn(*args, _preload_content=False, **kwargs)
    try:
        data = resp.data
    finally:
        resp.release_conn()
    return json.loads(data) if data else {}


@dataclass
class _Attempts:
    """The retry loop's state, shared by ``call`` and ``acall``."""

    verb: str
    resource: str
    namespace: str | None
    name: str | None
    ok: tuple[int, ...]
    idempotent: bool
    policy: RetryPolicy

    def __post_init__(self) -> None:
        self.start = time.monotonic()
        self.attempt = 0

    def failed(self, exc: BaseException) -> float:
        """The pause before the next attempt; raises the translated error when there is
        none (or the status is one the caller accepts: ``_Accepted``)."""
        if isinstance(exc, ApiException) and exc.status in self.ok:
            raise _Accepted() from exc
        delay = retry_delay(
            exc, idempotent=self.idempotent, attempt=self.attempt, policy=self.policy
        )
        self.attempt += 1
        late = time.monotonic() + (delay or 0) - self.start > self.policy.deadline
        if delay is None or self.attempt >= self.policy.attempts or late:
            raise translate(
                exc,
                verb=self.verb,
                resource=self.resource,
                namespace=self.namespace,
                name=self.name,
            ) from exc
        log.info(
            "retrying %s %s %s in %.2f s (attempt %d): %s",
            self.verb,
            self.resource,
            self.name or "",
            delay,
            self.attempt + 1,
            str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__,
        )
        return delay


class _Accepted(Exception):
    """The API server answered with a status the caller listed in ``ok``."""


def _attempts(
    verb: str,
    resource: str,
    namespace: str | None,
    name: str | None,
    ok: tuple[int, ...],
    idempotent: bool | None,
    policy: RetryPolicy,
) -> _Attempts:
    if idempotent is None:
        # A create that accepts 409, or a delete that accepts 404, is harmless to repeat:
        # the answer a repetition gets is one the caller takes as success.
        idempotent = (
            verb not in NOT_IDEMPOTENT
            or (verb == "create" and 409 in ok)
            or (verb == "delete" and 404 in ok)
        )
    return _Attempts(verb, resource, namespace, name, ok, idempotent, policy)


def call(
    fn: Callable[..., Any],
    *args: Any,
    verb: str,
    resource: str,
    namespace: str | None = None,
    name: str | None = None,
    raw: bool = False,
    ok: tuple[int, ...] = (),
    idempotent: bool | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    **kwargs: Any,
) -> Any:
    """``fn(*args, **kwargs)`` with retries and translated errors.

    ``verb``, ``resource``, ``namespace`` and ``name`` say what is being done, for the
    error a user reads (``verb`` "create" and "delete" also make the call not idempotent,
    see the module's docstring; ``idempotent`` overrides that). With ``raw`` the answer is
    the body's JSON (``{}`` for an empty body). A status in ``ok`` (e.g. 404 on a delete)
    returns None instead of raising.
    """
    kwargs.setdefault("_request_timeout", DEFAULT_TIMEOUT)
    state = _attempts(verb, resource, namespace, name, ok, idempotent, policy)
    while True:
        try:
            return _once(fn, args, kwargs, raw)
        except Exception as exc:
            try:
                delay = state.failed(exc)
            except _Accepted:
                return None
        time.sleep(delay)


async def acall(
    fn: Callable[..., Any],
    *args: Any,
    verb: str,
    resource: str,
    namespace: str | None = None,
    name: str | None = None,
    raw: bool = False,
    ok: tuple[int, ...] = (),
    idempotent: bool | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    executor: Executor | None = None,
    **kwargs: Any,
) -> Any:
    """``call`` for an event loop: each attempt runs in ``executor`` (default: a shared
    pool of 8 threads) and the pauses between attempts block nothing."""
    kwargs.setdefault("_request_timeout", DEFAULT_TIMEOUT)
    loop = asyncio.get_running_loop()
    pool = executor or _default_executor()
    attempt = functools.partial(_once, fn, args, kwargs, raw)
    state = _attempts(verb, resource, namespace, name, ok, idempotent, policy)
    while True:
        try:
            return await loop.run_in_executor(pool, attempt)
        except Exception as exc:
            try:
                delay = state.failed(exc)
            except _Accepted:
                return None
        await asyncio.sleep(delay)


def open_stream(
    fn: Callable[..., Any],
    *args: Any,
    verb: str,
    resource: str,
    namespace: str | None = None,
    name: str | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    **kwargs: Any,
) -> urllib3.BaseHTTPResponse:
    """Open a streaming answer (``watch=True``, ``follow=True``) with ``call``'s retries.

    The caller reads it (``iter_resp_lines``) and must ``close()`` it when done: not
    ``release_conn()``, which would hand a connection still streaming back to the pool.
    """
    state = _attempts(verb, resource, namespace, name, (), True, policy)
    while True:
        try:
            response: urllib3.BaseHTTPResponse = fn(*args, _preload_content=False, **kwargs)
            return response
        except Exception as exc:
            delay = state.failed(exc)
        time.sleep(delay)
