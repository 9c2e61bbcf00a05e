"""A real JupyterHub spawns real single-user servers through the spawner; users are
isolated from each other by namespace and RBAC (real 403s from the real API server)."""

from __future__ import annotations

import pytest
from kubernetes import client

from .real_server import ACTIVITY_ENV, HUB_QUIET, assert_real_server

pytestmark = [pytest.mark.cluster, pytest.mark.hub, pytest.mark.timeout(300)]


def pytorchjob(name: str, namespace: str) -> dict:
    replica = {
        "replicas": 1,
        "restartPolicy": "Never",
        "template": {
            "spec": {"containers": [{"name": "pytorch", "image": "busybox", "command": ["true"]}]}
        },
    }
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"pytorchReplicaSpecs": {"Master": replica}},
    }


def test_two_users_spawn_and_are_isolated(hub_factory, node_side, cluster):
    hub = hub_factory(spawner={"environment": ACTIVITY_ENV}, hub=HUB_QUIET)
    core = client.CoreV1Api(node_side["api"])
    prefix = hub.settings["prefix"]
    for user in ("alice", "bob"):
        hub.add_user(user)
        r = hub.spawn(user)
        assert r.status_code in (201, 202), r.text
    for user in ("alice", "bob"):
        hub.wait_ready(user, timeout=150)

    # The hub reaches each real single-user server through the proxy.
    for user in ("alice", "bob"):
        token = hub.user_token(user)
        r = hub.session.get(
            f"{hub.url}/user/{user}/api/status",
            headers={"Authorization": f"token {token}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        assert "started" in r.json()
        assert_real_server(hub, user, activity=True)

    for user in ("alice", "bob"):
        ns = f"{prefix}{user}"
        namespace = core.read_namespace(ns)
        labels = namespace.metadata.labels
        assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
        assert core.read_namespaced_service_account(f"jupyter-{user}", ns)
        rbac = client.RbacAuthorizationV1Api(node_side["api"])
        binding = rbac.read_namespaced_role_binding(f"jupyter-kf-user-jupyter-{user}", ns)
        assert binding.subjects[0].name == f"jupyter-{user}"
        assert rbac.read_namespaced_role("jupyter-kf-user", ns)
        pvc = core.read_namespaced_persistent_volume_claim(f"claim-{user}", ns)
        assert pvc.status.phase == "Bound"
        pod = core.read_namespaced_pod(f"jupyter-{user}", ns)
        assert pod.spec.service_account_name == f"jupyter-{user}"
        env = {e.name: e.value for e in pod.spec.containers[0].env}
        assert env["JUPYTER_KF_IMAGE"] == env["JUPYTER_IMAGE"] == pod.spec.containers[0].image
        assert env["JUPYTER_KF_NAMESPACE"] == ns
        assert env["JUPYTERHUB_USER"] == user

    # Each user's ServiceAccount may create a PyTorchJob in its own namespace, and gets a
    # 403 from the real API server in the other's.
    def sa_api(user: str) -> client.ApiClient:
        ns = f"{prefix}{user}"
        request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[]))
        token = core.create_namespaced_service_account_token(
            f"jupyter-{user}", ns, request
        ).status.token
        return cluster.token_client(token)

    for me, other in (("alice", "bob"), ("bob", "alice")):
        api = sa_api(me)
        custom = client.CustomObjectsApi(api)
        mine, theirs = f"{prefix}{me}", f"{prefix}{other}"
        custom.create_namespaced_custom_object(
            "kubeflow.org", "v1", mine, "pytorchjobs", pytorchjob(f"job-{me}", mine)
        )
        with pytest.raises(client.ApiException) as refused:
            custom.create_namespaced_custom_object(
                "kubeflow.org", "v1", theirs, "pytorchjobs", pytorchjob(f"job-{me}", theirs)
            )
        assert refused.value.status == 403
        with pytest.raises(client.ApiException) as refused:
            client.CoreV1Api(api).list_namespaced_pod(theirs)
        assert refused.value.status == 403
        api.close()


def test_users_bound_to_a_cluster_role_instead_of_a_role_per_namespace(
    hub_factory, node_side, cluster
):
    """``user_cluster_role``: the same rules (jupyter_kf.k8s.rbac) as one ClusterRole that
    deploy/rbac ships, bound per namespace; no Role is written."""
    from jupyter_kf.k8s.rbac import user_role_rules

    rbac = client.RbacAuthorizationV1Api(node_side["api"])
    core = client.CoreV1Api(node_side["api"])
    role_name = "jkf-test-user-cluster-role"
    try:
        rbac.create_cluster_role({"metadata": {"name": role_name}, "rules": user_role_rules()})
    except client.ApiException as exc:
        assert exc.status == 409
    hub = hub_factory(spawner={"user_cluster_role": role_name})
    hub.add_user("kim")
    assert hub.spawn("kim").status_code in (201, 202)
    hub.wait_ready("kim")
    assert_real_server(hub, "kim")
    ns = f"{hub.settings['prefix']}kim"
    binding = rbac.read_namespaced_role_binding(f"{role_name}-jupyter-kim", ns)
    assert (binding.role_ref.kind, binding.role_ref.name) == ("ClusterRole", role_name)
    assert rbac.list_namespaced_role(ns).items == []
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[]))
    token = core.create_namespaced_service_account_token("jupyter-kim", ns, request).status.token
    api = cluster.token_client(token)
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(
        "kubeflow.org", "v1", ns, "pytorchjobs", pytorchjob("job", ns)
    )
    with pytest.raises(client.ApiException) as refused:
        custom.list_namespaced_custom_object("kubeflow.org", "v1", "default", "pytorchjobs")
    assert refused.value.status == 403
    api.close()
