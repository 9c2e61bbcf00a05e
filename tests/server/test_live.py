"""What the panel relies on instead of polling: job changes on jupyter-server's event bus,
and a replica's log followed on a websocket."""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_kf.server.watcher import JOB_EVENT_SCHEMA

from .conftest import QUICK, SLOW

ORDER = ["Pending", "Created", "Running", "Succeeded"]


async def next_job_event(ws, timeout: float = 60.0) -> dict:
    while True:
        raw = await asyncio.wait_for(ws.read_message(), timeout)
        assert raw is not None, "the event stream closed"
        message = json.loads(raw)
        if message["schema_id"] == JOB_EVENT_SCHEMA:
            return message


async def test_job_changes_arrive_on_the_event_bus(started, jp_ws_fetch, api, local):
    ws = await jp_ws_fetch("api", "events", "subscribe")
    await asyncio.sleep(0.3)  # the watcher's first sweep of an empty folder
    cell = "import time\ntime.sleep(1.5)\nprint('done')\n"
    await api("POST", "jobs", body={"name": "evt", "workers": 2, "cell": cell})
    seen = []
    while not seen or seen[-1]["phase"] != "Succeeded":
        event = await next_job_event(ws)
        assert event["name"] == "evt" and event["namespace"] == "local"
        assert event["job"]["status"]["phase"] == event["phase"]
        assert "spec" not in event["job"]  # a summary, as the list has it
        seen.append(event)
    assert seen[0]["type"] == "ADDED" and all(e["type"] == "MODIFIED" for e in seen[1:])
    phases = [e["phase"] for e in seen]
    assert "Running" in phases
    assert [ORDER.index(p) for p in phases] == sorted(ORDER.index(p) for p in phases)

    local.delete("evt")  # deleted by someone else: the panel still hears of it
    event = await next_job_event(ws)
    while event["type"] != "DELETED":
        event = await next_job_event(ws)
    assert event == {
        "schema_id": JOB_EVENT_SCHEMA,
        "type": "DELETED",
        "kind": "PyTorchJob",
        "name": "evt",
        "namespace": "local",
        "phase": "",
        "job": None,
    }
    ws.close()


async def test_follow_a_replica_log_to_its_end(jp_ws_fetch, api, local):
    cell = (
        "import time\nfor i in range(6):\n    print('line', i, flush=True)\n    time.sleep(0.2)\n"
    )
    await api("POST", "jobs", body={"name": "tail", "workers": 2, "cell": cell})
    ws = await jp_ws_fetch(
        "kf", "api", "jobs", "tail", "logs", "follow", params={"replica": "worker-0"}
    )
    lines, batches = [], 0
    while True:
        message = json.loads(await asyncio.wait_for(ws.read_message(), 60))
        if message["type"] == "end":
            break
        assert message["type"] == "lines"
        lines += message["lines"]
        batches += 1
    assert lines == [f"line {i}" for i in range(6)]
    assert batches > 1  # streamed as they came, not all at the end
    assert await asyncio.wait_for(ws.read_message(), 10) is None  # the server closed


async def test_follow_starts_with_the_tail(jp_ws_fetch, api, local):
    await api(
        "POST",
        "jobs",
        body={"name": "short", "workers": 1, "cell": "for i in range(50):\n    print(i)\n"},
    )
    local.wait("short", timeout=60)
    ws = await jp_ws_fetch(
        "kf", "api", "jobs", "short", "logs", "follow", params={"tail_lines": "3"}
    )
    first = json.loads(await ws.read_message())
    assert first == {"type": "lines", "lines": ["47", "48", "49"]}
    assert json.loads(await ws.read_message()) == {"type": "end"}


async def test_closing_the_socket_early_is_fine(jp_ws_fetch, api, local):
    await api("POST", "jobs", body={"name": "long", "workers": 1, "cell": SLOW})
    ws = await jp_ws_fetch("kf", "api", "jobs", "long", "logs", "follow")
    message = json.loads(await asyncio.wait_for(ws.read_message(), 60))
    assert message == {"type": "lines", "lines": ["started rank 0"]}
    ws.close()
    assert (await api("GET", "jobs", "long")).status == 200  # the server is still fine


@pytest.mark.parametrize(
    ("name", "params", "status"),
    [
        ("nope", {}, 404),
        ("known", {"replica": "worker-9"}, 404),
        ("known", {"tail_lines": "x"}, 400),
    ],
)
async def test_follow_refuses_bad_requests(jp_ws_fetch, local, name, params, status):
    local.submit(name="known", framework="pytorch", workers=1, cell=QUICK)
    with pytest.raises(HTTPClientError) as info:
        await jp_ws_fetch("kf", "api", "jobs", name, "logs", "follow", params=params)
    assert info.value.code == status


class TestUnavailableBackend:
    """A backend that cannot start leaves the routes up, answering 503 with the reason."""

    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        return {
            **jp_server_config,
            "JupyterKF": {
                **jp_server_config["JupyterKF"],
                "backend": "no-such-backend",
                "backend_options": {},
            },
        }

    async def test_config_says_why(self, api):
        config = (await api("GET", "config")).json
        assert config["available"] is False and config["backend"] is None
        assert "no-such-backend" in config["message"]

    @pytest.mark.parametrize(
        ("method", "parts", "body"),
        [
            ("GET", ("jobs",), None),
            ("POST", ("jobs",), {"name": "x", "cell": "1"}),
            ("GET", ("jobs", "x"), None),
            ("DELETE", ("jobs", "x"), None),
            ("POST", ("jobs", "x", "scale"), {"workers": 2}),
            ("GET", ("jobs", "x", "logs"), None),
        ],
    )
    async def test_routes_answer_503(self, api, method, parts, body):
        reply = await api(method, *parts, body=body)
        assert reply.status == 503
        assert reply.json["reason"] == "BackendUnavailableError"
        assert "no-such-backend" in reply.json["message"]
