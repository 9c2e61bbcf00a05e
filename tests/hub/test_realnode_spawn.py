"""The spawner on the real node (tests/cluster/node), no stand-in anywhere: the real hub and
its real proxy on the host, each user's pod a real container running the real
``jupyterhub-singleuser`` on its pod IP. From a kernel of that server, the notebook's own
``jupyter_kf.Client()`` launches a training job with the pod's ServiceAccount token; the job
runs in the user's namespace and nowhere else; and the server's own idle culling ends it,
after which the hub removes the pod.

Spawn-to-ready wall times go to ``test-artifacts/realnode/spawn.json``.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import websocket
from kubernetes import client

from tests.cluster.plugin import REAL_NODE

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.hub,
    pytest.mark.realpods,
    pytest.mark.slow,
    pytest.mark.timeout(900),
]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "realnode"

# Jupyter Server's own culling (no extra service): an idle kernel with no client connected
# is shut down after CULL_KERNEL s (checked every 5 s), and a server with no kernel and no
# activity for CULL_SERVER s exits (checked once a minute). Its pod then ends Succeeded,
# the hub's poll sees it, and the hub stops the server: the spawner deletes the pod.
CULL_KERNEL = 20
CULL_SERVER = 20
CULLING_ARGS = [
    f"--MappingKernelManager.cull_idle_timeout={CULL_KERNEL}",
    "--MappingKernelManager.cull_interval=5",
    f"--ServerApp.shutdown_no_activity_timeout={CULL_SERVER}",
]

# What the notebook user runs in a cell. OTHER is the other user's namespace.
NOTEBOOK_CODE = """
import json, os, socket
from kubernetes import client as k8s
from jupyter_kf import Client
from jupyter_kf.errors import ForbiddenError

out = {"host": socket.gethostname(), "cwd": os.getcwd()}
with open("written-by-the-kernel.txt", "w") as f:
    f.write("hello from " + out["host"])
