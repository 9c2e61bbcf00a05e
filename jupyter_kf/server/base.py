"""What every jupyter-kf handler shares: auth resource, JSON errors, calls off the loop."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlencode

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import url_path_join
from tornado import web

from ..client import Client
from ..errors import JupyterKFError
from .payloads import BadRequest
from .streams import Streams

AUTH_RESOURCE = "kf"
API = "kf/api"
T = TypeVar("T")


class KFApp(Protocol):
    """What handlers use of the extension app (``app.JupyterKF``), named here so that the
    handlers do not import the app that imports them."""

    serverapp: Any
    streams: Streams
    default_image: str | None
    profiles: list[dict]
    max_replicas: int | None
    log_tail_lines: int
    max_body_bytes: int

    @property
    def effective_namespace(self) -> str: ...

    def require_client(self) -> Client: ...

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...

    def public_config(self) -> dict[str, Any]: ...


class KFError(web.HTTPError):
    """An HTTP error carrying our error's problems, so write_error can list them."""

    def __init__(self, status: int, message: str, reason: str, problems: list[str] | None = None):
        super().__init__(status, message.replace("%", "%%"), reason=None)
        self.kf_reason = reason
        self.problems = problems


@web.stream_request_body
class KFHandler(ExtensionHandlerMixin, APIHandler):
    """Bodies are read here as they arrive, so one larger than ``JupyterKF.max_body_bytes``
    is answered 413 without ever being held in memory (tornado would buffer the whole body,
    up to the server's 512 MiB ``max_body_size``, before any handler could look at it)."""

    auth_resource = AUTH_RESOURCE
    _body: bytearray | None = None
    _body_over = False

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        declared = self.request.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self.kf.max_body_bytes:
            # Answered before the body is read; tornado closes the connection after the
            # reply. Who may not call us at all learns nothing about the limit.
            if not self.current_user:
                raise web.HTTPError(403)
            raise self._too_large(int(declared))
        self._body = bytearray()

    def data_received(self, chunk: bytes) -> None:
        if self._body is None or self._body_over:
            return
        if len(self._body) + len(chunk) > self.kf.max_body_bytes:
            self._body_over, self._body = True, bytearray()  # chunked: keep draining, drop it
            return
        self._body += chunk

    def _too_large(self, size: int | None) -> KFError:
        got = f"{size} bytes" if size is not None else "more than that"
        return KFError(
            413,
            f"the request body is {got}; this server takes at most {self.kf.max_body_bytes} "
            "bytes (JupyterKF.max_body_bytes). Put large code in a file under the server's "
            "root folder and name it as 'script'.",
            "PayloadTooLarge",
        )

    @property
    def kf(self) -> KFApp:
        return self.extensionapp  # type: ignore[return-value]

    @property
    def namespace(self) -> str | None:
        return self.get_query_argument("namespace", None) or None

    def client(self) -> Client:
        try:
            return self.kf.require_client()
        except JupyterKFError as exc:
            raise translate(exc) from exc

    async def call(self, func_name: str, *args: Any, **kwargs: Any) -> Any:
        """``Client.<func_name>(*args, **kwargs)`` off the event loop, errors translated."""
        return await self.run(getattr(self.client(), func_name), *args, **kwargs)

    async def run(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """A blocking function in the extension's threads; our errors become HTTP errors."""
        try:
            return await self.kf.run(func, *args, **kwargs)
        except JupyterKFError as exc:
            raise translate(exc) from exc
        except BadRequest as exc:
            raise KFError(400, str(exc), "BadRequest") from exc

    def json_body(self) -> Any:
        if self._body_over:
            raise self._too_large(None)
        try:
            return json.loads(bytes(self._body or b"") or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            raise KFError(400, f"the request body is not JSON: {exc}", "BadRequest") from exc

    def job_url(self, name: str, namespace: str | None) -> str:
        url = url_path_join(self.base_url, API, "jobs", quote(name, safe=""))
        return f"{url}?{urlencode({'namespace': namespace})}" if namespace else url

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        if not isinstance(exc, KFError):
            return super().write_error(status_code, **kwargs)
        self.set_header("Content-Type", "application/json")
        reply: dict[str, Any] = {
            "message": (exc.log_message or "").replace("%%", "%"),
            "reason": exc.kf_reason,
        }
        if exc.problems is not None:
            reply["problems"] = exc.problems
        self.finish(json.dumps(reply))


def translate(exc: JupyterKFError) -> KFError:
    problems = getattr(exc, "problems", None)
    return KFError(exc.http_status, str(exc), type(exc).__name__, problems)


def bad_request(exc: BadRequest) -> KFError:
    return KFError(400, str(exc), "BadRequest")
