"""What tests/hub runs besides the real control plane: the hub, and the two node-side
roles the test cluster has no program for.

- ``Kubelet``: KWOK plays the kubelet's API side (it marks pods Running and, with the
  ``jupyter-kf.test/pod-ip`` annotation, gives each a loopback IP). It runs no container.
  This helper runs the one thing the container would: for each of the hub's pods that is
  Running, it starts the real ``jupyterhub-singleuser`` with the pod's own command, args
  and env (``secretKeyRef`` resolved from the Secret, as a kubelet does), bound to the
  pod's IP (the only rewrite: ``0.0.0.0`` in JUPYTERHUB_SERVICE_URL becomes the pod IP,
  which is what the pod's own network namespace would give). The home volume is a
  directory per PVC, so files survive a stop and start as on a real volume. When the pod
  goes, or KWOK ends it (its ``jupyter-kf.test/outcome``), the process is killed.
- ``Provisioner``: the test cluster has no storage driver. Home PVCs of the test
  StorageClass ``jkf-test-local`` (``volumeBindingMode: Immediate``, no provisioner) get
  a hostPath PersistentVolume made for them here, pre-bound through ``claimRef``; the
  real PV controller binds them and the real scheduler's volume binding sees them bound.
- ``Hub``: a real ``jupyterhub`` process (with the real configurable-http-proxy from
  npm) configured with the spawner, driven through its REST API.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests
from kubernetes import client, watch

from tests.cluster.plugin import REAL_NODE

REPO = Path(__file__).resolve().parents[2]
CHP_BIN = REPO / "tests" / "hub" / "node_modules" / ".bin"
STORAGE_CLASS = "jkf-test-local"
MANAGED = "app.kubernetes.io/managed-by=jupyter-kf-spawner"
# Pods of the hub benchmarks (benchmarks/support/hub_bench.py) carry this label: their
# servers are the benchmark's stand-ins, and a test run beside a 200-user herd must not
# start 200 real servers for them.
NOT_BENCH = "!jupyter-kf.test/bench"
POD_IP = "jupyter-kf.test/pod-ip"
# Only for the kill -9 test's herd of spawns (light_server.py says why); every other hub
# test runs the real jupyterhub-singleuser.
LIGHT = "jupyter-kf.test/light-server"
LIGHT_ANNOTATIONS = {"jupyter-kf.test/outcome": "run", LIGHT: "true"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_ip(key: str) -> str:
    """A loopback address of its own for one pod (all of 127.0.0.0/8 is local on Linux)."""
    import hashlib

    h = hashlib.sha256(key.encode()).digest()
    return f"127.{100 + h[0] % 100}.{h[1]}.{1 + h[2] % 254}"


class _Loop(threading.Thread):
    """A watch loop that outlives API server outages (it is test infrastructure)."""

    def __init__(self, name: str):
        super().__init__(name=name, daemon=True)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.loop()
            except Exception:
                self.stopping.wait(1.0)

    def loop(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def stop(self) -> None:
        self.stopping.set()


class Provisioner(_Loop):
    def __init__(self, api: client.ApiClient, root: Path):
        super().__init__("test-provisioner")
        self.core = client.CoreV1Api(api)
        self.storage = client.StorageV1Api(api)
        self.root = root
        self.made: set[str] = set()

    def ensure_class(self) -> None:
        body = {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": STORAGE_CLASS},
            "provisioner": "kubernetes.io/no-provisioner",
            "volumeBindingMode": "Immediate",
            "reclaimPolicy": "Delete",
        }
        with contextlib.suppress(client.ApiException):
            self.storage.create_storage_class(body)

    def loop(self) -> None:
        rv = None
        listing = self.core.list_persistent_volume_claim_for_all_namespaces()
        for pvc in listing.items:
            self._provide(pvc)
        rv = listing.metadata.resource_version
        for event in watch.Watch().stream(
            self.core.list_persistent_volume_claim_for_all_namespaces,
            resource_version=rv,
            timeout_seconds=60,
        ):
            if self.stopping.is_set():
                return
            if event["type"] in ("ADDED", "MODIFIED"):
                self._provide(event["object"])

    def _provide(self, pvc) -> None:
        if pvc.spec.storage_class_name != STORAGE_CLASS or pvc.spec.volume_name:
            return
        ns, name = pvc.metadata.namespace, pvc.metadata.name
        pv_name = f"pv-{pvc.metadata.uid}"
        if pv_name in self.made:
            return
        path = self.root / ns / name
        path.mkdir(parents=True, exist_ok=True)
        body = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": pv_name, "labels": {"jupyter-kf.test/provisioned": "true"}},
            "spec": {
                "capacity": {"storage": pvc.spec.resources.requests["storage"]},
                "accessModes": pvc.spec.access_modes,
                "storageClassName": STORAGE_CLASS,
                "persistentVolumeReclaimPolicy": "Delete",
                "hostPath": {"path": str(path)},
                "claimRef": {"namespace": ns, "name": name, "uid": pvc.metadata.uid},
            },
        }
        try:
            self.core.create_persistent_volume(body)
        except client.ApiException as exc:
            if exc.status != 409:
                raise
        self.made.add(pv_name)


class Kubelet(_Loop):
    """Runs jupyterhub-singleuser for each Running hub pod (see the module doc)."""

    def __init__(self, api: client.ApiClient, volumes: Path, logs: Path):
        super().__init__("test-kubelet")
        self.selector = f"{MANAGED},{NOT_BENCH}"
        self.core = client.CoreV1Api(api)
        self.volumes = volumes
        self.logs = logs
        self.procs: dict[str, tuple[str, subprocess.Popen]] = {}  # ns/name -> (uid, process)
        self.lock = threading.Lock()
        logs.mkdir(parents=True, exist_ok=True)

    def loop(self) -> None:
        listing = self.core.list_pod_for_all_namespaces(label_selector=self.selector)
        seen = set()
        for pod in listing.items:
            seen.add(f"{pod.metadata.namespace}/{pod.metadata.name}")
            self._sync(pod)
        with self.lock:
            gone = [k for k in self.procs if k not in seen]
        for key in gone:
            self._kill(key)
        for event in watch.Watch().stream(
            self.core.list_pod_for_all_namespaces,
            label_selector=self.selector,
            resource_version=listing.metadata.resource_version,
            timeout_seconds=60,
        ):
            if self.stopping.is_set():
                return
            pod = event["object"]
            key = f"{pod.metadata.namespace}/{pod.metadata.name}"
            if event["type"] == "DELETED" or pod.metadata.deletion_timestamp:
                self._kill(key)
            else:
                self._sync(pod)

    def _sync(self, pod) -> None:
        key = f"{pod.metadata.namespace}/{pod.metadata.name}"
        with self.lock:
            running = self.procs.get(key)
        if running is not None:
            if running[0] == pod.metadata.uid and pod.status.phase == "Running":
                return
            self._kill(key)  # another pod of that name, or this one ended
        if pod.status.phase != "Running" or not pod.status.pod_ip:
            return
        if pod.spec.node_name == REAL_NODE:
            return  # the real node's kubelet runs this one (test_realnode_spawn.py)
        if pod.metadata.deletion_timestamp:
            return
        self._start(key, pod)

    def _env(self, pod, container) -> dict[str, str]:
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8"}
        for item in container.env or []:
            if item.value is not None:
                env[item.name] = item.value
            elif item.value_from and item.value_from.secret_key_ref:
                ref = item.value_from.secret_key_ref
                secret = self.core.read_namespaced_secret(ref.name, pod.metadata.namespace)
                import base64

                env[item.name] = base64.b64decode(secret.data[ref.key]).decode()
        url = env.get("JUPYTERHUB_SERVICE_URL", "")
        env["JUPYTERHUB_SERVICE_URL"] = url.replace("0.0.0.0", pod.status.pod_ip)
        return env

    def _start(self, key: str, pod) -> None:
        container = pod.spec.containers[0]
        env = self._env(pod, container)
        home = self.logs / "scratch" / key
        for vol in pod.spec.volumes or []:
            if vol.persistent_volume_claim:
                home = (
                    self.volumes / pod.metadata.namespace / vol.persistent_volume_claim.claim_name
                )
        home.mkdir(parents=True, exist_ok=True)
        env["HOME"] = str(home)
        env["JUPYTER_KF_HOME"] = str(home / ".jkf")
        # The "image's" Jupyter config: this helper runs as root, where the image would
        # run as its own user, and jupyter-server refuses root unless told.
        image_config = self.logs / "image-config"
        image_config.mkdir(parents=True, exist_ok=True)
        (image_config / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"allow_root": True}})
        )
        env["JUPYTER_CONFIG_DIR"] = str(image_config)
        env["JUPYTER_RUNTIME_DIR"] = str(home / ".runtime")
        command = list(container.command or []) + list(container.args or [])
        if (pod.metadata.annotations or {}).get(LIGHT) == "true":
            command = [sys.executable, str(Path(__file__).with_name("light_server.py"))]
        exe = shutil.which(command[0], path=env["PATH"]) or command[0]
        log = open(self.logs / f"{key.replace('/', '_')}.log", "ab")
        proc = subprocess.Popen(
            [exe, *command[1:]],
            env=env,
            cwd=home,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        with self.lock:
            self.procs[key] = (pod.metadata.uid, proc)

    def _kill(self, key: str) -> None:
        with self.lock:
            entry = self.procs.pop(key, None)
        if entry is None:
            return
        proc = entry[1]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def stop(self) -> None:
        super().stop()
        for key in list(self.procs):
            self._kill(key)


# A hub on loopback ports with its own proxy and dummy logins, whose servers outlive it
# (as on Kubernetes).
HUB_BASE = """
import json
c = get_config()  # noqa
settings = json.loads({settings!r})
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = settings["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings["hub_port"]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%d" % settings["proxy_api_port"]
c.ConfigurableHTTPProxy.command = [settings["chp"]]
c.JupyterHub.cleanup_servers = False
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
"""

HUB_CONFIG = (
    HUB_BASE
    + """
c.JupyterHub.allow_named_servers = True
c.JupyterHub.concurrent_spawn_limit = 0
c.JupyterHub.services = [{{"name": "tester", "api_token": settings["token"]}}]
c.JupyterHub.load_roles = [{{"name": "admin", "services": ["tester"]}}]
c.JupyterHub.spawner_class = "kubeflow"
c.JupyterHub.log_level = "DEBUG" if settings.get("debug") else "INFO"
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = settings.get("start_timeout", 90)
c.KubeflowSpawner.kubeconfig = settings["kubeconfig"]
c.KubeflowSpawner.hub_id = settings["hub_id"]
c.KubeflowSpawner.namespace_prefix = settings["prefix"]
c.KubeflowSpawner.storage_class = "{storage_class}"
c.KubeflowSpawner.storage_capacity = "1Gi"
c.KubeflowSpawner.image = "quay.io/jupyter/base-notebook:test"
c.KubeflowSpawner.cpu_guarantee = 0.1
c.KubeflowSpawner.mem_guarantee = "128M"
c.KubeflowSpawner.extra_annotations = {{"jupyter-kf.test/outcome": "run"}}
for key, value in settings.get("spawner", {{}}).items():
    setattr(c.KubeflowSpawner, key, value)
for key, value in settings.get("hub", {{}}).items():
    setattr(c.JupyterHub, key, value)
if settings.get("hub_connect_host"):
    # Where servers call the hub's API: pods on the real node reach the host's loopback
    # ports at the node's address. The hub and its proxy stay on loopback.
    c.KubeflowSpawner.hub_connect_url = "http://%s:%d" % (
        settings["hub_connect_host"], settings["hub_port"]
    )


def _pod_ip(spawner):
    # Test-only: a loopback address of its own for each pod (KWOK reports it as podIP).
    import hashlib
    h = hashlib.sha256(f"{{spawner.user.name}}/{{spawner.name}}".encode()).digest()
    ip = f"127.{{100 + h[0] % 100}}.{{h[1]}}.{{1 + h[2] % 254}}"
    spawner.extra_annotations = {{**spawner.extra_annotations, "{pod_ip}": ip}}


c.Spawner.pre_spawn_hook = _pod_ip
"""
)


class Hub:
    """A real JupyterHub process with the spawner, talked to through its REST API."""

    def __init__(
        self,
        workdir: Path,
        kubeconfig: str,
        *,
        hub_id: str,
        prefix: str,
        spawner: dict | None = None,
        hub: dict | None = None,
        start_timeout: int = 90,
        hub_connect_host: str | None = None,
    ):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.token = secrets.token_hex(16)
        self.settings: dict[str, Any] = {
            "port": free_port(),
            "hub_port": free_port(),
            "proxy_api_port": free_port(),
            "chp": str(CHP_BIN / "configurable-http-proxy"),
            "token": self.token,
            "kubeconfig": kubeconfig,
            "hub_id": hub_id,
            "prefix": prefix,
            "spawner": spawner or {},
            "hub": hub or {},
            "start_timeout": start_timeout,
            "hub_connect_host": hub_connect_host,
            "debug": bool(os.environ.get("JKF_HUB_DEBUG")),
        }
        (workdir / "jupyterhub_config.py").write_text(
            HUB_CONFIG.format(
                settings=json.dumps(self.settings), storage_class=STORAGE_CLASS, pod_ip=POD_IP
            )
        )
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.settings['port']}"
        self.api_url = f"http://127.0.0.1:{self.settings['hub_port']}/hub/api"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {self.token}"
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"hub-{self.starts}.log"

    def start(self, timeout: float = 60) -> None:
        self.starts += 1
        env = {
            **os.environ,
            "PATH": f"{CHP_BIN}:{Path(sys.executable).parent}:{os.environ['PATH']}",
        }
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyterhub"), "-f", "jupyterhub_config.py"],
            cwd=self.workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the hub exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                if self.session.get(f"{self.api_url}/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the hub did not answer in {timeout} s:\n{self.log_tail()}")

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def kill9(self) -> None:
        """SIGKILL the hub process alone (its proxy and the servers keep running)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        # the proxy, if a killed hub left it running
        pid_file = self.workdir / "jupyterhub-proxy.pid"
        if pid_file.exists():
            with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)

    # -- REST --------------------------------------------------------------------------
    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, f"{self.api_url}{path}", **kwargs)

    def add_user(self, name: str, groups: list[str] = ()) -> None:
        from urllib.parse import quote

        r = self.api("POST", f"/users/{quote(name, safe='')}")
        assert r.status_code in (201, 409), r.text
        for group in groups:
            self.api("POST", f"/groups/{quote(group, safe='')}")
            r = self.api("POST", f"/groups/{quote(group, safe='')}/users", json={"users": [name]})
            assert r.status_code == 200, r.text

    def spawn(self, user: str, server: str = "", options: dict | None = None) -> requests.Response:
        from urllib.parse import quote

        body = {"user_options": options} if options is not None else {}
        return self.api(
            "POST", f"/users/{quote(user, safe='')}/servers/{quote(server, safe='')}", json=body
        )

    def server(self, user: str, server: str = "") -> dict | None:
        from urllib.parse import quote

        r = self.api("GET", f"/users/{quote(user, safe='')}")
        r.raise_for_status()
        return (r.json().get("servers") or {}).get(server)

    def wait_ready(self, user: str, server: str = "", timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.server(user, server)
            if last and last.get("ready"):
                return last
            if last is None and time.monotonic() > deadline - timeout + 5:
                # spawn failed (the hub dropped the server): say why
                raise AssertionError(f"{user}/{server} is not spawning:\n{self.log_tail(30)}")
            time.sleep(0.5)
        raise AssertionError(
            f"{user}/{server} not ready in {timeout} s: {last}\n{self.log_tail(40)}"
        )

    def stop_server(self, user: str, server: str = "", timeout: float = 60) -> None:
        from urllib.parse import quote

        r = self.api("DELETE", f"/users/{quote(user, safe='')}/servers/{quote(server, safe='')}")
        assert r.status_code in (202, 204), r.text
        deadline = time.monotonic() + timeout
        while self.server(user, server) is not None:
            assert time.monotonic() < deadline, f"{user}/{server} did not stop"
            time.sleep(0.3)

    def progress(self, user: str, server: str = "", timeout: float = 120) -> list[dict]:
        """Every event of the spawn's progress stream (SSE), until it ends."""
        from urllib.parse import quote

        events = []
        with self.session.get(
            f"{self.api_url}/users/{quote(user, safe='')}/servers/"
            f"{quote(server, safe='')}/progress",
            stream=True,
            timeout=timeout,
        ) as r:
            r.raise_for_status()
            for line in r.iter_lines(decode_unicode=True):
                if line and line.startswith("data:"):
                    event = json.loads(line[5:])
                    events.append(event)
                    if event.get("ready") or event.get("failed"):
                        break
        return events

    def login(self, user: str) -> requests.Session:
        """A browser-like session logged in through the hub's own login form."""
        browser = requests.Session()
        browser.get(f"{self.url}/hub/login", timeout=30)
        xsrf = browser.cookies.get("_xsrf", "")
        r = browser.post(
            f"{self.url}/hub/login",
            data={"username": user, "password": "x", "_xsrf": xsrf},
            timeout=30,
            allow_redirects=False,
        )
        assert r.status_code == 302, r.text
        return browser

    def user_token(self, user: str) -> str:
        from urllib.parse import quote

        r = self.api("POST", f"/users/{quote(user, safe='')}/tokens", json={"note": "test"})
        assert r.status_code == 201, r.text
        return r.json()["token"]
