"""Volumes, secrets, outputs and GPU shares on the local backend: real worker processes read
a dataset through the same variable a pod has, write a checkpoint to JKF_OUTPUT_DIR, and the
notebook reads it back with ``client.outputs``."""

from __future__ import annotations

import json

import pytest

from jupyter_kf import InvalidSpecError
from jupyter_kf.jobs import Code, JobSpec, Resources
from jupyter_kf.jobs.storage import Volume

TRAIN = """
import json, os, pathlib
data = pathlib.Path(os.environ["JKF_VOLUME_DATA"]) / "train.csv"
out = pathlib.Path(os.environ["JKF_OUTPUT_DIR"])
rank = os.environ["RANK"]
(out / f"ckpt-{rank}.json").write_text(json.dumps({
    "rows": len(data.read_text().splitlines()),
    "token": os.environ["TRACKER_TOKEN"],
    "backend": os.environ["JKF_DIST_BACKEND"],
    "home": os.environ.get("JKF_HOME"),
    "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"),
}))
"""


def test_job_reads_its_volume_and_secret_and_the_notebook_reads_its_checkpoint(
    client, tmp_path, monkeypatch
):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("a,b\n1,2\n3,4\n")
    monkeypatch.setenv("TRACKER_TOKEN", "s3cret")
    monkeypatch.chdir(tmp_path)
    spec = JobSpec.create(
        "pytorch",
        name="ckpt",
        workers=2,
        code=Code(TRAIN),
        # A relative local folder is the notebook's: made absolute at submit.
        volumes=[Volume(claim="data", mount="/data", read_only=True, local="data")],
        secret_env={"TRACKER_TOKEN": "tracker:token"},
        home=True,
    )
    client.submit(spec)
    job = client.wait("ckpt", timeout=120)
    assert job.phase == "Succeeded", "\n".join(client.logs("ckpt"))
    outs = client.outputs("ckpt")
    assert [f.path for f in outs.files] == ["ckpt-0.json", "ckpt-1.json"]
    got = json.loads(outs.read_text("ckpt-1.json"))
    assert got == {
        "rows": 3,
        "token": "s3cret",
        "backend": "gloo",
        "home": str(__import__("pathlib").Path.home()),
        "cuda": None,
    }
    assert outs.dir is not None and outs.dir.name == "outputs" and outs.note == ""
    # The spec keeps the reference, never the value.
    assert "s3cret" not in json.dumps(client.get("ckpt").spec.to_dict())
    with pytest.raises(Exception, match="no output 'nope.pt'"):
        outs.read_bytes("nope.pt")
    with pytest.raises(InvalidSpecError, match="not inside the outputs"):
        outs.read_bytes("../spec.json")


def test_missing_folder_secret_and_gpus_are_refused_before_anything_starts(client, monkeypatch):
    monkeypatch.delenv("NOPE_TOKEN", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")  # one GPU visible to this notebook
    spec = JobSpec.create(
        "pytorch",
        name="refused",
        workers=2,
        code=Code("pass"),
        volumes=["data:/nonexistent-jkf-data"],
        secret_env={"NOPE_TOKEN": "nope:token"},
        resources=Resources(gpu=1),
    )
    with pytest.raises(InvalidSpecError) as err:
        client.submit(spec)
    text = str(err.value)
    assert "'/nonexistent-jkf-data' is not a folder on this machine" in text
    assert "set NOPE_TOKEN in the notebook's environment" in text
    assert "1 GPU(s) for each of its 2 replicas (2 in all), and this machine has 1 GPU" in text
    assert client.list() == []


def test_each_replica_gets_its_own_gpus(client, monkeypatch):
    # CUDA_VISIBLE_DEVICES is the set the notebook may use; each replica gets a disjoint
    # share of it (no GPU is touched: the workers only print what they were given).
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    spec = JobSpec.create(
        "pytorch",
        name="gpus",
        workers=2,
        code=Code(
            "import os; print('SAW', os.environ['RANK'], os.environ['CUDA_VISIBLE_DEVICES'],"
            " os.environ['JKF_DIST_BACKEND'])"
        ),
        resources=Resources(gpu=2),
    )
    client.submit(spec)
    assert client.wait("gpus", timeout=120).phase == "Succeeded"
    saw = [
        line
        for replica in ("master-0", "worker-0")
        for line in client.logs("gpus", replica=replica)
        if "SAW" in line
    ]
    assert [line.split("SAW ", 1)[1] for line in saw] == ["0 0,1 nccl", "1 2,3 nccl"]
