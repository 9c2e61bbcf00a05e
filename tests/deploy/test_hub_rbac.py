"""The hub's identity from deploy/: enough for the spawner, and nothing else.

Every request here is sent with a real token of ServiceAccount jupyterhub/hub, bound by
deploy/rbac; the API server's RBAC authorizer and deploy/'s ValidatingAdmissionPolicy
decide. (That the spawner itself works with it: test_spawner_e2e.py.)
"""

from __future__ import annotations

import uuid

import pytest
from kubernetes import client as k8s

pytestmark = pytest.mark.cluster

MANAGED = {"app.kubernetes.io/managed-by": "jupyter-kf-spawner"}
BASELINE = {"pod-security.kubernetes.io/enforce": "baseline"}
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p"},
    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
}


def ns_body(name, labels):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def binding(
    namespace, role_kind="ClusterRole", role="jupyter-kf-user", sa_namespace=None, sa="jupyter-x"
):
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"b-{uuid.uuid4().hex[:6]}", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": [
            {"kind": "ServiceAccount", "name": sa, "namespace": sa_namespace or namespace}
        ],
    }


@pytest.fixture
def managed_ns(hub_api, admin_api):
    """A user namespace made by the hub itself, as the spawner makes them."""
    name = f"t-deploy-{uuid.uuid4().hex[:8]}"
    k8s.CoreV1Api(hub_api).create_namespace(ns_body(name, {**MANAGED, **BASELINE}))
    yield name
    k8s.CoreV1Api(admin_api).delete_namespace(name, propagation_policy="Background")


def refused(call, status=403, text=""):
    with pytest.raises(k8s.ApiException) as err:
        call()
    assert err.value.status == status, err.value.body
    assert text in err.value.body, err.value.body
    return err.value.body


