"""A Kubeflow Trainer v2 TrainJob means the same on both backends: the local backend's nodes
are processes on this machine, the Kubernetes backend's are pods of the real Trainer and
JobSet on the real node. Each node's script prints what it saw; the test compares that with
the Trainer plugin's contract (jobs/envcontract.py) for the backend's addressing."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from jupyter_kf.jobs import Code, JobSpec
from jupyter_kf.jobs.envcontract import ClusterAddressing, LocalAddressing, env_for
from jupyter_kf.jobs.kinds import TRAINJOB

# The Kubernetes half needs the Trainer and JobSet on the control plane, and the real node.
pytestmark = pytest.mark.parametrize(
    "backend_name",
    [
        "local",
        pytest.param(
            "kubernetes",
            marks=[pytest.mark.cluster, pytest.mark.realpods, pytest.mark.trainjob],
        ),
    ],
)

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "train.py"
# What a Trainer plugin sets (and what the code-shipping part of the job adds).
CONTRACT = re.compile(r"^(PET_|JAX_|DMLC_|JOB_COMPLETION_INDEX$|PYTHONUNBUFFERED$)")
PRINT_ENV = (
    "import json, os, re\n"
    f"keep = re.compile({CONTRACT.pattern!r})\n"
    "print('ENV ' + json.dumps({k: v for k, v in os.environ.items() if keep.match(k)}), "
    "flush=True)\n"
)


def test_torch_trainjob_trains_ddp_across_two_nodes(env):
    client, _ = env
    code = Code(QUICKSTART.read_text(), filename="train.py", args=("--epochs", "2"))
    spec = JobSpec.create(
        "TrainJob", name="tj-ddp", workers=2, runtime="torch-distributed", code=code
    )
    job = client.submit(spec)
    assert job.kind == "TrainJob" and [r.name for r in job.replicas] == ["node-0", "node-1"]
    job = client.wait("tj-ddp", timeout=600)
    assert job.phase == "Succeeded", client.events("tj-ddp")
    checksums = {}
    for node in ("node-0", "node-1"):
        lines = list(client.logs("tj-ddp", replica=node))
        done = [
            m
            for line in lines
            if (m := re.search(r"rank (\d)/2 done, parameter checksum (\S+)", line))
        ]
        assert len(done) == 1, lines
        checksums[done[0].group(1)] = done[0].group(2)
    # torchrun gave each node's process its global rank; both trained the same model.
    assert set(checksums) == {"0", "1"} and checksums["0"] == checksums["1"]
    losses = [p["loss"] for p in client.metrics("tj-ddp") if "loss" in p]
    assert len(losses) == 2 and losses[1] < losses[0]


@pytest.mark.parametrize(
    ("runtime", "policy"),
    [
        ("torch-distributed", "torch"),
        ("jax-distributed", "jax"),
        ("xgboost-distributed", "xgboost"),
    ],
)
def test_each_node_sees_the_trainer_plugins_env(env, backend_name, runtime, policy, monkeypatch):
    client, _ = env
    # Local nodes inherit the caller's env: leave only what the backend gives them.
    for key in [k for k in os.environ if CONTRACT.match(k)]:
        monkeypatch.delenv(key)
    name = f"tj-env-{policy}"
    spec = JobSpec.create("TrainJob", name=name, workers=2, runtime=runtime, code=Code(PRINT_ENV))
    client.submit(spec)
    job = client.wait(name, timeout=300)
    assert job.phase == "Succeeded", client.events(name)
    seen = {}
    for node in (0, 1):
        lines = [ln for ln in client.logs(name, replica=f"node-{node}") if ln.startswith("ENV ")]
        assert len(lines) == 1, lines
        seen[node] = json.loads(lines[0][4:])
    if backend_name == "kubernetes":
        namespace = client.namespace or client.backend.default_namespace
        addressing = ClusterAddressing(name, namespace, TRAINJOB)
    else:
        # Node 0's port, chosen free at start: every node must have been given the same one.
        first = seen[0]
        port = first.get("PET_MASTER_PORT") or first.get("DMLC_TRACKER_PORT")
        port = port or first["JAX_COORDINATOR_ADDRESS"].rsplit(":", 1)[1]
        addressing = LocalAddressing(ports={("Node", 0): int(port), ("Node", 1): 0})
    for node in (0, 1):
        assert seen[node] == env_for(spec, "Node", node, addressing, ml_policy=policy), node
