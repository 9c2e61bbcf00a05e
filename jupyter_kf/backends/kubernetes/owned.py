"""A job's code ConfigMap, owned by the job it was made for.

The ownerReference names the job as the API server returned it on creation (its uid is
known only then), so the cluster's garbage collector removes the ConfigMap with the job; a
ConfigMap cannot be made beside its job in parallel: a reference to a uid that does not
exist yet would have the collector delete it at once.
"""

from __future__ import annotations

from typing import Any

from ...k8s import call


def create_owned_configmap(core: Any, namespace: str, configmap: dict, owner: dict) -> None:
    """Create ``configmap`` in ``namespace``, owned by ``owner`` (the created job's object).
    Leaves ``configmap`` as it is."""
    meta = configmap["metadata"]
    body = {
        **configmap,
        "metadata": {
            **meta,
            "namespace": namespace,
            "ownerReferences": [
                {
                    "apiVersion": owner["apiVersion"],
                    "kind": owner["kind"],
                    "name": owner["metadata"]["name"],
                    "uid": owner["metadata"]["uid"],
                }
            ],
        },
    }
    call(
        core.create_namespaced_config_map,
        *(namespace, body),
        verb="create",
        resource="configmaps",
        namespace=namespace,
        name=meta["name"],
        raw=True,
    )
