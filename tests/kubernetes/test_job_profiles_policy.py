"""deploy/rbac/job-profiles-policy.yaml on the real API server: in a namespace the spawner
manages, a raw CR (what a user could send with kubectl or the kubeflow SDK, bypassing
jupyter-kf's own checks) whose pods tolerate, select or rank beyond the namespace's job
profiles is refused with the policy's message; one within them is admitted; an unmanaged
namespace is not the policy's business. Requests are made with the user's own token."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from kubernetes import client as k8s

from jupyter_kf.jobs.profiles import JobProfiles, namespace_annotations, parse_job_profiles
from jupyter_kf.k8s.rbac import user_role, user_role_binding
from tests.support.images import IMAGE
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

POLICY = Path(__file__).resolve().parents[2] / "deploy" / "rbac" / "job-profiles-policy.yaml"
POLICY_NAME = "jupyter-kf-job-profiles"
MANAGED = {"app.kubernetes.io/managed-by": "jupyter-kf-spawner"}
GPU = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
SPOT = {"key": "spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
PROFILES = JobProfiles(
    tuple(
        parse_job_profiles(
            [
                {
                    "name": "a100",
                    "gpu": 1,
                    "node_selector": {"gpu": "a100"},
                    "tolerations": [GPU],
                    "priority_class_name": "training-high",
                }
            ]
        )
    )
)


def pytorchjob(name: str, **pod: object) -> dict:
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": name},
        "spec": {
            "runPolicy": {},
            "pytorchReplicaSpecs": {
                "Master": {
                    "replicas": 1,
                    "template": {
                        "spec": {
                            "containers": [{"name": "pytorch", "image": IMAGE}],
                            **pod,
                        }
                    },
                }
            },
        },
    }


def trainjob(name: str, **pod: object) -> dict:
    return {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "TrainJob",
        "metadata": {"name": name},
        "spec": {
            "runtimeRef": {"name": "torch-distributed"},
            "runtimePatches": [
                {
                    "manager": "example.com/user",
                    "trainingRuntimeSpec": {
                        "template": {
                            "spec": {
                                "replicatedJobs": [
                                    {
                                        "name": "node",
                                        "template": {"spec": {"template": {"spec": pod}}},
                                    }
                                ]
                            }
                        }
                    },
                }
            ],
        },
    }


@pytest.fixture(scope="module")
def policy(cluster, admin_api):
    """The policy as deploy/ ships it; removed afterwards unless it was already there."""
    adm = k8s.AdmissionregistrationV1Api(admin_api)
    names = [p.metadata.name for p in adm.list_validating_admission_policy().items]
    proc = cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(POLICY))
    assert proc.returncode == 0, proc.stderr
    yield
    if POLICY_NAME not in names:
        cluster.kubectl("delete", "-f", str(POLICY), "--ignore-not-found", check=False)


@pytest.fixture
def profiled_user(policy, namespace_factory, sa_client, admin_api):
    """A notebook user's token in a managed namespace annotated as the spawner does."""
    ns = namespace_factory("profiles", labels=MANAGED)
    core = k8s.CoreV1Api(admin_api)
    core.patch_namespace(ns, {"metadata": {"annotations": namespace_annotations(PROFILES)}})
    rbac = k8s.RbacAuthorizationV1Api(admin_api)
    rbac.create_namespaced_role(ns, user_role(ns))
    rbac.create_namespaced_role_binding(ns, user_role_binding(ns, "notebook"))
    api = sa_client(ns, "notebook")
    custom = k8s.CustomObjectsApi(api)

    def create(body: dict, dry_run: str | None = "All") -> None:
        group, version = body["apiVersion"].split("/")
        plural = body["kind"].lower() + "s"
        kwargs = {"dry_run": dry_run} if dry_run else {}
        custom.create_namespaced_custom_object(group, version, ns, plural, body, **kwargs)

    # A new policy bites once the API server's policy informer has it (about a second).
    def enforced() -> bool:
        try:
            create(pytorchjob("probe", tolerations=[SPOT]))
        except k8s.ApiException as exc:
            return exc.status == 403 and POLICY_NAME in exc.body
        return False

    wait_for(enforced, 30, what="the job profiles policy to take effect")
    return ns, create


