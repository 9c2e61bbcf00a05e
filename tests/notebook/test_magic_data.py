"""``%%kftrain --volume/--home/--shm/--secret-env`` in a shell: a real local job reads its
volume and secret variable through the same names a pod has, its spec keeps the references
(never a value), and bad input is a usage error with the spec's own words and no job."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.support.data_inputs import BAD_DATA, BAD_IDS

from .test_magics import run, usage_error

READ = """
import os, pathlib
rows = (pathlib.Path(os.environ["JKF_VOLUME_DATA"]) / "rows.txt").read_text().split()
print("rows", len(rows), "token", os.environ["TRACKER_TOKEN"], "home", os.environ["JKF_HOME"])
"""


@pytest.mark.parametrize(("flags", "says"), [(c[1], c[3]) for c in BAD_DATA], ids=BAD_IDS)
def test_bad_data_flags_are_a_usage_error_and_no_job(shell, capsys, client, flags, says):
    message = usage_error(shell, capsys, f"--name bad {shlex.join(flags)}", "print(1)")
    assert says in message, message
    assert client.list() == []


def test_a_job_reads_its_volume_and_secret_variable(shell, client, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "rows.txt").write_text("a\nb\nc\n")
    # Locally there are no Secrets: the notebook's own variable stands for the Secret's key.
    monkeypatch.setenv("TRACKER_TOKEN", "s3cret")
    line = (
        f"--name data --workers 1 --wait --volume data:{data}:ro --home --shm 64Mi "
        "--secret-env TRACKER_TOKEN=tracker:token"
    )
    error, job = run(shell, line, READ)
    assert error is None, error
    assert job.phase == "Succeeded", list(client.logs("data"))
    assert list(client.logs("data")) == [f"rows 3 token s3cret home {Path.home()}"]
    spec = job.spec
    assert [(v.claim, v.mount, v.read_only) for v in spec.volumes] == [("data", str(data), True)]
    assert spec.home is True and spec.shm == "64Mi"
    assert dict(spec.secret_env) == {"TRACKER_TOKEN": "tracker:token"}
    assert "s3cret" not in str(spec.to_dict())
