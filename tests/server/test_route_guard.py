"""Every route the extension serves refuses a caller without credentials, and every unsafe
verb refuses a cookie session without the XSRF token. The routes are read from the app's
own handler table, so a route added later is checked without anyone listing it here."""

from __future__ import annotations

import re

import pytest
from tornado import web
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketHandler

from jupyter_kf.server.handlers import default_handlers

from .conftest import SLOW
from .test_auth import _login

VERBS = ("get", "post", "put", "patch", "delete")
SAFE = ("GET", "HEAD", "OPTIONS")


def _path(pattern: str) -> str:
    """A concrete path a route pattern matches, with the job name ``j``."""
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "j", pattern).removesuffix("/?")
    assert re.fullmatch(pattern, path), (pattern, path)
    return path


def _routes(websockets: bool) -> list[tuple[str, str]]:
    found = []
    for pattern, handler in default_handlers:
        if issubclass(handler, WebSocketHandler) != websockets:
            continue
        for verb in VERBS:
            if getattr(handler, verb) is not getattr(web.RequestHandler, verb):
                found.append((verb.upper(), _path(pattern)))
    return found


REST = _routes(websockets=False)
WEBSOCKETS = _routes(websockets=True)
UNSAFE = [(m, p) for m, p in REST if m not in SAFE]


def test_the_table_is_read():
    """The derivation finds the routes it is meant to guard (not an empty list)."""
    assert ("GET", "kf/api/jobs") in REST and ("POST", "kf/api/jobs") in REST
    assert ("DELETE", "kf/api/jobs/j") in UNSAFE
    assert WEBSOCKETS == [("GET", "kf/api/jobs/j/logs/follow")]
    assert len(REST) == len({(m, p) for m, p in REST}) >= 13


@pytest.mark.parametrize(("method", "path"), REST, ids=[f"{m} {p}" for m, p in REST])
async def test_no_credentials_no_answer(jp_fetch, local, method, path):
    local.submit(name="j", framework="pytorch", workers=1, cell=SLOW)
    body = b'{"workers": 2}' if method in ("POST", "PUT", "PATCH") else None
    reply = await jp_fetch(
        *path.split("/"),
        method=method,
        body=body,
        headers={"Authorization": ""},
        raise_error=False,
        allow_nonstandard_methods=True,
    )
    assert reply.code in (401, 403), (method, path, reply.code, reply.body[:200])
    assert b"rank" not in reply.body  # nothing of the job leaks into the refusal
    job = local.get("j")
    assert job.workers == 1 and not job.spec.run_policy.suspend


@pytest.mark.parametrize(("method", "path"), WEBSOCKETS)
async def test_no_credentials_no_websocket(jp_ws_fetch, local, method, path):
    with pytest.raises(HTTPClientError) as info:
        await jp_ws_fetch(*path.split("/"), headers={"Authorization": ""})
    assert info.value.code in (401, 403)


@pytest.fixture
def cookie_session(jp_serverapp, http_server_client, jp_http_port, jp_base_url):
    return lambda: _login(jp_serverapp, f"http://127.0.0.1:{jp_http_port}{jp_base_url}")


@pytest.mark.parametrize(("method", "path"), UNSAFE, ids=[f"{m} {p}" for m, p in UNSAFE])
async def test_no_xsrf_token_no_change(cookie_session, local, method, path):
    local.submit(name="j", framework="pytorch", workers=1, cell=SLOW)
    fetch = await cookie_session()
    body = {"name": "k", "workers": 1, "cell": "print(1)"} if path.endswith("jobs") else None
    body = {"workers": 2} if path.endswith("scale") else body
    refused = await fetch(method, path, with_xsrf=False, body=body)
    assert refused.code == 403 and b"_xsrf" in refused.body, (method, path, refused.code)
    assert [j.name for j in local.list()] == ["j"]
    job = local.get("j")
    assert job.workers == 1 and not job.spec.run_policy.suspend
    # The same session with the token is let through to the handler.
    accepted = await fetch(method, path, with_xsrf=True, body=body)
    assert accepted.code not in (401, 403), (method, path, accepted.code, accepted.body[:200])
