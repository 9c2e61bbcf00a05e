"""``jupyter kf submit --volume/--home/--shm/--secret-env`` as a user runs it (the installed
command, local backend): the job reads its volume and secret variable, its spec keeps the
references; bad input exits 2 with the spec's own words, no traceback and no job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.data_inputs import BAD_DATA, BAD_IDS

from .test_cli import kf

READ = """\
import os, pathlib
rows = (pathlib.Path(os.environ["JKF_VOLUME_DATA"]) / "rows.txt").read_text().split()
print("rows", len(rows), "token", os.environ["TRACKER_TOKEN"], "home", os.environ["JKF_HOME"])
"""


@pytest.mark.parametrize(("flags", "says"), [(c[1], c[3]) for c in BAD_DATA], ids=BAD_IDS)
def test_bad_data_flags_exit_2_with_the_spec_message(client, tmp_path, flags, says):
    script = tmp_path / "train.py"
    script.write_text("print(1)\n")
    done = kf("--backend", "local", "submit", str(script), "--name", "bad", *flags, ok=False)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert says in done.stderr, done.stderr
    assert client.list() == []


def test_submit_with_a_volume_home_shm_and_secret_env(client, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "rows.txt").write_text("a\nb\n")
    script = tmp_path / "read.py"
    script.write_text(READ)
    out = kf(
        "--backend", "local", "submit", str(script), "--name", "data", "--wait", "--json",
        "--volume", f"data:{data}:ro", "--home", "--shm", "64Mi",
        "--secret-env", "TRACKER_TOKEN=tracker:token",
        env={"TRACKER_TOKEN": "s3cret"},
    ).stdout  # fmt: skip
    job = json.loads(out[out.index("{") :])
    assert job["status"]["phase"] == "Succeeded"
    spec = job["spec"]
    assert [(v["claim"], v["mount"], v.get("read_only")) for v in spec["volumes"]] == [
        ("data", str(data), True)
    ]
    assert spec["home"] is True and spec["shm"] == "64Mi"
    assert spec["secret_env"] == {"TRACKER_TOKEN": "tracker:token"}
    assert "s3cret" not in out
    logs = kf("--backend", "local", "logs", "data").stdout.splitlines()
    assert logs == [f"rows 2 token s3cret home {Path.home()}"]
