"""Any job's spec is read back from the cluster (its CR, with its code inline or in its
ConfigMap): a job a notebook submitted, seen from a fresh client, and a job made with
kubectl; so a clone of either runs again."""

from __future__ import annotations

import dataclasses

import pytest
from kubernetes import client as k8s

from jupyter_kf import Client
from jupyter_kf.backends.kubernetes import KubernetesBackend
from jupyter_kf.jobs import Code, JobSpec
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster]


def test_a_fresh_client_reads_back_the_spec_with_its_code(user):
    spec = JobSpec.create(
        "pytorch",
        name="orig",
        workers=2,
        code=Code(
            "import m\nprint(m.x)\n", files={"m.py": "x = 1\n"}, args=("--a",), origin="file"
        ),
        env={"A": "1"},
    )
    user.client.submit(spec)
    fresh = Client(KubernetesBackend(api_client=user.api, namespace=user.namespace))
    try:
        got = fresh.get("orig").spec
        assert got is not None
        assert got == dataclasses.replace(spec, image=got.image, kind_auto=False)
        assert got.code is not None and got.code.files == {"m.py": "x = 1\n"}
        # A clone under another name runs again, with the same code.
        clone = fresh.submit(dataclasses.replace(got, name="clone"))
        assert clone.kind == "PyTorchJob"
        assert fresh.get("clone").spec.code == got.code
    finally:
        fresh.close()


def test_a_job_made_with_kubectl_reads_back_its_command(user, admin_api):
    cr = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "TFJob",
        "metadata": {"name": "byhand", "labels": {"team": "b"}},
        "spec": {
            "tfReplicaSpecs": {
                "Worker": {
                    "replicas": 2,
                    "template": {
                        "spec": {
                            "containers": [
                                {"name": "tensorflow", "image": "tf:1", "command": ["sleep", "9"]}
                            ]
                        }
                    },
                }
            }
        },
    }
    k8s.CustomObjectsApi(admin_api).create_namespaced_custom_object(
        "kubeflow.org", "v1", user.namespace, "tfjobs", cr
    )
    spec = wait_for(lambda: user.client.get("byhand").spec, 30)
    assert (spec.kind, dict(spec.replicas), spec.command, spec.image) == (
        "TFJob",
        {"Worker": 2},
        ("sleep", "9"),
        "tf:1",
    )
    assert spec.labels == {"team": "b"}
