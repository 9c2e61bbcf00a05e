"""Fixtures for the server extension's tests: a real jupyter server (pytest-jupyter) with
jupyter_kf enabled on the local backend, in this test's own JUPYTER_KF_HOME."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403  (jp_fetch, jp_ws_fetch, ...)

from jupyter_kf import Client
from jupyter_kf.backends.local import LocalBackend

from . import openapi_check

# Tiny real jobs: plain python per replica, with the PyTorch environment contract.
QUICK = (
    "import os\n"
    "print('rank', os.environ['RANK'], 'of', os.environ['WORLD_SIZE'])\n"
    "print('epoch=1 loss=0.5')\n"
)
SLOW = (
    "import os, time\n"
    "print('started rank', os.environ['RANK'], flush=True)\n"
    "for i in range(1200):\n"
    "    time.sleep(0.1)\n"
)


@pytest.fixture
def jp_server_config(jkf_home):
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_kf": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
        },
        "JupyterKF": {
            "backend": "local",
            "backend_options": {"root": str(jkf_home / "jobs")},
            "max_replicas": 8,
            "profiles": [{"name": "small", "display_name": "Small", "cpu": "1", "memory": "1Gi"}],
        },
    }


@pytest.fixture
def local(jkf_home):
    """The same jobs, seen by a Client of our own (as a notebook or the CLI would)."""
    client = Client(LocalBackend(jkf_home / "jobs"))
    yield client
    for job in client.list():  # no supervisor outlives its test
        try:
            client.delete(job.name)
        except Exception:
            pass


@dataclass
class Reply:
    status: int
    headers: Any
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture
def api(jp_fetch, jp_base_url):
    """``await api("GET", "jobs", ...)``: a request under /kf/api/, never raising on an
    error status, and checked against openapi.yaml."""

    async def call(
        method: str,
        *parts: str,
        body: Any = None,
        raw: bytes | None = None,
        params: dict | None = None,
        headers: dict | None = None,
        check: bool = True,
    ) -> Reply:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if raw is not None:
            kwargs["body"] = raw
        elif body is not None:
            kwargs["body"] = json.dumps(body)
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = b""
        response = await jp_fetch("kf", "api", *parts, params=params, headers=headers, **kwargs)
        reply = Reply(response.code, response.headers, response.body or b"")
        if check:
            path = "/" + "/".join(("kf", "api", *parts))
            openapi_check.check(method, path, reply.status, reply.headers, reply.body)
        return reply

    return call


async def until(predicate, timeout: float = 60.0, interval: float = 0.1):
    """Wait (without blocking the server's loop) until ``await predicate()`` is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s")
        await asyncio.sleep(interval)


@pytest.fixture
def started(jp_serverapp, jp_asyncio_loop):
    """Run the extensions' start hooks, as ``jupyter server`` does once its loop runs
    (pytest-jupyter's server never calls them): this starts the job watcher."""
    jp_asyncio_loop.run_until_complete(jp_serverapp.extension_manager.start_all_extensions())
    return jp_serverapp
