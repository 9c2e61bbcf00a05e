"""Scaling a TrainJob: a replacement, since Kubeflow Trainer v2 keeps ``spec.trainer``
(numNodes with it) immutable for the whole life of a TrainJob, suspended or not.

The job is deleted and made again under the same name with the same runtime, image,
command, env, resources, runtime patches and labels, and the new node count; its code
ConfigMap is made again, owned by the new TrainJob. If making the new one fails, the old one
is made again as it was, so a scale never loses the job. Training restarts from the
beginning: from its last checkpoint if the script keeps one where the new pods find it.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from ...errors import ConflictError, JupyterKFError
from ...jobs.kinds import TRAINJOB
from ...jobs.render import code_configmap_name
from ...k8s import call
from .cache import Namespace
from .owned import create_owned_configmap

# The backend's wait: until(ns, name, done(cr or None), what it waits for) -> the job.
Until = Callable[..., Any]

NOTICE = (
    "a TrainJob's number of nodes cannot change (Kubeflow Trainer v2 keeps spec.trainer "
    "immutable): the job was replaced by the same job with {nodes} nodes, so training "
    "started again from the beginning (from its last checkpoint, if your script saves one "
    "and loads it when it starts)"
)


def _fresh_manifest(cr: dict, nodes: int | None = None) -> dict:
    """``cr`` as a manifest to create again: no status, no server-set metadata."""
    meta = cr["metadata"]
    spec = copy.deepcopy(cr.get("spec") or {})
    if nodes is not None:
        spec.setdefault("trainer", {})["numNodes"] = nodes
    for patch in spec.get("runtimePatches") or ():
        patch.pop("time", None)  # the Trainer's webhook stamps it
    fresh_meta = {
        key: meta[key] for key in ("name", "namespace", "labels", "annotations") if meta.get(key)
    }
    return {
        "apiVersion": cr["apiVersion"],
        "kind": cr["kind"],
        "metadata": fresh_meta,
        "spec": spec,
    }


def replace_trainjob(until: Until, ns: Namespace, cr: dict, nodes: int) -> str:
    name, namespace = cr["metadata"]["name"], ns.namespace
    info = TRAINJOB
    where = (info.group, info.version, namespace, info.plural)
    configmap = _code_configmap(ns.core.read_namespaced_config_map, "get", ns, name)
    call(
        ns.custom.delete_namespaced_custom_object,
        *where,
        name,
        verb="delete",
        resource=info.plural,
        namespace=namespace,
        name=name,
        raw=True,
        body={"propagationPolicy": "Background"},
    )
    until(ns, f"{info.kind}/{name}", lambda c: c is None, "deleting it to replace it")
    if configmap is not None:
        # Owned by the old TrainJob: the garbage collector removes it; made again below.
        _code_configmap(ns.core.delete_namespaced_config_map, "delete", ns, name)
    try:
        _create(until, ns, _fresh_manifest(cr, nodes), configmap)
    except JupyterKFError as exc:
        try:
            _create(until, ns, _fresh_manifest(cr), configmap)
        except JupyterKFError as again:
            raise JupyterKFError(
                f"scaling {name} failed ({exc}) and making it again as it was failed too "
                f"({again}): the job is gone; submit it again"
            ) from exc
        raise JupyterKFError(
            f"scaling {name} to {nodes} nodes failed ({exc}); the job was made again with "
            "its old size and starts from the beginning"
        ) from exc
    return NOTICE.format(nodes=nodes)


def _code_configmap(method: Callable[..., Any], verb: str, ns: Namespace, job: str) -> Any:
    """``verb`` on job ``job``'s code ConfigMap; None when there is none."""
    name = code_configmap_name(job)
    return call(
        method,
        *(name, ns.namespace),
        verb=verb,
        resource="configmaps",
        namespace=ns.namespace,
        name=name,
        raw=True,
        ok=(404,),
    )


def _create(until: Until, ns: Namespace, manifest: dict, configmap: dict | None) -> None:
    info, namespace = TRAINJOB, ns.namespace
    name = manifest["metadata"]["name"]
    created = call(
        ns.custom.create_namespaced_custom_object,
        *(info.group, info.version, namespace, info.plural, manifest),
        verb="create",
        resource=info.plural,
        namespace=namespace,
        name=name,
        raw=True,
    )
    if configmap is not None:
        meta = configmap.get("metadata") or {}
        fresh = {  # what the old one held, without what the API server set on it
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": meta.get("name"), "labels": meta.get("labels") or {}},
            "data": configmap.get("data") or {},
        }
        # The old one may still be on its way out (deleted above, or by the collector).
        for _ in range(50):
            try:
                create_owned_configmap(ns.core, namespace, fresh, created)
                break
            except ConflictError:
                time.sleep(0.2)
    until(ns, f"{info.kind}/{name}", lambda c: c is not None, "making it again")
