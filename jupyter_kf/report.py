"""``jupyter_kf.report(step=..., loss=...)``: a metric point from inside a worker.

Inside a TrainJob's pod whose Trainer runs the status server (the ``TrainJobStatus`` feature
gate), rank 0's points also go to that server as the TrainJob's progress
(``status.trainerStatus``), so ``kubectl get trainjob`` and the kubeflow SDK see them too.
That post never fails nor slows the training loop: a background thread sends the newest
point at most once every ``MIN_INTERVAL`` seconds, the last one when the process exits.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import ssl
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .jobs.metrics import REPORT_PREFIX

# What the Trainer's TrainJobStatus plugin puts in the trainer's pods: the full URL of the
# job's status endpoint, and the paths of the server's CA and of a projected token whose
# audience is that endpoint (the plugin mounts both; the token rotates, so it is read anew).
ENV_URL = "KUBEFLOW_TRAINER_SERVER_URL"
ENV_CA = "KUBEFLOW_TRAINER_SERVER_CA_CERT"
ENV_TOKEN = "KUBEFLOW_TRAINER_SERVER_TOKEN"
# Who is rank 0, by what each plugin (or torchrun, for the processes it starts) sets.
RANK_ENV = ("RANK", "JAX_PROCESS_ID", "DMLC_TASK_ID", "JOB_COMPLETION_INDEX")
PROGRESS_KEYS = ("step", "total_steps")
MIN_INTERVAL = 5.0  # seconds between two posts
REQUEST_TIMEOUT = 10.0
EXIT_WAIT = 10.0  # how long the end of the process waits for the last post
MAX_METRICS = 256  # the CRD's limits on trainerStatus.metrics
MAX_TEXT = 64

log = logging.getLogger(__name__)


def report(**metrics: float) -> None:
    """Record one metric point (``report(step=10, loss=0.3)``), from any replica.

    It is a line on stdout that the backend collects (the local supervisor, or the
    Kubernetes backend from the pod's log), so it needs no connection and no extra
    dependency in the image. Non-numbers and non-finite values are refused. Give
    ``total_steps`` beside ``step`` and a TrainJob shows its progress and time left.
    """
    point = {}
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"metric {key} must be a number, not {type(value).__name__}")
        if not math.isfinite(value):
            raise ValueError(f"metric {key} is {value}, not a finite number")
        point[key] = value
    if not point:
        raise TypeError("report() needs at least one metric, e.g. report(step=1, loss=0.5)")
    sys.stdout.write(REPORT_PREFIX + json.dumps(point) + "\n")
    sys.stdout.flush()
    poster = _status_poster()
    if poster is not None:
        poster.offer(point)


class Progress:
    """Turns points into the Trainer's ``trainerStatus``: percentage from step/total_steps,
    time left from the step rate seen in this process."""

    def __init__(self) -> None:
        self.first: tuple[float, float] | None = None  # (time, step) of the first step

    def status(self, point: Mapping[str, float], at: float) -> dict[str, Any]:
        out: dict[str, Any] = {}
        step, total = point.get("step"), point.get("total_steps")
        if step is not None and total:
            out["progressPercentage"] = int(max(0, min(100, 100 * step / total)))
            if self.first is None or step < self.first[1]:
                self.first = (at, step)
            elapsed, done = at - self.first[0], step - self.first[1]
            if done > 0 and elapsed > 0:
                out["estimatedRemainingSeconds"] = int(max(0, total - step) * elapsed / done)
        metrics = [
            {"name": key[:MAX_TEXT], "value": _text(value)}
            for key, value in point.items()
            if key not in PROGRESS_KEYS
        ]
        if metrics:
            out["metrics"] = metrics[:MAX_METRICS]
        out["lastUpdatedTime"] = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"trainerStatus": out}


def _text(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.8g}"


class StatusPoster:
    """Posts the newest progress to the Trainer's status server from a background thread.

    ``offer`` only replaces the one waiting body (a queue of one: older points are
    superseded), so it never blocks; the thread posts it once ``interval`` seconds have
    passed since the last post. ``close`` sends what is still waiting. A failing server is
    logged once and never raises into the caller.
    """

    def __init__(self, url: str, ca_file: str | None, token_file: str | None, interval: float):
        self.url, self.ca_file, self.token_file = url, ca_file, token_file
        self.interval = interval
        self.progress = Progress()
        self.sent = 0  # requests made, answered or not
        self._pending: dict[str, Any] | None = None
        self._last_post = -math.inf
        self._closing = False
        self._warned = False
        self._cond = threading.Condition()
        self._context: ssl.SSLContext | None = None
        self._thread = threading.Thread(target=self._run, name="jupyter-kf-progress", daemon=True)
        self._thread.start()

    def offer(self, point: Mapping[str, float]) -> None:
        body = self.progress.status(point, time.time())
        with self._cond:
            self._pending = body
            self._cond.notify()

    def close(self, timeout: float = EXIT_WAIT) -> None:
        """Send the waiting body now (not waiting out the interval) and stop."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._pending is not None:
                        wait = self._last_post + self.interval - time.monotonic()
                        if wait <= 0 or self._closing:
                            break
                    elif self._closing:
                        return
                    else:
                        wait = None
                    self._cond.wait(wait)
                body, self._pending = self._pending, None
                self._last_post = time.monotonic()
            self._post(body)

    def _post(self, body: dict[str, Any]) -> None:
        self.sent += 1
        try:
            headers = {"Content-Type": "application/json"}
            if self.token_file:
                with open(self.token_file) as fh:
                    headers["Authorization"] = f"Bearer {fh.read().strip()}"
            request = urllib.request.Request(
                self.url, data=json.dumps(body).encode(), method="POST", headers=headers
            )
            if self._context is None and self.url.startswith("https:"):
                self._context = ssl.create_default_context(cafile=self.ca_file)
            with urllib.request.urlopen(
                request, context=self._context, timeout=REQUEST_TIMEOUT
            ) as resp:
                resp.read()
        except Exception as exc:  # progress is a courtesy: training goes on without it
            level = logging.DEBUG if self._warned else logging.WARNING
            self._warned = True
            log.log(level, "jupyter_kf.report: could not post progress to %s: %s", self.url, exc)


_poster: StatusPoster | None = None
_poster_checked = False
_poster_lock = threading.Lock()


def _is_rank0(env: Mapping[str, str]) -> bool:
    for name in RANK_ENV:
        if env.get(name):
            return env[name].strip() == "0"
    return True


def _status_poster() -> StatusPoster | None:
    """The process's poster: made on the first report() where the Trainer's env is set and
    this process is rank 0; None elsewhere."""
    global _poster, _poster_checked
    if _poster_checked:
        return _poster
    with _poster_lock:
        if not _poster_checked:
            url = os.environ.get(ENV_URL)
            if url and _is_rank0(os.environ):
                _poster = StatusPoster(
                    url, os.environ.get(ENV_CA), os.environ.get(ENV_TOKEN), MIN_INTERVAL
                )
                atexit.register(_poster.close)
            _poster_checked = True
    return _poster
