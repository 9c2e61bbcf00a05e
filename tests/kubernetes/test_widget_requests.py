"""An open ``JobMonitor`` on the Kubernetes backend costs no periodic ``pods/log`` reads: it
follows each log it shows with one stream, however long it stays open.

The notebook user's client reaches the real API server through a counting proxy
(tests/k8s/proxy.py), so the count is exact and this test's own: the shared API server's
``apiserver_request_total`` also counts every other client of the cluster (it is recorded
beside, for the figures).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client as k8s

from jupyter_kf import Client
from jupyter_kf.backends.kubernetes import KubernetesBackend
from jupyter_kf.jobs import Code, JobSpec
from jupyter_kf.widgets import JobMonitor
from tests.k8s.proxy import notebook_behind_proxy
from tests.support.images import IMAGE
from tests.support.waiting import wait_for

WINDOW = 60.0  # seconds the widget stays open
ARTIFACTS = Path(
    os.environ.get("JKF_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)
LOG_METRIC = re.compile(
    r'^apiserver_request_total\{(?=[^}]*resource="pods")(?=[^}]*subresource="log")[^}]*\} (\S+)$'
)


def apiserver_log_requests(admin_api: k8s.ApiClient) -> float:
    """pods/log requests the API server has counted (all clients, all verbs)."""
    resp = admin_api.call_api(
        "/metrics", "GET", _preload_content=False, auth_settings=["BearerToken"]
    )[0]
    total = 0.0
    for line in resp.data.decode().splitlines():
        match = LOG_METRIC.match(line)
        if match:
            total += float(match.group(1))
    return total


def measure(
    cluster: Any,
    admin_api: k8s.ApiClient,
    namespace_factory: Callable[..., str],
    sa_client: Callable[..., k8s.ApiClient],
    open_monitor: Callable[[str, Client], Any],
    window: float = WINDOW,
) -> dict[str, Any]:
    """Open a monitor on a running job for ``window`` seconds while rank 0 writes a line
    every 5 s; what the notebook user's client asked of ``pods/log`` meanwhile."""
    ns = namespace_factory("widget")
    proxy, api = notebook_behind_proxy(cluster, admin_api, ns, sa_client)
    c = Client(KubernetesBackend(api_client=api, namespace=ns))
    monitor = None
    try:
        log = cluster.set_pod_logs(admin_api, ns, "wid-master-0", ["step=0 loss=1.0"])
        c.submit(
            JobSpec.create(
                "pytorch",
                name="wid",
                workers=2,
                image=IMAGE,
                code=Code("print(1)"),
                pod_annotations={"jupyter-kf.test/outcome": "run"},
            )
        )
        wait_for(lambda: c.get("wid").phase == "Running", timeout=60)
        wait_for(lambda: list(c.logs("wid")) == ["step=0 loss=1.0"], timeout=30)  # KWOK serves it
        log_paths = [k for k in proxy.seen if k[1].endswith("/log")]
        before = {k: proxy.seen[k] for k in log_paths}
        server_before = apiserver_log_requests(admin_api)
        monitor = open_monitor("wid", c)
        started = time.monotonic()
        step = 1
        while time.monotonic() - started < window:
            time.sleep(5)
            cluster.append_pod_logs(log, [f"step={step} loss={1 / (step + 1):.4f}"])
            step += 1
        wait_for(lambda: monitor.plot.points >= step, timeout=30)
        elapsed = time.monotonic() - started
        server_after = apiserver_log_requests(admin_api)
        requests = {
            path: {
                "count": n - before.get((method, path), 0),
                "queries": proxy.queries[(method, path)][before.get((method, path), 0) :],
            }
            for (method, path), n in proxy.seen.items()
            if path.endswith("/log") and n > before.get((method, path), 0)
        }
        return {
            "seconds": round(elapsed, 1),
            "lines_written": step,
            "points_plotted": monitor.plot.points,
            "pods_log_requests": sum(r["count"] for r in requests.values()),
            "follow_streams": sum(
                1 for r in requests.values() for q in r["queries"] if "follow=true" in q.lower()
            ),
            "by_pod": requests,
            "apiserver_pods_log_delta_all_clients": server_after - server_before,
        }
    finally:
        if monitor is not None:
            monitor.close()
        c.close()
        proxy.close()


def test_an_open_widget_follows_each_log_once(cluster, admin_api, namespace_factory, sa_client):
    figures = measure(cluster, admin_api, namespace_factory, sa_client, JobMonitor)
    (ARTIFACTS / "kubernetes").mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "kubernetes" / "widget-requests.json").write_text(json.dumps(figures, indent=2))
    # Rank 0's log (the one the widget shows and takes its points from) is read by ONE
    # follow stream over the whole window, not once per refresh.
    assert figures["points_plotted"] >= figures["lines_written"]
    assert figures["pods_log_requests"] <= 1, figures["by_pod"]
    assert figures["follow_streams"] == figures["pods_log_requests"]
