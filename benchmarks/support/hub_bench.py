"""The hub benchmarks' hubs (spawn_herd.py, idle_api_load.py): one real JupyterHub per
side — ours (``kubeflow``), the peer (KubeSpawner 7.1.0 from ``.venv-bench-hub/``) making
the same per-user objects, and the floor (a no-op spawner) — with the same configuration
and the same instrumentation (API requests counted at each hub's Kubernetes REST layer,
a 50 ms event-loop ticker), and the cluster side they run against.
"""

from __future__ import annotations

import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from kubernetes import client

from jupyter_kf.k8s.rbac import user_role, user_role_binding

from .hub_harness import (
    CHP_BIN,
    HUB_BASE,
    ROOT,
    STORAGE_CLASS,
    LightListener,
    Provisioner,
    StandIns,
    free_port,
)

PEER_VENV = ROOT / ".venv-bench-hub"
RESULTS = ROOT / "benchmarks" / "results"
PSA = {f"pod-security.kubernetes.io/{m}": "baseline" for m in ("enforce", "warn", "audit")}

INSTRUMENT = r"""
# --- benchmark instrumentation (the same for both hubs) -------------------------------
import asyncio as _asyncio, json as _json, os as _os, threading as _threading, time as _time
_STATS = _os.environ["JKF_BENCH_STATS"]
_lock = _threading.Lock()
_counts = {"requests": 0, "by": {}}
_lags = []

def _count(method, query):
    kind = "WATCH" if ("'watch', True" in query or "'watch', 'true'" in query) else method
    with _lock:
        _counts["requests"] += 1
        _counts["by"][kind] = _counts["by"].get(kind, 0) + 1

try:
    from kubernetes.client import rest as _rest
    _orig = _rest.RESTClientObject.request
    def _request(self, method, url, *a, **k):
        _count(method, str(k.get("query_params")))
        return _orig(self, method, url, *a, **k)
    _rest.RESTClientObject.request = _request
except ImportError:
    pass
try:
    from kubernetes_asyncio.client import rest as _arest
    _aorig = _arest.RESTClientObject.request
    async def _arequest(self, method, url, *a, **k):
        _count(method, str(k.get("query_params")))
        return await _aorig(self, method, url, *a, **k)
    _arest.RESTClientObject.request = _arequest
except ImportError:
    pass

async def _lag_monitor():
    loop = _asyncio.get_running_loop()
    while True:
        t = loop.time()
        await _asyncio.sleep(0.05)
        _lags.append(max(0.0, loop.time() - t - 0.05))

def _dump():
    while True:
        _time.sleep(0.5)
        with _lock:
            data = {"requests": _counts["requests"], "by": dict(_counts["by"]), "lags": list(_lags)}
        with open(_STATS + ".tmp", "w") as f:
            _json.dump(data, f)
        _os.replace(_STATS + ".tmp", _STATS)

_threading.Thread(target=_dump, daemon=True).start()
_asyncio.get_running_loop().create_task(_lag_monitor())
if _os.environ.get("JKF_BENCH_DEBUG"):  # name what blocks the loop
    import logging as _logging
    _logging.basicConfig(level=_logging.WARNING)
    _asyncio.get_running_loop().set_debug(True)
    _asyncio.get_running_loop().slow_callback_duration = 0.1
"""

COMMON = (
    HUB_BASE
    + r"""
S = settings
c.JupyterHub.concurrent_spawn_limit = 0
c.JupyterHub.active_server_limit = 0
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}
c.JupyterHub.services = [{{"name": "bench", "api_token": S["token"]}}]
c.JupyterHub.load_roles = [{{"name": "admin", "services": ["bench"]}}]
c.JupyterHub.log_level = "WARN"
c.Spawner.start_timeout = 1800  # a 1,000-user herd's last spawns start late on 2 cores
c.Spawner.http_timeout = 120
if S.get("db_url"):
    c.JupyterHub.db_url = S["db_url"]

"""
)


def pod_ip(user: str, server: str = "") -> str:
    """The stand-in server's loopback IP for a user's server (KWOK reports it as the IP of
    the pod annotated with it; ``StandIns`` answers there). Its source goes into the hubs'
    config too."""
    import hashlib

    h = hashlib.sha256(f"{user}/{server}".encode()).digest()
    return f"127.{100 + h[0] % 100}.{h[1]}.{1 + h[2] % 254}"


