"""The real training operator ends a PyTorchJob that has our default backoff limit Failed.

The operator (v1.9.4, ``core.PastBackoffLimit``) sums the containers' ``restartCount`` over
the job's Running pods whose replica restart policy is OnFailure, Always or ExitCode, and
fails the job once the sum reaches ``runPolicy.backoffLimit``. KWOK restarts no container,
so the test does what a kubelet does when a container crash-loops: it raises the pod's
``restartCount`` in its status, as an admin.
"""

from __future__ import annotations

import time

import pytest
from kubernetes import client as k8s

from jupyter_kf.jobs import Code, JobSpec
from jupyter_kf.jobs.explain import explain
from jupyter_kf.jobs.parts import DEFAULT_BACKOFF_LIMIT
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster


def restarted(core: k8s.CoreV1Api, namespace: str, pod: str, count: int) -> None:
    """Set every container's restartCount of a Running pod, as the kubelet would."""
    body = core.read_namespaced_pod_status(pod, namespace)
    statuses = body.to_dict()["status"]["container_statuses"]
    assert statuses, f"{pod} has no container statuses yet"
    patch = {
        "status": {
            "containerStatuses": [
                {**core.api_client.sanitize_for_serialization(cs), "restartCount": count}
                for cs in body.status.container_statuses
            ]
        }
    }
    core.patch_namespaced_pod_status(pod, namespace, patch)


def test_the_default_backoff_limit_ends_a_crash_looping_job(user, admin_api):
    spec = JobSpec.create(
        "pytorch",
        name="crashloop",
        workers=2,
        code=Code("raise SystemExit(1)\n"),
        pod_annotations={"jupyter-kf.test/outcome": "run"},  # KWOK keeps them Running
    )
    user.client.submit(spec)
    custom = k8s.CustomObjectsApi(admin_api)
    cr = custom.get_namespaced_custom_object(
        "kubeflow.org", "v1", user.namespace, "pytorchjobs", "crashloop"
    )
    # Rendered by jupyter-kf and kept by the operator's webhooks.
    assert cr["spec"]["runPolicy"]["backoffLimit"] == DEFAULT_BACKOFF_LIMIT == 3
    assert {r["restartPolicy"] for r in cr["spec"]["pytorchReplicaSpecs"].values()} == {"OnFailure"}
    wait_for(lambda: user.client.get("crashloop").phase == "Running", timeout=60)
    core = k8s.CoreV1Api(admin_api)
    wait_for(
        lambda: (
            core.read_namespaced_pod("crashloop-worker-0", user.namespace).status.phase == "Running"
        ),
        timeout=60,
    )

    # Two restarts in all (master 1, worker 1): below the limit, the job runs on.
    restarted(core, user.namespace, "crashloop-master-0", 1)
    restarted(core, user.namespace, "crashloop-worker-0", 1)
    time.sleep(3)
    assert user.client.get("crashloop").phase == "Running"

    # The third restart reaches it.
    restarted(core, user.namespace, "crashloop-master-0", 2)
    job = wait_for(lambda: (j := user.client.get("crashloop")).phase == "Failed" and j, timeout=60)
    assert "reached the specified backoff limit" in job.status.message
    assert explain(job).startswith("Failed: master-0")
    assert "backoff limit 3 reached" in explain(job)
