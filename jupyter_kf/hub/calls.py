"""How the spawner calls the Kubernetes API: through the one door (``jupyter_kf.k8s``), with
one client per kubeconfig and a thread pool shared by every spawner of the process.

``ApiCalls`` is mixed into ``KubeflowSpawner`` and reads its connection settings
(``kubeconfig``, ``kube_context``, ``k8s_api_threads``, ``k8s_api_retry_seconds``). The
lifecycle in ``spawner.py`` makes every write through ``_call``/``_create`` and its one
uncached read through ``_read_now``; nothing else in the hub issues requests except the
shared watch (``watch.py``, whose caches are ``jupyter_kf.k8s.Informer``s).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubernetes import client

from jupyter_kf.errors import JupyterKFError
from jupyter_kf.k8s import ONCE, ClusterConfig, RetryPolicy, acall, load_api_client

# Shared by every spawner of the process: one client (and connection pool) per kubeconfig
# and context, one thread pool per size.
_clients: dict[tuple[str | None, str | None], tuple[client.ApiClient, str]] = {}
_executors: dict[int, ThreadPoolExecutor] = {}


class _Unknown:
    """The API server could not be asked (as opposed to "no such pod")."""


UNKNOWN = _Unknown()


class ApiCalls:
    """The spawner's API settings applied to the door (a mixin: the settings are its traits)."""

    kubeconfig: str | None
    kube_context: str | None
    k8s_api_threads: int
    k8s_api_retry_seconds: float
    log: logging.Logger
    _log_name: str

    def _api(self) -> tuple[client.ApiClient, str]:
        """The API client for this hub's kubeconfig, and its default namespace."""
        key = (self.kubeconfig, self.kube_context)
        if key not in _clients:
            api, default_ns = load_api_client(
                ClusterConfig(kubeconfig=self.kubeconfig, context=self.kube_context)
            )
            api.configuration.connection_pool_maxsize = max(4, self.k8s_api_threads)
            api.rest_client.pool_manager.connection_pool_kw["maxsize"] = max(
                4, self.k8s_api_threads
            )
            _clients[key] = (api, default_ns)
        return _clients[key]

    def _executor(self) -> ThreadPoolExecutor:
        n = max(2, self.k8s_api_threads)
        if n not in _executors:
            _executors[n] = ThreadPoolExecutor(n, thread_name_prefix="jupyter-kf-k8s")
        return _executors[n]

    def _policy(self) -> RetryPolicy:
        """Keep trying while the API server is away, up to ``k8s_api_retry_seconds``: the
        deadline bounds the attempts."""
        seconds = self.k8s_api_retry_seconds
        return RetryPolicy(attempts=max(1, int(seconds / RetryPolicy.base) + 1), deadline=seconds)

    async def _call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        verb: str,
        resource: str,
        namespace: str | None,
        name: str | None = None,
        ok: tuple[int, ...] = (),
        parse: bool = False,
        **kwargs: Any,
    ) -> Any:
        """One API call through the door, in the spawners' thread pool.

        Returns the answer's JSON as a dict if ``parse``, else True; None when the status
        is in ``ok`` (e.g. 409 on create, 404 on delete). Other errors are raised as
        jupyter_kf errors, their cause kept. The answer is always read as raw JSON.
        """
        body = await acall(
            fn,
            *args,
            verb=verb,
            resource=resource,
            namespace=namespace,
            name=name,
            raw=True,
            ok=ok,
            policy=self._policy(),
            executor=self._executor(),
            **kwargs,
        )
        if body is None:
            return None
        return body if parse else True

    async def _create(
        self, fn: Callable[..., Any], namespace: str | None, body: dict, *, resource: str
    ) -> bool:
        """Create ``body``: True if created now, False if it was already there (409)."""
        args = (namespace, body) if namespace is not None else (body,)
        made = await self._call(
            fn,
            *args,
            verb="create",
            resource=resource,
            namespace=namespace,
            name=body["metadata"]["name"],
            ok=(409,),
        )
        return made is not None

    async def _read_now(
        self, fn: Callable[..., Any], *args: Any, resource: str = "pods"
    ) -> dict | None | _Unknown:
        """One GET, not retried (the caller looks again soon): the object's JSON, None if
        it does not exist, ``UNKNOWN`` if the API server cannot be asked."""
        try:
            found: dict | None = await acall(
                fn,
                *args,
                verb="get",
                resource=resource,
                raw=True,
                ok=(404,),
                policy=ONCE,
                executor=self._executor(),
                _request_timeout=(3, 10),
            )
        except JupyterKFError:
            return UNKNOWN
        return found
