"""A notebook user's identity with the Role from deploy/: trains through jupyter-kf in its
own namespace, and is refused another user's jobs and logs. The user's namespace,
ServiceAccount and RoleBinding are created with the hub's token, as the spawner makes them."""

from __future__ import annotations

import contextlib
import uuid

import pytest
from kubernetes import client as k8s

from jupyter_kf import Client
from jupyter_kf.backends.kubernetes import KubernetesBackend
from jupyter_kf.errors import ForbiddenError
from jupyter_kf.jobs import Code, JobSpec
from tests.support.images import IMAGE
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

LABELS = {
    "app.kubernetes.io/managed-by": "jupyter-kf-spawner",
    "pod-security.kubernetes.io/enforce": "baseline",
}


@pytest.fixture
def make_user(hub_api, admin_api, sa_client):
    core, rbac = k8s.CoreV1Api(hub_api), k8s.RbacAuthorizationV1Api(hub_api)
    made: list[tuple[str, Client]] = []

    def factory(name: str):
        ns = f"t-{name}-{uuid.uuid4().hex[:6]}"
        core.create_namespace({"metadata": {"name": ns, "labels": LABELS}})
        core.create_namespaced_service_account(ns, {"metadata": {"name": f"jupyter-{name}"}})
        rbac.create_namespaced_role_binding(
            ns,
            {
                "metadata": {"name": f"jupyter-kf-user-jupyter-{name}"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "jupyter-kf-user",
                },
                "subjects": [
                    {"kind": "ServiceAccount", "name": f"jupyter-{name}", "namespace": ns}
                ],
            },
        )
        api = sa_client(ns, f"jupyter-{name}", create=False)
        c = Client(KubernetesBackend(api_client=api, namespace=ns, image=IMAGE))
        made.append((ns, c))
        return ns, c, api

    yield factory
    for ns, c in made:
        c.close()
        with contextlib.suppress(k8s.ApiException):
            k8s.CoreV1Api(admin_api).delete_namespace(ns, propagation_policy="Background")


def test_a_user_trains_and_reads_logs_in_their_namespace(make_user, admin_api, cluster):
    ns, alice, _ = make_user("alice")
    alice.submit(
        JobSpec.create("pytorch", name="train", workers=2, code=Code("print('epoch=1 loss=0.5')\n"))
    )
    wait_for(lambda: alice.get("train").phase == "Succeeded", 90, what="the job to succeed")
    cluster.set_pod_logs(admin_api, ns, "train-master-0", ["epoch=1 loss=0.5"])
    wait_for(lambda: "loss=0.5" in "".join(alice.logs("train")), 30, what="its logs")
    assert [j.name for j in alice.list()] == ["train"]
    assert alice.events("train") is not None
    alice.delete("train")


def test_a_user_cannot_see_another_users_jobs_or_logs(make_user, admin_api, cluster):
    a_ns, alice, _ = make_user("alice")
    b_ns, bob, bob_api = make_user("bob")
    alice.submit(
        JobSpec.create(
            "pytorch",
            name="secret-sauce",
            workers=1,
            code=Code("print(1)\n"),
            pod_annotations={"jupyter-kf.test/outcome": "run"},
        )
    )
    wait_for(lambda: alice.get("secret-sauce").phase == "Running", 90, what="alice's job to run")
    cluster.set_pod_logs(admin_api, a_ns, "secret-sauce-master-0", ["alice's data"])
    intruder = Client(KubernetesBackend(api_client=bob_api, namespace=a_ns, image=IMAGE))
    calls = {
        "list": lambda: intruder.list(),
        "get": lambda: intruder.get("secret-sauce"),
        "logs": lambda: list(intruder.logs("secret-sauce")),
        "events": lambda: intruder.events("secret-sauce"),
        "scale": lambda: intruder.scale("secret-sauce", 3),
        "delete": lambda: intruder.delete("secret-sauce"),
        "submit": lambda: intruder.submit(
            JobSpec.create("pytorch", name="evil", workers=1, code=Code("1"))
        ),
    }
    for verb, call in calls.items():
        with pytest.raises(ForbiddenError) as err:
            call()
        assert a_ns in str(err.value), verb
    intruder.close()
    # Straight at the API too: pod logs, pods, ConfigMaps (the shipped code), Secrets.
    core = k8s.CoreV1Api(bob_api)
    for attempt in (
        lambda: core.read_namespaced_pod_log("secret-sauce-master-0", a_ns),
        lambda: core.list_namespaced_pod(a_ns),
        lambda: core.list_namespaced_config_map(a_ns),
        lambda: core.list_namespaced_secret(b_ns),  # not even its own Secrets
        lambda: core.create_namespaced_pod(
            b_ns,
            {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": IMAGE}]}},
        ),  # jobs only, no bare pods
        lambda: core.list_namespace(),
    ):
        with pytest.raises(k8s.ApiException) as err:
            attempt()
        assert err.value.status == 403
    assert alice.get("secret-sauce").phase == "Running"
    assert bob.list() == []
