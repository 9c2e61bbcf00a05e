"""The kubeflow SDK (``TrainerClient``, PyPI ``kubeflow`` 0.5.0) and jupyter-kf on one
cluster, as one notebook user (their ServiceAccount token): TrainJobs either makes are read,
followed and deleted by the other. The jobs run real code on the real node.

What an SDK user does differently here, and why: ``CustomTrainer(image=PYTHON_IMAGE)``,
since the runtime's own image (pytorch/pytorch) is not on the test node; and for the SDK's
``update_trainjob_status`` inside a job, ``env={"PYTHONPATH": <.venv-sdk's site-packages>}``,
which stands in for an image with the SDK installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from kubernetes import client as k8s

from jupyter_kf import NotFoundError
from jupyter_kf.jobs.explain import explain
from tests.sdk.sdk import ROOT, SdkError
from tests.support.images import PYTHON_IMAGE
from tests.support.waiting import wait_for

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.realpods,
    pytest.mark.trainjob,
    pytest.mark.sdk_interop,
]

ENDED = ("Succeeded", "Failed")
TRAINER = ("trainer.kubeflow.org", "v1alpha1")
# Every field of the SDK's TrainJob in 0.5.0: a status string and its steps, nothing of
# status.trainerStatus (progress, ETA, metrics). When a newer pin adds one, this fails:
# then assert there that jupyter_kf.report's progress reaches it.
SDK_TRAINJOB_FIELDS = ["name", "runtime", "steps", "num_nodes", "creation_timestamp", "status"]


def test_a_trainjob_the_sdk_made_is_ours_to_read(real_user, sdk_of):
    c, sdk = real_user.client, sdk_of(real_user)
    name = sdk(
        "train",
        name="sdk-hello",
        runtime="torch-distributed",
        func="hello",
        func_args={"greeting": "hi"},
        image=PYTHON_IMAGE,
        num_nodes=2,
    )
    assert name == "sdk-hello"
    assert [(j.kind, j.name) for j in c.list() if j.name == name] == [("TrainJob", name)]
    job = c.wait(name, conditions=ENDED, timeout=300)
    assert job.phase == "Succeeded", explain(job, c.events(name))
    assert [r.name for r in job.replicas] == ["node-0", "node-1"]
    wait_for(lambda: {r.phase for r in c.get(name).replicas} == {"Succeeded"}, 60)
    assert "hi from node 0" in list(c.logs(name)), list(c.logs(name))
    assert "hi from node 1" in list(c.logs(name, replica="node-1"))
    reasons = {(e.reason, e.object) for e in c.events(name)}
    assert ("AllJobsCompleted", name) in reasons, reasons
    # Its spec is read back from the CR, so the panel can clone it.
    spec = c.get(name).spec
    assert spec is not None and spec.runtime == "torch-distributed" and spec.workers == 2
    # The SDK sees the same ending.
    assert sdk("get", name=name)["status"] == "Complete"


def test_a_trainjob_we_made_is_the_sdks_to_read_and_delete(real_user, sdk_of, admin_api):
    c, sdk = real_user.client, sdk_of(real_user)
    c.submit(
        name="ours",
        runtime="torch-distributed",
        workers=2,
        cell="import os\nprint('ours on node', os.environ['PET_NODE_RANK'], flush=True)\n",
    )
    listed = {j["name"]: j for j in sdk("list")}
    assert "ours" in listed and listed["ours"]["runtime"] == "torch-distributed", listed
    job = c.wait("ours", conditions=ENDED, timeout=300)
    assert job.phase == "Succeeded", explain(job, c.events("ours"))
    seen = sdk("get", name="ours")
    assert seen["status"] == "Complete" and seen["num_nodes"] == 2, seen
    assert sorted(s["name"] for s in seen["steps"]) == ["node-0", "node-1"], seen
    assert "ours on node 0" in sdk("logs", name="ours")
    assert "ours on node 1" in sdk("logs", name="ours", step="node-1")
    assert sdk("wait", name="ours", status=["Complete"])["status"] == "Complete"
    assert sdk("delete", name="ours") is None

    def gone() -> bool:
        try:
            c.get("ours")
        except NotFoundError:
            return True
        return False

    wait_for(gone, 30)
    # Our code ConfigMap goes with it (owned by the TrainJob).
    wait_for(
        lambda: (
            not k8s.CoreV1Api(admin_api)
            .list_namespaced_config_map(
                real_user.namespace, field_selector="metadata.name=ours-code"
            )
            .items
        ),
        60,
    )
    with pytest.raises(SdkError) as info:
        sdk("get", name="ours")
    assert any("404" in link or "Not Found" in link for link in info.value.chain), info.value


def test_progress_crosses_both_ways(real_user, sdk_of, sdk_site):
    """The SDK's ``update_trainjob_status`` in a job reaches our ``extra["progress"]``;
    ``jupyter_kf.report`` reaches the SDK's TrainJob only as far as its fields go."""
    c, sdk = real_user.client, sdk_of(real_user)
    name = sdk(
        "train",
        name="sdk-progress",
        runtime="torch-distributed",
        func="report_progress",
        func_args={"steps": 2},
        image=PYTHON_IMAGE,
        env={"PYTHONPATH": sdk_site},
    )
    job = c.wait(name, conditions=ENDED, timeout=300)
    logs = list(c.logs(name))
    assert job.phase == "Succeeded", f"{explain(job, c.events(name))}\n{logs}"
    assert "posted step=2 sent=True" in logs, logs
    progress = c.get(name).extra["progress"]
    assert progress["progressPercentage"] == 100, progress
    assert progress["metrics"] == {"loss": "0.5", "step": "2"}, progress

    script = (
        "import jupyter_kf\n"
        "jupyter_kf.report(step=1, total_steps=2, loss=1.0)\n"
        "jupyter_kf.report(step=2, total_steps=2, loss=0.5)\n"
    )
    c.submit(name="ours-progress", runtime="torch-distributed", workers=1, cell=script)
    job = c.wait("ours-progress", conditions=ENDED, timeout=300)
    assert job.phase == "Succeeded", explain(job, c.events("ours-progress"))
    assert c.get("ours-progress").extra["progress"]["progressPercentage"] == 100
    assert sdk("get", name="ours-progress")["status"] == "Complete"
    assert sdk("job_fields") == SDK_TRAINJOB_FIELDS