c = Client()  # in a notebook pod: the cluster, as the pod's ServiceAccount
out["backend"] = c.backend.name
out["namespace"] = c.backend.default_namespace
review = k8s.AuthenticationV1Api(c.backend.api).create_self_subject_review(
    {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
)
out["identity"] = review.status.user_info.username
c.submit(
    name="from-notebook",
    framework="pytorch",
    cell="import os, socket\\nprint('job pod', socket.gethostname(), 'rank', os.environ['RANK'])",
)
job = c.wait("from-notebook", conditions=("Succeeded", "Failed"), timeout=400)
out["phase"] = job.phase
out["logs"] = list(c.logs("from-notebook"))
try:
    c.submit(name="intruder", framework="pytorch", cell="print(1)", namespace=OTHER)
    out["other"] = "created"
except ForbiddenError as exc:
    out["other"] = ["ForbiddenError", exc.http_status, str(exc)]
try:
    k8s.CustomObjectsApi(c.backend.api).create_namespaced_custom_object(
        "kubeflow.org", "v1", OTHER, "pytorchjobs",
        {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
         "metadata": {"name": "intruder-raw"}, "spec": {"pytorchReplicaSpecs": {}}},
    )
    out["other_raw"] = "created"
except k8s.ApiException as exc:
    out["other_raw"] = exc.status
print("RESULT " + json.dumps(out))
"""


def timed_spawn(hub, user: str) -> float:
    hub.add_user(user)
    t0 = time.monotonic()
    r = hub.spawn(user)
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(user, timeout=240)
    return time.monotonic() - t0


def status_through_proxy(hub, user: str, token: str) -> dict:
    r = hub.session.get(
        f"{hub.url}/user/{user}/api/status",
        headers={"Authorization": f"token {token}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return r.json()


def execute(hub, user: str, token: str, code: str, timeout: float) -> tuple[str, dict | None]:
    """Run ``code`` in a new kernel of the user's server, through the proxy (REST to start
    the kernel, the kernel websocket to run the cell), as a notebook page would. Returns
    the cell's stdout and its error (None if it raised nothing). The websocket is closed
    afterwards and the kernel left running, idle, for the culler."""
    auth = {"Authorization": f"token {token}"}
    r = hub.session.post(
        f"{hub.url}/user/{user}/api/kernels", json={"name": "python3"}, headers=auth, timeout=60
    )
    assert r.status_code == 201, r.text
    kernel = r.json()["id"]
    ws = websocket.create_connection(
        f"{hub.url.replace('http', 'ws', 1)}/user/{user}/api/kernels/{kernel}/channels",
        header=[f"Authorization: token {token}"],
        timeout=60,
    )
    msg_id = uuid.uuid4().hex
    ws.send(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "msg_type": "execute_request",
                    "username": user,
                    "session": uuid.uuid4().hex,
                    "date": datetime.now(UTC).isoformat(),
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {},
                "content": {
                    "code": code,
                    "silent": False,
                    "store_history": False,
                    "user_expressions": {},
                    "allow_stdin": False,
                    "stop_on_error": True,
                },
                "channel": "shell",
                "buffers": [],
            }
        )
    )
    stdout: list[str] = []
    error = None
    deadline = time.monotonic() + timeout
    try:
        while True:
            assert time.monotonic() < deadline, f"the cell did not finish in {timeout} s:\n{stdout}"
            try:
                msg = json.loads(ws.recv())
            except websocket.WebSocketTimeoutException:
                continue  # a long cell (the job) sends nothing meanwhile
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "stream":
                stdout.append(msg["content"]["text"])
            elif kind == "error":
                error = msg["content"]
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                break
    finally:
        ws.close()
    return "".join(stdout), error


def test_a_real_single_user_server_launches_a_job_and_is_culled(
    realnode_hub_factory, node_side, admin_api
):
    core = client.CoreV1Api(admin_api)
    hub = realnode_hub_factory(spawner={"args": CULLING_ARGS, "poll_interval": 5})
    prefix = hub.settings["prefix"]
    times: dict[str, float] = {}

    # Bob: a real server on the real node, reached through the proxy, stopped by the hub.
    times["bob"] = timed_spawn(hub, "bob")
    bob_ns = f"{prefix}bob"
    assert core.read_namespaced_pod("jupyter-bob", bob_ns).spec.node_name == REAL_NODE
    status = status_through_proxy(hub, "bob", hub.user_token("bob"))
    assert "started" in status and "last_activity" in status, status
    hub.stop_server("bob")
    with pytest.raises(client.ApiException) as gone:
        core.read_namespaced_pod("jupyter-bob", bob_ns)
    assert gone.value.status == 404

    # Alice: the same, then her notebook launches a job.
    times["alice"] = timed_spawn(hub, "alice")
    ns = f"{prefix}alice"
    pod = core.read_namespaced_pod("jupyter-alice", ns)
    assert pod.spec.node_name == REAL_NODE
    assert pod.status.pod_ip.startswith("10.89.0."), pod.status.pod_ip
    assert pod.status.container_statuses[0].state.running is not None
    server = hub.server("alice")
    assert server["url"] == "/user/alice/" and server["ready"], server
    token = hub.user_token("alice")
    r = hub.session.get(
        f"{hub.url}/user/alice/api", headers={"Authorization": f"token {token}"}, timeout=30
    )
    assert r.status_code == 200 and r.json()["version"] != "stand-in", r.text  # Jupyter Server
    status_through_proxy(hub, "alice", token)
    # Without a token the real server refuses its API (it asks the hub about every token).
    r = hub.session.get(
        f"{hub.url}/user/alice/api/status", headers={"Authorization": None}, timeout=30
    )
    assert r.status_code == 403, r.text

    t0 = time.monotonic()
    out, error = execute(hub, "alice", token, f"OTHER = {bob_ns!r}\n{NOTEBOOK_CODE}", timeout=480)
    times["notebook_job_cell"] = time.monotonic() - t0
    assert error is None, "\n".join(error["traceback"]) + out
    result = json.loads(out.split("RESULT ", 1)[1])
    assert result["host"] == "jupyter-alice" and result["cwd"] == "/home/jovyan", result
    assert result["backend"] == "kubernetes" and result["namespace"] == ns, result
    assert result["identity"] == f"system:serviceaccount:{ns}:jupyter-alice", result
    assert result["phase"] == "Succeeded", result
    assert any("job pod from-notebook" in line and "rank 0" in line for line in result["logs"])
    # The other user's namespace: a clear 403, through jupyter-kf and from the API itself.
    assert result["other"][:2] == ["ForbiddenError", 403], result["other"]
    assert result["other_raw"] == 403, result
    custom = client.CustomObjectsApi(admin_api)
    assert (
        custom.list_namespaced_custom_object("kubeflow.org", "v1", bob_ns, "pytorchjobs")["items"]
        == []
    )
    job = custom.get_namespaced_custom_object(
        "kubeflow.org", "v1", ns, "pytorchjobs", "from-notebook"
    )
    assert job["metadata"]["namespace"] == ns
    for job_pod in core.list_namespaced_pod(
        ns, label_selector="training.kubeflow.org/job-name=from-notebook"
    ).items:
        assert job_pod.spec.node_name == REAL_NODE
    # The kernel wrote to the home volume (the PVC, a directory on this host).
    home = node_side["root"] / "volumes" / ns / "claim-alice"
    assert (home / "written-by-the-kernel.txt").read_text() == "hello from jupyter-alice"

    # Culling: the idle kernel, then the idle server; the hub then deletes the pod.
    t0 = time.monotonic()
    deadline = t0 + CULL_KERNEL + CULL_SERVER + 60 + 120
    while hub.server("alice") is not None:
        assert time.monotonic() < deadline, f"alice's server was not culled:\n{hub.log_tail(30)}"
        time.sleep(2)
    while True:
        try:
            core.read_namespaced_pod("jupyter-alice", ns)
        except client.ApiException as exc:
            assert exc.status == 404
            break
        assert time.monotonic() < deadline, (
            "alice's server ended (the hub says so) but its pod is still there: the spawner "
            "must delete the pod of a server that stopped by itself"
        )
        time.sleep(1)
    times["cull"] = time.monotonic() - t0
    # The server ended by itself (exit 0: culled, not crashed) and the hub noticed.
    assert "User alice server stopped, with exit code: 0" in hub.log_path.read_text()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "spawn.json").write_text(
        json.dumps(
            {
                "what": "hub REST API spawn (POST /hub/api/users/<u>/servers/) until the hub "
                "reports it ready: namespace, ServiceAccount, RBAC, PVC, pod on the real "
                "node, real jupyterhub-singleuser answering; one spawn at a time",
                "spawn_to_ready_seconds": {u: round(times[u], 1) for u in ("bob", "alice")},
                "notebook_cell_job_seconds": round(times["notebook_job_cell"], 1),
                "idle_to_pod_gone_seconds": round(times["cull"], 1),
                "culling": {"kernel_idle_s": CULL_KERNEL, "server_idle_s": CULL_SERVER},
            },
            indent=2,
        )
    )
