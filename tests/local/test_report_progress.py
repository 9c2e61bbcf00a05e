"""``jupyter_kf.report()`` posting progress to a Trainer status server: at most one request
per interval, the newest point last, only from rank 0, never holding the training loop up.
The server here is a real HTTP server on loopback that records what it is sent
(tests/cluster/test_report_trainer_status.py posts to the Trainer's own)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jupyter_kf.report import MIN_INTERVAL, StatusPoster

PATH = "/apis/trainer.kubeflow.org/v1alpha1/namespaces/ns/trainjobs/tj/status"


class Recorder:
    """A loopback HTTP server; ``delay`` makes it slow to answer."""

    def __init__(self, delay: float = 0.0):
        self.requests: list[tuple[float, str, str, dict]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                auth = self.headers.get("Authorization", "")
                recorder.requests.append((time.monotonic(), self.path, auth, body))
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{PATH}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    s = Recorder()
    yield s
    s.close()


def test_posts_are_rate_limited_and_the_last_point_is_sent(server, tmp_path):
    token = tmp_path / "token"
    token.write_text("tok-1\n")
    poster = StatusPoster(server.url, None, str(token), interval=0.5)
    start = time.monotonic()
    for step in range(1, 41):  # 40 points in about 2 s
        poster.offer({"step": step, "total_steps": 40, "loss": 1.0 / step})
        time.sleep(0.05)
    poster.close()
    times = [t for t, *_ in server.requests]
    assert 3 <= len(times) <= 2.5 / 0.5 + 1, times
    assert all(b - a >= 0.45 for a, b in zip(times, times[1:], strict=False)), times
    assert times[0] - start < 0.3  # the first point goes at once
    _, path, auth, last = server.requests[-1]
    assert path == PATH and auth == "Bearer tok-1"
    status = last["trainerStatus"]
    assert status["progressPercentage"] == 100
    assert status["estimatedRemainingSeconds"] == 0
    assert status["metrics"] == [{"name": "loss", "value": "0.025"}]
    assert status["lastUpdatedTime"].endswith("Z")
    middle = server.requests[1][3]["trainerStatus"]
    assert 0 < middle["progressPercentage"] < 100 and middle["estimatedRemainingSeconds"] > 0


WORKER = """
import time, jupyter_kf
start = time.monotonic()
for step in range(1, 21):
    jupyter_kf.report(step=step, total_steps=20, loss=1.0 / step)
    time.sleep(0.01)
print(f"loop {time.monotonic() - start:.3f}", flush=True)
"""


def run_worker(url: str, tmp_path, **env: str) -> tuple[float, float, str]:
    token = tmp_path / "token"
    token.write_text("tok-2")
    environ = {
        "KUBEFLOW_TRAINER_SERVER_URL": url,
        "KUBEFLOW_TRAINER_SERVER_TOKEN": str(token),
        "PATH": "/usr/bin:/bin",
        **env,
    }
    start = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", WORKER], env=environ, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    loop = float(next(ln for ln in out.stdout.splitlines() if ln.startswith("loop "))[5:])
    return loop, time.monotonic() - start, out.stderr


def test_a_worker_posts_its_first_and_last_point(server, tmp_path):
    loop, _, _ = run_worker(server.url, tmp_path)
    assert loop < MIN_INTERVAL
    steps = [body["trainerStatus"]["progressPercentage"] for *_, body in server.requests]
    assert steps == [5, 100]  # the first point at once, the last as the process ends


def test_only_rank_0_posts(server, tmp_path):
    run_worker(server.url, tmp_path, RANK="1")
    run_worker(server.url, tmp_path, JOB_COMPLETION_INDEX="1")
    assert server.requests == []


def test_a_slow_or_absent_server_never_holds_the_loop_up(tmp_path):
    slow = Recorder(delay=3.0)
    try:
        loop, total, _ = run_worker(slow.url, tmp_path)
        assert loop < 0.5, loop  # 20 steps of 10 ms, whatever the server does
        assert total < 15
    finally:
        slow.close()
    # Nobody listens: the loop goes on, the process ends normally, one warning.
    loop, _, errors = run_worker("http://127.0.0.1:9/none", tmp_path)
    assert loop < 0.5
    assert errors.count("could not post progress") == 1, errors
