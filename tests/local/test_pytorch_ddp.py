"""A real 2-worker PyTorch DDP job (gloo, CPU) on the local backend."""

import re
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "train.py"


def test_ddp_ranks_end_with_identical_parameters(client):
    job = client.submit(
        name="ddp", framework="pytorch", workers=2, script=QUICKSTART, args=["--epochs", "2"]
    )
    assert [r.name for r in job.replicas] == ["master-0", "worker-0"]
    job = client.wait("ddp", timeout=300)
    assert job.phase == "Succeeded", client.events("ddp")
    checksums = {}
    for replica in ("master-0", "worker-0"):
        lines = list(client.logs("ddp", replica=replica))
        done = [
            m
            for line in lines
            if (m := re.search(r"rank (\d)/2 done, parameter checksum (\S+)", line))
        ]
        assert len(done) == 1, lines
        checksums[done[0].group(1)] = done[0].group(2)
    assert set(checksums) == {"0", "1"}
    assert checksums["0"] == checksums["1"]
    losses = [p["loss"] for p in client.metrics("ddp") if "loss" in p]
    assert len(losses) == 2 and losses[1] < losses[0]
    assert all(r.exit_code == 0 for r in job.replicas)
