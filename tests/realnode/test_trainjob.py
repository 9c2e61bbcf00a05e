"""TrainJobs on the real Kubeflow Trainer v2 and JobSet, their nodes real pods on the real
node, read back through jupyter-kf's client as a notebook user would (the user's own
ServiceAccount token, bound to jupyter-kf's Role; deploy/rbac's runtime reader, which
tests/cluster applies, lets it read the cluster's runtimes):
DDP across two pods, the true state after suspend and resume, scaling by replacement, a
failing node's reason.
"""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path

import pytest
from kubernetes import client as k8s

from jupyter_kf import JobFailedError
from jupyter_kf.jobs import Code, JobSpec, Resources
from jupyter_kf.jobs.explain import explain
from jupyter_kf.jobs.metrics import REPORT_PREFIX
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.realpods, pytest.mark.trainjob]

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "examples" / "quickstart" / "train.py"
ARTIFACTS = ROOT / "test-artifacts" / "realnode"
ENDED = ("Succeeded", "Failed")
TRAINER = ("trainer.kubeflow.org", "v1alpha1")


def checksums(lines: list[str]) -> set[str]:
    return {m.group(1) for line in lines if (m := re.search(r"checksum (\S+)", line))}


def test_ddp_trainjob_trains_across_two_real_pods(real_user):
    c = real_user.client
    names = {r.name for r in c.runtimes()}
    assert {"torch-distributed", "jax-distributed", "xgboost-distributed"} <= names, names
    t0 = time.monotonic()
    job = c.submit(
        name="ddp",
        runtime="torch-distributed",
        workers=2,
        script=TRAIN,
        args=["--epochs", "4"],
    )
    assert job.kind == "TrainJob" and [r.name for r in job.replicas] == ["node-0", "node-1"]
    lines = [line for line in c.logs("ddp", follow=True) if not line.startswith(REPORT_PREFIX)]
    job = c.wait("ddp", conditions=ENDED, timeout=600)
    seconds = time.monotonic() - t0
    text = "\n".join(lines)
    assert job.phase == "Succeeded", f"{explain(job)}\n{text}"
    # torchrun, started by the shipped command, read the Trainer's PET_* variables: two
    # nodes, one process each, rendezvous at node 0's pod through JobSet's headless Service.
    assert "rank 0/2 done" in text, text
    other = list(c.logs("ddp", replica="node-1"))
    other_text = "\n".join(other)
    assert "rank 1/2 done" in other_text, other_text
    assert checksums(lines) == checksums(other) != set()
    losses = [p["loss"] for p in c.metrics("ddp") if "loss" in p]
    assert len(losses) == 4 and losses[-1] < losses[0], losses
    wait_for(lambda: {r.phase for r in c.get("ddp").replicas} == {"Succeeded"}, 60)
    reasons = {(e.reason, e.object) for e in c.events("ddp")}
    assert ("AllJobsCompleted", "ddp") in reasons, reasons  # the JobSet's own event
    assert any(r == "Started" and o.startswith("ddp-node-0-1-") for r, o in reasons), reasons
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "trainjob-ddp-wall-time.json").write_text(
        json.dumps(
            {
                "job": "examples/quickstart/train.py --epochs 4, TrainJob torch-distributed, "
                "2 nodes (gloo)",
                "real_node_seconds": round(seconds, 1),
                "measured": "submit to Succeeded, through jupyter_kf.Client",
            },
            indent=2,
        )
    )


LONG = (
    "import os, time\n"
    "print('nodes', os.environ['PET_NNODES'], 'rank', os.environ['RANK'], flush=True)\n"
    "for step in range(600):\n"
    "    print(f'step={step}', flush=True)\n"
    "    time.sleep(0.5)\n"
)


def long_spec(name: str, nodes: int) -> JobSpec:
    return JobSpec.create(
        "TrainJob",
        name=name,
        workers=nodes,
        runtime="torch-distributed",
        code=Code(LONG, files={"helper.py": "X = 1\n"}),
    )


def test_a_resumed_trainjob_shows_running_not_created(real_user, admin_api):
    c = real_user.client
    c.submit(long_spec("pause", 2))
    wait_for(lambda: c.get("pause").phase == "Running", 120)
    job = c.suspend("pause")
    assert job.phase == "Suspended"
    # The Trainer's own condition, and the pods are gone.
    wait_for(lambda: all(r.phase == "Pending" for r in c.get("pause").replicas), 60)
    job = c.resume("pause")
    assert job.phase != "Suspended"
    wait_for(lambda: {r.phase for r in c.get("pause").replicas} == {"Running"}, 120)
    job = c.get("pause")
    raw = k8s.CustomObjectsApi(admin_api).get_namespaced_custom_object(
        *TRAINER, real_user.namespace, "trainjobs", "pause"
    )
    suspended = [cond for cond in raw["status"]["conditions"] if cond["type"] == "Suspended"]
    # Upstream says only "Suspended False, Resumed"; the job is running, and says so.
    assert suspended and suspended[0]["status"] == "False" and suspended[0]["reason"] == "Resumed"
    assert job.phase == "Running" and {r.phase for r in job.replicas} == {"Running"}
    c.delete("pause")


