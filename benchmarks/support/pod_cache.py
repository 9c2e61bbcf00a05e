"""The memory a hub's shared pod cache holds per 1,000 pods: ours (``PodWatch``, slimmed
pod JSON) and KubeSpawner 7.1.0's (its ``PodReflector``, the API's pod JSON as listed),
weighed the same way over the same pods: tracemalloc's growth across the one list that
fills the cache, after a first list has warmed the connection and first-use allocations.
The peer's side runs in its own environment (``.venv-bench-hub/``, kubernetes_asyncio).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import tracemalloc

from kubernetes import client

from .hub_bench import PEER_VENV

PEER_SCRIPT = r"""
import asyncio, gc, json, sys, tracemalloc
from kubernetes_asyncio import config
from kubespawner.reflector import ResourceReflector

class Pods(ResourceReflector):
    kind = "pods"

async def main(namespace, labels):
    await config.load_kube_config()
    cache = Pods(namespace=namespace, labels=labels, omit_namespace=not namespace)
    await cache._list_and_update()  # warm: connection, TLS, first-use allocations
    cache.resources = {}
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    await cache._list_and_update()
    gc.collect()
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(base, "filename"))
    print(json.dumps({"pods": len(cache.resources), "bytes": grown}))
    await cache.api.api_client.close()

asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
"""


def ours(api: client.ApiClient, selector: str, namespace: str | None) -> dict:
    """Our cache's bytes per 1,000 pods over the pods ``selector`` picks."""
    from jupyter_kf.hub.watch import PodWatch
    from jupyter_kf.k8s.api import DEFAULT_POLICY

    watch = PodWatch(api, label_selector=selector, pod_prefix="jupyter-", namespace=namespace)
    watch.pods._relist(DEFAULT_POLICY)  # warm: connection, TLS, first-use allocations
    watch.pods._store = {}
    api.last_response = None
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    watch.pods._relist(DEFAULT_POLICY)  # the list that fills the cache
    api.last_response = None  # the client keeps the last raw body: not the cache's
    gc.collect()
    count = len(watch.pods._store)
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(base, "filename"))
    tracemalloc.stop()
    return {"pods": count, "bytes_per_1000_pods": grown / max(count, 1) * 1000}


def peer(kubeconfig: str, selector: str, namespace: str | None) -> dict:
    """KubeSpawner's pod reflector's bytes per 1,000 pods over the same pods."""
    labels = dict(kv.split("=", 1) for kv in selector.split(","))
    out = subprocess.run(
        [str(PEER_VENV / "bin" / "python"), "-c", PEER_SCRIPT, namespace or "", json.dumps(labels)],
        env={**os.environ, "KUBECONFIG": kubeconfig},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "pods": found["pods"],
        "bytes_per_1000_pods": found["bytes"] / max(found["pods"], 1) * 1000,
    }
