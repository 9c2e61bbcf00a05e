"""Builders and small helpers for tests against the real Kubeflow Trainer v2 and JobSet on the
tests/cluster control plane (TrainJob manifests, admission probes, env as the pod spec has it).
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from tests.support.waiting import wait_for

TRAINER, TRAINER_V = "trainer.kubeflow.org", "v1alpha1"
JOBSET, JOBSET_V = "jobset.x-k8s.io", "v1alpha2"
JOBSET_NAME = "jobset.sigs.k8s.io/jobset-name"
INDEX = "batch.kubernetes.io/job-completion-index"

# --- objects ---------------------------------------------------------------------------------


def trainjob(name: str, num_nodes: int = 1, suspend: bool = False, **trainer: Any) -> dict:
    """A TrainJob on the stock torch-distributed ClusterTrainingRuntime."""
    spec_trainer = {
        "image": "registry.invalid/train:test",
        "command": ["python", "-c", "print('hi')"],
        "numNodes": num_nodes,
        **trainer,
    }
    return {
        "apiVersion": f"{TRAINER}/{TRAINER_V}",
        "kind": "TrainJob",
        "metadata": {"name": name},
        "spec": {
            "runtimeRef": {"name": "torch-distributed"},
            "trainer": spec_trainer,
            "suspend": suspend,
        },
    }


def probe_pod(index: str, exclusive: bool = False) -> dict:
    """A pod that JobSet's pod webhooks take for one of a JobSet's (their objectSelector
    matches its label). Index "0" is a leader; with ``exclusive`` a higher index is a
    follower of an exclusive-placement JobSet, which JobSet refuses without a node selector."""
    annotations = {JOBSET_NAME: "jkf-probe", INDEX: index}
    if exclusive:
        annotations["alpha.jobset.sigs.k8s.io/exclusive-topology"] = "kubernetes.io/hostname"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "jkf-probe",
            "labels": {JOBSET_NAME: "jkf-probe"},
            "annotations": annotations,
        },
        "spec": {"containers": [{"name": "probe", "image": "registry.invalid/probe:test"}]},
    }


def dry_run_pod(api_client, namespace: str, pod: dict) -> dict:
    """Create ``pod`` with dryRun=All: admission (webhooks included) runs, nothing is stored."""
    return client.ApiClient().sanitize_for_serialization(
        client.CoreV1Api(api_client).create_namespaced_pod(namespace, pod, dry_run="All")
    )


def custom(api_client) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


def get_trainjob(api_client, namespace: str, name: str) -> dict:
    return custom(api_client).get_namespaced_custom_object(
        TRAINER, TRAINER_V, namespace, "trainjobs", name
    )


def create_trainjob(api_client, namespace: str, body: dict) -> dict:
    return custom(api_client).create_namespaced_custom_object(
        TRAINER, TRAINER_V, namespace, "trainjobs", body
    )


def patch_trainjob(api_client, namespace: str, name: str, patch: dict) -> dict:
    return custom(api_client).patch_namespaced_custom_object(
        TRAINER, TRAINER_V, namespace, "trainjobs", name, patch
    )


def conditions(obj: dict) -> dict[str, dict]:
    return {c["type"]: c for c in obj.get("status", {}).get("conditions", [])}


def api_error(call) -> client.ApiException:
    with pytest.raises(client.ApiException) as info:
        call()
    return info.value


def env_of(container) -> dict[str, Any]:
    """name -> value, or the valueFrom source as a dict."""
    out: dict[str, Any] = {}
    for e in container.env or []:
        if e.value_from is not None:
            out[e.name] = client.ApiClient().sanitize_for_serialization(e.value_from)
        else:
            out[e.name] = e.value or ""
    return out


def jobset_pods(api_client, namespace: str, name: str, count: int) -> list[client.V1Pod]:
    """The ``count`` pods of JobSet ``name`` once all are scheduled, by completion index."""
    core = client.CoreV1Api(api_client)

    def pods():
        items = core.list_namespaced_pod(namespace, label_selector=f"{JOBSET_NAME}={name}").items
        return items if len(items) == count and all(p.spec.node_name for p in items) else None

    found = wait_for(pods, 90, 0.25, f"{count} scheduled pods of JobSet {name}")
    return sorted(found, key=lambda p: int(p.metadata.annotations[INDEX]))
