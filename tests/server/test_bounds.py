"""What one request can cost a running jupyter-server: a 100 MB body, a 100 MB log line,
10,000 events. Each is refused (413) or cut with a marker, and the server process's peak
resident memory (``VmHWM``, read from /proc) stays within the bounds stated below.

The server here is a real ``jupyter server`` process of its own (not the in-process
pytest-jupyter one), so its memory is the server's alone.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_kf import Client
from jupyter_kf.backends.local import LocalBackend
from jupyter_kf.server.payloads import MAX_EVENTS, MAX_LINE_CHARS, MAX_TAIL_LINES
from tests.support.waiting import wait_for

MB = 1024 * 1024
TOKEN = "bounds-test-token"
HUGE = 100 * MB
# The stated bounds: what the server's peak RSS may grow by while it answers.
BODY_BOUND = 16 * MB  # a refused 100 MB body is never held
EVENTS_BOUND = 32 * MB  # 10,000 events read, 1,000 sent
# A 100 MB line: the local backend reads the line whole before the server cuts it (its
# bytes, grown in place across 4 MiB reads, then its text): 300 MiB measured over the three
# readers below (up to 368 MiB when the partial line was copied at every read); the replies
# themselves are ~16 KiB.
LOG_LINE_BOUND = 3 * HUGE + 64 * MB


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss(pid: int) -> int:
    """The process's peak resident set size in bytes (``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


class Server:
    def __init__(self, proc: subprocess.Popen, port: int):
        self.proc, self.port = proc, port

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=self.headers())
            reply = conn.getresponse()
            return reply.status, reply.read()
        finally:
            conn.close()

    @staticmethod
    def headers() -> dict[str, str]:
        return {"Authorization": f"token {TOKEN}", "Content-Type": "application/json"}

    @property
    def peak(self) -> int:
        return peak_rss(self.proc.pid)


@pytest.fixture
def server(tmp_path, jkf_home) -> Iterator[Server]:
    port = _free_port()
    config = {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_kf": True},
            "token": TOKEN,
            "port": port,
            "ip": "127.0.0.1",
            "open_browser": False,
            "allow_root": True,
            "root_dir": str(tmp_path),
        },
        "JupyterKF": {"backend": "local", "emit_job_events": False},
    }
    (tmp_path / "jupyter_server_config.json").write_text(json.dumps(config))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_KF_HOME": str(jkf_home),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            f"--config={tmp_path / 'jupyter_server_config.json'}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "server.log", "wb"),
    )
    srv = Server(proc, port)

    def up() -> bool:
        try:
            return srv.request("GET", "/kf/api/config")[0] == 200
        except OSError:
            return False

    try:
        wait_for(up, 60)
        yield srv
    finally:
        proc.terminate()
        proc.wait(30)


async def follow_log(port: int, name: str) -> list[dict]:
    request = HTTPRequest(
        f"ws://127.0.0.1:{port}/kf/api/jobs/{name}/logs/follow?tail_lines=10",
        headers={"Authorization": f"token {TOKEN}"},
    )
    ws = await websocket_connect(request, max_message_size=4 * MAX_LINE_CHARS)
    messages = []
    while (raw := await ws.read_message()) is not None:
        messages.append(json.loads(raw))
    return messages