POD_IP = (
    "\n"
    + inspect.getsource(pod_ip)
    + r"""

def _pod_ip(spawner):
    ip = pod_ip(spawner.user.name, spawner.name)
    spawner.extra_annotations = {**spawner.extra_annotations, "jupyter-kf.test/pod-ip": ip}


c.Spawner.pre_spawn_hook = _pod_ip
"""
)

OURS = r"""
c.JupyterHub.spawner_class = "kubeflow"
c.KubeflowSpawner.kubeconfig = S["kubeconfig"]
c.KubeflowSpawner.hub_id = S["hub_id"]
c.KubeflowSpawner.namespace_prefix = S["prefix"]
if S["shared_namespace"]:
    c.KubeflowSpawner.namespace_mode = "shared"
    c.KubeflowSpawner.namespace = S["shared_namespace"]
c.KubeflowSpawner.storage_class = S["storage_class"]
c.KubeflowSpawner.storage_capacity = "1Gi"
c.KubeflowSpawner.image = "quay.io/jupyter/base-notebook:bench"
c.KubeflowSpawner.cpu_guarantee = 0.01
c.KubeflowSpawner.mem_guarantee = "16M"
c.KubeflowSpawner.extra_annotations = {"jupyter-kf.test/outcome": "run"}
c.KubeflowSpawner.extra_labels = {"jupyter-kf.test/bench": "1"}  # not the tests' kubelet's
c.KubeflowSpawner.k8s_api_threads = 8
"""

PEER = r'''
import asyncio
from kubespawner import KubeSpawner
from kubespawner.clients import shared_client
from kubernetes_asyncio.client.rest import ApiException


class PeerSpawner(KubeSpawner):
    """KubeSpawner making the same per-user objects as ours: with its namespace, the
    user's ServiceAccount, the jupyter-kf Role and the RoleBinding (409 = exists)."""

    async def _ensure_namespace(self):
        await super()._ensure_namespace()
        rbac = shared_client("RbacAuthorizationV1Api")
        ns, sa = self.namespace, self._expand_all(self.service_account)
        role = dict(S["role"], metadata=dict(S["role"]["metadata"], namespace=ns))
        binding = json.loads(json.dumps(S["binding"]).replace("__NS__", ns).replace("__SA__", sa))

        async def ok409(coro):
            try:
                await coro
            except ApiException as e:
                if e.status != 409:
                    raise
        await asyncio.gather(
            ok409(self.api.create_namespaced_service_account(ns, {"metadata": {"name": sa}})),
            ok409(rbac.create_namespaced_role(ns, role)),
            ok409(rbac.create_namespaced_role_binding(ns, binding)))


c.JupyterHub.spawner_class = PeerSpawner
if S["shared_namespace"]:
    c.KubeSpawner.namespace = S["shared_namespace"]
    c.KubeSpawner.service_account = None  # no per-user step in a shared namespace
else:
    c.KubeSpawner.enable_user_namespaces = True
    c.KubeSpawner.user_namespace_template = S["prefix"] + "{username}"
c.KubeSpawner.user_namespace_labels = dict(S["psa"], **{"jupyter-kf.io/hub": S["hub_id"]})
c.KubeSpawner.storage_pvc_ensure = True
c.KubeSpawner.pvc_name_template = "claim-{user_server}"
c.KubeSpawner.storage_class = S["storage_class"]
c.KubeSpawner.storage_capacity = "1Gi"
c.KubeSpawner.volumes = [{"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}]
c.KubeSpawner.volume_mounts = [{"name": "home", "mountPath": "/home/jovyan"}]
if not S["shared_namespace"]:
    c.KubeSpawner.service_account = "jupyter-{username}"
c.KubeSpawner.automount_service_account_token = True
c.KubeSpawner.image = "quay.io/jupyter/base-notebook:bench"
c.KubeSpawner.cpu_guarantee = 0.01
c.KubeSpawner.mem_guarantee = "16M"
c.KubeSpawner.fs_gid = 100
c.KubeSpawner.port = 8888
c.KubeSpawner.extra_labels = {"jupyter-kf.io/hub": S["hub_id"], "jupyter-kf.test/bench": "1"}
# KubeSpawner's defaults (3 s per request, 30 s of retries) fail every spawn of a 200-user
# herd on this 2-core test cluster ("failed to start in 600 seconds" after ~10 s): give it
# the patience ours has (5 s connect / 30 s read per request, retried while the API is away).
c.KubeSpawner.k8s_api_request_timeout = 30
c.KubeSpawner.k8s_api_request_retry_timeout = 120
c.KubeSpawner.extra_annotations = {"jupyter-kf.test/outcome": "run"}
'''