def test_scaling_a_trainjob_replaces_it_with_the_same_code(real_user, admin_api):
    c = real_user.client
    c.submit(long_spec("grow", 1))
    wait_for(lambda: c.get("grow").phase == "Running", 120)
    before = c.get("grow").extra["uid"]
    job = c.scale("grow", 2)
    notice = job.extra.get("notice", "")
    assert "replaced" in notice and "2 nodes" in notice and "checkpoint" in notice, notice
    assert job.extra["uid"] != before and job.workers == 2
    wait_for(lambda: c.get("grow").phase == "Running", 180)
    # The new nodes run the same shipped code (its ConfigMap made again, owned by the new
    # TrainJob) with the new world size.
    wait_for(
        lambda: any("nodes 2 rank 1" in line for line in c.logs("grow", replica="node-1")), 120
    )
    cm = k8s.CoreV1Api(admin_api).read_namespaced_config_map("grow-code", real_user.namespace)
    assert cm.metadata.owner_references[0].uid == job.extra["uid"]
    assert sorted(cm.data) == ["f0-helper.py", "f1-train.py"]
    c.delete("grow")
    # Deleting the job takes its code with it (the garbage collector follows the owner).
    wait_for(
        lambda: (
            not k8s.CoreV1Api(admin_api)
            .list_namespaced_config_map(
                real_user.namespace, field_selector="metadata.name=grow-code"
            )
            .items
        ),
        60,
    )


def test_a_failing_node_ends_failed_with_the_reason(real_user, admin_api):
    """A namespaced TrainingRuntime (an admin's copy of torch-distributed whose Job gives up
    after the first failure) keeps the test short: the stock runtimes keep Kubernetes' Job
    default of 6 retries with back-off, about 10 minutes of a crash loop."""
    custom = k8s.CustomObjectsApi(admin_api)
    stock = custom.get_cluster_custom_object(
        *TRAINER, "clustertrainingruntimes", "torch-distributed"
    )
    runtime = {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "TrainingRuntime",
        "metadata": {"name": "torch-once", "labels": stock["metadata"].get("labels", {})},
        "spec": copy.deepcopy(stock["spec"]),
    }
    for rjob in runtime["spec"]["template"]["spec"]["replicatedJobs"]:
        rjob["template"]["spec"]["backoffLimit"] = 0
    custom.create_namespaced_custom_object(
        *TRAINER, real_user.namespace, "trainingruntimes", runtime
    )
    c = real_user.client
    crash = (
        "import os, time\n"
        "if os.environ['PET_NODE_RANK'] == '1':\n"
        "    raise SystemExit('boom from node 1')\n"
        "time.sleep(300)\n"
    )
    c.submit(
        JobSpec.create(
            "TrainJob",
            name="crash",
            workers=2,
            runtime="torch-once",
            runtime_kind="TrainingRuntime",
            code=Code(crash),
        )
    )
    with pytest.raises(JobFailedError) as info:
        c.wait("crash", timeout=300)
    job = c.get("crash")
    assert job.phase == "Failed"
    line = explain(job)
    assert "node-1" in line and "boom from node 1" in line, line
    # The limit it reached is its runtime's (a TrainJob has none of its own), as locally.
    assert "runtime torch-once's backoff limit 0 reached" in line, line
    assert "\n" not in line and str(info.value).startswith("job crash failed: "), info.value


def test_a_runtime_that_does_not_exist_is_refused_with_the_list(real_user):
    from jupyter_kf import InvalidSpecError

    with pytest.raises(InvalidSpecError) as info:
        real_user.client.submit(
            name="nope", runtime="torch-distributd", workers=2, command=["true"]
        )
    message = str(info.value)
    assert "no ClusterTrainingRuntime named 'torch-distributd'" in message
    assert "torch-distributed" in message


def test_progress_reaches_trainer_status_and_the_client(real_user, admin_api):
    """``jupyter_kf.report`` in a real pod posts to the Trainer's status server (its URL,
    CA and token come from the TrainJobStatus plugin): ``kubectl get trainjob`` and the
    kubeflow SDK read it from ``status.trainerStatus``, and so does the client."""
    c = real_user.client
    script = (
        "import time, jupyter_kf\n"
        "for step in range(1, 9):\n"
        "    jupyter_kf.report(step=step, total_steps=8, loss=round(1.0 / step, 3))\n"
        "    time.sleep(0.5)\n"
    )
    c.submit(
        JobSpec.create(name="progress", workers=1, runtime="torch-distributed", code=Code(script))
    )
    job = c.wait("progress", conditions=ENDED, timeout=300)
    assert job.phase == "Succeeded", explain(job)
    raw = k8s.CustomObjectsApi(admin_api).get_namespaced_custom_object(
        *TRAINER, real_user.namespace, "trainjobs", "progress"
    )
    status = raw["status"].get("trainerStatus") or {}
    assert status.get("progressPercentage") == 100, raw["status"]
    assert {"name": "loss", "value": "0.125"} in status.get("metrics", []), status
    progress = c.get("progress").extra["progress"]
    assert progress["progressPercentage"] == 100 and progress["metrics"]["loss"] == "0.125"


def test_a_pending_trainjob_says_why(real_user):
    """A node that cannot be scheduled: the job is Pending, and the scheduler's event on the
    node's pod says why (events of the TrainJob's JobSet, Jobs and pods are the job's)."""
    c = real_user.client
    c.submit(
        JobSpec.create(
            name="toobig",
            workers=2,
            runtime="torch-distributed",
            command=["true"],
            resources=Resources(cpu="512"),
        )
    )

    def reason() -> str:
        job = c.get("toobig")
        return explain(job, c.events("toobig")) if job.phase == "Pending" else ""

    line = wait_for(lambda: "FailedScheduling" in reason() and reason(), 60)
    assert line.startswith("Pending: toobig-node-0-") and "Insufficient cpu" in line, line
    c.delete("toobig")
