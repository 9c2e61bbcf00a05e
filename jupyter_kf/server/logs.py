"""Following a replica's log on an authenticated websocket: /kf/api/jobs/{name}/logs/follow.

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
import threading
from collections.abc import Iterator
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..errors import JupyterKFError
from .base import AUTH_RESOURCE, KFApp, translate
from .payloads import MAX_TAIL_LINES, BadRequest, clip_line, non_negative_int

FLUSH_SECONDS = 0.05
DEFAULT_TAIL = 200


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
