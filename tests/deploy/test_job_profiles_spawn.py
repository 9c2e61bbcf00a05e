"""Job profiles from the spawner to the cluster, with deploy/'s RBAC and admission policies
and the hub's own token: the notebook pod gets the profiles its user may use
(JUPYTER_KF_JOB_PROFILES), the user's namespace says what they allow, the notebook's
identity launches a job under a profile and is refused a raw CR beyond it, and a changed
configuration reaches the namespace on the next start. The hub may patch the namespaces it
manages, and no others, and never their labels."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace

import pytest
from kubernetes import client as k8s

from jupyter_kf import Client
from jupyter_kf.backends.kubernetes import KubernetesBackend
from jupyter_kf.errors import InvalidSpecError
from jupyter_kf.jobs import Code, JobSpec
from jupyter_kf.jobs.profiles import (
    ANNOTATION_NODE_SELECTOR,
    ANNOTATION_TOLERATIONS,
    ENV_JOB_PROFILES,
    JobProfiles,
)
from tests.support.images import IMAGE

from .test_hub_rbac import managed_ns  # noqa: F401 (a fixture)
from .test_spawner_e2e import hub_config, make_spawner  # noqa: F401 (hub_config: a fixture)

pytestmark = pytest.mark.cluster

GPU = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
SPOT = {"key": "spot", "operator": "Exists", "effect": "NoSchedule"}
JOB_PROFILES = [
    {"name": "cpu", "cpu": "1", "memory": "1Gi", "default": True},
    {
        "name": "gpu",
        "gpu": 1,
        "node_selector": {"gpu": "a100"},
        "tolerations": [GPU],
        "allowed_groups": ["ml"],
    },
]


def env_of(pod) -> dict[str, str]:
    return {e.name: e.value for e in pod.spec.containers[0].env or []}


def test_profiles_reach_the_pod_and_the_namespace_and_follow_the_config(
    hub_config,  # noqa: F811 (the fixture imported above)
    admin_api,
    hub_api,
    sa_client,
):
    hub_config.KubeflowSpawner.storage_enabled = False
    hub_config.KubeflowSpawner.job_profiles = JOB_PROFILES
    hub_config.KubeflowSpawner.job_profile_required = True
    sp = make_spawner(hub_config, "carla")
    sp.user.groups = [SimpleNamespace(name="ml")]
    core = k8s.CoreV1Api(admin_api)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(sp.start())
        names = sp.names
        ns = names["namespace"]
        annotations = core.read_namespace(ns).metadata.annotations
        assert annotations[ANNOTATION_TOLERATIONS] == "nvidia.com/gpu|Exists||NoSchedule"
        assert annotations[ANNOTATION_NODE_SELECTOR] == "gpu=a100"
        pod = core.read_namespaced_pod(names["pod_name"], ns)
        mine = JobProfiles.from_env(env_of(pod)[ENV_JOB_PROFILES])
        assert mine.names == ["cpu", "gpu"] and mine.required

        # The notebook's identity, with the profiles its pod was given.
        api = sa_client(ns, names["service_account"], create=False)
        c = Client(KubernetesBackend(api_client=api, namespace=ns, image=IMAGE), job_profiles=mine)
        c.submit(JobSpec.create("pytorch", name="gpu-job", code=Code("pass"), profile="gpu"))
        cr = k8s.CustomObjectsApi(admin_api).get_namespaced_custom_object(
            "kubeflow.org", "v1", ns, "pytorchjobs", "gpu-job"
        )
        pod_spec = cr["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
        assert pod_spec["tolerations"] == [GPU] and pod_spec["nodeSelector"] == {"gpu": "a100"}
        with pytest.raises(InvalidSpecError, match="toleration .*spot.* is not part of"):
            c.submit(name="spot", code=Code("pass"), profile="gpu", tolerations=[SPOT])
        # The same job sent raw, past jupyter-kf's checks: the cluster refuses it.
        raw = dict(cr)
        raw["metadata"] = {"name": "raw-spot"}
        raw["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["tolerations"] = [SPOT]
        with pytest.raises(k8s.ApiException) as err:
            k8s.CustomObjectsApi(api).create_namespaced_custom_object(
                "kubeflow.org", "v1", ns, "pytorchjobs", raw
            )
        assert err.value.status == 403 and "jupyter-kf-job-profiles" in err.value.body
        c.close()
        loop.run_until_complete(sp.stop())

        # The admin takes the GPU profile away from the ml group: the next start says so.
        hub_config.KubeflowSpawner.job_profiles = JOB_PROFILES[:1]
        again = make_spawner(hub_config, "carla")
        again.user.groups = [SimpleNamespace(name="ml")]
        loop.run_until_complete(again.start())
        annotations = core.read_namespace(ns).metadata.annotations
        assert annotations[ANNOTATION_TOLERATIONS] == ""
        assert annotations[ANNOTATION_NODE_SELECTOR] == ""
        loop.run_until_complete(again.stop())
    finally:
        loop.close()
        with contextlib.suppress(k8s.ApiException):
            core.delete_namespace(sp.names["namespace"], propagation_policy="Background")


def test_the_hub_patches_only_its_namespaces_and_never_their_labels(
    hub_api,
    managed_ns,  # noqa: F811 (the fixture imported above)
):
    core = k8s.CoreV1Api(hub_api)
    core.patch_namespace(managed_ns, {"metadata": {"annotations": {ANNOTATION_TOLERATIONS: ""}}})
    for ns, patch in (
        ("kube-system", {"metadata": {"annotations": {ANNOTATION_TOLERATIONS: "x|Exists||"}}}),
        (
            managed_ns,
            {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}},
        ),
    ):
        with pytest.raises(k8s.ApiException) as err:
            core.patch_namespace(ns, patch)
        assert err.value.status == 403 and "jupyter-kf-hub-scope" in err.value.body, err.value.body
