"""What the hub benchmarks (spawn_herd.py, idle_api_load.py) run beside the real control
plane: the test StorageClass's provisioner, and stand-in servers for the hub's pods (the
hubs themselves are in hub_bench.py).

tests/hub/harness.py has the tests' own versions (its kubelet starts a real
jupyterhub-singleuser per pod); these are kept apart on purpose, so a benchmark imports
nothing from tests/, and they stay small:

- ``Provisioner``: the test cluster has no storage driver. Home PVCs of the StorageClass
  ``jkf-test-local`` (``volumeBindingMode: Immediate``, no provisioner) get a hostPath
  PersistentVolume pre-bound through ``claimRef``; the real PV controller binds them.
- ``StandIns``: KWOK marks pods Running and, with the ``jupyter-kf.test/pod-ip``
  annotation, gives each a loopback IP; for every Running pod this answers HTTP at that
  IP and the container's port from one asyncio loop in this process (hundreds of
  servers without a process each). The hub only checks that a server answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from pathlib import Path
from typing import Any

from kubernetes import client, watch

ROOT = Path(__file__).resolve().parents[2]
# JupyterHub's proxy from npm, installed where the hub tests install it:
# `make tests/hub/node_modules/.bin/configurable-http-proxy`.
CHP_BIN = ROOT / "tests" / "hub" / "node_modules" / ".bin"
STORAGE_CLASS = "jkf-test-local"

# A hub on loopback ports with its own proxy and dummy logins, whose servers outlive it
# (as on Kubernetes); every benchmark hub's config starts with it (``settings`` is the
# JSON the benchmark formats in).
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Loop(threading.Thread):
    """A watch loop that outlives API server outages."""

    def __init__(self, name: str):
        super().__init__(name=name, daemon=True)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.loop()
            except Exception:
                self.stopping.wait(1.0)

    def loop(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.stopping.set()


class Provisioner(_Loop):
    def __init__(self, api: client.ApiClient, root: Path):
        super().__init__("bench-provisioner")
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
        listing = self.core.list_persistent_volume_claim_for_all_namespaces()
        for pvc in listing.items:
            self._provide(pvc)
        for event in watch.Watch().stream(
            self.core.list_persistent_volume_claim_for_all_namespaces,
            resource_version=listing.metadata.resource_version,
            timeout_seconds=60,
        ):
            if self.stopping.is_set():
                return
            if event["type"] in ("ADDED", "MODIFIED"):
                self._provide(event["object"])

    def _provide(self, pvc: Any) -> None:
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


class LightListener:
    """Many stand-in servers in one thread, each answering every request with 200."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.servers: dict[str, asyncio.Server] = {}
        threading.Thread(target=self.loop.run_forever, name="light-listener", daemon=True).start()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                body = b'{"version": "stand-in"}'
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
        except Exception:
            pass  # the client went away
        finally:
            writer.close()

    def add(self, key: str, host: str, port: int) -> None:
        async def start() -> asyncio.Server:
            return await asyncio.start_server(self._handle, host, port, reuse_address=True)

        self.servers[key] = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def remove(self, key: str) -> None:
        server = self.servers.pop(key, None)
        if server is not None:
            self.loop.call_soon_threadsafe(server.close)


class StandIns(_Loop):
    """A stand-in server (on ``listener``) for every Running pod that ``selector`` picks,
    at the pod's IP and container port, gone when the pod goes."""

    def __init__(self, api: client.ApiClient, listener: LightListener, selector: str):
        super().__init__("bench-stand-ins")
        self.core = client.CoreV1Api(api)
        self.listener = listener
        self.selector = selector
        self.uids: dict[str, str] = {}  # ns/name -> uid of the pod its stand-in serves
        self.lock = threading.Lock()

    def loop(self) -> None:
        listing = self.core.list_pod_for_all_namespaces(label_selector=self.selector)
        seen = set()
        for pod in listing.items:
            seen.add(f"{pod.metadata.namespace}/{pod.metadata.name}")
            self._sync(pod)
        with self.lock:
            gone = [k for k in self.uids if k not in seen]
        for key in gone:
            self._remove(key)
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
                self._remove(key)
            else:
                self._sync(pod)

    def _sync(self, pod: Any) -> None:
        key = f"{pod.metadata.namespace}/{pod.metadata.name}"
        with self.lock:
            uid = self.uids.get(key)
        if uid == pod.metadata.uid:
            return
        if uid is not None:
            self._remove(key)
        if pod.status.phase != "Running" or not pod.status.pod_ip:
            return
        if pod.metadata.deletion_timestamp:
            return
        port = (pod.spec.containers[0].ports or [None])[0]
        self.listener.add(key, pod.status.pod_ip, port.container_port if port else 8888)
        with self.lock:
            self.uids[key] = pod.metadata.uid

    def _remove(self, key: str) -> None:
        with self.lock:
            uid = self.uids.pop(key, None)
        if uid is not None:
            self.listener.remove(key)

    def stop(self) -> None:
        super().stop()
        for key in list(self.uids):
            self._remove(key)
