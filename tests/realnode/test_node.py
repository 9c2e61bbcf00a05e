"""The real node (tests/cluster/node): pods run real code with the project's Python, get real
exit codes, reach each other by Service names through CoreDNS, reach the API server with their
own token and the host's loopback services at the node address, and nothing beyond the machine.
"""

from __future__ import annotations

import http.server
import threading

import pytest
from kubernetes import client as k8s

from tests.cluster.plugin import REAL_NODE
from tests.support.images import PYTHON_IMAGE
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.realpods]

NODE_IP = "10.89.0.1"


def pod(name: str, code: str, **spec) -> k8s.V1Pod:
    container = k8s.V1Container(
        name="main",
        image=PYTHON_IMAGE,
        command=["python", "-u", "-c", code],
        resources=spec.pop("resources", None),
    )
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name, labels={"app": name}),
        spec=k8s.V1PodSpec(containers=[container], restart_policy="Never", **spec),
    )


def run(core: k8s.CoreV1Api, namespace: str, p: k8s.V1Pod, timeout: float = 120) -> k8s.V1Pod:
    core.create_namespaced_pod(namespace, p)
    name = p.metadata.name

    def done():
        got = core.read_namespaced_pod(name, namespace)
        return got if got.status.phase in ("Succeeded", "Failed") else None

    return wait_for(done, timeout, what=f"pod {name} to end")


def logs(core: k8s.CoreV1Api, namespace: str, name: str) -> str:
    return core.read_namespaced_pod_log(name, namespace)


def run_ok(core: k8s.CoreV1Api, namespace: str, p: k8s.V1Pod) -> tuple[k8s.V1Pod, str]:
    """Run a pod to its end, assert it succeeded; the pod and its log."""
    done = run(core, namespace, p)
    out = logs(core, namespace, p.metadata.name)
    assert done.status.phase == "Succeeded", out
    return done, out


def terminated(p: k8s.V1Pod) -> k8s.V1ContainerStateTerminated:
    return p.status.container_statuses[0].state.terminated


def test_a_pod_runs_the_projects_python_on_the_real_node(admin_api, real_namespace):
    core = k8s.CoreV1Api(admin_api)
    code = (
        "import os, sys, jupyter_kf, torch\n"
        "print('python', sys.version.split()[0], 'torch', torch.__version__)\n"
        "print('cwd-writable', os.access('/tmp', os.W_OK))\n"
        "print('token', os.path.exists('/var/run/secrets/kubernetes.io/serviceaccount/token'))\n"
    )
    p, out = run_ok(core, real_namespace, pod("hello", code))
    assert p.spec.node_name == REAL_NODE
    assert p.status.pod_ip.startswith("10.89.0.")
    assert "torch" in out and "cwd-writable True" in out and "token True" in out
    assert terminated(p).exit_code == 0


def test_exit_codes_and_oom_kill_are_real(admin_api, real_namespace):
    core = k8s.CoreV1Api(admin_api)
    p = run(core, real_namespace, pod("three", "import sys; print('bye'); sys.exit(3)"))
    assert p.status.phase == "Failed" and terminated(p).exit_code == 3
    hog = pod(
        "hog",
        "b = bytearray(300 * 1024 * 1024); print('allocated')",
        resources=k8s.V1ResourceRequirements(limits={"memory": "64Mi", "cpu": "500m"}),
    )
    p = run(core, real_namespace, hog)
    t = terminated(p)
    assert (t.reason, t.exit_code) == ("OOMKilled", 137)


def test_pods_reach_each_other_by_service_name(admin_api, real_namespace):
    core = k8s.CoreV1Api(admin_api)
    server = (
        "import socket\n"
        "s = socket.create_server(('', 29500)); c, _ = s.accept()\n"
        "c.sendall(b'hello from ' + socket.gethostname().encode()); c.close()\n"
    )
    core.create_namespaced_service(
        real_namespace,
        k8s.V1Service(
            metadata=k8s.V1ObjectMeta(name="peers"),
            spec=k8s.V1ServiceSpec(
                cluster_ip="None", selector={"app": "server"}, ports=[k8s.V1ServicePort(port=29500)]
            ),
        ),
    )
    core.create_namespaced_pod(real_namespace, pod("server", server))
    client_code = (
        "import socket, time\n"
        "for _ in range(120):\n"
        "    try:\n"
        "        c = socket.create_connection(('peers', 29500), timeout=2); break\n"
        "    except OSError:\n"
        "        time.sleep(0.5)\n"
        "print(socket.gethostbyname('peers'), c.recv(100).decode())\n"
    )
    _, out = run_ok(core, real_namespace, pod("client", client_code))
    server_ip = core.read_namespaced_pod("server", real_namespace).status.pod_ip
    assert out.split()[0] == server_ip and "hello from server" in out


def test_pods_reach_the_api_server_and_host_loopback_but_not_beyond(admin_api, real_namespace):
    core = k8s.CoreV1Api(admin_api)

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"loopback says hi")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    code = (
        "import socket, urllib.request\n"
        "from kubernetes import client, config\n"
        "config.load_incluster_config()\n"
        "print('apiserver', client.VersionApi().get_code().git_version)\n"
        f"print(urllib.request.urlopen('http://{NODE_IP}:{port}/', timeout=10).read().decode())\n"
        "try:\n"
        "    socket.create_connection(('203.0.113.1', 443), timeout=5); print('left the machine')\n"
        "except OSError as e:\n"
        "    print('outside unreachable', e.errno)\n"
        "try:\n"
        "    socket.gethostbyname('pypi.org'); print('resolved outside')\n"
        "except OSError:\n"
        "    print('outside names unresolved')\n"
    )
    try:
        _, out = run_ok(core, real_namespace, pod("reach", code))
    finally:
        httpd.shutdown()
    assert "apiserver v1.37" in out
    assert "loopback says hi" in out
    # Refused on the host (ENETUNREACH from the node's FORWARD rule), not a timeout.
    assert "outside unreachable 101" in out and "outside names unresolved" in out


def test_exec_and_logs_go_through_the_real_kubelet(cluster, admin_api, real_namespace):
    core = k8s.CoreV1Api(admin_api)
    core.create_namespaced_pod(
        real_namespace, pod("sleeper", "import time; print('up', flush=True); time.sleep(600)")
    )
    wait_for(
        lambda: core.read_namespaced_pod("sleeper", real_namespace).status.phase == "Running",
        120,
    )
    out = cluster.kubectl(
        "-n", real_namespace, "exec", "sleeper", "--", "python", "-c", "print(6 * 7)"
    ).stdout
    assert out.strip() == "42"
    wait_for(lambda: "up" in logs(core, real_namespace, "sleeper"), 30)