def test_the_hub_can_do_what_the_spawner_does(hub_api, managed_ns):
    core, rbac = k8s.CoreV1Api(hub_api), k8s.RbacAuthorizationV1Api(hub_api)
    ns = managed_ns
    core.create_namespaced_service_account(ns, {"metadata": {"name": "jupyter-x"}})
    # bind: the hub hands out ClusterRole jupyter-kf-user without holding its rules.
    rbac.create_namespaced_role_binding(ns, binding(ns))
    core.create_namespaced_persistent_volume_claim(
        ns,
        {
            "metadata": {"name": "claim-x"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
    )
    core.create_namespaced_pod(
        ns, {**POD, "spec": {**POD["spec"], "serviceAccountName": "jupyter-x"}}
    )
    assert core.read_namespaced_pod("p", ns).metadata.name == "p"
    # The shared watch: pods and events of every namespace.
    core.list_pod_for_all_namespaces(
        label_selector="app.kubernetes.io/managed-by=jupyter-kf-spawner"
    )
    core.list_event_for_all_namespaces(field_selector="involvedObject.kind=Pod", limit=1)
    core.delete_namespaced_pod("p", ns, grace_period_seconds=0)
    core.delete_namespaced_persistent_volume_claim("claim-x", ns)
    # Creating a namespace that exists is a 409 (the spawner's "already there").
    refused(lambda: core.create_namespace(ns_body(ns, {**MANAGED, **BASELINE})), 409)


def test_the_hub_cannot_read_or_write_secrets_anywhere(hub_api, managed_ns, admin_api):
    core = k8s.CoreV1Api(hub_api)
    k8s.CoreV1Api(admin_api).create_namespaced_secret(
        managed_ns, {"metadata": {"name": "s"}, "stringData": {"k": "v"}}
    )
    refused(lambda: core.read_namespaced_secret("s", managed_ns))
    refused(lambda: core.list_namespaced_secret(managed_ns))
    refused(lambda: core.list_secret_for_all_namespaces())
    refused(lambda: core.create_namespaced_secret(managed_ns, {"metadata": {"name": "t"}}))
    refused(lambda: core.list_namespaced_secret("kube-system"))


def test_the_hub_cannot_touch_kube_system(hub_api, admin_api):
    core, rbac = k8s.CoreV1Api(hub_api), k8s.RbacAuthorizationV1Api(hub_api)
    ns = "kube-system"
    victim = f"victim-{uuid.uuid4().hex[:6]}"
    k8s.CoreV1Api(admin_api).create_namespaced_pod(ns, {**POD, "metadata": {"name": victim}})
    # RBAC would allow these verbs anywhere (namespaces are not known in advance): the
    # admission policy refuses them outside the hub's namespaces.
    body = refused(lambda: core.create_namespaced_pod(ns, POD), text="jupyter-kf-hub-scope")
    assert "managed-by=jupyter-kf-spawner" in body
    refused(
        lambda: core.create_namespaced_service_account(ns, {"metadata": {"name": "x"}}),
        text="jupyter-kf-hub-scope",
    )
    refused(
        lambda: rbac.create_namespaced_role_binding(ns, binding(ns)), text="jupyter-kf-hub-scope"
    )
    refused(lambda: core.delete_namespaced_pod(victim, ns), text="jupyter-kf-hub-scope")
    k8s.CoreV1Api(admin_api).delete_namespaced_pod(victim, ns, grace_period_seconds=0)
    refused(
        lambda: core.create_namespaced_persistent_volume_claim(
            ns,
            {
                "metadata": {"name": "c"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            },
        ),
        text="jupyter-kf-hub-scope",
    )
    # And RBAC refuses everything else there outright.
    refused(lambda: core.list_namespaced_config_map(ns))
    refused(lambda: core.create_namespaced_config_map(ns, {"metadata": {"name": "x"}}))
    refused(lambda: core.patch_namespace(ns, {"metadata": {"labels": MANAGED}}))
    refused(lambda: core.delete_namespace(ns))


def test_the_hub_cannot_escalate(hub_api, managed_ns):
    core, rbac = k8s.CoreV1Api(hub_api), k8s.RbacAuthorizationV1Api(hub_api)
    ns = managed_ns
    crb = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": f"evil-{uuid.uuid4().hex[:6]}"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "cluster-admin",
        },
        "subjects": [{"kind": "ServiceAccount", "name": "hub", "namespace": "jupyterhub"}],
    }
    refused(lambda: rbac.create_cluster_role_binding(crb))
    refused(lambda: rbac.create_cluster_role({"metadata": {"name": "evil"}, "rules": []}))
    refused(lambda: rbac.patch_cluster_role("jupyter-kf-user", {"rules": []}))
    # No bind on any other role: cluster-admin, admin, edit...
    for role in ("cluster-admin", "admin", "edit"):
        refused(
            lambda role=role: rbac.create_namespaced_role_binding(ns, binding(ns, role=role)),
            text="bind",
        )
    # Cannot write Roles (that would need `escalate`, or every rule held).
    refused(
        lambda: rbac.create_namespaced_role(
            ns,
            {
                "metadata": {"name": "r"},
                "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
            },
        )
    )
    # Does not hold the users' rules itself: no training jobs, no logs, no ConfigMaps.
    custom = k8s.CustomObjectsApi(hub_api)
    refused(lambda: custom.list_namespaced_custom_object("kubeflow.org", "v1", ns, "pytorchjobs"))
    refused(lambda: core.read_namespaced_pod_log("p", ns))
    refused(lambda: core.list_namespaced_config_map(ns))
    # jupyter-kf-user may be bound only to ServiceAccounts of the binding's own namespace:
    # not to the hub, not to another namespace's identity.
    refused(
        lambda: rbac.create_namespaced_role_binding(
            ns, binding(ns, sa_namespace="jupyterhub", sa="hub")
        ),
        text="jupyter-kf-hub-scope",
    )
    refused(
        lambda: rbac.create_namespaced_role_binding(
            ns, binding(ns, sa_namespace="kube-system", sa="default")
        ),
        text="jupyter-kf-hub-scope",
    )
    # Cannot impersonate, or act through nodes.
    refused(lambda: core.list_node())
    refused(lambda: k8s.AuthenticationV1Api(hub_api).create_token_review({"spec": {"token": "x"}}))


@pytest.mark.parametrize(
    "labels, why",
    [
        ({}, "no managed-by label"),
        (BASELINE, "no managed-by label"),
        (MANAGED, "no Pod Security level"),
        ({**MANAGED, "pod-security.kubernetes.io/enforce": "privileged"}, "privileged"),
    ],
)
def test_the_hub_only_creates_namespaces_it_can_manage(hub_api, labels, why):
    name = f"t-deploy-{uuid.uuid4().hex[:8]}"
    refused(
        lambda: k8s.CoreV1Api(hub_api).create_namespace(ns_body(name, labels)),
        text="jupyter-kf-hub-scope",
    )