def refused(create, body: dict) -> str:
    with pytest.raises(k8s.ApiException) as err:
        create(body)
    assert err.value.status == 403, err.value.body
    assert POLICY_NAME in err.value.body, err.value.body
    return err.value.body


def within() -> dict:
    return {
        "tolerations": [GPU],
        "nodeSelector": {"gpu": "a100"},
        "priorityClassName": "training-high",
    }


def test_a_raw_cr_with_a_forbidden_toleration_is_refused(profiled_user):
    ns, create = profiled_user
    body = refused(create, pytorchjob("sneaky", tolerations=[GPU, SPOT]))
    assert "a toleration of this job is not in your job profiles" in body
    assert f"namespace {ns} allows: nvidia.com/gpu|Exists||NoSchedule" in body
    assert "jupyter kf profiles" in body


@pytest.mark.parametrize(
    "pod, message",
    [
        ({"nodeSelector": {"gpu": "h100"}}, "a nodeSelector of this job is not in your job"),
        ({"priorityClassName": "system-cluster-critical"}, "the priorityClassName of this job"),
        ({"nodeName": "some-node"}, "may not choose its node by nodeName or node affinity"),
        (
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}
                            ]
                        }
                    }
                }
            },
            "may not choose its node by nodeName or node affinity",
        ),
    ],
    ids=["nodeSelector", "priorityClass", "nodeName", "nodeAffinity"],
)
def test_other_bypasses_are_refused(profiled_user, pod, message):
    _, create = profiled_user
    assert message in refused(create, pytorchjob("sneaky", **pod))


def test_a_trainjob_runtime_patch_is_checked_too(profiled_user):
    _, create = profiled_user
    body = refused(create, trainjob("sneaky", tolerations=[SPOT]))
    assert "a toleration of this job is not in your job profiles" in body
    create(trainjob("fine", **{k: v for k, v in within().items() if k != "priorityClassName"}))


def test_what_the_profiles_allow_is_admitted(profiled_user):
    _, create = profiled_user
    create(pytorchjob("fine", **within()))
    create(pytorchjob("plain"))  # no placement at all: the default nodes
    # For real, not just a dry run, and an update that keeps the spec is not checked again.
    create(pytorchjob("kept", **within()), dry_run=None)


def test_an_update_that_adds_a_toleration_is_refused(profiled_user, admin_api):
    ns, create = profiled_user
    create(pytorchjob("grow", **within()), dry_run=None)
    custom = k8s.CustomObjectsApi(admin_api)
    job = custom.get_namespaced_custom_object("kubeflow.org", "v1", ns, "pytorchjobs", "grow")
    changed = copy.deepcopy(job)
    pod = changed["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    pod["tolerations"] = [*pod["tolerations"], SPOT]
    with pytest.raises(k8s.ApiException) as err:
        custom.replace_namespaced_custom_object(
            "kubeflow.org", "v1", ns, "pytorchjobs", "grow", changed
        )
    assert err.value.status == 403 and POLICY_NAME in err.value.body, err.value.body


def test_an_unmanaged_namespace_is_not_checked(policy, namespace_factory, admin_api):
    ns = namespace_factory("unmanaged")
    k8s.CustomObjectsApi(admin_api).create_namespaced_custom_object(
        "kubeflow.org",
        "v1",
        ns,
        "pytorchjobs",
        pytorchjob("free", tolerations=[SPOT]),
        dry_run="All",
    )


def test_the_policy_type_checks(policy, admin_api):
    got = k8s.AdmissionregistrationV1Api(admin_api).read_validating_admission_policy(POLICY_NAME)
    typing = (got.status and got.status.type_checking) or None
    assert not (typing and typing.expression_warnings), typing
