"""Fixtures for tests/hub: the real hub on the real control plane (see harness.py)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client

from tests.cluster.plugin import REAL_NODE, REAL_NODE_ANNOTATIONS, require_real_node
from tests.support.images import PYTHON_IMAGE

from .harness import CHP_BIN, Hub, Kubelet, Provisioner


@pytest.fixture(scope="session")
def node_side(cluster, tmp_path_factory) -> Iterator[dict]:
    """The test StorageClass with its provisioner, and the process-running kubelet."""
    if not (CHP_BIN / "configurable-http-proxy").exists():
        pytest.fail(
            "JupyterHub's proxy is not installed: run `make tests/hub/node_modules/.bin/configurable-http-proxy`"
        )
    api = cluster.admin_client()
    root = tmp_path_factory.mktemp("hub-node")
    provisioner = Provisioner(api, root / "volumes")
    provisioner.ensure_class()
    provisioner.start()
    kubelet = Kubelet(api, root / "volumes", root / "pods")
    kubelet.start()
    yield {"api": api, "kubelet": kubelet, "provisioner": provisioner, "root": root}
    kubelet.stop()
    provisioner.stop()
    api.close()


@pytest.fixture
def hub_factory(cluster, node_side, tmp_path) -> Iterator:
    """``hub_factory(spawner={...}, hub={...})`` -> a started ``Hub`` of its own: its own
    label (so its watch sees only its pods) and namespace prefix. Everything it made in the
    cluster is deleted afterwards."""
    hubs: list[Hub] = []
    core = client.CoreV1Api(node_side["api"])

    def factory(*, start: bool = True, **kwargs) -> Hub:
        hub_id = f"t{uuid.uuid4().hex[:8]}"
        hub = Hub(
            tmp_path / f"hub-{len(hubs)}",
            str(cluster.kubeconfig),
            hub_id=hub_id,
            prefix=f"{hub_id}-",
            **kwargs,
        )
        hubs.append(hub)
        if start:
            hub.start()
        return hub

    yield factory
    for hub in hubs:
        hub.stop()
    for hub in hubs:
        selector = f"jupyter-kf.io/hub={hub.settings['hub_id']}"
        with contextlib.suppress(Exception):
            for ns in core.list_namespace(label_selector=selector).items:
                core.delete_namespace(ns.metadata.name)
            for pod in core.list_pod_for_all_namespaces(label_selector=selector).items:
                core.delete_namespaced_pod(
                    pod.metadata.name, pod.metadata.namespace, grace_period_seconds=0
                )
            for pv in core.list_persistent_volume().items:
                ref = pv.spec.claim_ref
                if (
                    ref is not None
                    and ref.namespace
                    and ref.namespace.startswith(hub.settings["prefix"])
                ):
                    core.delete_persistent_volume(pv.metadata.name)


@pytest.fixture
def hub(hub_factory) -> Hub:
    return hub_factory()


@pytest.fixture
def realnode_hub_factory(request, hub_factory, admin_api):
    """``realnode_hub_factory(spawner={...}, **hub_kwargs)`` -> a started ``Hub`` whose users'
    pods run on the real node (tests/cluster/node): real ``jupyterhub-singleuser`` processes
    in containers, on their pod IPs. Marker ``realpods``; fails when the node is not Ready.

    Only real JupyterHub and spawner settings make that so: the spawner's namespaces carry
    the real node's admission annotations (``namespace_annotations``), the servers call
    the hub at the node's address (``Spawner.hub_connect_url``; the node forwards it to the
    hub's loopback port), and the KWOK-only
    settings of ``HUB_CONFIG`` (the pod-IP hook, the outcome annotation) are switched off.
    """
    require_real_node(request, admin_api)
    node = client.CoreV1Api(admin_api).read_node(REAL_NODE)
    node_ip = next(a.address for a in node.status.addresses if a.type == "InternalIP")

    def factory(*, spawner: dict | None = None, **kwargs) -> Hub:
        extra = dict(spawner or {})
        settings = {
            "image": PYTHON_IMAGE,
            "namespace_annotations": REAL_NODE_ANNOTATIONS,
            "extra_annotations": {},
            "pre_spawn_hook": None,
            "working_dir": "/home/jovyan",
            # The test image has no user of its own that may run the host's Python (it is
            # mounted under /root, mode 0700 in the image), so the server runs as root,
            # which Jupyter Server refuses unless told.
            "args": ["--ServerApp.allow_root=True", *extra.pop("args", [])],
            **extra,
        }
        kwargs.setdefault("start_timeout", 240)
        return hub_factory(spawner=settings, hub_connect_host=node_ip, **kwargs)

    return factory
