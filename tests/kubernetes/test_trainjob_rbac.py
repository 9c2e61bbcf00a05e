"""Trainer v2 under the users' Role, with real tokens on the real API server: a user runs
TrainJobs in their own namespace and reads its runtimes and JobSets, is refused another
user's namespace, may read ClusterTrainingRuntimes only where bound, and may never write
them; list_runtimes says which list it was refused."""

from __future__ import annotations

import copy
import uuid

import pytest
from kubernetes import client as k8s

from jupyter_kf.errors import ForbiddenError
from jupyter_kf.jobs.runtimes import STOCK_RUNTIMES, parse_runtime
from jupyter_kf.k8s.discovery import list_runtimes
from jupyter_kf.k8s.rbac import ROLE_NAME, runtime_reader_binding, runtime_reader_role
from tests.cluster.trainer.objects import JOBSET, JOBSET_V, TRAINER, TRAINER_V, trainjob

pytestmark = [pytest.mark.cluster, pytest.mark.trainjob]

RBAC_GROUP = "rbac.authorization.k8s.io"


@pytest.fixture
def bind_runtime_reader(admin_api):
    """``bind(subject)``: the runtime reader's rules, bound cluster-wide to ``subject`` only
    (under names of this test's own, so deploy/'s binding for every ServiceAccount, applied
    or not by other tests on the shared cluster, plays no part)."""
    rbac = k8s.RbacAuthorizationV1Api(admin_api)
    name = f"t-runtime-reader-{uuid.uuid4().hex[:6]}"
    rbac.create_cluster_role(runtime_reader_role(name))
    bindings: list[str] = []

    def bind(subject: dict) -> None:
        binding = runtime_reader_binding([subject], name=f"{name}-{len(bindings)}", role=name)
        rbac.create_cluster_role_binding(binding)
        bindings.append(binding["metadata"]["name"])

    yield bind
    for b in bindings:
        rbac.delete_cluster_role_binding(b)
    rbac.delete_cluster_role(name)


def sa(user) -> dict:
    return {"kind": "ServiceAccount", "name": "notebook", "namespace": user.namespace}


def refused(call) -> None:
    with pytest.raises(k8s.ApiException) as err:
        call()
    assert err.value.status == 403, err.value.body


def namespaced_runtime(namespace: str) -> dict:
    """A TrainingRuntime of the namespace's own: torch-distributed's, on two nodes, with
    its own image and backoff limit."""
    body = {
        "apiVersion": f"{TRAINER}/{TRAINER_V}",
        "kind": "TrainingRuntime",
        "metadata": {
            "name": "team-torch",
            "namespace": namespace,
            "labels": {"trainer.kubeflow.org/framework": "torch"},
        },
        "spec": {
            "mlPolicy": {"numNodes": 2, "torch": {}},
            "template": {
                "spec": {
                    "replicatedJobs": [
                        {
                            "name": "node",
                            "template": {
                                "metadata": {
                                    "labels": {
                                        "trainer.kubeflow.org/trainjob-ancestor-step": "trainer"
                                    }
                                },
                                "spec": {
                                    "backoffLimit": 2,
                                    "template": {
                                        "spec": {
                                            "containers": [
                                                {"name": "node", "image": "team/torch:1"}
                                            ]
                                        }
                                    },
                                },
                            },
                        }
                    ]
                }
            },
        },
    }
    return body


