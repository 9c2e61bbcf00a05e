"""The jupyter-server extension: configuration, routes, and the job-change watcher.

Configure it like any Jupyter app, e.g. in ``jupyter_server_config.py``::

    c.JupyterKF.backend = "kubernetes"
    c.JupyterKF.namespace = "alice"
    c.JupyterKF.profiles = [{"name": "gpu", "display_name": "1 GPU", "gpu": 1, "memory": "16Gi"}]
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Dict, Int, List, Unicode, default, validate

from .._version import __version__
from ..client import DEFAULT_BACKEND, Client
from ..errors import BackendUnavailableError, JupyterKFError
from ..jobs.apis import ENV as TRAINING_APIS_ENV
from ..jobs.apis import kinds_of, parse_training_apis
from ..jobs.profiles import ENV_JOB_PROFILES, JobProfiles, parse_job_profiles
from .handlers import default_handlers
from .payloads import frameworks
from .streams import Streams
from .watcher import JOB_EVENT_SCHEMA, JOB_EVENT_SCHEMA_FILE, JobWatcher

T = TypeVar("T")


class JupyterKF(ExtensionApp):
    """REST API under /kf/api/ and job changes on the event bus, for the JupyterLab panel."""

    name = "jupyter_kf"
    description = __doc__ or ""
    load_other_extensions = True

    backend = Unicode(
        DEFAULT_BACKEND,
        config=True,
        help=(
            "Where jobs run: 'local' (worker processes on this machine, jobs under "
            "$JUPYTER_KF_HOME/jobs), 'kubernetes' (Training Operator resources in a "
            "cluster), or 'auto' (a cluster when one is configured, else local)."
        ),
    )
    namespace = Unicode(
        None,
        allow_none=True,
        config=True,
        help=(
            "The namespace the panel lists and launches into. Default: the backend's "
            "(the pod's own namespace on a cluster, 'local' on the local backend)."
        ),
    )
    backend_options = Dict(
        {},
        config=True,
        help=(
            "Keyword arguments for the backend, e.g. {'root': '/data/kf-jobs'} for the "
            "local backend's job folder."
        ),
    )
    default_image = Unicode(
        None,
        allow_none=True,
        config=True,
        help=(
            "The container image a job gets when the launch form leaves it empty "
            "(on a cluster; the local backend runs this server's Python)."
        ),
    )
    profiles = List(
        Dict(),
        [],
        config=True,
        help=(
            "Job profiles offered in the launch form and applied to every job launched here "
            "(jupyter_kf.jobs.profiles: 'name' is required; 'display_name', 'description', "
            "'default', 'image', 'cpu', 'memory', 'gpu' per replica, 'node_selector', "
            "'tolerations', 'priority_class_name'). Default: the ones the JupyterHub spawner "
            "gave this pod ($JUPYTER_KF_JOB_PROFILES, KubeflowSpawner.job_profiles)."
        ),
    )
    emit_job_events = Bool(
        True,
        config=True,
        help=(
            "Watch the backend and emit every job change on the server's event bus "
            "(schema https://events.jupyter-kf.org/job/v1), so the panel never polls."
        ),
    )
    log_tail_lines = Int(
        1000,
        config=True,
        help="How many lines GET .../logs returns when the request names no tail_lines.",
    )
    max_body_bytes = Int(
        8 * 1024 * 1024,
        config=True,
        help=(
            "The largest request body (bytes) the REST API reads; a larger one is answered "
            "413 before it is read. A job's shipped code is at most 900 KiB, so the default "
            "leaves room for JSON escaping."
        ),
    )
    max_replicas = Int(
        64,
        allow_none=True,
        config=True,
        help=(
            "The most replicas (processes locally, pods on a cluster) one job launched or "
            "scaled through this server may have; None for no limit."
        ),
    )
    max_streams = Int(
        64,
        config=True,
        help=(
            "How many requests may wait on GET .../updates at once (each holds a thread "
            "while it waits); more are answered 503."
        ),
    )
    threads = Int(
        8,
        config=True,
        help=(
            "Threads for backend calls; they block (scale waits for the supervisor, a "
            "cluster call waits for the API server) and must not block the event loop."
        ),
    )

    client: Client | None = None
    client_error: str | None = None

    @default("profiles")
    def _default_profiles(self) -> list[dict]:
        return [p.to_dict() for p in self._spawner_profiles().profiles]

    @validate("profiles")
    def _check_profiles(self, proposal: Any) -> list[dict]:
        parse_job_profiles(proposal["value"])  # ValueError names every problem
        return proposal["value"]

    @staticmethod
    def _spawner_profiles() -> JobProfiles:
        return JobProfiles.from_env(os.environ.get(ENV_JOB_PROFILES))

    def job_profiles(self) -> JobProfiles:
        """The profiles jobs launched here are held to; required if the spawner says so."""
        required = self._spawner_profiles().required
        return JobProfiles(tuple(parse_job_profiles(self.profiles)), required)

    # -- ExtensionApp hooks ---------------------------------------------------------------
    def initialize_settings(self) -> None:
        self.executor = ThreadPoolExecutor(self.threads, thread_name_prefix="jupyter-kf")
        self.streams = Streams(self.max_streams)
        self.watcher: JobWatcher | None = None
        try:
            self.client = Client(
                self.backend,
                namespace=self.namespace,
                job_profiles=self.job_profiles(),
                **self.backend_options,
            )
        except JupyterKFError as exc:
            # Keep the routes up so the panel can say what is wrong, instead of a 404.
            self.client_error = f"the jupyter-kf backend {self.backend!r} is not available: {exc}"
            self.log.error(self.client_error)
        except Exception as exc:  # a backend's own setup failure (no kubeconfig, ...)
            self.client_error = f"the jupyter-kf backend {self.backend!r} could not start: {exc}"
            self.log.error(self.client_error)
        logger = self._event_logger()
        if logger is not None and JOB_EVENT_SCHEMA not in logger.schemas.schema_ids:
            logger.register_event_schema(JOB_EVENT_SCHEMA_FILE)

    def initialize_handlers(self) -> None:
        self.handlers.extend(default_handlers)

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        if self.client is None or not self.emit_job_events:
            return
        self.watcher = JobWatcher(
            self.client,
            self.namespace,
            self._emit_job_event,
            loop=asyncio.get_running_loop(),
            log=self.log,
        )
        self.watcher.start()

    async def stop_extension(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.streams.stop_all()
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self.client is not None:
            self.client.close()

    # -- used by the handlers -------------------------------------------------------------
    def _event_logger(self) -> Any:
        return self.serverapp.event_logger if self.serverapp is not None else None

    def _emit_job_event(self, data: dict) -> None:
        logger = self._event_logger()
        if logger is not None:
            logger.emit(schema_id=JOB_EVENT_SCHEMA, data=data)

    def require_client(self) -> Client:
        if self.client is None:
            raise BackendUnavailableError(self.client_error or "no jupyter-kf backend")
        return self.client

    @property
    def effective_namespace(self) -> str:
        if self.namespace:
            return self.namespace
        if self.client is not None:
            return self.client.backend.default_namespace
        return ""

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call a blocking backend function in the extension's threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(func, *args, **kwargs))

    def public_config(self) -> dict[str, Any]:
        """What GET /kf/api/config tells the panel."""
        backend = self.client.backend.name if self.client is not None else None
        # On a cluster, the kinds the hub's training_apis leaves this notebook (the backend
        # refused to start on a value it cannot read, so this one parses); locally, all.
        apis = (
            parse_training_apis(os.environ.get(TRAINING_APIS_ENV))
            if backend == "kubernetes"
            else None
        )
        return {
            "version": __version__,
            "backend": backend,
            "configuredBackend": self.backend,
            "namespace": self.effective_namespace,
            "defaultImage": self.default_image,
            "profiles": [dict(p) for p in self.profiles],
            "frameworks": frameworks(None if apis is None else kinds_of(apis)),
            "eventSchema": JOB_EVENT_SCHEMA,
            "available": self.client is not None,
            "message": self.client_error or "",
        }