FLOOR = r'''
from jupyterhub.spawner import Spawner


class FloorSpawner(Spawner):
    """No Kubernetes work: the server is the stand-in the benchmark already answers at
    the user's pod IP (the benchmark's floor, JupyterHub's own per-spawn work)."""
    extra_annotations = {}

    async def start(self):
        return "http://%s:8888" % self.extra_annotations["jupyter-kf.test/pod-ip"]

    async def poll(self):
        return None

    async def stop(self, now=False):
        pass


c.JupyterHub.spawner_class = FloorSpawner
'''

SIDES = {"ours": OURS, "peer": PEER, "floor": FLOOR}


class BenchHub:
    def __init__(
        self,
        side: str,
        workdir: Path,
        kubeconfig: str,
        *,
        shared_namespace: str = "",
        db_dir: Path | None = None,
    ):
        """``db_dir``: where the hub keeps its sqlite database (default: ``workdir``)."""
        self.side = side
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.hub_id = f"b{uuid.uuid4().hex[:7]}"
        self.prefix = f"{self.hub_id}-"
        self.token = uuid.uuid4().hex
        self.stats = workdir / "stats.json"
        binding = user_role_binding("__NS__", "__SA__")
        settings = {
            "port": free_port(),
            "hub_port": free_port(),
            "proxy_api_port": free_port(),
            "chp": str(CHP_BIN / "configurable-http-proxy"),
            "token": self.token,
            "kubeconfig": kubeconfig,
            "hub_id": self.hub_id,
            "prefix": self.prefix,
            "storage_class": STORAGE_CLASS,
            "psa": PSA,
            "role": user_role("__NS__"),
            "binding": binding,
            "shared_namespace": shared_namespace,
            "db_url": f"sqlite:///{db_dir / 'jupyterhub.sqlite'}" if db_dir else "",
        }
        config = COMMON.format(settings=json.dumps(settings)) + POD_IP + SIDES[side] + INSTRUMENT
        (workdir / "jupyterhub_config.py").write_text(config)
        self.bin = PEER_VENV / "bin" if side == "peer" else Path(sys.executable).parent
        self.api_url = f"http://127.0.0.1:{settings['hub_port']}/hub/api"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {self.token}"
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=64)
        self.session.mount("http://", adapter)
        self.kubeconfig = kubeconfig
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "PATH": f"{CHP_BIN}:{self.bin}:{os.environ['PATH']}",
            "KUBECONFIG": self.kubeconfig,
            "JKF_BENCH_STATS": str(self.stats),
        }
        log = open(self.workdir / "hub.log", "ab")
        self.proc = subprocess.Popen(
            [str(self.bin / "jupyterhub"), "-f", "jupyterhub_config.py"],
            cwd=self.workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.side} hub exited; see {self.workdir / 'hub.log'}")
            try:
                if self.session.get(f"{self.api_url}/", timeout=2).ok and self.stats.exists():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.side} hub did not start; see {self.workdir / 'hub.log'}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def read_stats(self) -> dict:
        for _ in range(20):
            try:
                return json.loads(self.stats.read_text())
            except (OSError, ValueError):
                time.sleep(0.1)
        raise RuntimeError("no stats from the hub")

    def add_users(self, names: list[str]) -> None:
        for i in range(0, len(names), 100):
            r = self.session.post(
                f"{self.api_url}/users", json={"usernames": names[i : i + 100]}, timeout=60
            )
            assert r.status_code in (201, 409), r.text

    def spawn_all(self, names: list[str]) -> None:
        def one(name):
            r = self.session.post(f"{self.api_url}/users/{name}/server", json={}, timeout=120)
            # 400: already pending or running (a retried batch)
            assert r.status_code in (201, 202, 400), r.text

        with ThreadPoolExecutor(32) as pool:
            list(pool.map(one, names))

    def is_ready(self, name: str) -> bool:
        r = self.session.get(f"{self.api_url}/users/{name}", timeout=60)
        return bool(((r.json().get("servers") or {}).get("") or {}).get("ready"))

    def users(self) -> list[dict]:
        out, offset = [], 0
        while True:
            page = self.session.get(
                f"{self.api_url}/users", params={"offset": offset, "limit": 200}, timeout=60
            ).json()
            out.extend(page)
            if len(page) < 200:
                return out
            offset += len(page)

    def wait_all_ready(self, names: list[str], timeout: float) -> float:
        wanted = set(names)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            users = self.users()
            ready = {u["name"] for u in users if (u.get("servers") or {}).get("", {}).get("ready")}
            if wanted <= ready:
                return time.monotonic()
            failed = [
                u["name"]
                for u in users
                if u["name"] in wanted and not u.get("servers") and u.get("pending") is None
            ]
            if failed and time.monotonic() > deadline - timeout + 30:
                raise RuntimeError(
                    f"{self.side}: {len(failed)} spawns failed, e.g. {failed[:3]}; "
                    f"see {self.workdir / 'hub.log'}"
                )
            time.sleep(0.5)
        raise RuntimeError(f"{self.side}: not every server ready in {timeout} s")


