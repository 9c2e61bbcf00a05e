"""Who may call the API: unauthenticated requests, XSRF, and a read-only role."""

from __future__ import annotations

import json
import urllib.parse
import warnings

import pytest
from jupyter_server.auth import Authorizer
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from jupyter_kf.server.handlers import default_handlers

from .conftest import QUICK, SLOW

ROUTES = [
    ("GET", ("config",)),
    ("GET", ("spec.yaml",)),
    ("GET", ("runtimes",)),
    ("GET", ("jobs",)),
    ("POST", ("jobs",)),
    ("GET", ("jobs", "j")),
    ("DELETE", ("jobs", "j")),
    ("POST", ("jobs", "j", "scale")),
    ("POST", ("jobs", "j", "suspend")),
    ("POST", ("jobs", "j", "resume")),
    ("GET", ("jobs", "j", "logs")),
    ("GET", ("jobs", "j", "logs", "download")),
    ("GET", ("jobs", "j", "events")),
    ("GET", ("jobs", "j", "metrics")),
    ("GET", ("jobs", "j", "updates")),
]


def test_every_route_is_covered_here():
    """A new route must be added to ROUTES (and so to the auth tests)."""
    verbs = {
        (pattern, verb)
        for pattern, handler in default_handlers
        for verb in ("get", "post", "delete", "put", "patch")
        if verb in vars(handler)
    }
    assert len(verbs) == len(ROUTES) + 1  # + the log-follow websocket's GET


@pytest.mark.parametrize(("method", "parts"), ROUTES)
async def test_unauthenticated_requests_are_refused(api, method, parts):
    reply = await api(
        method,
        *parts,
        body={"workers": 1} if method == "POST" else None,
        headers={"Authorization": ""},
    )
    assert reply.status == 403


async def test_unauthenticated_websocket_is_refused(jp_ws_fetch, api, local):
    with pytest.raises(HTTPClientError) as info:
        await jp_ws_fetch("kf", "api", "jobs", "j", "logs", "follow", headers={"Authorization": ""})
    assert info.value.code == 403


def test_no_route_lacks_authentication(jp_configurable_serverapp, jp_server_config):
    """The extension template's check_auth: every verb is @web.authenticated or
    @ws_authenticated, so jupyter-server has nothing to warn about."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jp_configurable_serverapp(config=jp_server_config)
    ours = [str(w.message) for w in caught if "/kf/" in str(w.message)]
    assert ours == []


@pytest.fixture
def login(jp_serverapp, http_server_client, jp_http_port, jp_base_url):
    """``fetch = await login()``: log in through the login form, as a browser does
    (cookies, no token header)."""
    return lambda: _login(jp_serverapp, f"http://127.0.0.1:{jp_http_port}{jp_base_url}")


async def _login(jp_serverapp, base):
    client = AsyncHTTPClient()
    page = await client.fetch(base + "login")
    cookies = {}
    for header in page.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";")[0]
    xsrf = cookies["_xsrf"]
    token = jp_serverapp.identity_provider.token
    reply = await client.fetch(
        base + "login",
        method="POST",
        follow_redirects=False,
        raise_error=False,
        body=urllib.parse.urlencode({"_xsrf": xsrf, "password": token}),
        headers={"Cookie": f"_xsrf={xsrf}"},
    )
    assert reply.code == 302, reply.body
    for header in reply.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";")[0]
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())

    async def fetch(method, path, *, with_xsrf, body=None):
        headers = {"Cookie": cookie}
        if with_xsrf:
            headers["X-XSRFToken"] = xsrf
        return await client.fetch(
            base + path,
            method=method,
            headers=headers,
            body=None if body is None else json.dumps(body),
            raise_error=False,
            allow_nonstandard_methods=True,
        )

    return fetch


async def test_xsrf_is_required_on_state_changing_requests(login, local):
    cookie_session = await login()
    # Reading with the cookie alone works (GET is not state changing)...
    assert (await cookie_session("GET", "kf/api/jobs", with_xsrf=False)).code == 200
    body = {"name": "viaform", "workers": 1, "cell": QUICK}
    # ...changing without the XSRF token is refused, and nothing happens.
    refused = await cookie_session("POST", "kf/api/jobs", with_xsrf=False, body=body)
    assert refused.code == 403 and b"_xsrf" in refused.body
    assert local.list() == []
    for method, path, payload in [
        ("DELETE", "kf/api/jobs/viaform", None),
        ("POST", "kf/api/jobs/viaform/scale", {"workers": 2}),
        ("POST", "kf/api/jobs/viaform/suspend", {}),
        ("POST", "kf/api/jobs/viaform/resume", {}),
    ]:
        assert (await cookie_session(method, path, with_xsrf=False, body=payload)).code == 403
    # With the token from the _xsrf cookie (what ServerConnection sends), it goes through.
    accepted = await cookie_session("POST", "kf/api/jobs", with_xsrf=True, body=body)
    assert accepted.code == 201
    assert [j.name for j in local.list()] == ["viaform"]


class ReadOnlyKF(Authorizer):
    """What a JupyterHub role with read:kf but not write:kf amounts to."""

    def is_authorized(self, handler, user, action, resource):
        return resource != "kf" or action == "read"


class TestReadOnlyRole:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        return {
            **jp_server_config,
            "ServerApp": {**jp_server_config["ServerApp"], "authorizer_class": ReadOnlyKF},
        }

    @pytest.mark.parametrize(("method", "parts"), ROUTES)
    async def test_reads_allowed_writes_refused(self, api, local, method, parts):
        local.submit(name="j", framework="pytorch", workers=1, cell=SLOW)
        reply = await api(method, *parts, body={"workers": 2} if method == "POST" else None)
        assert reply.status == (200 if method == "GET" else 403), reply.body
        assert local.get("j").workers == 1  # nothing changed

    async def test_following_logs_is_a_read(self, jp_ws_fetch, local):
        local.submit(name="j", framework="pytorch", workers=1, cell="print('hello')")
        local.wait("j", timeout=60)
        ws = await jp_ws_fetch("kf", "api", "jobs", "j", "logs", "follow")
        messages = [json.loads(await ws.read_message()) for _ in range(2)]
        assert messages == [{"type": "lines", "lines": ["hello"]}, {"type": "end"}]
        ws.close()
