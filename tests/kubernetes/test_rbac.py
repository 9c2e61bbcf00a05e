"""A user's identity reaches only that user's namespace: real 403s from the API server."""

import pytest

from jupyter_kf import Client
from jupyter_kf.backends.kubernetes import KubernetesBackend
from jupyter_kf.errors import ForbiddenError
from jupyter_kf.jobs import Code, JobSpec
from tests.support.images import IMAGE

pytestmark = pytest.mark.cluster

CODE = Code("print(1)")


def test_a_user_cannot_touch_another_users_namespace(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    bob.client.submit(
        JobSpec.create(
            "pytorch",
            name="bobs",
            workers=1,
            code=CODE,
            pod_annotations={"jupyter-kf.test/outcome": "run"},
        )
    )
    # Alice's own token, aimed at Bob's namespace.
    intruder = Client(KubernetesBackend(api_client=alice.api, namespace=bob.namespace, image=IMAGE))
    calls = {
        "list": lambda: intruder.list(),
        "get": lambda: intruder.get("bobs"),
        "submit": lambda: intruder.submit(
            JobSpec.create("pytorch", name="evil", workers=1, code=CODE)
        ),
        "logs": lambda: list(intruder.logs("bobs")),
        "events": lambda: intruder.events("bobs"),
        "scale": lambda: intruder.scale("bobs", 3),
        "suspend": lambda: intruder.suspend("bobs"),
        "delete": lambda: intruder.delete("bobs"),
    }
    for verb, call in calls.items():
        with pytest.raises(ForbiddenError) as err:
            call()
        assert bob.namespace in str(err.value), verb
        assert "forbidden" in str(err.value)
    intruder.close()
    # Bob's job is untouched, and Alice works in her own namespace.
    assert bob.client.get("bobs").workers == 1
    job = alice.client.submit(JobSpec.create("pytorch", name="mine", workers=1, code=CODE))
    assert job.namespace == alice.namespace


def test_the_user_role_is_tight(make_user):
    """The same token, straight at the API: every verb in the other namespace is a 403."""
    from kubernetes import client as k8s

    alice, bob = make_user("alice"), make_user("bob")
    custom, core = k8s.CustomObjectsApi(alice.api), k8s.CoreV1Api(alice.api)
    job = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": "x"},
        "spec": {
            "pytorchReplicaSpecs": {
                "Master": {
                    "replicas": 1,
                    "template": {"spec": {"containers": [{"name": "pytorch", "image": IMAGE}]}},
                }
            }
        },
    }
    attempts = [
        lambda: custom.create_namespaced_custom_object(
            "kubeflow.org", "v1", bob.namespace, "pytorchjobs", job
        ),
        lambda: custom.list_namespaced_custom_object("kubeflow.org", "v1", bob.namespace, "tfjobs"),
        lambda: custom.patch_namespaced_custom_object(
            "kubeflow.org", "v1", bob.namespace, "pytorchjobs", "x", {}
        ),
        lambda: custom.delete_namespaced_custom_object(
            "kubeflow.org", "v1", bob.namespace, "pytorchjobs", "x"
        ),
        lambda: core.list_namespaced_pod(bob.namespace),
        lambda: core.read_namespaced_pod_log("x", bob.namespace),
        lambda: core.list_namespaced_config_map(bob.namespace),
        lambda: core.list_namespaced_secret(alice.namespace),  # not even its own Secrets
        lambda: core.list_namespace(),  # nothing cluster-wide
    ]
    for attempt in attempts:
        with pytest.raises(k8s.ApiException) as err:
            attempt()
        assert err.value.status == 403
