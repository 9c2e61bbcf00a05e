"""A replica's whole log as a file (/kf/api/jobs/{name}/logs/download), and following it on
an authenticated websocket (/kf/api/jobs/{name}/logs/follow).

The download streams plain text in chunks, so the server holds one chunk at a time, and
stops with a marker line past ``MAX_DOWNLOAD_BYTES``.

The websocket:

The server sends JSON text messages:

- ``{"type": "lines", "lines": [...]}``: new lines, batched (at most every 50 ms);
- ``{"type": "end"}``: the replica finished and its log is complete; the server then closes.

Query: ``replica`` (default: rank 0), ``tail_lines`` (the last N lines first; default 200),
``namespace``. An unknown job or replica refuses the upgrade with 404.
``Client.logs(follow=True)`` blocks, so it runs in a thread that hands lines to the loop.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..errors import JupyterKFError
from .base import AUTH_RESOURCE, KFApp, KFHandler, bad_request, translate
from .payloads import MAX_TAIL_LINES, BadRequest, clip_line, non_negative_int

FLUSH_SECONDS = 0.05
DEFAULT_TAIL = 200
MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024
CHUNK_CHARS = 256 * 1024
TEXT = "text/plain; charset=utf-8"
SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


def next_chunk(lines: Iterator[str]) -> tuple[str, bool]:
    """About ``CHUNK_CHARS`` of ``lines``, whole lines with their newlines, and whether the
    log ended there. Blocking (it reads the log): called in the extension's threads."""
    parts: list[str] = []
    size = 0
    for line in lines:
        parts.append(f"{line}\n")
        size += len(line) + 1
        if size >= CHUNK_CHARS:
            return "".join(parts), False
    return "".join(parts), True


class LogsDownloadHandler(KFHandler):
    """One replica's whole log (of one attempt with ``attempt``), as a ``.log`` file."""

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        replica = self.get_query_argument("replica", None) or None
        try:
            attempt = non_negative_int("attempt", self.get_query_argument("attempt", None))
        except BadRequest as exc:
            raise bad_request(exc) from exc
        lines = iter(
            await self.call(
                "logs", name, self.namespace, replica=replica, follow=False, attempt=attempt
            )
        )
        # The first chunk before the headers: an unknown job or replica is still a 404.
        chunk, ended = await self.run(next_chunk, lines)
        filename = SAFE_FILENAME.sub("_", f"{name}-{replica or 'log'}") + ".log"
        self.set_header("Content-Type", TEXT)
        self.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        sent = 0
        try:
            while True:
                data = chunk.encode()
                if sent + len(data) > MAX_DOWNLOAD_BYTES:
                    self.write(
                        f"[jupyter-kf: log cut after {sent} bytes; "
                        "`jupyter kf logs` prints it whole]\n"
                    )
                    break
                self.write(data)
                sent += len(data)
                await self.flush()
                if ended:
                    break
                chunk, ended = await self.run(next_chunk, lines)
        except web.HTTPError as exc:  # the headers are out: the file says what went wrong
            self.write(f"[jupyter-kf: the log could not be read further: {exc.log_message}]\n")
        finally:
            close = getattr(lines, "close", None)
            if close is not None:
                close()
        self.finish(set_content_type=TEXT)


class LogsWebSocket(ExtensionHandlerMixin, WebSocketMixin, WebSocketHandler, JupyterHandler):
    auth_resource = AUTH_RESOURCE

    lines: Iterator[str] | None = None

    def set_default_headers(self) -> None:
        """JupyterHandler's default headers make no sense on a websocket."""

    @property
    def kf(self) -> KFApp:
        return self.extensionapp  # type: ignore[return-value]

    async def pre_get(self, name: str) -> None:
        user = self.current_user
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, user, "read", AUTH_RESOURCE)
        )
        if not allowed:
            raise web.HTTPError(403)
        replica = self.get_query_argument("replica", None) or None
        namespace = self.get_query_argument("namespace", None) or None
        try:
            tail = non_negative_int(
                "tail_lines", self.get_query_argument("tail_lines", None), MAX_TAIL_LINES
            )
        except BadRequest as exc:
            raise web.HTTPError(400, str(exc).replace("%", "%%")) from exc
        try:
            client = self.kf.require_client()
            # The local backend checks the job and replica when logs() is called, before
            # the first line: a bad name refuses the upgrade instead of opening a socket.
            self.lines = await self.kf.run(
                client.logs,
                name,
                namespace,
                replica=replica,
                follow=True,
                tail_lines=DEFAULT_TAIL if tail is None else tail,
            )
        except JupyterKFError as exc:
            raise translate(exc) from exc

    @ws_authenticated
    async def get(self, name: str) -> None:  # type: ignore[override]
        await self.pre_get(name)
        await super().get(name)

    def open(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().open()
        self.loop = asyncio.get_running_loop()
        self.pending: list[str] = []
        self.flush_scheduled = False
        self.stopped = threading.Event()
        threading.Thread(target=self._pump, name="jupyter-kf-logs", daemon=True).start()

    def on_message(self, message: str | bytes) -> None:
        """The client has nothing to say; messages are ignored."""

    def on_close(self) -> None:
        stopped = getattr(self, "stopped", None)
        if stopped is not None:
            stopped.set()

    # -- the thread side ------------------------------------------------------------------
    def _pump(self) -> None:
        assert self.lines is not None
        try:
            for line in self.lines:
                if self.stopped.is_set():
                    return
                self._hand_over(clip_line(line))
        except JupyterKFError as exc:
            self._call(
                self._finish_with, {"type": "error", "message": str(exc), "status": exc.http_status}
            )
            return
        except Exception as exc:  # a broken log file must not kill the server's thread quietly
            self.log.exception("jupyter-kf: following a log failed")
            self._call(self._finish_with, {"type": "error", "message": str(exc), "status": 500})
            return
        finally:
            close = getattr(self.lines, "close", None)
            if close is not None:
                close()
        self._call(self._finish_with, {"type": "end"})

    def _call(self, func: Any, *args: Any) -> None:
        if self.stopped.is_set() or self.loop.is_closed():
            return
        try:
            self.loop.call_soon_threadsafe(func, *args)
        except RuntimeError:
            self.stopped.set()

    def _hand_over(self, line: str) -> None:
        def add() -> None:
            self.pending.append(line)
            if not self.flush_scheduled:
                self.flush_scheduled = True
                self.loop.call_later(FLUSH_SECONDS, self._flush)

        self._call(add)

    # -- the loop side --------------------------------------------------------------------
    def _flush(self) -> None:
        self.flush_scheduled = False
        if not self.pending:
            return
        lines, self.pending = self.pending, []
        self._send({"type": "lines", "lines": lines})

    def _finish_with(self, message: dict) -> None:
        self._flush()
        self._send(message)
        if self.ws_connection is not None:
            self.close()

    def _send(self, message: dict) -> None:
        try:
            self.write_message(json.dumps(message))
        except WebSocketClosedError:
            self.stopped.set()
