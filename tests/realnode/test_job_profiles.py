"""A job profile places a job on the real node: the node gets a label of this test's own (and
loses it afterwards), the profile selects it and tolerates the node's taint, and the job
runs there to Succeeded. The namespace is a plain managed one (not the real-node namespaces
whose admission plugins add the selector and toleration), so only the profile can put the
pods there. A profile the user was not given is refused with a clear message, by jupyter-kf
and, for a raw CR, by deploy/rbac/job-profiles-policy.yaml."""

from __future__ import annotations

import uuid

import pytest
from kubernetes import client as k8s

from jupyter_kf import Client, InvalidSpecError
from jupyter_kf.backends.kubernetes import KubernetesBackend
from jupyter_kf.jobs import Code, JobSpec
from jupyter_kf.jobs.explain import explain
from jupyter_kf.jobs.profiles import (
    JobProfiles,
    apply_profile,
    namespace_annotations,
    offered,
    parse_job_profiles,
)
from jupyter_kf.jobs.render import render_job
from jupyter_kf.k8s.rbac import user_role, user_role_binding
from tests.cluster.plugin import REAL_NODE, require_real_node
from tests.kubernetes.test_job_profiles_policy import MANAGED, POLICY_NAME, policy  # noqa: F401
from tests.support.images import PYTHON_IMAGE

pytestmark = [pytest.mark.cluster, pytest.mark.realpods]

# The taint the real node registers with (tests/cluster/node/up.sh): tolerating it is what
# lets a pod onto that node, so it is what a GPU profile's toleration would be there.
REAL_TAINT = {"key": "jupyter-kf.test/real-node", "operator": "Exists", "effect": "NoSchedule"}


@pytest.fixture
def node_label(request, admin_api):
    """A label of this test's own on the real node, removed afterwards."""
    require_real_node(request, admin_api)
    key = f"jupyter-kf.test/profile-{uuid.uuid4().hex[:8]}"
    core = k8s.CoreV1Api(admin_api)
    core.patch_node(REAL_NODE, {"metadata": {"labels": {key: "yes"}}})
    yield key
    core.patch_node(REAL_NODE, {"metadata": {"labels": {key: None}}})
    assert key not in (core.read_node(REAL_NODE).metadata.labels or {})


@pytest.fixture
def profiled(
    node_label,
    policy,  # noqa: F811 (the fixture imported above)
    namespace_factory,
    sa_client,
    admin_api,
):
    """A user (no groups) in a managed namespace, with the profiles the spawner would give."""
    config = [
        {
            "name": "real",
            "display_name": "The real node",
            "node_selector": {node_label: "yes"},
            "tolerations": [REAL_TAINT],
        },
        {"name": "gpu", "gpu": 1, "tolerations": [REAL_TAINT], "allowed_groups": ["ml"]},
    ]
    mine = offered(parse_job_profiles(config), "carol", [], required=True)
    ns = namespace_factory("profiles", labels=MANAGED)
    core = k8s.CoreV1Api(admin_api)
    core.patch_namespace(ns, {"metadata": {"annotations": namespace_annotations(mine)}})
    rbac = k8s.RbacAuthorizationV1Api(admin_api)
    rbac.create_namespaced_role(ns, user_role(ns))
    rbac.create_namespaced_role_binding(ns, user_role_binding(ns, "notebook"))
    api = sa_client(ns, "notebook")
    c = Client(
        KubernetesBackend(api_client=api, namespace=ns, image=PYTHON_IMAGE), job_profiles=mine
    )
    yield ns, c, api, mine
    c.close()


def test_a_profile_puts_the_job_on_the_labelled_tainted_node(profiled, node_label, admin_api):
    ns, c, _, _ = profiled
    c.submit(
        JobSpec.create(
            "pytorch", name="placed", workers=1, code=Code("print('ran here')"), profile="real"
        )
    )
    job = c.wait("placed", conditions=("Succeeded", "Failed"), timeout=240)
    assert job.phase == "Succeeded", f"{explain(job)}\n" + "\n".join(c.logs("placed"))
    assert "ran here" in "\n".join(c.logs("placed"))
    (pod,) = k8s.CoreV1Api(admin_api).list_namespaced_pod(ns).items
    assert pod.spec.node_name == REAL_NODE
    assert pod.spec.node_selector == {node_label: "yes"}
    assert [t.key for t in pod.spec.tolerations or []].count(REAL_TAINT["key"]) == 1


def test_a_profile_not_given_to_the_user_is_refused(profiled):
    ns, c, api, mine = profiled
    with pytest.raises(InvalidSpecError, match="unknown profile 'gpu'; job profiles: real"):
        c.submit(name="gpu", code=Code("pass"), profile="gpu")
    # The same job sent raw, past jupyter-kf: its toleration is allowed (the "real" profile
    # has it) but the GPU node selector it would need is not.
    spec = JobSpec.create("pytorch", name="raw", code=Code("pass"), profile="real")
    body = render_job(apply_profile(spec, mine), namespace=ns, image=PYTHON_IMAGE)
    body["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["nodeSelector"] = {
        "nvidia.com/gpu.present": "true"
    }
    with pytest.raises(k8s.ApiException) as err:
        k8s.CustomObjectsApi(api).create_namespaced_custom_object(
            "kubeflow.org", "v1", ns, "pytorchjobs", body
        )
    assert err.value.status == 403 and POLICY_NAME in err.value.body, err.value.body
    assert "a nodeSelector of this job is not in your job profiles" in err.value.body
    assert c.list() == []


def test_no_profile_is_refused_where_one_is_required(profiled):
    _, c, _, mine = profiled
    assert isinstance(mine, JobProfiles) and mine.required
    with pytest.raises(InvalidSpecError, match="this hub requires a job profile"):
        c.submit(name="bare", code=Code("pass"))