def ours_train(real_user, sdk, sdk_site, name: str, fields: dict) -> tuple[str, dict]:
    """tests/sdk/train_custom_trainer.py: our ``Client.train`` given the SDK's own
    ``CustomTrainer`` built from ``fields``."""
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "sdk" / "train_custom_trainer.py"),
            str(sdk.kubeconfig),
            real_user.namespace,
            name,
            json.dumps(fields),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": sdk_site},
    )
    for line in proc.stdout.splitlines():
        tag, _, rest = line.partition(" ")
        if tag in ("TRAINED", "REFUSED"):
            return tag, json.loads(rest)
    raise AssertionError(f"train_custom_trainer.py said nothing:\n{proc.stdout}\n{proc.stderr}")


def test_our_client_takes_the_sdks_custom_trainer(real_user, sdk_of, sdk_site, admin_api):
    """``Client.train(CustomTrainer(...))`` makes the TrainJob ``TrainerClient.train`` makes
    for the same trainer (runtime, nodes, image, env, resources), and runs it."""
    c, sdk = real_user.client, sdk_of(real_user)
    fields = {
        "func": "hello",
        "func_args": {"greeting": "twin"},
        "image": PYTHON_IMAGE,
        "num_nodes": 2,
        "env": {"TWIN": "1"},
        "resources_per_node": {"cpu": "250m", "memory": "1Gi"},
    }
    assert ours_train(real_user, sdk, sdk_site, "ours-twin", fields) == (
        "TRAINED",
        {"kind": "TrainJob", "name": "ours-twin"},
    )
    assert sdk("train", name="sdk-twin", **fields) == "sdk-twin"
    custom = k8s.CustomObjectsApi(admin_api)
    ours, theirs = (
        custom.get_namespaced_custom_object(*TRAINER, real_user.namespace, "trainjobs", n)["spec"]
        for n in ("ours-twin", "sdk-twin")
    )
    assert ours["runtimeRef"] == theirs["runtimeRef"]
    for key in ("numNodes", "image", "resourcesPerNode"):
        assert ours["trainer"][key] == theirs["trainer"][key], key
    assert {e["name"]: e["value"] for e in theirs["trainer"]["env"]}.items() <= {
        e["name"]: e["value"] for e in ours["trainer"]["env"]
    }.items()
    job = c.wait("ours-twin", conditions=ENDED, timeout=300)
    assert job.phase == "Succeeded", explain(job, c.events("ours-twin"))
    assert "twin from node 1" in list(c.logs("ours-twin", replica="node-1"))
    # What we cannot do as the SDK does is refused with the way out, before anything is made.
    tag, refused = ours_train(
        real_user, sdk, sdk_site, "ours-pip", {"func": "hello", "packages_to_install": ["numpy"]}
    )
    assert tag == "REFUSED" and refused["error"] == "InvalidSpecError", refused
    assert "packages_to_install" in refused["message"] and "image" in refused["message"]
    assert "ours-pip" not in {j.name for j in c.list()}