def test_a_100_mb_body_is_refused_unread(server):
    start = server.peak
    # Declared: answered 413 from the headers, before any of the body is sent.
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    head = (
        f"POST /kf/api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: token {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {HUGE}\r\n\r\n"
    )
    sock.sendall(head.encode())
    reply = sock.makefile("rb").read()  # the server answers and closes
    sock.close()
    status_line, _, rest = reply.partition(b"\r\n")
    assert b" 413 " in status_line, reply[:300]
    message = json.loads(rest.partition(b"\r\n\r\n")[2])["message"]
    assert f"{HUGE} bytes" in message and "max_body_bytes" in message

    # Without credentials the answer is the refusal, not the limit.
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(head.replace(f"Authorization: token {TOKEN}\r\n", "").encode())
    assert b" 403 " in sock.makefile("rb").read().partition(b"\r\n")[0]
    sock.close()

    # Not declared (chunked, as a streaming client sends it): read and dropped, then 413.
    def chunks() -> Iterator[bytes]:
        block = b"x" * MB
        for _ in range(HUGE // MB):
            yield block

    conn = server.connection()
    conn.request(
        "POST", "/kf/api/jobs", body=chunks(), headers=server.headers(), encode_chunked=True
    )
    reply2 = conn.getresponse()
    assert reply2.status == 413, reply2.read()[:300]
    assert "max_body_bytes" in json.loads(reply2.read())["message"]
    conn.close()
    # The same route still works for a body of a normal size.
    ok = json.dumps({"name": "fine", "framework": "pytorch", "workers": 1, "cell": "print(1)"})
    assert server.request("POST", "/kf/api/jobs", ok.encode())[0] == 201
    grew = server.peak - start
    print(f"peak RSS growth for two 100 MB bodies: {grew / MB:.1f} MiB")
    assert grew < BODY_BOUND, f"the server grew {grew / MB:.0f} MiB"


def test_10000_events_are_cut_to_the_newest(server, jkf_home):
    local = Client(LocalBackend(jkf_home / "jobs"))
    local.submit(name="noisy", framework="pytorch", workers=1, cell="print('hi')")
    local.wait("noisy", timeout=60)
    events = jkf_home / "jobs" / "noisy" / "events.jsonl"
    before = len(local.events("noisy"))
    with events.open("a") as fh:  # what a job that retried all night leaves behind
        for i in range(10_000):
            record = {"time": "2026-01-01T00:00:00Z", "type": "Warning", "reason": "Restarting"}
            fh.write(json.dumps({**record, "message": f"restart {i} " + "m" * 200}) + "\n")
    start = server.peak
    status, body = server.request("GET", "/kf/api/jobs/noisy/events")
    assert status == 200
    reply = json.loads(body)
    assert len(reply["events"]) == MAX_EVENTS
    assert reply["omitted"] == before + 10_000 - MAX_EVENTS
    assert reply["events"][-1]["message"].startswith("restart 9999 ")  # the newest kept
    grew = server.peak - start
    print(f"peak RSS growth for 10,000 events: {grew / MB:.1f} MiB")
    assert grew < EVENTS_BOUND, f"the server grew {grew / MB:.0f} MiB"


def test_a_100_mb_log_line_is_cut_with_a_marker(server, jkf_home):
    local = Client(LocalBackend(jkf_home / "jobs"))
    cell = f"import sys\nsys.stdout.write('y' * {HUGE} + '\\n')\nprint('after')\n"
    local.submit(name="shouty", framework="pytorch", workers=1, cell=cell)
    job = local.wait("shouty", timeout=120)
    assert job.phase == "Succeeded"
    start = server.peak
    status, body = server.request("GET", "/kf/api/jobs/shouty/logs")
    assert status == 200
    assert len(body) < 2 * MAX_LINE_CHARS
    lines = json.loads(body)["lines"]
    cut = f"{'y' * MAX_LINE_CHARS} [jupyter-kf: line cut, {HUGE - MAX_LINE_CHARS} more characters]"
    assert lines == [cut, "after"]
    # The panel's stream carries the same cut line.
    streamed: list[str] = []
    cursor, done = "", False
    while not done:
        status, body = server.request(
            "GET", f"/kf/api/jobs/shouty/updates?timeout=5&replica=master-0&since={cursor}"
        )
        assert status == 200
        assert len(body) < 4 * MAX_LINE_CHARS + 64 * 1024
        reply = json.loads(body)
        cursor, done = reply["cursor"], reply["done"]
        streamed += [line for lines in reply["logs"].values() for line in lines]
    assert streamed == [cut, "after"]
    # And the log-follow websocket.
    messages = asyncio.run(follow_log(server.port, "shouty"))
    assert messages[-1] == {"type": "end"}
    assert [ln for m in messages[:-1] for ln in m["lines"]] == [cut, "after"]
    grew = server.peak - start
    print(f"peak RSS growth for a 100 MB log line: {grew / MB:.1f} MiB")
    assert grew < LOG_LINE_BOUND, f"the server grew {grew / MB:.0f} MiB"


def test_a_huge_tail_lines_is_refused_with_its_bound(server):
    # Found by schemathesis: an int beyond any deque's size was a 500.
    status, body = server.request("GET", f"/kf/api/jobs/any/logs?tail_lines={10**22}")
    assert status == 400
    assert f"tail_lines must be at most {MAX_TAIL_LINES}" in body.decode()
    status, _ = server.request("GET", f"/kf/api/jobs/any/logs?tail_lines={MAX_TAIL_LINES}")
    assert status == 404  # within the bound: the job is looked up (and is not there)