class ClusterSide:
    """The cluster, the test StorageClass's provisioner, in-process stand-in servers, and
    extra KWOK nodes so hundreds of pods fit."""

    def __init__(self, nodes: int = 0, pods_per_node: int = 250):
        self.kubeconfig = os.environ.get("JKF_CLUSTER_KUBECONFIG") or str(
            ROOT / "tests/cluster/.run/admin.kubeconfig"
        )
        if not Path(self.kubeconfig).exists():
            subprocess.run(["bash", str(ROOT / "tests/cluster/up.sh")], check=True)
        from kubernetes import config

        self.api = config.new_client_from_config(self.kubeconfig)
        self.core = client.CoreV1Api(self.api)
        self.tmp = Path(tempfile.mkdtemp(prefix="jkf-bench-"))
        self.provisioner = Provisioner(self.api, self.tmp / "volumes")
        self.provisioner.ensure_class()
        self.provisioner.start()
        self.listener = LightListener()
        # both hubs' pods carry these labels (KubeSpawner's and ours); a test hub's pods
        # beside a benchmark do not, and are left to the tests' own kubelet
        self.stand_ins = StandIns(
            self.api,
            self.listener,
            "app.kubernetes.io/component=singleuser-server,jupyter-kf.test/bench=1",
        )
        self.stand_ins.start()
        self.nodes = [f"kwok-bench-{i}" for i in range(nodes)]
        for i, name in enumerate(self.nodes):
            res = {
                "cpu": "64",
                "memory": "256Gi",
                "pods": str(pods_per_node),
                "ephemeral-storage": "100Gi",
            }
            body = {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "annotations": {
                        "kwok.x-k8s.io/node": "fake",
                        "node.alpha.kubernetes.io/ttl": "0",
                    },
                    "labels": {"kubernetes.io/hostname": name, "type": "kwok-bench"},
                },
                "spec": {"podCIDR": f"10.245.{i}.0/24", "podCIDRs": [f"10.245.{i}.0/24"]},
                "status": {"allocatable": res, "capacity": res},
            }
            try:
                self.core.create_node(body)
            except client.ApiException as exc:
                if exc.status != 409:
                    raise

    def clean(self, prefix: str, shared_namespace: str = "") -> None:
        """Delete a round's namespaces (and so everything in them) and wait until gone."""
        names = [
            n.metadata.name
            for n in self.core.list_namespace().items
            if n.metadata.name.startswith(prefix) or n.metadata.name == shared_namespace
        ]
        for name in names:
            try:
                self.core.delete_namespace(name)
            except client.ApiException:
                pass
        # The namespace controller deletes about one namespace every 2 s here (its client's
        # default 20 requests/s, ~40 requests per namespace): 1,000 take half an hour. The
        # wait reads the list as raw JSON: the client's models for 1,000 namespaces every
        # 2 s kept a core a third busy on this shared machine.
        deadline = time.monotonic() + 3600
        wanted = set(names)
        while time.monotonic() < deadline:
            listed = json.loads(self.core.list_namespace(_preload_content=False).data)
            if not any(n["metadata"]["name"] in wanted for n in listed["items"]):
                break
            time.sleep(5)
        for pv in self.core.list_persistent_volume().items:
            ref = pv.spec.claim_ref
            if ref is not None and (ref.namespace or "") in names:
                try:
                    self.core.delete_persistent_volume(pv.metadata.name)
                except client.ApiException:
                    pass

    def close(self) -> None:
        for name in self.nodes:
            try:
                self.core.delete_node(name)
            except client.ApiException:
                pass
        self.stand_ins.stop()
        self.provisioner.stop()


def require_peer() -> None:
    """Exit with the install command when KubeSpawner's hub is not in .venv-bench-hub/."""
    if not (PEER_VENV / "bin" / "jupyterhub").exists():
        sys.exit(
            "the peer is not installed: python3 -m venv .venv-bench-hub && "
            ".venv-bench-hub/bin/pip install -r benchmarks/requirements-kubespawner.txt"
        )


def p99(values: list[float]) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(0.99 * (len(values) - 1))))]


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}