def test_a_user_runs_trainjobs_in_their_namespace_only(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    custom = k8s.CustomObjectsApi(alice.api)
    ns = alice.namespace
    created = custom.create_namespaced_custom_object(
        TRAINER, TRAINER_V, ns, "trainjobs", trainjob("mine", suspend=True)
    )
    assert created["metadata"]["namespace"] == ns
    listed = custom.list_namespaced_custom_object(TRAINER, TRAINER_V, ns, "trainjobs")
    assert [j["metadata"]["name"] for j in listed["items"]] == ["mine"]
    custom.get_namespaced_custom_object_status(TRAINER, TRAINER_V, ns, "trainjobs", "mine")
    custom.patch_namespaced_custom_object(
        TRAINER, TRAINER_V, ns, "trainjobs", "mine", {"metadata": {"labels": {"a": "b"}}}
    )
    # What it reads beside them: its TrainingRuntimes and the Trainer's JobSets.
    custom.list_namespaced_custom_object(TRAINER, TRAINER_V, ns, "trainingruntimes")
    custom.list_namespaced_custom_object(JOBSET, JOBSET_V, ns, "jobsets")
    # ...and may not write.
    refused(
        lambda: custom.create_namespaced_custom_object(
            TRAINER, TRAINER_V, ns, "trainingruntimes", namespaced_runtime(ns)
        )
    )
    refused(
        lambda: custom.create_namespaced_custom_object(
            JOBSET, JOBSET_V, ns, "jobsets", {"metadata": {"name": "js"}, "spec": {}}
        )
    )
    # Bob's namespace: every verb refused.
    other = bob.namespace
    k8s.CustomObjectsApi(bob.api).create_namespaced_custom_object(
        TRAINER, TRAINER_V, other, "trainjobs", trainjob("bobs", suspend=True)
    )
    for attempt in (
        lambda: custom.create_namespaced_custom_object(
            TRAINER, TRAINER_V, other, "trainjobs", trainjob("evil", suspend=True)
        ),
        lambda: custom.list_namespaced_custom_object(TRAINER, TRAINER_V, other, "trainjobs"),
        lambda: custom.get_namespaced_custom_object(TRAINER, TRAINER_V, other, "trainjobs", "bobs"),
        lambda: custom.patch_namespaced_custom_object(
            TRAINER, TRAINER_V, other, "trainjobs", "bobs", {"spec": {"suspend": False}}
        ),
        lambda: custom.delete_namespaced_custom_object(
            TRAINER, TRAINER_V, other, "trainjobs", "bobs"
        ),
        lambda: custom.list_namespaced_custom_object(TRAINER, TRAINER_V, other, "trainingruntimes"),
        lambda: custom.list_namespaced_custom_object(JOBSET, JOBSET_V, other, "jobsets"),
    ):
        refused(attempt)
    bobs = k8s.CustomObjectsApi(bob.api).get_namespaced_custom_object(
        TRAINER, TRAINER_V, other, "trainjobs", "bobs"
    )
    assert bobs["spec"]["suspend"] is True
    custom.delete_namespaced_custom_object(TRAINER, TRAINER_V, ns, "trainjobs", "mine")


def test_cluster_runtimes_are_readable_where_bound_and_never_writable(
    make_user, bind_runtime_reader, admin_api, cluster
):
    alice, bob = make_user("alice"), make_user("bob")
    bind_runtime_reader(sa(alice))
    custom_a, custom_b = k8s.CustomObjectsApi(alice.api), k8s.CustomObjectsApi(bob.api)
    plural = "clustertrainingruntimes"
    items = custom_a.list_cluster_custom_object(TRAINER, TRAINER_V, plural)["items"]
    assert {rt["metadata"]["name"] for rt in items} == set(STOCK_RUNTIMES)
    torch = custom_a.get_cluster_custom_object(TRAINER, TRAINER_V, plural, "torch-distributed")
    # Bob's ServiceAccount reads them through deploy/rbac's binding for every ServiceAccount
    # (tests/cluster applies it, as an operator does); an identity outside it may not.
    assert custom_b.list_cluster_custom_object(TRAINER, TRAINER_V, plural)["items"]
    outsider = cluster.admin_client()
    outsider.set_default_header("Impersonate-User", "jupyter-kf-test-outsider")
    try:
        refused(
            lambda: k8s.CustomObjectsApi(outsider).list_cluster_custom_object(
                TRAINER, TRAINER_V, plural
            )
        )
    finally:
        outsider.close()
    evil = copy.deepcopy(torch)
    evil["metadata"] = {"name": "evil-torch"}
    changed = copy.deepcopy(torch)
    changed["spec"]["mlPolicy"]["numNodes"] = 8
    for custom in (custom_a, custom_b):
        for attempt in (
            lambda c=custom: c.create_cluster_custom_object(TRAINER, TRAINER_V, plural, evil),
            lambda c=custom: c.replace_cluster_custom_object(
                TRAINER, TRAINER_V, plural, "torch-distributed", changed
            ),
            lambda c=custom: c.patch_cluster_custom_object(
                TRAINER,
                TRAINER_V,
                plural,
                "torch-distributed",
                {"metadata": {"labels": {"x": "y"}}},
            ),
            lambda c=custom: c.delete_cluster_custom_object(
                TRAINER, TRAINER_V, plural, "torch-distributed"
            ),
        ):
            refused(attempt)
    after = k8s.CustomObjectsApi(admin_api).get_cluster_custom_object(
        TRAINER, TRAINER_V, plural, "torch-distributed"
    )
    assert after["metadata"]["resourceVersion"] == torch["metadata"]["resourceVersion"]


def test_list_runtimes_says_which_list_was_refused(
    make_user, bind_runtime_reader, admin_api, cluster
):
    alice, bob = make_user("alice"), make_user("bob")
    bind_runtime_reader(sa(alice))
    mine = k8s.CustomObjectsApi(admin_api).create_namespaced_custom_object(
        TRAINER, TRAINER_V, alice.namespace, "trainingruntimes", namespaced_runtime(alice.namespace)
    )
    team = parse_runtime({**mine, "kind": "TrainingRuntime"})
    assert (team.namespace, team.num_nodes, team.image, team.backoff_limit) == (
        alice.namespace,
        2,
        "team/torch:1",
        2,
    )
    stock = sorted(STOCK_RUNTIMES.values(), key=lambda r: r.name)

    # Bound and at home: everything, nothing refused.
    everything = list_runtimes(alice.api, alice.namespace)
    assert everything == [*stock, team] and everything.refused == ()
    # Bound, in Bob's namespace: the cluster's runtimes, and the refusal of Bob's.
    partial = list_runtimes(alice.api, bob.namespace)
    assert partial == stock
    (why,) = partial.refused
    assert "trainingruntimes" in str(why) and bob.namespace in str(why)

    # An identity with the users' Role in Alice's namespace but no cluster-wide grant (a
    # plain user, not a ServiceAccount: deploy/'s binding for every ServiceAccount may be
    # applied on this shared cluster), impersonated by the admin.
    nobody = f"jkf-nobody-{uuid.uuid4().hex[:6]}"
    k8s.RbacAuthorizationV1Api(admin_api).create_namespaced_role_binding(
        alice.namespace,
        {
            "metadata": {"name": nobody},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": ROLE_NAME},
            "subjects": [{"kind": "User", "name": nobody, "apiGroup": RBAC_GROUP}],
        },
    )
    impersonated = cluster.admin_client()
    impersonated.set_default_header("Impersonate-User", nobody)
    try:
        home = list_runtimes(impersonated, alice.namespace)
        assert home == [team]
        (why,) = home.refused
        assert "clustertrainingruntimes cluster-wide" in str(why)
        with pytest.raises(ForbiddenError) as err:
            list_runtimes(impersonated, bob.namespace)
        assert "clustertrainingruntimes" in str(err.value) and bob.namespace in str(err.value)
    finally:
        impersonated.close()
