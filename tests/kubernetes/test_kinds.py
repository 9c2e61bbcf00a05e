"""Every kind submitted through Client reaches Succeeded under the real operator, a failing
one Failed with the reason visible, and the pods' env matches the job model's contract."""

import pytest
from kubernetes import client as k8s

from jupyter_kf.backends.kubernetes.convert import pod_name
from jupyter_kf.errors import JobFailedError
from jupyter_kf.jobs import ClusterAddressing, Code, JobSpec, env_for, replica_keys
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

CODE = Code("print('training')\n")
FRAMEWORKS = ["pytorch", "tensorflow", "xgboost", "paddle", "jax", "mpi"]


def spec(framework, name, workers=2, outcome="succeed", after="1s", **kwargs):
    return JobSpec.create(
        framework,
        name=name,
        workers=workers,
        code=CODE,
        pod_annotations={"jupyter-kf.test/outcome": outcome, "jupyter-kf.test/after": after},
        **kwargs,
    )


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_each_kind_succeeds(user, framework):
    job = user.client.submit(spec(framework, f"ok-{framework}"))
    assert job.namespace == user.namespace
    done = user.client.wait(job.name, timeout=120)
    assert done.phase == "Succeeded"
    assert done.status.has("Created")
    assert done.status.message


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_each_kind_fails_with_its_reason(user, framework):
    job = user.client.submit(
        spec(framework, f"bad-{framework}", outcome="fail", restart_policy="Never")
    )
    with pytest.raises(JobFailedError) as err:
        user.client.wait(job.name, timeout=120)
    failed = user.client.get(job.name)
    assert failed.phase == "Failed"
    assert "failed" in str(err.value).lower()
    assert any(r.phase == "Failed" and r.exit_code == 1 for r in failed.replicas), failed.replicas


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_pod_env_matches_the_contract(user, admin_api, framework):
    s = spec(framework, f"env-{framework}", workers=3, outcome="run")
    user.client.submit(s)
    core = k8s.CoreV1Api(admin_api)
    addressing = ClusterAddressing(s.name, user.namespace, s.info)
    for role, index in replica_keys(s):
        pod = wait_for(
            lambda: core.read_namespaced_pod(pod_name(s.name, s.kind, role, index), user.namespace)
        )
        container = next(c for c in pod.spec.containers if c.name == s.info.container)
        # The operator's variables; jupyter-kf's own (JKF_*: outputs, dist backend) aside.
        env = {
            e.name: e.value or ""
            for e in container.env or ()
            if e.value_from is None and not e.name.startswith("JKF_")
        }
        expected = env_for(s, role, index, addressing)
        assert env == expected, f"{role}-{index}"
        if framework == "paddle" and index == 0:  # rank 0 learns its own IP from a fieldRef
            refs = {
                e.name: e.value_from.field_ref.field_path for e in container.env if e.value_from
            }
            assert refs == {"POD_IP_DUMMY": "status.podIP"}
