"""The launch body's data fields (volumes, home, shm, secret_env): a job launched with them
keeps the references in its spec and reads its volume and secret variable; bad ones are a
422 with the same words the magic and the CLI give (tests/support/data_inputs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.data_inputs import BAD_DATA, BAD_IDS

READ = """
import os, pathlib
rows = (pathlib.Path(os.environ["JKF_VOLUME_DATA"]) / "rows.txt").read_text().split()
print("rows", len(rows), "token", os.environ["TRACKER_TOKEN"], "home", os.environ["JKF_HOME"])
"""


@pytest.mark.parametrize(("fields", "says"), [(c[2], c[3]) for c in BAD_DATA], ids=BAD_IDS)
async def test_bad_data_fields_are_422_with_the_spec_message(api, local, fields, says):
    reply = await api("POST", "jobs", body={"name": "bad", "cell": "print(1)", **fields})
    assert reply.status == 422, reply.body
    assert reply.json["reason"] == "InvalidSpecError"
    assert any(says in p for p in reply.json["problems"]), reply.json
    assert local.list() == []


async def test_a_job_with_volumes_home_shm_and_secret_env(api, local, tmp_path, monkeypatch):
    data = tmp_path / "dataset"
    data.mkdir()
    (data / "rows.txt").write_text("a\nb\nc\nd\n")
    # The server's own environment stands for the Secret on the local backend.
    monkeypatch.setenv("TRACKER_TOKEN", "s3cret")
    body = {
        "name": "data",
        "workers": 1,
        "cell": READ,
        "volumes": [f"data:{data}:ro"],
        "home": True,
        "shm": "64Mi",
        "secret_env": {"TRACKER_TOKEN": "tracker:token"},
    }
    reply = await api("POST", "jobs", body=body)
    assert reply.status == 201, reply.body
    spec = reply.json["spec"]
    assert [(v["claim"], v["mount"], v["read_only"]) for v in spec["volumes"]] == [
        ("data", str(data), True)
    ]
    assert spec["home"] is True and spec["shm"] == "64Mi"
    assert spec["secret_env"] == {"TRACKER_TOKEN": "tracker:token"}
    assert b"s3cret" not in reply.body
    assert local.wait("data", timeout=60).phase == "Succeeded", list(local.logs("data"))
    assert list(local.logs("data")) == [f"rows 4 token s3cret home {Path.home()}"]
