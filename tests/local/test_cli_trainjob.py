"""``jupyter kf`` and Trainer v2, run as a user runs it (the installed command, local
backend): ``submit --runtime --nodes`` runs a real torchrun TrainJob, ``runtimes`` lists what
``--runtime`` may name, an unknown runtime is the backend's message (exit 2, no traceback),
no ``--framework`` leaves the kind to the backend, and ``scale`` of a TrainJob says it
replaces the job and needs ``--yes``."""

from __future__ import annotations

import json

from tests.support.waiting import wait_for

from .test_cli import kf

LOCAL = ("--backend", "local")
NODE = """\
import os, sys, time
print("node", os.environ["RANK"], "of", os.environ["WORLD_SIZE"], "args", sys.argv[1:], flush=True)
if os.environ.get("HOLD"):
    time.sleep(600)
"""


def test_runtimes_table_and_json():
    table = kf(*LOCAL, "runtimes").stdout.strip().splitlines()
    assert table[0].split() == ["NAME", "FRAMEWORK/PLUGIN", "NODES", "IMAGE"]
    assert [row.split()[0] for row in table[1:]] == [
        "torch-distributed",
        "jax-distributed",
        "xgboost-distributed",
    ]
    listed = json.loads(kf(*LOCAL, "runtimes", "--json").stdout)
    assert listed[0]["name"] == "torch-distributed" and listed[0]["mlPolicy"] == "torch"
    assert {"numNodes", "image", "framework"} <= set(listed[0])


def test_submit_a_trainjob_on_a_runtime(client, tmp_path):
    script = tmp_path / "node.py"
    script.write_text(NODE)
    out = kf(*LOCAL, "submit", str(script), "--name", "tj", "--runtime", "torch-distributed",
             "--nodes", "2", "--wait", "--", "--lr", "0.1").stdout  # fmt: skip
    assert "submitted TrainJob tj (2 nodes)" in out and "Succeeded" in out
    status = json.loads(kf(*LOCAL, "status", "tj", "--json").stdout)
    assert status["kind"] == "TrainJob" and [r["name"] for r in status["replicas"]] == [
        "node-0",
        "node-1",
    ]
    assert "nodes: 2  runtime: torch-distributed" in kf(*LOCAL, "status", "tj").stdout
    node1 = kf(*LOCAL, "logs", "tj", "--replica", "node-1").stdout
    assert "node 1 of 2 args ['--lr', '0.1']" in node1


def test_an_unknown_runtime_is_one_clear_line(client, tmp_path):
    script = tmp_path / "node.py"
    script.write_text(NODE)
    done = kf(*LOCAL, "submit", str(script), "--name", "x", "--runtime", "nope", ok=False)
    assert done.returncode == 2
    assert "does not know the runtime 'nope'" in done.stderr
    assert "torch-distributed, jax-distributed, xgboost-distributed" in done.stderr
    assert client.list() == []


def test_no_framework_leaves_the_kind_to_the_backend(client, tmp_path):
    script = tmp_path / "node.py"
    script.write_text(NODE)
    kf(*LOCAL, "submit", str(script), "--name", "auto", "--wait")
    job = client.get("auto")
    assert job.spec.kind_auto and job.kind == "PyTorchJob"


def test_scale_of_a_trainjob_asks_first(client, tmp_path):
    script = tmp_path / "node.py"
    script.write_text(NODE)
    kf(*LOCAL, "submit", str(script), "--name", "grow", "--runtime", "torch-distributed",
       "--nodes", "2", env={"HOLD": "1"})  # fmt: skip
    wait_for(lambda: client.get("grow").phase == "Running", what="grow running")
    refused = kf(*LOCAL, "scale", "grow", "3", ok=False)
    assert refused.returncode == 2
    assert "a TrainJob cannot resize: it will be replaced and training restarts" in refused.stderr
    assert "jupyter kf scale grow 3 --yes" in refused.stderr
    assert client.get("grow").workers == 2
    done = kf(*LOCAL, "scale", "grow", "3", "--yes")
    assert "it will be replaced" in done.stderr
    assert "grow: 3 nodes" in done.stdout
    assert "was replaced by the same job on 3 nodes (was 2)" in done.stdout
    assert client.get("grow").workers == 3
