"""REST handlers under /kf/api/ (openapi.yaml documents them; tests/server checks both agree).

Thin, as jupyter_server's session handlers: parse and validate, call the ``Client`` in the
extension's threads, ``finish(json)``. Errors from our tree become JSON with the status the
error carries (``errors.py``); a malformed request is 400. Every verb is authenticated and
authorized against the resource ``kf``, so a JupyterHub role can grant
``custom:jupyter_server:read:kf`` (the panel, read-only) without ``write:kf``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import JupyterKFError
from .base import API, KFHandler, bad_request, translate
from .logs import LogsDownloadHandler, LogsWebSocket
from .payloads import (
    MAX_EVENTS,
    MAX_TAIL_LINES,
    BadRequest,
    clip_line,
    job_payload,
    non_negative_int,
    scale,
    submit_from_body,
    summary,
    workers_body,
)
from .streams import next_batch, parse_request

NAME = r"(?P<name>[^/]+)"
OPENAPI_FILE = Path(__file__).parent / "openapi.yaml"


class ConfigHandler(KFHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(self.kf.public_config())


class SpecHandler(KFHandler):
    """The OpenAPI document of these routes (like jupyter_server's /api/spec.yaml)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(OPENAPI_FILE.read_text(), set_content_type="text/x-yaml")


class RuntimesHandler(KFHandler):
    """The Trainer v2 runtimes a TrainJob may name, for the launch form's picker."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        runtimes = await self.call("runtimes", self.namespace)
        self.write_json(
            {
                "namespace": self.namespace or self.kf.effective_namespace,
                "runtimes": [r.to_dict() for r in runtimes],
            }
        )


class JobsHandler(KFHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        jobs = await self.call("list", self.namespace)
        self.write_json(
            {
                "namespace": self.namespace or self.kf.effective_namespace,
                "jobs": [summary(job) for job in jobs],
            }
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        job = await self.run(
            submit_from_body,
            self.client(),
            self.json_body(),
            self.namespace,
            root_dir=self.kf.serverapp.root_dir,
            default_image=self.kf.default_image,
            profiles=self.kf.profiles,
            max_replicas=self.kf.max_replicas,
        )
        self.set_header("Location", self.job_url(job.name, self.namespace))
        self.write_json(job_payload(job), status=201)


class JobHandler(KFHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        job = await self.call("get", name, self.namespace)
        self.write_json(job_payload(job))

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        await self.call("delete", name, self.namespace)
        self.set_status(204)
        self.finish()


class ScaleHandler(KFHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        try:
            workers = workers_body(self.json_body())
        except BadRequest as exc:
            raise bad_request(exc) from exc
        job = await self.run(
            scale, self.client(), name, workers, self.namespace, max_replicas=self.kf.max_replicas
        )
        self.write_json(job_payload(job))


class SuspendHandler(KFHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        self.write_json(job_payload(await self.call("suspend", name, self.namespace)))


class ResumeHandler(KFHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        self.write_json(job_payload(await self.call("resume", name, self.namespace)))


class LogsHandler(KFHandler):
    """The last lines of one replica's output (of one of its attempts with ``attempt``);
    follow them on the websocket next door."""

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        replica = self.get_query_argument("replica", None) or None
        try:
            tail = non_negative_int(
                "tail_lines", self.get_query_argument("tail_lines", None), MAX_TAIL_LINES
            )
            attempt = non_negative_int("attempt", self.get_query_argument("attempt", None))
        except BadRequest as exc:
            raise bad_request(exc) from exc
        tail = self.kf.log_tail_lines if tail is None else tail
        lines = await self.run(
            _read_lines, self.client(), name, self.namespace, replica, tail, attempt
        )
        reply: dict[str, Any] = {"name": name, "replica": replica, "lines": lines}
        if attempt is not None:
            reply["attempt"] = attempt
        self.write_json(reply)


def _read_lines(
    client: Any,
    name: str,
    namespace: str | None,
    replica: str | None,
    tail: int,
    attempt: int | None,
) -> list[str]:
    lines = client.logs(
        name, namespace, replica=replica, follow=False, tail_lines=tail, attempt=attempt
    )
    return [clip_line(line) for line in lines]


class EventsHandler(KFHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        events = await self.call("events", name, self.namespace)
        omitted = max(len(events) - MAX_EVENTS, 0)
        reply: dict[str, Any] = {"events": [e.to_dict() for e in events[omitted:]]}
        if omitted:
            reply["omitted"] = omitted
        self.write_json(reply)


class MetricsHandler(KFHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        self.write_json({"metrics": await self.call("metrics", name, self.namespace)})


class UpdatesHandler(KFHandler):
    """One job's new events, metric points, log lines and state, as a long poll."""

    stop: threading.Event | None = None

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        try:
            since, replicas, wait = parse_request(
                self.get_query_argument("since", None),
                [r for r in self.get_query_arguments("replica") if r],
                self.get_query_argument("timeout", None),
            )
        except BadRequest as exc:
            raise bad_request(exc) from exc
        known = self.get_query_argument("state", "")[:64]
        client = self.client()
        self.stop = threading.Event()
        try:
            reply = await self.kf.streams.run(
                next_batch,
                client,
                name,
                self.namespace,
                since,
                replicas,
                known,
                wait,
                stop=self.stop,
            )
        except JupyterKFError as exc:
            raise translate(exc) from exc
        if self.stop.is_set():
            return  # the panel went away while this waited (or the server is stopping)
        self.write_json(reply)

    def on_connection_close(self) -> None:
        if self.stop is not None:
            self.stop.set()
        super().on_connection_close()


def _routes() -> list[tuple[str, type]]:
    return [
        (rf"{API}/config", ConfigHandler),
        (rf"{API}/spec.yaml", SpecHandler),
        (rf"{API}/runtimes", RuntimesHandler),
        (rf"{API}/jobs/?", JobsHandler),
        (rf"{API}/jobs/{NAME}/?", JobHandler),
        (rf"{API}/jobs/{NAME}/scale", ScaleHandler),
        (rf"{API}/jobs/{NAME}/suspend", SuspendHandler),
        (rf"{API}/jobs/{NAME}/resume", ResumeHandler),
        (rf"{API}/jobs/{NAME}/logs", LogsHandler),
        (rf"{API}/jobs/{NAME}/logs/follow", LogsWebSocket),
        (rf"{API}/jobs/{NAME}/logs/download", LogsDownloadHandler),
        (rf"{API}/jobs/{NAME}/events", EventsHandler),
        (rf"{API}/jobs/{NAME}/metrics", MetricsHandler),
        (rf"{API}/jobs/{NAME}/updates", UpdatesHandler),
    ]


default_handlers = _routes()
