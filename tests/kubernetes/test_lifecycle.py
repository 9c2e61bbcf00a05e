"""Scale, suspend/resume, delete, GPU over-request and logs under the real operator."""

import pytest
from kubernetes import client as k8s

from jupyter_kf.errors import ConflictError, InvalidSpecError, NotFoundError
from jupyter_kf.jobs import Code, JobSpec, Resources
from jupyter_kf.jobs.render import INLINE_CODE_MAX
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster

CODE = Code("print('training')\n")
RUN = {"jupyter-kf.test/outcome": "run"}  # pods keep running until the test says otherwise


def pods_of(admin_api, namespace, job):
    pods = (
        k8s.CoreV1Api(admin_api)
        .list_namespaced_pod(namespace, label_selector=f"training.kubeflow.org/job-name={job}")
        .items
    )
    return sorted(p.metadata.name for p in pods if p.metadata.deletion_timestamp is None)


def env_of(admin_api, namespace, pod, container):
    spec = k8s.CoreV1Api(admin_api).read_namespaced_pod(pod, namespace).spec
    c = next(c for c in spec.containers if c.name == container)
    return {e.name: e.value for e in c.env or ()}


def test_scale_a_kind_with_a_scale_subresource(user, admin_api):
    c = user.client
    c.submit(JobSpec.create("pytorch", name="pt", workers=2, code=CODE, pod_annotations=RUN))
    wait_for(lambda: c.get("pt").phase == "Running")
    job = c.scale("pt", 4)
    assert job.workers == 4 and "notice" not in job.extra
    wait_for(
        lambda: (
            pods_of(admin_api, user.namespace, "pt")
            == ["pt-master-0", "pt-worker-0", "pt-worker-1", "pt-worker-2"]
        )
    )
    job = c.scale("pt", 2)
    wait_for(lambda: pods_of(admin_api, user.namespace, "pt") == ["pt-master-0", "pt-worker-0"])
    assert c.get("pt").phase == "Running"
    with pytest.raises(InvalidSpecError):
        c.scale("pt", 0)


def test_scale_a_kind_without_one_restarts_the_world(user, admin_api):
    c = user.client
    c.submit(JobSpec.create("tensorflow", name="tf", workers=2, code=CODE, pod_annotations=RUN))
    wait_for(lambda: c.get("tf").phase == "Running")
    before = env_of(admin_api, user.namespace, "tf-worker-0", "tensorflow")["TF_CONFIG"]
    job = c.scale("tf", 3)
    assert job.workers == 3
    # What scale returns is the state it led to: resumed, not the snapshot between.
    assert job.phase != "Suspended", job.phase
    assert "every replica restarted" in job.extra["notice"]
    wait_for(
        lambda: (
            pods_of(admin_api, user.namespace, "tf")
            == ["tf-worker-0", "tf-worker-1", "tf-worker-2"]
        )
    )
    after = env_of(admin_api, user.namespace, "tf-worker-0", "tensorflow")["TF_CONFIG"]
    assert before != after and after.count("tf-worker-") == 3  # worker 0 was recreated
    wait_for(lambda: c.get("tf").phase == "Running")


def test_suspend_resume_and_delete_leave_nothing(user, admin_api):
    c = user.client
    c.submit(JobSpec.create("pytorch", name="sr", workers=2, code=CODE, pod_annotations=RUN))
    wait_for(lambda: len(pods_of(admin_api, user.namespace, "sr")) == 2)
    job = c.suspend("sr")
    assert job.phase == "Suspended"  # what suspend returns is the state it led to
    wait_for(lambda: c.get("sr").phase == "Suspended")
    wait_for(lambda: pods_of(admin_api, user.namespace, "sr") == [])
    c.resume("sr")
    wait_for(lambda: c.get("sr").phase == "Running")
    wait_for(lambda: len(pods_of(admin_api, user.namespace, "sr")) == 2)
    c.delete("sr")
    with pytest.raises(NotFoundError):
        c.get("sr")
    wait_for(lambda: pods_of(admin_api, user.namespace, "sr") == [])
    assert configmaps(admin_api, user.namespace) == []  # small code travels in the job
    del job


def configmaps(admin_api, namespace) -> list[str]:
    items = k8s.CoreV1Api(admin_api).list_namespaced_config_map(namespace).items
    return [m.metadata.name for m in items if m.metadata.name != "kube-root-ca.crt"]


def test_code_too_big_to_go_inline_ships_in_a_configmap_owned_by_the_job(user, admin_api):
    c = user.client
    big = Code("# " + "x" * INLINE_CODE_MAX + "\nprint('training')\n")
    c.submit(JobSpec.create("pytorch", name="big", workers=1, code=big, pod_annotations=RUN))
    core = k8s.CoreV1Api(admin_api)
    cm = core.read_namespaced_config_map("big-code", user.namespace)
    assert cm.data == {"f0-train.py": big.source}
    cr = k8s.CustomObjectsApi(admin_api).get_namespaced_custom_object(
        "kubeflow.org", "v1", user.namespace, "pytorchjobs", "big"
    )
    [owner] = cm.metadata.owner_references
    assert (owner.kind, owner.name, owner.uid) == ("PyTorchJob", "big", cr["metadata"]["uid"])
    code = c.get("big").spec.code  # read back from the ConfigMap
    assert code is not None and code.source == big.source and code.filename == "train.py"
    c.delete("big")
    wait_for(lambda: configmaps(admin_api, user.namespace) == [])  # collected with the job


def test_a_finished_job_refuses_changes(user):
    c = user.client
    c.submit(
        JobSpec.create(
            "jax", name="fin", workers=1, code=CODE, pod_annotations={"jupyter-kf.test/after": "0s"}
        )
    )
    c.wait("fin", timeout=60)
    with pytest.raises(ConflictError, match="Succeeded"):
        c.scale("fin", 2)
    with pytest.raises(ConflictError):
        c.suspend("fin")


def test_gpu_over_request_says_why(user):
    c = user.client
    c.submit(
        JobSpec.create("pytorch", name="greedy", workers=1, code=CODE, resources=Resources(gpu=64))
    )
    job = wait_for(lambda: (j := c.get("greedy")).replicas[0].reason == "Unschedulable" and j)
    assert "nvidia.com/gpu" in job.replicas[0].message
    events = wait_for(lambda: [e for e in c.events("greedy") if e.reason == "FailedScheduling"])
    assert "Insufficient nvidia.com/gpu" in events[0].message
    assert events[0].object == "greedy-master-0"


def test_logs_follow_waits_for_pending_pods_and_metrics_parse(user, cluster, admin_api):
    c = user.client
    c.submit(
        JobSpec.create(
            "pytorch",
            name="talk",
            workers=1,
            code=CODE,
            pod_annotations={"jupyter-kf.test/after": "3s"},
        )
    )
    lines = c.logs("talk", follow=True)  # the pod may not exist yet: follow waits for it
    cluster.set_pod_logs(
        admin_api,
        user.namespace,
        "talk-master-0",
        ["starting", "epoch=1 loss=0.9", "epoch=2 loss=0.4"],
    )
    got = [next(lines) for _ in range(3)]
    assert got == ["starting", "epoch=1 loss=0.9", "epoch=2 loss=0.4"]
    points = c.metrics("talk")
    assert [(p["epoch"], p["loss"]) for p in points] == [(1, 0.9), (2, 0.4)]
    assert list(c.logs("talk", tail_lines=1)) == ["epoch=2 loss=0.4"]
    with pytest.raises(NotFoundError, match="its replicas are master-0"):
        c.logs("talk", replica="worker-3")
