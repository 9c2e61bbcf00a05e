"""A second, bare API server for tests that need a cluster serving other APIs than the
shared one: etcd and kube-apiserver from the same binaries and test CA as tests/cluster,
on free loopback ports, with no controllers and no CRDs until a test applies some.

It starts in a few seconds, shares nothing with the running control plane but its
certificates (the same admin client certificate works on both), and is stopped and its
data removed when the ``with`` block ends.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import yaml
from kubernetes import client, config

from tests.cluster.plugin import Cluster

VERSIONS = Path(__file__).resolve().parent / "trainer" / "versions.env"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def crd_dirs(cluster: Cluster) -> dict[str, list[Path]]:
    """The CRD folders tests/cluster installs: "v1" (the training operator's) and "v2"
    (JobSet's, then the Trainer's), from its build cache."""
    if cluster.bin_dir is None:
        raise RuntimeError("needs a cluster started by tests/cluster/up.sh on this machine")
    cache = cluster.bin_dir.parent.parent
    text = VERSIONS.read_text()
    tv, jv = (
        re.search(rf"^{k}=(\S+)", text, re.M).group(1)  # type: ignore[union-attr]
        for k in ("TRAINER_VERSION", "JOBSET_VERSION")
    )
    trainer = cache / f"trainer-{tv}_jobset-{jv}" / "manifests"
    return {
        "v1": [cluster.bin_dir.parent / "manifests" / "training-operator" / "crds"],
        "v2": [trainer / "jobset" / "crds", trainer / "trainer" / "crds"],
    }


class BareApiServer:
    def __init__(self, cluster: Cluster, workdir: Path):
        if cluster.bin_dir is None or cluster.state_dir is None:
            raise RuntimeError("needs a cluster started by tests/cluster/up.sh on this machine")
        self.cluster = cluster
        self.workdir = workdir
        self.pki = cluster.state_dir / "pki"
        self.port = _free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []
        self.kubeconfig = workdir / "admin.kubeconfig"

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        with open(self.workdir / f"{name}.log", "wb") as log:  # the child keeps its own copy
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        self.procs.append(proc)
        return proc

    def start(self, timeout: float = 90.0) -> None:
        bin_dir = self.cluster.bin_dir
        assert bin_dir is not None
        client_port, peer_port = _free_port(), _free_port()
        self._spawn(
            "etcd",
            [
                str(bin_dir / "etcd"),
                "--name=bare",
                f"--data-dir={self.workdir / 'etcd'}",
                "--log-level=warn",
                f"--listen-client-urls=http://127.0.0.1:{client_port}",
                f"--advertise-client-urls=http://127.0.0.1:{client_port}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=bare=http://127.0.0.1:{peer_port}",
                "--listen-metrics-urls=http://127.0.0.1:0",
                "--unsafe-no-fsync",
            ],
        )
        pki = self.pki
        self._spawn(
            "kube-apiserver",
            [
                str(bin_dir / "kube-apiserver"),
                "--advertise-address=127.0.0.1",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.port}",
                f"--etcd-servers=http://127.0.0.1:{client_port}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                f"--service-account-issuer={self.url}",
                "--service-cluster-ip-range=10.97.0.0/16",
                "--endpoint-reconciler-type=none",
                "--authorization-mode=RBAC",
                "--profiling=false",
            ],
        )
        admin = yaml.safe_load(self.cluster.kubeconfig.read_text())
        admin["clusters"][0]["cluster"]["server"] = self.url
        self.kubeconfig.write_text(yaml.safe_dump(admin))
        deadline = time.monotonic() + timeout
        while not self._ready():
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args[0]} exited: see {self.workdir}/*.log")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the bare API server is not ready in {timeout} s")
            time.sleep(0.3)

    def _ready(self) -> bool:
        with contextlib.closing(self.client()) as api:
            try:
                resp = api.call_api(
                    "/readyz",
                    "GET",
                    auth_settings=[],
                    _preload_content=False,
                    _return_http_data_only=True,
                    _request_timeout=2,
                )
                return bool(resp.status == 200)
            except Exception:
                return False

    def client(self) -> client.ApiClient:
        """An admin ApiClient for this API server (close it when done)."""
        return config.new_client_from_config(str(self.kubeconfig))

    def apply_crds(self, *dirs: Path, timeout: float = 60.0) -> set[str]:
        """Create every CRD in ``dirs`` and wait until each is Established; their names."""
        ext = client.ApiextensionsV1Api(api := self.client())
        names: set[str] = set()
        try:
            for d in dirs:
                for path in sorted(d.glob("*.yaml")):
                    for doc in yaml.safe_load_all(path.read_text()):
                        if doc and doc.get("kind") == "CustomResourceDefinition":
                            ext.create_custom_resource_definition(doc)
                            names.add(doc["metadata"]["name"])
            deadline = time.monotonic() + timeout
            for name in names:
                while not any(
                    c.type == "Established" and c.status == "True"
                    for c in ext.read_custom_resource_definition(name).status.conditions or ()
                ):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"CRD {name} not Established in {timeout} s")
                    time.sleep(0.2)
        finally:
            api.close()
        return names

    def stop(self) -> None:
        for proc in reversed(self.procs):  # the API server before its etcd
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.workdir / "etcd", ignore_errors=True)


@contextlib.contextmanager
def bare_apiserver(cluster: Cluster, workdir: Path) -> Iterator[BareApiServer]:
    server = BareApiServer(cluster, workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
