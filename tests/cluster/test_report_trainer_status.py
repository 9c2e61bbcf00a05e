"""``jupyter_kf.report()`` reaches the real Trainer's status server: a worker given the env the
Trainer's TrainJobStatus plugin gives a pod (the server's URL, its CA, a projected token for
the job's audience) reports its steps, and the TrainJob's ``status.trainerStatus`` shows them.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from kubernetes import client

from tests.cluster.plugin import Cluster
from tests.cluster.trainer.objects import create_trainjob, get_trainjob, trainjob
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.trainjob]

WORKER = """
import time, jupyter_kf
start = time.monotonic()
for step in range(1, 13):
    jupyter_kf.report(step=step, total_steps=12, loss=round(1.0 / step, 4))
    time.sleep(0.5)
print(f"loop {time.monotonic() - start:.2f}", flush=True)
"""


def _status_port(cluster: Cluster) -> int:
    if cluster.state_dir is None:
        pytest.fail("needs a cluster started by tests/cluster/up.sh on this machine")
    config = (cluster.state_dir / "trainer" / "config.yaml").read_text()
    if "TrainJobStatus: true" not in config:
        pytest.fail(
            "the Trainer runs with TrainJobStatus off (see tests/cluster/trainer/README.md)"
        )
    port = re.search(r"statusServer: \{port: (\d+)\}", config)
    assert port, config
    return int(port.group(1))


def test_report_posts_progress_that_the_trainjob_shows(cluster, admin_api, namespace, tmp_path):
    name = "reported"
    port = _status_port(cluster)
    # Suspended: its status is ours alone, no pod runs (this test plays the node).
    create_trainjob(admin_api, namespace, trainjob(name, suspend=True))
    path = f"/apis/trainer.kubeflow.org/v1alpha1/namespaces/{namespace}/trainjobs/{name}/status"
    audience = f"trainer.kubeflow.org/v1alpha1/namespaces/{namespace}/trainjobs/{name}/status"
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[audience], expiration_seconds=600)
    )
    core = client.CoreV1Api(admin_api)
    token = core.create_namespaced_service_account_token("default", namespace, request).status.token
    (tmp_path / "token").write_text(token)
    env = {
        "PATH": "/usr/bin:/bin",
        "KUBEFLOW_TRAINER_SERVER_URL": f"https://127.0.0.1:{port}{path}",
        "KUBEFLOW_TRAINER_SERVER_CA_CERT": str(cluster.ca_file),
        "KUBEFLOW_TRAINER_SERVER_TOKEN": str(tmp_path / "token"),
    }
    start = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", WORKER], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and "could not post" not in out.stderr, out.stderr
    loop = float(re.search(r"loop (\S+)", out.stdout).group(1))
    assert loop < 6.5  # 12 steps of 0.5 s: the posts took nothing from the loop

    def final():
        status = get_trainjob(admin_api, namespace, name).get("status", {}).get("trainerStatus")
        return status if status and status.get("progressPercentage") == 100 else None

    status = wait_for(final, 30, 0.5, "the last progress in status.trainerStatus")
    assert status["estimatedRemainingSeconds"] == 0
    assert status["metrics"] == [{"name": "loss", "value": "0.0833"}]
    assert status["lastUpdatedTime"].endswith("Z")
    assert time.monotonic() - start < 60
