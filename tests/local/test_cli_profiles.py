"""``jupyter kf profiles`` and ``submit --profile`` as a user in a hub's notebook pod runs
them (the installed command, local backend, JUPYTER_KF_JOB_PROFILES as the spawner sets it):
the list, a job filled from its profile, and one beyond it refused with exit 2, no job."""

from __future__ import annotations

import json

from .test_cli import kf

GPU = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
ENV = {
    "JUPYTER_KF_JOB_PROFILES": json.dumps(
        {
            "required": True,
            "profiles": [
                {"name": "cpu", "display_name": "CPU", "cpu": "1", "memory": "1Gi"},
                {"name": "gpu", "display_name": "1 GPU", "gpu": 1, "tolerations": [GPU]},
            ],
        }
    )
}


def test_profiles_lists_what_the_hub_offers(client):
    out = kf("profiles", env=ENV).stdout
    assert out.splitlines()[0].split() == [
        "NAME",
        "DISPLAY",
        "NAME",
        "CPU/MEMORY/GPU",
        "NODES",
        "IMAGE",
    ]
    assert "cpu" in out and "1/1Gi/-" in out and "a job must use one of these" in out
    listed = json.loads(kf("profiles", "--json", env=ENV).stdout)
    assert [p["name"] for p in listed["profiles"]] == ["cpu", "gpu"] and listed["required"]
    assert "no job profiles" in kf("profiles").stdout


def test_submit_with_a_profile_and_beyond_it(client, tmp_path):
    script = tmp_path / "train.py"
    script.write_text("print('ok')\n")
    base = ("--backend", "local", "submit", str(script))
    done = kf(*base, "--name", "big", "--profile", "cpu", "--cpu", "4", env=ENV, ok=False)
    assert (
        done.returncode == 2 and "cpu 4 per replica is more than job profile 'cpu'" in done.stderr
    )
    done = kf(*base, "--name", "none", env=ENV, ok=False)
    assert done.returncode == 2 and "requires a job profile" in done.stderr, done.stderr
    assert client.list() == []
    out = kf(*base, "--name", "fits", "--profile", "cpu", "--wait", "--json", env=ENV).stdout
    spec = json.loads(out[out.index("{") :])["spec"]  # after the "submitted ..." line
    assert spec["profile"] == "cpu" and spec["resources"] == {"cpu": "1", "memory": "1Gi"}
