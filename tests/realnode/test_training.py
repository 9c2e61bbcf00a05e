"""Distributed training on the real node through the real training operator: the quickstart's
DDP script (gloo) as a 2-replica PyTorchJob, its two ranks rendezvousing through the Service
names the operator makes, read back through jupyter-kf's client like a notebook user would.
The same job on the local backend gives the comparison the note quotes."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from jupyter_kf import Client
from jupyter_kf.jobs.metrics import REPORT_PREFIX
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.realpods, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "examples" / "quickstart" / "train.py"
ARTIFACTS = ROOT / "test-artifacts" / "realnode"


def train(client: Client, name: str) -> tuple[float, list[str], object]:
    t0 = time.monotonic()
    client.submit(name=name, framework="pytorch", workers=2, script=TRAIN, args=["--epochs", "4"])
    lines = [line for line in client.logs(name, follow=True) if not line.startswith(REPORT_PREFIX)]
    job = client.wait(name, conditions=("Succeeded", "Failed"), timeout=600)
    return time.monotonic() - t0, lines, job


def checksums(lines: list[str]) -> set[str]:
    return {m.group(1) for line in lines if (m := re.search(r"checksum (\S+)", line))}


def test_ddp_across_two_real_pods_on_the_real_operator(real_user):
    c = real_user.client
    seconds, lines, job = train(c, "ddp")
    text = "\n".join(lines)
    assert job.phase == "Succeeded", f"{job.status.message}\n{text}"
    # Rank 0's log followed through pods/log from the real kubelet, live.
    assert "rank 0/2 done" in text, text
    losses = [p["loss"] for p in c.metrics("ddp") if "loss" in p]
    assert len(losses) == 4 and losses[-1] < losses[0], losses
    # Both ranks trained together: the other rank's log holds the same final parameters.
    worker = "\n".join(c.logs("ddp", replica="worker-0"))
    assert "rank 1/2 done" in worker, worker
    assert checksums(lines) == checksums(worker.splitlines()) != set()
    # The job succeeds with its master; the worker's pod ends a moment later.
    wait_for(lambda: {r.phase for r in c.get("ddp").replicas} == {"Succeeded"}, 60)

    local = Client("local")
    local_seconds, local_lines, local_job = train(local, "ddp-local")
    assert local_job.phase == "Succeeded", "\n".join(local_lines)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "ddp-wall-time.json").write_text(
        json.dumps(
            {
                "job": "examples/quickstart/train.py --epochs 4, PyTorchJob, 2 replicas (gloo)",
                "real_node_seconds": round(seconds, 1),
                "local_backend_seconds": round(local_seconds, 1),
                "measured": "submit to Succeeded, through jupyter_kf.Client, in one test run",
            },
            indent=2,
        )
    )
